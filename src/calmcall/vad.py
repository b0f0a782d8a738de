"""Energy voice-activity detection with a tracked noise floor (cheap, causal)."""

from __future__ import annotations

from collections import deque


class NoiseFloorVad:
    """Frame-by-frame speech/non-speech decision.

    The noise floor is the quietest frame energy of the last ``floor_window_s``
    (minimum statistics, kept as one minimum per 0.1 s), but never more than
    never higher than the loudest frame of that
    window minus ``min_range_db``, so that a stretch of continuous speech does not
    lift the floor into the speech. A frame is speech when its energy exceeds
    ``floor + margin_db`` and ``abs_floor_db``; activity is held for ``hangover_s``
    after the last speech frame so that short stops inside words do not cut a turn.
    """

    def __init__(
        self,
        *,
        hop_s: float,
        margin_db: float = 12.0,
        abs_floor_db: float = -60.0,
        hangover_s: float = 0.25,
        floor_window_s: float = 2.0,
        min_range_db: float = 25.0,
    ) -> None:
        self._margin_db = margin_db
        self._abs_floor_db = abs_floor_db
        self._hang_frames = int(round(hangover_s / hop_s))
        self._seg_frames = max(1, int(round(0.1 / hop_s)))
        self._mins: deque[float] = deque(maxlen=max(1, int(round(floor_window_s / 0.1))))
        self._maxs: deque[float] = deque(maxlen=self._mins.maxlen)
        self._min_range_db = min_range_db
        self._seg_min = 1e9
        self._seg_max = -1e9
        self._seg_n = 0
        self.floor_db = -120.0
        self._since_speech = 10**9

    def update(self, energy_db: float) -> tuple[bool, bool]:
        """Feed one frame's energy (dBFS). Returns ``(active, loud)``: ``active``
        includes the hangover, ``loud`` is the raw above-threshold decision."""
        e = max(energy_db, -120.0)
        self._seg_min = min(self._seg_min, e)
        self._seg_max = max(self._seg_max, e)
        self._seg_n += 1
        if self._seg_n >= self._seg_frames:
            self._mins.append(self._seg_min)
            self._maxs.append(self._seg_max)
            self._seg_min, self._seg_max, self._seg_n = 1e9, -1e9, 0
        if self._mins:
            self.floor_db = min(min(min(self._mins), self._seg_min), max(self._maxs) - self._min_range_db)
        else:
            self.floor_db = min(self._seg_min, self._seg_max - self._min_range_db)
        loud = e > max(self.floor_db + self._margin_db, self._abs_floor_db)
        self._since_speech = 0 if loud else self._since_speech + 1
        return self._since_speech <= self._hang_frames, loud

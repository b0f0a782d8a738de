"""Energy voice-activity detection with a tracked noise floor (cheap, causal)."""

from __future__ import annotations


class NoiseFloorVad:
    """Frame-by-frame speech/non-speech decision.

    The noise floor follows the quietest frames: it drops at once to a quieter
    frame and rises slowly (``rise_db_per_s``), so steady speech does not pull it
    up. A frame is speech when its energy exceeds ``floor + margin_db`` and
    ``abs_floor_db``; activity is held for ``hangover_s`` after the last speech
    frame so that short stops inside words do not cut a turn.
    """

    def __init__(
        self,
        *,
        hop_s: float,
        margin_db: float = 12.0,
        abs_floor_db: float = -60.0,
        hangover_s: float = 0.25,
        rise_db_per_s: float = 3.0,
    ) -> None:
        self._margin_db = margin_db
        self._abs_floor_db = abs_floor_db
        self._hang_frames = int(round(hangover_s / hop_s))
        self._rise_db = rise_db_per_s * hop_s
        self.floor_db = abs_floor_db - 20.0
        self._since_speech = 10**9

    def update(self, energy_db: float) -> tuple[bool, bool]:
        """Feed one frame's energy (dBFS). Returns ``(active, loud)``: ``active``
        includes the hangover, ``loud`` is the raw above-threshold decision."""
        e = max(energy_db, -120.0)
        if e < self.floor_db:
            self.floor_db = e
        else:
            self.floor_db += self._rise_db
        loud = e > max(self.floor_db + self._margin_db, self._abs_floor_db)
        self._since_speech = 0 if loud else self._since_speech + 1
        return self._since_speech <= self._hang_frames, loud

"""Voice-activity building blocks: an energy detector with a tracked noise floor
(:class:`NoiseFloorVad`, the secondary gate), hysteresis on a speech probability
(:class:`ProbabilityGate`, for Silero VAD) and the cross-channel echo check
(:class:`EchoCheck`). :class:`calmcall.prosody.ChannelFront` combines them."""

from __future__ import annotations

from collections import deque

import numpy as np


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


class ProbabilityGate:
    """Speech/non-speech from a per-frame speech probability (Silero VAD), with
    hysteresis and a hangover.

    Speech starts on a frame whose probability reaches ``on``; it continues while the
    probability stays at or above ``off`` and ends once it has been below ``off`` for
    more than ``hangover_s``. Between ``off`` and ``on`` nothing changes.
    """

    def __init__(self, *, hop_s: float, on: float = 0.5, off: float = 0.1, hangover_s: float = 0.3) -> None:
        if not 0.0 <= off <= on <= 1.0:
            raise ValueError(f"need 0 <= off <= on <= 1, got on={on}, off={off}")
        self._on, self._off = on, off
        self._hang = int(round(hangover_s / hop_s))
        self._below = 0
        self.speech = False

    def update(self, prob: float) -> bool:
        """Feed one frame's speech probability (0-1); returns the decision."""
        if prob >= self._on:
            self.speech, self._below = True, 0
        elif self.speech:
            if prob < self._off:
                self._below += 1
                if self._below > self._hang:
                    self.speech = False
            else:
                self._below = 0
        return self.speech


def _compress(patch_db: np.ndarray, range_db: float) -> np.ndarray:
    """``patch_db`` with everything more than ``range_db`` below its maximum raised to
    that level: an echo's quiet parts sink into this channel's noise floor, the far
    side's do not, so only the top of the dynamic range is compared."""
    return np.maximum(patch_db, patch_db.max() - range_db)


class EchoCheck:
    """Is this channel's speech only the far side's voice heard back (echo, headset
    bleed, a recording's crosstalk)?

    Echo is a copy of the far channel, 20-30 dB down, filtered and delayed by up to a
    few hundred ms; a second talker on this channel is neither. A speech frame counts as
    echo when, over the last ``window_s``, this channel's band-energy pattern (log energy
    in a few bands by frame) correlates with the far channel's at some delay up to
    ``max_delay_s`` with Pearson r >= ``min_r``, and this channel is at least
    ``margin_db`` quieter than the far side at its loudest. Level alone cannot decide:
    an agent speaking softly under a shouting caller is 15-20 dB below them, and not an echo.
    """

    def __init__(self, *, hop_s: float, n_bands: int, min_r: float = 0.75, margin_db: float = 6.0,
                 window_s: float = 0.5, max_delay_s: float = 0.25, range_db: float = 25.0) -> None:
        self._w = max(2, int(round(window_s / hop_s)))
        self._d = max(0, int(round(max_delay_s / hop_s)))
        self._min_r = min_r
        self._margin_db = margin_db
        self._range_db = range_db
        n = self._w + self._d
        self._n = n
        # ring buffers written twice (at i and i + n), so the latest n rows are always
        # the contiguous slice [pos + 1, pos + 1 + n)
        self._near = np.full((2 * n, n_bands), -100.0)
        self._far = np.full((2 * n, n_bands), -100.0)
        self._pos = n - 1
        self._near_db: deque[float] = deque([-120.0] * self._w, maxlen=self._w)
        self._far_db: deque[float] = deque([-120.0] * n, maxlen=n)
        self.last_r = float("nan")  #: the best correlation at the last checked frame

    def update(self, near_bands_db: np.ndarray, near_db: float, far_bands_db: np.ndarray, far_db: float,
               near_speech: bool) -> bool:
        """Feed one frame of both channels: band log-energies (dB, shape (n_bands,)),
        levels (dBFS) and this channel's speech decision before this check. True when
        this frame is speech that is only the far side's echo. (The far side's own
        speech decision is not needed: near speech that follows the far side's band
        pattern is its echo whatever the far side's detector said.)"""
        n = self._n
        self._pos = (self._pos + 1) % n
        nb, fb = np.maximum(near_bands_db, -100.0), np.maximum(far_bands_db, -100.0)
        self._near[self._pos] = self._near[self._pos + n] = nb
        self._far[self._pos] = self._far[self._pos + n] = fb
        self._near_db.append(near_db)
        self._far_db.append(far_db)
        self.last_r = float("nan")
        if not near_speech or max(self._near_db) > max(self._far_db) - self._margin_db:
            return False
        # each band's own mean removed: the correlation is of the bands' time courses, not
        # of the spectral tilt every voice shares (nor of an echo path's per-band gain)
        near_all = self._near[self._pos + 1 : self._pos + 1 + n]  # oldest .. latest
        far_all = self._far[self._pos + 1 : self._pos + 1 + n]
        near = _compress(near_all[-self._w :], self._range_db)
        a = (near - near.mean(axis=0)).ravel()
        # far patches at delays d = 0..max: rows [n - w - d, n - d)
        patches = np.stack([_compress(far_all[n - self._w - d : n - d], self._range_db) for d in range(self._d + 1)])
        patches = (patches - patches.mean(axis=1, keepdims=True)).reshape(self._d + 1, -1)
        den = np.sqrt(np.sum(a * a) * np.sum(patches * patches, axis=1))
        r = np.where(den > 1e-9, patches @ a / np.maximum(den, 1e-9), 0.0)
        self.last_r = float(r.max())
        return self.last_r >= self._min_r

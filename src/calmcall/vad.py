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
        active, loud = self.update_many(np.array([energy_db], dtype=np.float64))
        return bool(active[0]), bool(loud[0])

    def update_many(self, energy_db: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`update` for consecutive frames (dBFS, shape (n,)), in one loop with
        the window's minimum and maximum kept between segment ends: returns the
        ``(active, loud)`` bool arrays of shape (n,), the values :meth:`update` returns."""
        n = len(energy_db)
        active = np.zeros(n, dtype=bool)
        loud_out = np.zeros(n, dtype=bool)
        mins, maxs = self._mins, self._maxs
        seg_min, seg_max, seg_n = self._seg_min, self._seg_max, self._seg_n
        seg_frames, rng, margin = self._seg_frames, self._min_range_db, self._margin_db
        abs_floor, hang, since = self._abs_floor_db, self._hang_frames, self._since_speech
        win_min = min(mins) if mins else 0.0
        win_max_less = max(maxs) - rng if maxs else 0.0
        floor = self.floor_db
        for i, e in enumerate(np.maximum(np.asarray(energy_db, dtype=np.float64), -120.0).tolist()):
            if e < seg_min:
                seg_min = e
            if e > seg_max:
                seg_max = e
            seg_n += 1
            if seg_n >= seg_frames:
                mins.append(seg_min)
                maxs.append(seg_max)
                win_min, win_max_less = min(mins), max(maxs) - rng
                seg_min, seg_max, seg_n = 1e9, -1e9, 0
            if mins:
                floor = min(win_min, seg_min, win_max_less)
            else:
                floor = min(seg_min, seg_max - rng)
            is_loud = e > max(floor + margin, abs_floor)
            since = 0 if is_loud else since + 1
            active[i] = since <= hang
            loud_out[i] = is_loud
        self._seg_min, self._seg_max, self._seg_n = seg_min, seg_max, seg_n
        self._since_speech, self.floor_db = since, floor
        return active, loud_out


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
        return bool(self.update_many(np.array([prob], dtype=np.float64))[0])

    def update_many(self, probs: np.ndarray, *, on: np.ndarray | None = None, off: np.ndarray | None = None) -> np.ndarray:
        """:meth:`update` for consecutive frames (probabilities, shape (n,)): the
        decisions as a bool array of shape (n,). ``on`` / ``off``: per-frame thresholds
        (shape (n,), 0-1) instead of the constructor's (a narrowband channel's)."""
        n = len(probs)
        out = np.zeros(n, dtype=bool)
        hang = self._hang
        ons = (np.full(n, self._on) if on is None else np.asarray(on, dtype=np.float64)).tolist()
        offs = (np.full(n, self._off) if off is None else np.asarray(off, dtype=np.float64)).tolist()
        speech, below = self.speech, self._below
        for i, prob in enumerate(np.asarray(probs, dtype=np.float64).tolist()):
            on_thr, off_thr = ons[i], offs[i]
            if prob >= on_thr:
                speech, below = True, 0
            elif speech:
                if prob < off_thr:
                    below += 1
                    if below > hang:
                        speech = False
                else:
                    below = 0
            out[i] = speech
        self.speech, self._below = speech, below
        return out


class NarrowbandDetector:
    """Is this channel band-limited like a telephone line (8 kHz sampling, 300-3400 Hz)?

    Silero VAD gives lower speech probabilities on phone-band audio, so the channel's
    speech thresholds depend on this. Over the frames the energy gate finds loud, the
    power above 4.5 kHz and in 300-3400 Hz are averaged (exponentially, time constant
    ``tau_s`` of loud frames); the channel is narrowband while their ratio is below
    ``hf_db`` (measured: phone-band copies of AMI -66 to -68 dB, wideband AMI -17 to
    -24 dB, JFK's old broadcast recording -50 dB), with ``hysteresis_db`` above it to
    leave the state, and only after ``min_loud_s`` of loud frames (wideband until then).
    Frames are taken one by one, so the state does not depend on the block size.
    """

    def __init__(
        self, *, hop_s: float, hf_db: float = -55.0, hysteresis_db: float = 3.0, tau_s: float = 2.0, min_loud_s: float = 0.3
    ) -> None:
        self._a = hop_s / max(tau_s, hop_s)
        self._on_db, self._off_db = hf_db, hf_db + hysteresis_db
        self._min = max(1, int(round(min_loud_s / hop_s)))
        self._hi = 0.0
        self._band = 0.0
        self._n = 0
        self.narrowband = False

    def update_many(self, hf_power: np.ndarray, band_power: np.ndarray, loud: np.ndarray) -> np.ndarray:
        """Feed consecutive frames: power above 4.5 kHz and in 300-3400 Hz (any common
        linear unit, shape (n,)) and the energy gate's loud flag (bool (n,)). Returns the
        narrowband state after each frame (bool (n,))."""
        out = np.zeros(len(loud), dtype=bool)
        a, hi_s, band_s, n, nb = self._a, self._hi, self._band, self._n, self.narrowband
        for i, (h, b, ld) in enumerate(
            zip(
                np.asarray(hf_power, dtype=np.float64).tolist(),
                np.asarray(band_power, dtype=np.float64).tolist(),
                np.asarray(loud, dtype=bool).tolist(),
            )
        ):
            if ld:
                n += 1
                if n == 1:
                    hi_s, band_s = h, b
                else:
                    hi_s += a * (h - hi_s)
                    band_s += a * (b - band_s)
                if n >= self._min and band_s > 0.0:
                    r_db = 10.0 * float(np.log10(max(hi_s, 1e-30) / band_s))
                    nb = r_db < (self._off_db if nb else self._on_db)
            out[i] = nb
        self._hi, self._band, self._n, self.narrowband = hi_s, band_s, n, nb
        return out


def _compress(patch_db: np.ndarray, range_db: float) -> np.ndarray:
    """``patch_db`` with everything more than ``range_db`` below its maximum raised to
    that level: an echo's quiet parts sink into this channel's noise floor, the far
    side's do not, so only the top of the dynamic range is compared."""
    return np.maximum(patch_db, patch_db.max() - range_db)


def _window_max(hist: np.ndarray, w: int) -> np.ndarray:
    """Maximum of each window ``hist[i + 1 : i + 1 + w]``, ``i < m = len(hist) - w``:
    shape (m,). For ``m <= w`` every window holds ``hist[m : w + 1]``; the rest is a
    running maximum over the head and the tail (two ufunc calls, not m slices)."""
    m = len(hist) - w
    if m <= 0:
        return np.zeros(0)
    if m > w:
        return np.lib.stride_tricks.sliding_window_view(hist, w)[1:].max(axis=1)
    common = hist[m : w + 1].max()
    head = np.maximum.accumulate(hist[1 : m + 1][::-1])[::-1]  # head[i] = max(hist[i + 1 : m + 1])
    tail = np.maximum.accumulate(hist[w : w + m])  # tail[i] = max(hist[w : w + i + 1])
    return np.maximum(np.maximum(head, tail), common)


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

    def __init__(
        self,
        *,
        hop_s: float,
        n_bands: int,
        min_r: float = 0.75,
        margin_db: float = 6.0,
        window_s: float = 0.5,
        max_delay_s: float = 0.25,
        range_db: float = 25.0,
    ) -> None:
        self._w = max(2, int(round(window_s / hop_s)))
        self._d = max(0, int(round(max_delay_s / hop_s)))
        self._min_r = min_r
        self._margin_db = margin_db
        self._range_db = range_db
        n = self._w + self._d
        self._n = n
        # the latest n frames of each channel, oldest first: band dB rows and levels
        self._near = np.full((n, n_bands), -100.0)
        self._far = np.full((n, n_bands), -100.0)
        self._near_db = np.full(self._w, -120.0)
        self._far_db = np.full(n, -120.0)
        self.last_r = float("nan")  #: the best correlation at the last checked frame

    def update(
        self, near_bands_db: np.ndarray, near_db: float, far_bands_db: np.ndarray, far_db: float, near_speech: bool
    ) -> bool:
        """Feed one frame of both channels: band log-energies (dB, shape (n_bands,)),
        levels (dBFS) and this channel's speech decision before this check. True when
        this frame is speech that is only the far side's echo. (The far side's own
        speech decision is not needed: near speech that follows the far side's band
        pattern is its echo whatever the far side's detector said.)"""
        return bool(
            self.update_many(
                np.asarray(near_bands_db, dtype=np.float64)[None, :],
                np.array([near_db]),
                np.asarray(far_bands_db, dtype=np.float64)[None, :],
                np.array([far_db]),
                np.array([near_speech], dtype=bool),
            )[0]
        )

    def update_many(
        self,
        near_bands_db: np.ndarray,
        near_db: np.ndarray,
        far_bands_db: np.ndarray,
        far_db: np.ndarray,
        near_speech: np.ndarray,
    ) -> np.ndarray:
        """:meth:`update` for ``m`` consecutive frames: band dB of shape (m, n_bands),
        levels (dBFS) and speech decisions of shape (m,); returns the echo flags, bool
        (m,). The level test runs over the whole block at once; the correlation only
        on the frames that pass it (near speech at least ``margin_db`` below the far side)."""
        n, w, m = self._n, self._w, len(near_db)
        near_hist = np.concatenate([self._near, np.maximum(near_bands_db, -100.0)])  # (n + m, n_bands)
        far_hist = np.concatenate([self._far, np.maximum(far_bands_db, -100.0)])
        near_lev = np.concatenate([self._near_db, np.asarray(near_db, dtype=np.float64)])  # (w + m,)
        far_lev = np.concatenate([self._far_db, np.asarray(far_db, dtype=np.float64)])  # (n + m,)
        # frame i's windows are rows [i + 1, i + 1 + length) of each history
        near_max, far_max = _window_max(near_lev, w), _window_max(far_lev, n)
        check = np.asarray(near_speech, dtype=bool) & ~(near_max > far_max - self._margin_db)
        echo = np.zeros(m, dtype=bool)
        r = float("nan")
        for i in np.flatnonzero(check).tolist():
            r = self._best_r(near_hist[i + 1 : i + 1 + n], far_hist[i + 1 : i + 1 + n])
            echo[i] = r >= self._min_r
        self.last_r = r if m and check[-1] else float("nan")
        self._near, self._far = near_hist[-n:], far_hist[-n:]
        self._near_db, self._far_db = near_lev[-w:], far_lev[-n:]
        return echo

    def _best_r(self, near_all: np.ndarray, far_all: np.ndarray) -> float:
        """The best Pearson r between the latest ``window_s`` of this channel's band
        pattern and the far channel's at each delay; ``near_all``, ``far_all``: the
        latest ``window_s + max_delay_s`` of band dB, shape (n, n_bands), oldest first."""
        n = self._n
        # each band's own mean removed: the correlation is of the bands' time courses, not
        # of the spectral tilt every voice shares (nor of an echo path's per-band gain)
        near = _compress(near_all[-self._w :], self._range_db)
        a = (near - near.mean(axis=0)).ravel()
        # far patches at delays d = 0..max: rows [n - w - d, n - d)
        patches = np.stack([_compress(far_all[n - self._w - d : n - d], self._range_db) for d in range(self._d + 1)])
        patches = (patches - patches.mean(axis=1, keepdims=True)).reshape(self._d + 1, -1)
        den = np.sqrt(np.sum(a * a) * np.sum(patches * patches, axis=1))
        r = np.where(den > 1e-9, patches @ a / np.maximum(den, 1e-9), 0.0)
        return float(r.max())

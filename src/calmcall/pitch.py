"""Fundamental frequency: swift-f0 on a fixed chunk grid (:class:`SwiftPitch`, what the
measures use) and YIN on frames (:func:`yin_frames`, kept as the benchmark's reference
point for what a plain autocorrelation tracker does through a phone band).

YIN doubles F0 when the phone band removes the fundamental (docs/background.md: Real speech: 25 % gross
pitch errors at 8 kHz, 300-3400 Hz); swift-f0 does not. The YIN part:

This is YIN (de Cheveigné & Kawahara 2002): difference function, cumulative mean
normalised difference (CMND), absolute threshold, parabolic interpolation. It is
vectorised over frames with one FFT per frame. We do not use ``librosa.yin``
because it returns an F0 for every frame with no voicing decision (its aperiodicity
is not exposed), and ``librosa.pyin`` costs 15-30x more (docs/background.md: Numbers); the
voicing decision here is the CMND minimum against ``threshold``.
"""

from __future__ import annotations

import functools

import numpy as np


def yin_frames(
    frames: np.ndarray,
    *,
    sr_hz: int,
    fmin_hz: float,
    fmax_hz: float,
    threshold: float = 0.2,
) -> tuple[np.ndarray, np.ndarray]:
    """Estimate F0 for each row of ``frames``.

    Parameters
    ----------
    frames : np.ndarray, shape (n_frames, frame_length)
        Audio frames; ``frame_length`` must exceed ``2 * sr_hz / fmin_hz`` samples
        is not required, but must exceed ``sr_hz / fmin_hz`` (one longest period).
    sr_hz : sample rate in Hz.
    fmin_hz, fmax_hz : search range in Hz.
    threshold : CMND threshold; frames whose best dip is above it are unvoiced.

    Returns
    -------
    f0_hz : np.ndarray, shape (n_frames,)
        F0 in Hz, ``nan`` where unvoiced.
    aperiodicity : np.ndarray, shape (n_frames,)
        CMND value at the chosen lag (0 = perfectly periodic, ~1 = noise).
    """
    frames = np.asarray(frames, dtype=np.float64)
    if frames.ndim != 2:
        raise ValueError(f"frames must have shape (n_frames, frame_length), got {frames.shape}")
    n, length = frames.shape
    tau_min = max(2, int(np.floor(sr_hz / fmax_hz)))
    tau_max = int(np.ceil(sr_hz / fmin_hz))
    win = length - tau_max
    if win < tau_max // 2:
        raise ValueError(
            f"frame_length {length} is too short for fmin_hz={fmin_hz} at {sr_hz} Hz; "
            f"use at least {tau_max + tau_max // 2} samples or raise fmin_hz"
        )
    if n == 0:
        return np.empty(0), np.empty(0)
    # r[tau] for 0 <= tau <= tau_max needs no zero padding beyond frame_length:
    # win - 1 + tau_max = frame_length - 1, so the circular correlation does not wrap
    n_fft = 1 << int(np.ceil(np.log2(length)))
    spec_full = np.fft.rfft(frames, n_fft, axis=1)
    spec_head = np.fft.rfft(frames[:, :win], n_fft, axis=1)
    # r[tau] = sum_{j<win} x[j] x[j+tau]
    r = np.fft.irfft(spec_full * np.conj(spec_head), n_fft, axis=1)[:, : tau_max + 1]
    sq = np.concatenate([np.zeros((n, 1)), np.cumsum(frames**2, axis=1)], axis=1)
    taus = np.arange(tau_max + 1)
    energy_0 = sq[:, win][:, None]
    energy_tau = sq[:, taus + win] - sq[:, taus]
    diff = np.maximum(energy_0 + energy_tau - 2.0 * r, 0.0)
    cum = np.cumsum(diff[:, 1:], axis=1)
    cmnd = np.ones_like(diff)
    with np.errstate(divide="ignore", invalid="ignore"):
        cmnd[:, 1:] = np.where(cum > 0, diff[:, 1:] * taus[1:] / cum, 1.0)
    search = cmnd[:, tau_min : tau_max + 1]
    # first local minimum below threshold, else the global minimum
    below = search < threshold
    is_min = np.ones_like(below)
    is_min[:, :-1] = search[:, :-1] <= search[:, 1:]
    # walk to the bottom of the dip: first index below threshold that is a local min
    candidates = below & is_min
    has = candidates.any(axis=1)
    first = np.where(has, candidates.argmax(axis=1), search.argmin(axis=1))
    rows = np.arange(n)
    best = first + tau_min
    aper = cmnd[rows, best]
    # parabolic interpolation around the chosen lag
    left = cmnd[rows, np.clip(best - 1, 0, tau_max)]
    right = cmnd[rows, np.clip(best + 1, 0, tau_max)]
    denom = left - 2 * aper + right
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(np.abs(denom) > 1e-12, 0.5 * (left - right) / denom, 0.0)
    shift = np.clip(shift, -1.0, 1.0)
    period = best + shift
    f0 = sr_hz / period
    voiced = (aper < threshold) & (f0 >= fmin_hz) & (f0 <= fmax_hz)
    return np.where(voiced, f0, np.nan), aper


# --------------------------------------------------------------------------- swift-f0

#: swift-f0's frame hop (samples at 16 kHz): one pitch value every 16 ms, frame ``j``
#: centred on sample ``256 j``.
SWIFT_HOP = 256
SWIFT_RATE_HZ = 16_000
#: swift-f0 frames of context the model needs after / before the frames it reports
#: (its receptive field reaches 2815 samples each way; swift_f0.core LOOKAHEAD_FRAMES,
#: LEFT_FRAMES).
SWIFT_LOOK_FRAMES = 10
SWIFT_LEFT_FRAMES = 11


@functools.lru_cache(maxsize=1)
def _swift_detector():  # type: ignore[no-untyped-def]
    from swift_f0 import SwiftF0

    # one thread, no spinning: the core runs two channels plus transcription on few cores
    return SwiftF0(threads=1, spin=False)


class SwiftPitch:
    """swift-f0 (MIT; a small CNN on the spectrogram, robust to a missing fundamental)
    run on a fixed grid of chunks of ``chunk_frames`` x 16 ms.

    Chunk ``c`` holds swift-f0 frames ``[c S, (c+1) S)`` (``S = chunk_frames``). The
    model sees ``SWIFT_LEFT_FRAMES`` frames before it and ``SWIFT_LOOK_FRAMES`` after,
    so the chunk's values are known at stream sample :meth:`release_sample` ``(c)``
    ``= ((c+1) S + SWIFT_LOOK_FRAMES) * 256``. The windows do not depend on how the
    audio was fed, so neither do the values.
    """

    def __init__(self, *, chunk_frames: int, fmin_hz: float, fmax_hz: float) -> None:
        if chunk_frames < 1:
            raise ValueError(f"chunk_frames must be >= 1, got {chunk_frames}")
        self.chunk_frames = chunk_frames
        self._fmin, self._fmax = float(fmin_hz), float(fmax_hz)
        self._audio = np.zeros(0, dtype=np.float32)
        self._start = 0  # stream sample of self._audio[0]
        self.next_chunk = 0
        self.calls = 0  #: model runs so far (chunks with speech)

    def feed(self, block: np.ndarray) -> None:
        """Append the next audio (16 kHz float32, shape (n,))."""
        self._audio = np.concatenate([self._audio, np.asarray(block, dtype=np.float32)])

    def release_sample(self, chunk: int) -> int:
        """Stream sample count at which ``chunk``'s values are known."""
        return ((chunk + 1) * self.chunk_frames + SWIFT_LOOK_FRAMES) * SWIFT_HOP

    def run_chunk(self, *, skip: bool) -> tuple[np.ndarray, np.ndarray]:
        """Values of chunk :attr:`next_chunk` (then the next one): ``(f0_hz, confidence)``,
        arrays of shape ``(chunk_frames,)``. ``skip`` (no speech in the chunk) returns
        zero confidence without running the model. Audio past the end of what was fed
        reads as zeros (for a flush at the end of a recording)."""
        s = self.chunk_frames
        c = self.next_chunk
        first = max(0, c * s - SWIFT_LEFT_FRAMES)
        a, b = first * SWIFT_HOP, self.release_sample(c)
        if skip:
            f0, conf = np.full(s, np.nan), np.zeros(s)
        else:
            window = self._audio[a - self._start : b - self._start]
            if len(window) < b - a:
                window = np.concatenate([window, np.zeros(b - a - len(window), dtype=np.float32)])
            res = _swift_detector().detect(window, SWIFT_RATE_HZ, self._fmin, self._fmax)
            k = c * s - first
            f0, conf = res.pitch_hz[k : k + s], res.confidence[k : k + s]
            self.calls += 1
        self.next_chunk += 1
        keep = max(0, self.next_chunk * s - SWIFT_LEFT_FRAMES) * SWIFT_HOP
        if keep > self._start:
            self._audio = self._audio[keep - self._start :]
            self._start = keep
        return np.asarray(f0, dtype=np.float64), np.asarray(conf, dtype=np.float64)

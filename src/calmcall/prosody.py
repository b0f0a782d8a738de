"""Per-speaker streaming voice measures: activity, F0, level, syllable rate.

Audio arrives in blocks of any length; it is cut into 40 ms frames every 10 ms.
Each frame is known at the audio time of its last sample (no look-ahead).
Windowed statistics cover the *latest stretch of active speech* (pauses are
skipped), so a measure is never diluted by silence.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from .audio_io import SAMPLE_RATE_HZ
from .config import MeasureConfig
from .pitch import yin_frames
from .rate import VOWEL_BAND_HZ, SyllableCounter
from .vad import NoiseFloorVad

HOP = 160  #: samples between frames (10 ms)
FRAME = 640  #: samples per frame (40 ms: two periods of 50 Hz)
HOP_S = HOP / SAMPLE_RATE_HZ

_WINDOW = np.hanning(FRAME)
_FREQS_HZ = np.fft.rfftfreq(FRAME, 1.0 / SAMPLE_RATE_HZ)
_VOWEL_BINS = (_FREQS_HZ >= VOWEL_BAND_HZ[0]) & (_FREQS_HZ < VOWEL_BAND_HZ[1])


def vowel_band_db(frames: np.ndarray) -> np.ndarray:
    """Intensity (dB, arbitrary reference) of each frame's 300-2500 Hz band, from a
    Hann-windowed spectrum: frames of shape (n, FRAME) → shape (n,)."""
    spec = np.fft.rfft(frames.astype(np.float64) * _WINDOW, axis=1)
    power = np.sum(spec.real[:, _VOWEL_BINS] ** 2 + spec.imag[:, _VOWEL_BINS] ** 2, axis=1)
    return 10.0 * np.log10(np.maximum(power, 1e-12))


def db(power: float) -> float:
    """Power (mean square, full scale = 1.0 for a ±1 square wave) → dBFS."""
    return 10.0 * float(np.log10(max(power, 1e-12)))


@dataclass(frozen=True, slots=True)
class FrameMeasure:
    """One 10 ms frame: ``t_s`` (audio time the frame is known), ``active``,
    ``voiced``, ``f0_hz`` (nan when unvoiced), ``power`` (mean square),
    ``nucleus`` (a syllable nucleus was confirmed at this frame), ``loud`` (above
    the VAD threshold itself, not only inside its hangover: the frames that count
    for the active speech level)."""

    t_s: float
    active: bool
    voiced: bool
    f0_hz: float
    power: float
    nucleus: bool
    loud: bool = False


class SpeakerTracker:
    """Streaming measures for one speaker.

    Call :meth:`update` with consecutive 16 kHz float32 blocks; it returns the
    new :class:`FrameMeasure` objects. The properties give windowed values over
    the latest active speech (``None`` until enough speech was heard).
    """

    def __init__(self, cfg: MeasureConfig) -> None:
        self.cfg = cfg
        self._buf = np.zeros(0, dtype=np.float32)
        self._n_frames = 0
        self._vad = NoiseFloorVad(
            hop_s=HOP_S, margin_db=cfg.vad_margin_db, abs_floor_db=cfg.vad_floor_db, hangover_s=cfg.vad_hangover_s,
        )
        self._syl = SyllableCounter(dip_db=cfg.syllable_dip_db)
        self._f0 = deque(maxlen=max(1, int(cfg.pitch_window_s / HOP_S)))
        self._pow = deque(maxlen=max(1, int(cfg.level_window_s / HOP_S)))
        self._nuc = deque(maxlen=max(1, int(cfg.rate_window_s / HOP_S)))
        self.active = False
        self.speech_s = 0.0
        self.last_active_t_s = -1e9
        self.active_since_s: float | None = None

    def update(self, block: np.ndarray) -> list[FrameMeasure]:
        """Feed the next block (float32, shape (n,)); returns the frames it completed,
        with the windowed statistics advanced past all of them (:meth:`measure` then
        :meth:`push` for each frame)."""
        frames = self.measure(block)
        for f in frames:
            self.push(f)
        return frames

    def measure(self, block: np.ndarray) -> list[FrameMeasure]:
        """Per-frame values of the frames the next block completes (float32, shape
        (n,)), without advancing the windowed statistics: call :meth:`push` with each
        returned frame, in order, before reading a property at that frame's time. A
        caller that decides frame by frame (the pipeline) thus never sees audio later
        than the frame it decides at, whatever the block size."""
        buf = np.concatenate([self._buf, np.asarray(block, dtype=np.float32)])
        n_new = (len(buf) - FRAME) // HOP + 1 if len(buf) >= FRAME else 0
        if n_new <= 0:
            self._buf = buf
            return []
        frames = np.lib.stride_tricks.sliding_window_view(buf, FRAME)[: n_new * HOP : HOP]
        power = np.mean(frames.astype(np.float64) ** 2, axis=1)
        energy_db = 10.0 * np.log10(np.maximum(power, 1e-12))
        vad = [self._vad.update(float(e)) for e in energy_db]
        # pitch and syllable intensity only where there is speech: silence is half of a call per channel
        f0 = np.full(n_new, np.nan)
        syl_db = np.full(n_new, -120.0)
        idx = np.flatnonzero([a for a, _ in vad])
        if len(idx):
            syl_db[idx] = vowel_band_db(frames[idx])
            f0[idx], _ = yin_frames(
                frames[idx], sr_hz=SAMPLE_RATE_HZ, fmin_hz=self.cfg.pitch_min_hz, fmax_hz=self.cfg.pitch_max_hz,
                threshold=self.cfg.yin_threshold,
            )
        self._buf = buf[n_new * HOP :]
        out: list[FrameMeasure] = []
        for i in range(n_new):
            self._n_frames += 1
            t_s = ((self._n_frames - 1) * HOP + FRAME) / SAMPLE_RATE_HZ
            active, loud = vad[i]
            voiced = bool(active and not np.isnan(f0[i]))
            nucleus = self._syl.update(float(syl_db[i]), voiced)
            out.append(FrameMeasure(t_s, active, voiced, float(f0[i]) if voiced else float("nan"), float(power[i]), nucleus, loud))
        return out

    def push(self, f: FrameMeasure) -> None:
        """Advance the windowed statistics by one frame from :meth:`measure`."""
        if f.active:
            if not self.active:
                self.active_since_s = f.t_s
            self.speech_s += HOP_S
            self.last_active_t_s = f.t_s
            if f.loud:
                self._pow.append(f.power)
            self._nuc.append(f.nucleus)
            if f.voiced:
                self._f0.append(f.f0_hz)
        self.active = f.active

    @property
    def f0_hz(self) -> float | None:
        """Median F0 (Hz) over the latest ``pitch_window_s`` of voiced speech."""
        if len(self._f0) < max(5, self._f0.maxlen // 4):
            return None
        return float(np.median(self._f0))

    @property
    def level_db(self) -> float | None:
        """Active speech level (dBFS) over the latest ``level_window_s`` of speech."""
        if len(self._pow) < max(5, self._pow.maxlen // 4):
            return None
        return db(float(np.mean(self._pow)))

    @property
    def rate_syl_s(self) -> float | None:
        """Syllable nuclei per second of speech over the latest ``rate_window_s``."""
        if len(self._nuc) < self._nuc.maxlen // 2:
            return None
        return sum(self._nuc) / (len(self._nuc) * HOP_S)

"""Per-speaker streaming voice measures: activity, F0, level, syllable rate.

Audio arrives in blocks of any length; it is cut into 40 ms frames every 10 ms.
Each frame is known at the audio time of its last sample (no look-ahead). The
speech decision and the level are known at that time; the pitch (swift-f0, run on
fixed chunks of ``pitch_chunk_s``) and the syllable nuclei that need it become known
when the frame's chunk and the model's look-ahead have been heard, and enter the
windowed statistics only then. Windowed statistics cover the *latest stretch of
active speech* (pauses are skipped), so a measure is never diluted by silence.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from .config import MeasureConfig
from .constants import SAMPLE_RATE_HZ
from .pitch import SWIFT_HOP, SwiftPitch
from .rate import VOWEL_BAND_HZ, SyllableCounter
from .vad import EchoCheck, NarrowbandDetector, NoiseFloorVad, ProbabilityGate

HOP = 160  #: samples between frames (10 ms)
FRAME = 640  #: samples per frame (40 ms: two periods of 50 Hz)
HOP_S = HOP / SAMPLE_RATE_HZ

_WINDOW = np.hanning(FRAME)
_FREQS_HZ = np.fft.rfftfreq(FRAME, 1.0 / SAMPLE_RATE_HZ)
_VOWEL_BINS = (_FREQS_HZ >= VOWEL_BAND_HZ[0]) & (_FREQS_HZ < VOWEL_BAND_HZ[1])
#: Bands of the echo check's spectral pattern: 8 log-spaced bands over the phone band.
ECHO_BAND_EDGES_HZ = np.geomspace(300.0, 3400.0, 9)
_ECHO_BAND = np.digitize(_FREQS_HZ, ECHO_BAND_EDGES_HZ) - 1  # bin -> band (-1 / 8: outside)


_HF_BINS = _FREQS_HZ >= 4500.0  #: the narrowband check's high band
_PHONE_BINS = (_FREQS_HZ >= 300.0) & (_FREQS_HZ < 3400.0)
_ECHO_ONEHOT = np.stack([_ECHO_BAND == b for b in range(len(ECHO_BAND_EDGES_HZ) - 1)], axis=1).astype(np.float64)


def power_spectrum(frames: np.ndarray) -> np.ndarray:
    """Hann-windowed power spectrum of each frame: (n, FRAME) -> (n, FRAME // 2 + 1)."""
    spec = np.fft.rfft(frames.astype(np.float64) * _WINDOW, axis=1)
    return spec.real**2 + spec.imag**2


def band_db(power_spec: np.ndarray) -> np.ndarray:
    """Log energy (dB) in the :data:`ECHO_BAND_EDGES_HZ` bands of each frame's power
    spectrum (:func:`power_spectrum`): shape (n, bins) -> (n, 8)."""
    return 10.0 * np.log10(np.maximum(power_spec @ _ECHO_ONEHOT, 1e-12))


def vowel_band_db(power_spec: np.ndarray) -> np.ndarray:
    """Intensity (dB, arbitrary reference) of the 300-2500 Hz band of each frame's power
    spectrum (:func:`power_spectrum`): shape (n, bins) → shape (n,)."""
    return 10.0 * np.log10(np.maximum(np.sum(power_spec[:, _VOWEL_BINS], axis=1), 1e-12))


def _swift_frame(k: int) -> int:
    """The swift-f0 frame (16 ms hop, frame j centred on sample 256 j) nearest to the
    centre of our frame ``k`` (sample 160 k + 320)."""
    return (2 * (HOP * k + FRAME // 2) + SWIFT_HOP) // (2 * SWIFT_HOP)


#: F0 more than this many semitones (and less than :data:`OCTAVE_GUARD_ST` [1]) from the
#: window's median is taken as an octave error (a doubled or halved period) and kept out
#: of the cue's median: 9-15 st is an octave +- 3 st, far beyond a syllable's
#: intonation within one second (chosen on the dev clips, benchmarks/bench_realspeech.py).
OCTAVE_GUARD_ST = (9.0, 15.0)


#: :class:`F0Median` restarts on the guarded-out frames once they are more than this
#: share of its window (a real octave move is followed after 0.76 s of voicing)
OCTAVE_REANCHOR_SHARE = 0.75

#: The tracker's octave guard (:class:`F0Median` with ``revert_s``): a voiced frame that
#: jumps :data:`OCTAVE_GUARD_ST` from the previous voiced frame, at most
#: :data:`OCTAVE_JUMP_GAP_S` after it, starts a held run; the run enters the median only
#: if it stays there, in continuous voicing, for this long (s). A tracker's octave error
#: (a doubled or halved period) reverts within it; a voice does not move an octave in
#: 10 ms and stay there. A rise after a pause (a new turn, a new phrase) is not held at all.
OCTAVE_REVERT_S = 0.25
#: a jump is only checked against a voiced frame at most this long before it (s)
OCTAVE_JUMP_GAP_S = 0.1
#: a held run continues while each frame is within this of the one before (semitones)
OCTAVE_RUN_ST = 3.0


class F0Median:
    """The cue's F0: the median of the latest ``n_frames`` voiced frames (10 ms each),
    reported once ``min_frames`` are in, with an octave guard.

    A frame whose F0 is :data:`OCTAVE_GUARD_ST` (9-15 st, an octave +- 3 st) above or
    below the current median is an octave error of the tracker (or creak at half the
    period) and does not enter the window. If such frames are more than
    :data:`OCTAVE_REANCHOR_SHARE` of the latest ``n_frames`` voiced ones, the speaker
    really is there (or the window started on an error): the window restarts from them.
    A plain median flips once half its window is doubled; this one holds until three
    quarters are. That guard holds back a real rise too (a turn +8-12 st above the
    calm one waits 0.76 s of voicing), so the tracker uses the *revert* guard instead
    (``guard_st=None, revert_s=OCTAVE_REVERT_S``): a frame that jumps 9-15 st from the
    previous voiced frame (within :data:`OCTAVE_JUMP_GAP_S`) is held, with the frames
    that continue it (each within :data:`OCTAVE_RUN_ST` of the last); the run enters
    the window once it has lasted ``revert_s`` in continuous voicing, and is dropped
    (:attr:`rejected`) if it ends or jumps back sooner. A rise after a pause is never
    held; a rise inside voicing at most ``revert_s``. Causal, one frame at a time; the
    values depend only on the frames pushed (and their times), not on how the audio was fed.
    """

    def __init__(
        self,
        n_frames: int,
        min_frames: int,
        guard_st: tuple[float, float] | None = OCTAVE_GUARD_ST,
        *,
        revert_s: float | None = None,
    ) -> None:
        if not 1 <= min_frames <= n_frames:
            raise ValueError(f"need 1 <= min_frames <= n_frames, got {min_frames}, {n_frames}")
        if revert_s is not None and not revert_s > 0:
            raise ValueError(f"revert_s must be > 0 s (or None: no revert guard), got {revert_s}")
        self._revert_s = revert_s
        self._held: list[float] = []  # the run held by the revert guard (F0 Hz)
        self._held_t0_s = 0.0  # time of its first frame
        self._last: tuple[float, float] | None = None  # (t_s, F0 Hz) of the last frame pushed
        self._anchor: tuple[float, float] | None = None  # (t_s, F0 Hz): the frame before the held run's jump
        self._n_pushed = 0
        self.n_frames, self.min_frames = int(n_frames), int(min_frames)
        # guard_st None: a plain median (for comparisons)
        self._lo_st, self._hi_st = guard_st if guard_st is not None else (np.inf, np.inf)
        self._win: deque[float] = deque(maxlen=self.n_frames)  # accepted F0 (Hz)
        self._recent: deque[tuple[float, bool]] = deque(maxlen=self.n_frames)  # (F0 Hz, accepted)
        self._sorted: list[float] = []  # self._win, sorted (the median without a sort per frame)
        self._n_off = 0  # frames of self._recent kept out
        self._median: float | None = None
        self.rejected = 0  #: frames kept out by the octave guard so far

    def push(self, f0_hz: float, t_s: float | None = None) -> None:
        """Add one voiced frame's F0 (Hz, > 0) at time ``t_s`` (s; ``None``: the frame
        right after the previous one pushed, 10 ms later)."""
        f = float(f0_hz)
        t = self._n_pushed * HOP_S if t_s is None else float(t_s)
        self._n_pushed += 1
        if self._revert_s is None:
            self._add(f)
            return
        last, self._last = self._last, (t, f)
        if self._held:
            assert last is not None  # a held run follows a pushed frame
            prev_t, prev_f = last
            if t - prev_t <= OCTAVE_JUMP_GAP_S and abs(_st(f, prev_f)) < OCTAVE_RUN_ST:
                self._held.append(f)  # the run goes on
                if t - self._held_t0_s >= self._revert_s:  # it stayed: a real move
                    for g in self._held:
                        self._add(g)
                    self._held.clear()
                return
            # the run ended (a pause) or jumped back before revert_s: an octave error
            self.rejected += len(self._held)
            self._held.clear()
            last = self._anchor
        if last is not None and t - last[0] <= OCTAVE_JUMP_GAP_S and self._is_jump(f, last[1]):
            self._anchor = last
            self._held = [f]
            self._held_t0_s = t
            return
        self._add(f)

    @staticmethod
    def _is_jump(f_hz: float, prev_hz: float) -> bool:
        lo, hi = OCTAVE_GUARD_ST
        return lo <= abs(_st(f_hz, prev_hz)) <= hi

    def _add(self, f: float) -> None:
        med = self._median
        ok = med is None or not (self._lo_st <= abs(12.0 * math.log2(f / med)) <= self._hi_st)
        if len(self._recent) == self.n_frames and not self._recent[0][1]:
            self._n_off -= 1
        self._recent.append((f, ok))
        if ok:
            if len(self._win) == self.n_frames:
                del self._sorted[bisect.bisect_left(self._sorted, self._win[0])]
            self._win.append(f)
            bisect.insort(self._sorted, f)
        else:
            self.rejected += 1
            self._n_off += 1
            if self._n_off > OCTAVE_REANCHOR_SHARE * self.n_frames:  # re-anchor on the frames kept out
                off = [g for g, a in self._recent if not a]
                self._win = deque(off, maxlen=self.n_frames)
                self._sorted = sorted(off)
                self._recent = deque(((g, True) for g in off), maxlen=self.n_frames)
                self._n_off = 0
        n = len(self._sorted)
        if n < self.min_frames:
            self._median = None
        else:
            srt = self._sorted
            self._median = srt[n // 2] if n % 2 else 0.5 * (srt[n // 2 - 1] + srt[n // 2])

    @property
    def value_hz(self) -> float | None:
        """The median F0 (Hz), ``None`` until ``min_frames`` voiced frames are in."""
        return self._median

    def __len__(self) -> int:
        return len(self._win)


def _st(f_hz: float, ref_hz: float) -> float:
    """Semitones of ``f_hz`` above ``ref_hz``."""
    return 12.0 * math.log2(f_hz / ref_hz)


def db(power: float) -> float:
    """Power (mean square, full scale = 1.0 for a ±1 square wave) → dBFS."""
    return 10.0 * float(np.log10(max(power, 1e-12)))


@dataclass(frozen=True, slots=True)
class PitchFrame:
    """The pitch of an earlier frame, delivered once it is known (see
    :class:`FrameMeasure`): ``t_s`` is *that* frame's own time (its last sample),
    ``active`` its speech decision, ``voiced``, ``f0_hz`` (nan when unvoiced) and
    ``nucleus`` (a syllable nucleus was confirmed at that frame)."""

    t_s: float
    active: bool
    voiced: bool
    f0_hz: float
    nucleus: bool


@dataclass(frozen=True, slots=True)
class FrameMeasure:
    """One 10 ms frame, known at ``t_s`` (the audio time of its last sample).

    ``active``: the channel's speech decision (Silero VAD, gated by energy, echo of
    the far side removed); ``power``: mean square; ``loud``: above the energy gate's
    threshold itself, not only inside its hangover (the frames that count for the
    active speech level); ``echo``: the frame would be speech but is the far side's
    voice heard back. ``pitched``: the :class:`PitchFrame` values of earlier frames
    that became known at this frame (pitch needs ~0.3-0.7 s of audio after a frame;
    the windowed F0 and syllable rate take them in only now, so nothing looks ahead).
    """

    t_s: float
    active: bool
    power: float
    loud: bool = False
    echo: bool = False
    pitched: tuple[PitchFrame, ...] = ()


@dataclass(frozen=True, slots=True)
class FrontFrames:
    """A channel's per-frame front-end values for one block (arrays of shape (n,)):
    the frames' vowel-band intensity (dB, for the syllable nuclei), their mean-square
    power and dBFS level, the speech decision before the echo check, and the energy
    gate's raw above-threshold flag."""

    vowel_db: np.ndarray
    power: np.ndarray
    level_db: np.ndarray
    speech: np.ndarray
    loud: np.ndarray
    bands_db: np.ndarray  #: shape (n, 8): log energy in the echo check's bands


class ChannelFront:
    """The speech decision of one channel, before the cross-channel echo check.

    Silero VAD v6 (:class:`calmcall.asr.silero.SileroStream`, on its fixed grid of 32 ms
    frames with its state carried, so its output does not depend on the block size) gives a speech
    probability; :class:`~calmcall.vad.ProbabilityGate` turns it into a decision with
    hysteresis and a hangover; the energy detector
    (:class:`~calmcall.vad.NoiseFloorVad`) must agree. At a 10 ms frame the latest
    Silero frame that has ended is used.
    """

    def __init__(self, cfg: MeasureConfig, *, gated_silero: bool = True) -> None:
        from .asr.silero import FRAME_N as SILERO_FRAME
        from .asr.silero import GatedSilero, SileroStream

        self._gated = gated_silero
        self._silero = SileroStream()
        self._gsilero = GatedSilero()
        self._silero_frame = SILERO_FRAME
        self._probs: list[float] = []  # ungated: Silero probabilities from Silero frame self._p0 on
        self._p0 = 0
        self._cfg = cfg
        self._gate = ProbabilityGate(
            hop_s=HOP_S, on=cfg.speech_prob_on, off=cfg.speech_prob_off, hangover_s=cfg.speech_hangover_s
        )
        self._vad = NoiseFloorVad(
            hop_s=HOP_S,
            margin_db=cfg.vad_margin_db,
            abs_floor_db=cfg.vad_floor_db,
            hangover_s=cfg.vad_hangover_s,
        )
        self._nb = NarrowbandDetector(hop_s=HOP_S, hf_db=cfg.narrowband_hf_db)
        self._buf = np.zeros(0, dtype=np.float32)
        self._n_frames = 0

    @property
    def narrowband(self) -> bool:
        """The channel is band-limited like a phone line (its narrowband thresholds apply)."""
        return self._nb.narrowband

    @property
    def silero_frames_run(self) -> int:
        """Silero frames run so far (all of them when not gated)."""
        return self._gsilero.frames_run if self._gated else self._silero.frames

    def feed(self, block: np.ndarray) -> FrontFrames:
        """Feed the next block (16 kHz float32, shape (n,)); values of the frames it completes.

        The energy gate decides first; Silero (gated: only on the 32 ms frames some
        frame inside the energy gate looks up, :class:`calmcall.asr.silero.GatedSilero`)
        gives the probability, thresholded with the narrowband or the wideband
        thresholds by the channel's state at that frame."""
        block = np.asarray(block, dtype=np.float32).ravel()
        if self._gated:
            self._gsilero.feed(block)
        else:
            # Silero on the block's complete 32 ms frames, state carried: batched output is
            # bit-identical to frame-by-frame calls (tests/test_pipeline_grid.py checks it stays so)
            self._probs.extend(self._silero.feed(block).tolist())
        buf = np.concatenate([self._buf, block])
        n_new = (len(buf) - FRAME) // HOP + 1 if len(buf) >= FRAME else 0
        if n_new <= 0:
            self._buf = buf
            return FrontFrames(
                np.zeros(0),
                np.zeros(0),
                np.zeros(0),
                np.zeros(0, bool),
                np.zeros(0, bool),
                np.zeros((0, len(ECHO_BAND_EDGES_HZ) - 1)),
            )
        frames = np.lib.stride_tricks.sliding_window_view(buf, FRAME)[: n_new * HOP : HOP]
        power = np.mean(frames.astype(np.float64) ** 2, axis=1)
        level_db = 10.0 * np.log10(np.maximum(power, 1e-12))
        spec = power_spectrum(frames)
        active, loud = self._vad.update_many(level_db)
        nb = self._nb.update_many(spec[:, _HF_BINS].sum(axis=1), spec[:, _PHONE_BINS].sum(axis=1), loud)
        ends = (self._n_frames + np.arange(n_new)) * HOP + FRAME  # stream sample after each frame's last one
        k = ends // self._silero_frame - 1  # the latest Silero frame that has ended
        if self._gated:
            prob = self._gsilero.probs(k, active)
        else:
            probs = np.asarray(self._probs, dtype=np.float64)
            prob = np.where(k >= 0, probs[np.maximum(k - self._p0, 0)] if len(probs) else 0.0, 0.0)
        c = self._cfg
        on = self._gate.update_many(
            prob,
            on=np.where(nb, c.speech_prob_on_narrowband, c.speech_prob_on),
            off=np.where(nb, c.speech_prob_off_narrowband, c.speech_prob_off),
        )
        speech = on & active
        self._n_frames += n_new
        if not self._gated:  # keep only the probabilities later frames can still look up
            first_needed = max(0, (self._n_frames * HOP + FRAME) // self._silero_frame - 1)
            if first_needed > self._p0:
                del self._probs[: first_needed - self._p0]
                self._p0 = first_needed
        self._buf = buf[n_new * HOP :]
        return FrontFrames(vowel_band_db(spec), power, level_db, speech, loud, band_db(spec))


class SpeakerTracker:
    """Streaming measures for one speaker.

    Call :meth:`update` with consecutive 16 kHz float32 blocks; it returns the
    new :class:`FrameMeasure` objects. The properties give windowed values over
    the latest active speech (``None`` until enough speech was heard).
    """

    def __init__(self, cfg: MeasureConfig, *, gated_silero: bool = True) -> None:
        self.cfg = cfg
        self.front = ChannelFront(cfg, gated_silero=gated_silero)
        self._echo = EchoCheck(
            hop_s=HOP_S, n_bands=len(ECHO_BAND_EDGES_HZ) - 1, min_r=cfg.echo_min_r, margin_db=cfg.echo_margin_db
        )
        chunk = max(1, int(round(cfg.pitch_chunk_s * SAMPLE_RATE_HZ / SWIFT_HOP)))
        self._pitch = SwiftPitch(chunk_frames=chunk, fmin_hz=cfg.pitch_min_hz, fmax_hz=cfg.pitch_max_hz)
        self._pending: deque[tuple[int, float, bool, float]] = deque()  # (frame, t_s, active, vowel-band dB)
        self._n_frames = 0
        self._n_samples = 0
        self._syl = SyllableCounter(dip_db=cfg.syllable_dip_db)
        n_f0 = max(1, int(cfg.pitch_window_s / HOP_S))
        # the revert guard, not the median guard: that one held back real +8-12 st rises
        self._f0 = F0Median(n_f0, max(1, n_f0 // 2), guard_st=None, revert_s=OCTAVE_REVERT_S)
        self._pow: deque[float] = deque(maxlen=max(1, int(cfg.level_window_s / HOP_S)))
        self._nuc: deque[bool] = deque(maxlen=max(1, int(cfg.rate_window_s / HOP_S)))
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

    def measure(self, block: np.ndarray, *, far: FrontFrames | None = None) -> list[FrameMeasure]:
        """Per-frame values of the frames the next block completes (float32, shape
        (n,)), without advancing the windowed statistics: call :meth:`push` with each
        returned frame, in order, before reading a property at that frame's time. A
        caller that decides frame by frame (the pipeline) thus never sees audio later
        than the frame it decides at, whatever the block size.

        ``far``: the other party's :class:`FrontFrames` for the same samples (from its
        own tracker's ``front.feed``), for the echo check; ``None`` when there is no
        other channel."""
        return self.measure_front(block, self.front.feed(block), far=far)

    def measure_front(self, block: np.ndarray, ff: FrontFrames, *, far: FrontFrames | None = None) -> list[FrameMeasure]:
        """:meth:`measure` with this channel's front-end values already computed by
        ``self.front.feed(block)`` (the pipeline feeds both fronts first, so each
        channel's echo check can see the other's)."""
        n_new = len(ff.power)
        if far is not None and len(far.power) != n_new:
            raise ValueError(f"far has {len(far.power)} frames for this block's {n_new}: feed both channels equal blocks")
        self._pitch.feed(block)
        self._n_samples += len(block)
        speech = ff.speech.copy()
        echo = np.zeros(n_new, dtype=bool)
        if far is not None:
            echo = self._echo.update_many(ff.bands_db, ff.level_db, far.bands_db, far.level_db, speech)
            speech &= ~echo
        syl_db = np.where(speech, ff.vowel_db, -120.0)
        out: list[FrameMeasure] = []
        release = self._pitch.release_sample(self._pitch.next_chunk)
        for sp, syl, pw, ld, ec in zip(
            speech.tolist(), syl_db.tolist(), ff.power.tolist(), (ff.loud & speech).tolist(), echo.tolist()
        ):
            self._n_frames += 1
            end = (self._n_frames - 1) * HOP + FRAME
            t_s = end / SAMPLE_RATE_HZ
            self._pending.append((self._n_frames - 1, t_s, sp, syl))
            pitched: tuple[PitchFrame, ...] = ()
            if release <= end:
                got: list[PitchFrame] = []
                while release <= end:
                    got += self._release_chunk()
                    release = self._pitch.release_sample(self._pitch.next_chunk)
                pitched = tuple(got)
            out.append(FrameMeasure(t_s, sp, pw, ld, ec, pitched))
        return out

    @property
    def pitch_calls(self) -> int:
        """swift-f0 model runs so far (chunks that held speech)."""
        return self._pitch.calls

    def flush(self) -> list[PitchFrame]:
        """At the end of a recording: the pitch of the frames not yet delivered,
        computed as if silence followed (for offline use, e.g. ``calmcall measure``;
        a live decision never waits for these)."""
        out: list[PitchFrame] = []
        while self._pending:
            out += self._release_chunk()
        return out

    def _release_chunk(self) -> list[PitchFrame]:
        """Run the next pitch chunk and turn the pending frames whose pitch it holds
        into :class:`PitchFrame` values (in order), advancing the syllable counter."""
        s = self._pitch.chunk_frames
        c = self._pitch.next_chunk
        lim = (c + 1) * s  # swift frames of this chunk: [c s, (c+1) s)
        mine = []
        while self._pending and _swift_frame(self._pending[0][0]) < lim:
            mine.append(self._pending.popleft())
        f0, conf = self._pitch.run_chunk(skip=not any(active for _, _, active, _ in mine))
        thr = self.cfg.pitch_confidence
        out = []
        for k, t_s, active, syl in mine:
            j = _swift_frame(k) - c * s
            voiced = bool(active and conf[j] >= thr and self.cfg.pitch_min_hz <= f0[j] <= self.cfg.pitch_max_hz)
            nucleus = self._syl.update(syl, voiced)
            out.append(PitchFrame(t_s, active, voiced, float(f0[j]) if voiced else float("nan"), nucleus))
        return out

    def push(self, f: FrameMeasure) -> None:
        """Advance the windowed statistics by one frame from :meth:`measure`: its
        speech and level now, the pitch and nuclei it delivers for earlier frames."""
        if f.active:
            if not self.active:
                self.active_since_s = f.t_s
            self.speech_s += HOP_S
            self.last_active_t_s = f.t_s
            if f.loud:
                self._pow.append(f.power)
        for p in f.pitched:
            if p.active:
                self._nuc.append(p.nucleus)
                if p.voiced:
                    self._f0.push(p.f0_hz, p.t_s)
        self.active = f.active

    @property
    def f0_hz(self) -> float | None:
        """Median F0 (Hz) over the latest ``pitch_window_s`` of voiced speech, once half
        of it is in, octave errors kept out (:class:`F0Median`)."""
        return self._f0.value_hz

    @property
    def level_db(self) -> float | None:
        """Active speech level (dBFS) over the latest ``level_window_s`` of speech."""
        if len(self._pow) < max(5, (self._pow.maxlen or 1) // 4):
            return None
        return db(float(np.mean(self._pow)))

    @property
    def rate_syl_s(self) -> float | None:
        """Syllable nuclei per second of speech over the latest ``rate_window_s``."""
        if len(self._nuc) < (self._nuc.maxlen or 1) // 2:
            return None
        return sum(self._nuc) / (len(self._nuc) * HOP_S)

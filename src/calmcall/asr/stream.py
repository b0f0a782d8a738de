"""Streaming transcription per speaker channel (faster-whisper + Silero VAD).

Method
------
* **VAD gate.** Silero VAD v6 runs on every 32 ms frame with its state carried
  (:class:`calmcall.asr.silero.SileroStream`). An utterance starts at a frame with
  probability >= ``vad_threshold`` and ends after ``min_silence_s`` of frames below
  ``vad_threshold - 0.15``. Audio outside utterances is never decoded, so silence and
  noise give no words (and segments with high ``no_speech_prob`` / low
  ``avg_logprob`` / repetitive text are dropped as well). After ``vad_reset_s`` of
  frames below ``vad_threshold - 0.15`` a second copy of the VAD's recurrent state
  restarts, and a frame's probability is the larger of the two (see
  :class:`~calmcall.asr.silero.SileroStream`): the state carried through a pause alone
  lowered the next turn's speech probabilities on telephone audio below the threshold,
  and whole phrases were never decoded.
* **Final pass at the end of each utterance.** As soon as the VAD declares the end
  of an utterance, the utterance (padded by ``pad_s`` each side) is decoded once and
  every word not yet committed is committed. Most words of conversational speech are
  committed this way, ``min_silence_s`` + one decoding after they were spoken.
* **Interim passes inside long utterances.** While an utterance lasts longer than
  ``interim_interval_s``, it is re-decoded every ``interim_interval_s`` of new audio
  (never more often than the decoder is free). A word is committed when two
  successive passes agree on it (LocalAgreement-2, compared after lower-casing and
  stripping punctuation); the rest is emitted as a :class:`Partial`.
* **Bounded buffer.** Once an utterance's decoded window exceeds ``trim_after_s``,
  its start is moved to the end of the last committed word; a hard cap of
  ``max_window_s`` splits an utterance that never agrees. Committed text just before
  the window is given as ``initial_prompt`` (``DecodeOptions.prompt_words``).

Which words a pass commits, which it shows as a partial and when the window moves on
is decided by the pure policy :class:`calmcall.asr.agreement.LocalAgreement`; this
module is the adapter around it (VAD, scheduling, the model, the clocks).
* Every pass uses ``condition_on_previous_text=False``, temperature 0 only (no
  sampling fallback: deterministic, and a repetition loop is dropped rather than
  re-decoded), greedy search (``beam_size=1``: as accurate as beam 5 on the test
  clips and 15-20 % cheaper) and ``word_timestamps=True``.

Clocks
------
*Simulated* (default; ``analyze``, tests, benchmarks): a pass runs synchronously
inside :meth:`StreamingTranscriber.feed`. A pass that starts at audio time ``T`` and
takes ``c`` seconds of compute (measured with ``time.perf_counter``, or
``fixed_cost_s``) delivers its words at ``t_s = T + c``, and the decoder is busy until
then: no other pass (of this speaker, or of any speaker sharing the same
:class:`SimulatedClock`) starts earlier, exactly like the single decode thread of a
live session. Events are held back until the audio fed so far reaches their ``t_s``.
Passes start at block boundaries (a live worker could start up to one block
earlier). Text is deterministic wherever utterances are shorter than
``interim_interval_s``; inside longer utterances timing jitter can move an interim
pass by a block and with it *which* pass commits a word (and so that word's ``t_s``,
rarely its text). ``fixed_cost_s`` makes everything deterministic.

*Real time* (live): pass ``worker=DecodeWorker(...)``. ``feed()`` only runs the VAD
(~0.1 ms per frame), appends audio and hands work to the worker thread; it never
waits for the model. One :class:`DecodeWorker` (one thread, ``cpu_threads=1`` for
CTranslate2 by default) serves every speaker of the process, leaving the other core
for audio capture, prosody and the server. Results are stamped with the audio time at
which ``feed()`` picked them up.
"""

from __future__ import annotations

import collections
import dataclasses
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from calmcall.asr.agreement import DecodedPass, HypWord, LocalAgreement
from calmcall.asr.executors import DecodeWorker, SimulatedClock
from calmcall.asr.silero import FRAME_N as FRAME
from calmcall.asr.silero import SileroStream
from calmcall.asr.whisper import DecodeOptions, _decode, transcribe_whole_file
from calmcall.asr.words import normalize_transcript
from calmcall.constants import SAMPLE_RATE_HZ
from calmcall.events import Partial, Speaker, Word

__all__ = [
    "DecodeOptions",
    "DecodeWorker",
    "SimulatedClock",
    "StreamingTranscriber",
    "normalize_transcript",
    "transcribe_stream",
    "transcribe_whole_file",
]


@dataclass(slots=True)
class _Job:
    final: bool
    utt_id: int
    a0: int  # sample range [a0, a1) of the stream
    a1: int
    prompt: str | None
    ctx0: int = -1  # audio actually decoded starts here (<= a0: left context)


class StreamingTranscriber:
    """Transcribe one speaker's channel as it is fed, block by block.

    Parameters
    ----------
    model:
        a ``faster_whisper.WhisperModel`` (see :func:`calmcall.asr.load_model`).
    speaker:
        ``"agent"`` or ``"customer"``; stamped on every event.
    worker:
        a :class:`DecodeWorker` selects real-time mode; ``None`` (default) the
        simulated clock.
    clock:
        the :class:`SimulatedClock` to charge (share one between the speakers of a
        call); default a private one. Ignored in real-time mode.
    fixed_cost_s:
        for a private simulated clock: charge this many seconds per pass instead of
        the measured compute time.
    start_s:
        audio time of the first sample fed (default 0).
    context_s:
        audio before the utterance given to each pass as left context (words found
        there are not emitted again): short utterances decode much better with it
        and the encoder window is >= 10 s anyway.

    The other keyword arguments are the VAD and scheduling parameters described in
    the module docstring (seconds unless named otherwise).
    """

    def __init__(
        self,
        model: Any,
        speaker: Speaker,
        *,
        worker: DecodeWorker | None = None,
        clock: SimulatedClock | None = None,
        fixed_cost_s: float | None = None,
        options: DecodeOptions | None = None,
        language_lock: Any | None = None,
        vad_threshold: float = 0.5,
        min_silence_s: float = 0.3,
        pad_s: float = 0.4,
        min_speech_s: float = 0.15,
        interim_interval_s: float = 1.0,
        context_s: float = 0.0,
        trim_after_s: float = 8.0,
        max_window_s: float = 20.0,
        vad_reset_s: float | None = 1.0,
        start_s: float = 0.0,
    ) -> None:
        if speaker not in ("agent", "customer"):
            raise ValueError(f"speaker must be 'agent' or 'customer', got {speaker!r}")
        if not 0.0 < vad_threshold < 1.0:
            raise ValueError(f"vad_threshold must be in (0, 1), got {vad_threshold}")
        if interim_interval_s <= 0 or min_silence_s <= 0:
            raise ValueError("interim_interval_s and min_silence_s must be > 0 seconds")
        if vad_reset_s is not None and vad_reset_s <= 0:
            raise ValueError(f"vad_reset_s must be > 0 seconds or None, got {vad_reset_s}")
        self.model = model
        self.speaker: Speaker = speaker
        self.options = options or DecodeOptions()
        #: a :class:`calmcall.asr.language.LanguageLock` shared by a call's transcribers
        #: (``--language auto``: the first utterance decides), or None (``options.language``)
        self.language_lock = language_lock
        self._worker = worker
        self.clock = None if worker is not None else (clock or SimulatedClock(fixed_cost_s=fixed_cost_s))
        self._sr = SAMPLE_RATE_HZ
        self._origin = int(round(start_s * self._sr))
        self._thr = vad_threshold
        self._neg = max(vad_threshold - 0.15, 0.01)
        self._min_sil = int(round(min_silence_s * self._sr))
        self._pad = int(round(pad_s * self._sr))
        self._min_speech = int(round(min_speech_s * self._sr))
        self._interval = int(round(interim_interval_s * self._sr))
        self._context = int(round(context_s * self._sr))
        self._trim_after = int(round(trim_after_s * self._sr))
        self._max_window = int(round(max_window_s * self._sr))

        reset_frames = None if vad_reset_s is None else max(1, int(round(vad_reset_s * self._sr / FRAME)))
        self._vad = SileroStream(restart_after_quiet_frames=reset_frames, quiet_below=self._neg)
        self._n = 0  # samples fed
        # audio buffer: samples [_buf0, _n)
        self._buf = np.zeros(0, dtype=np.float32)
        self._buf0 = 0
        # VAD segmentation state
        self._triggered = False
        self._speech_start = 0
        self._temp_end: int | None = None
        # utterances
        self._utt_id = 0
        self._win0 = 0  # start of the current utterance's decoding window
        self._last_interim_a1 = 0
        self._finals: collections.deque[_Job] = collections.deque()
        # the commit policy: committed words, the previous interim hypothesis, the partial
        self.policy = LocalAgreement(speaker, trim_after_s=trim_after_s)
        # results / events
        self._pending: list[Word | Partial] = []  # simulated: waiting for t_s
        self._inflight = False
        self._results: collections.deque[tuple[_Job, list[HypWord] | None]] = collections.deque()
        self._lock = threading.Lock()
        self.passes = 0
        self.pass_compute_s = 0.0

    # ------------------------------------------------------------------ public

    @property
    def t_s(self) -> float:
        """Audio time fed so far (seconds since the call started)."""
        return (self._origin + self._n) / self._sr

    @property
    def realtime(self) -> bool:
        return self._worker is not None

    @property
    def busy(self) -> bool:
        """True while a word may still be committed from audio already fed: an
        utterance is open, or a pass is queued, running, or its words undelivered."""
        return bool(self._triggered or self._finals or self._inflight or self._results or self._pending)

    @property
    def committed_end_s(self) -> float:
        """End (audio seconds) of the last committed word; ``-inf`` before the first.
        Later words start after it."""
        return self.policy.committed_end_s

    def feed(self, block: np.ndarray) -> list[Word | Partial]:
        """Append a block of 16 kHz float32 mono audio; return the words and partials
        that became available by the end of it (ordered by ``t_s``)."""
        x = np.asarray(block, dtype=np.float32).ravel()
        if x.size == 0:
            return self._collect()
        with self._lock:
            self._buf = np.concatenate([self._buf, x])
        self._n += x.size
        probs = self._vad.feed(x)
        first_frame = self._vad.frames - len(probs)
        for k, p in enumerate(probs):
            self._vad_step(float(p), (first_frame + k) * FRAME)
        self._schedule()
        self._trim_buffer()
        return self._collect()

    def finish(self) -> list[Word]:
        """End of audio: close the current utterance, decode everything outstanding
        and return all remaining words (``t_s`` may lie after the end of the audio
        by the time the last pass takes)."""
        if self._triggered:
            self._end_utterance(self._speech_start, self._n, self._n)
        if self._worker is not None:
            while True:
                self._drain_results()
                if self._inflight:
                    time.sleep(0.005)
                    continue
                if not self._finals:
                    break
                self._submit(self._finals.popleft())
        else:
            while self._finals:
                self._run_simulated(self._finals.popleft(), self._n)
        out = [e for e in self._pending if isinstance(e, Word)]
        self._pending = []
        return sorted(out, key=lambda w: (w.t_s, w.start_s))

    # --------------------------------------------------------------- VAD + jobs

    def _vad_step(self, p: float, frame0: int) -> None:
        frame_end = frame0 + FRAME
        if p >= self._thr:
            self._temp_end = None
            if not self._triggered:
                self._triggered = True
                self._speech_start = frame0
                self._utt_id += 1
                self._win0 = max(frame0 - self._pad, self._buf0, 0)
                self._last_interim_a1 = self._win0
            return
        if not self._triggered:
            return
        if p < self._neg:
            if self._temp_end is None:
                self._temp_end = frame0
            if frame_end - self._temp_end >= self._min_sil:
                self._end_utterance(self._speech_start, self._temp_end, frame_end)

    def _end_utterance(self, speech_start: int, speech_end: int, now: int) -> None:
        self._triggered = False
        self._temp_end = None
        if speech_end - speech_start < self._min_speech:
            return
        a1 = min(speech_end + self._pad, now)
        self._finals.append(_Job(True, self._utt_id, self._win0, a1, None))

    def _next_job(self) -> _Job | None:
        if self._finals:
            return self._finals.popleft()
        if not self._triggered:
            return None
        now = self._n
        if now - self._win0 > self._max_window:
            # never agreed for max_window_s: split the utterance here
            self._finals.append(_Job(True, self._utt_id, self._win0, now, None))
            self._utt_id += 1
            self._win0 = now
            self._last_interim_a1 = now
            self._speech_start = now
            return self._finals.popleft()
        if self._temp_end is not None:
            return None  # in a pause: the utterance may be ending, keep the decoder free
        if now - self._win0 >= self._interval and now - self._last_interim_a1 >= self._interval:
            self._last_interim_a1 = now
            return _Job(False, self._utt_id, self._win0, now, None)
        return None

    def _prompt(self, a0: int) -> str | None:
        return self.policy.prompt(self._time_s(a0), self.options.prompt_words)

    def _time_s(self, sample: int) -> float:
        """Audio time (s since the call started) of sample ``sample`` of this stream."""
        return (self._origin + sample) / self._sr

    def _schedule(self) -> None:
        if self._worker is not None:
            self._drain_results()
            if not self._inflight:
                job = self._next_job()
                if job is not None:
                    self._submit(job)
            return
        now = self._n
        assert self.clock is not None
        while self.clock.busy_until_s <= self.t_s + 1e-9:
            job = self._next_job()
            if job is None:
                return
            self._run_simulated(job, now)

    def _audio(self, a0: int, a1: int) -> np.ndarray:
        with self._lock:
            i0 = max(a0 - self._buf0, 0)
            i1 = max(a1 - self._buf0, 0)
            return self._buf[i0:i1].copy()

    def _run_simulated(self, job: _Job, now: int) -> None:
        assert self.clock is not None
        job.prompt = self._prompt(job.a0)
        job.ctx0 = max(job.a0 - self._context, self._buf0, 0)
        audio = self._audio(job.ctx0, job.a1)
        start_s = (self._origin + now) / self._sr
        t0 = time.perf_counter()
        hyp, done_s = self.clock.run(
            start_s,
            lambda: _decode(
                self.model,
                audio,
                (self._origin + job.ctx0) / self._sr,
                self._pass_options(audio, start_s),
                job.prompt,
            ),
        )
        self.passes += 1
        self.pass_compute_s += time.perf_counter() - t0
        self._pending.extend(self._apply(job, hyp, done_s))

    def _pass_options(self, audio: np.ndarray, t_s: float) -> DecodeOptions:
        """This pass's options: ``self.options``, in the call's language when a
        :class:`~calmcall.asr.language.LanguageLock` decides it (runs in the decode thread)."""
        if self.language_lock is None:
            return self.options
        lang = self.language_lock.resolve(self.model, audio, t_s)
        if lang == self.options.language:
            return self.options
        return dataclasses.replace(self.options, language=lang)

    def _submit(self, job: _Job) -> None:
        assert self._worker is not None
        job.prompt = self._prompt(job.a0)
        job.ctx0 = max(job.a0 - self._context, self._buf0, 0)
        audio = self._audio(job.ctx0, job.a1)
        offset_s = (self._origin + job.ctx0) / self._sr
        self._inflight = True

        def run() -> None:
            hyp: list[HypWord] | None = None
            t0 = time.perf_counter()
            try:
                hyp = _decode(self.model, audio, offset_s, self._pass_options(audio, offset_s), job.prompt)
            finally:
                self.pass_compute_s += time.perf_counter() - t0
                self._results.append((job, hyp))

        self._worker.submit(run)

    def _drain_results(self) -> None:
        while self._results:
            job, hyp = self._results.popleft()
            self._inflight = False
            self.passes += 1
            if hyp is None:  # the pass failed; a final pass is retried once as empty
                continue
            self._pending.extend(self._apply(job, hyp, self.t_s))

    # ------------------------------------------------------- feed the policy

    def _apply(self, job: _Job, hyp: list[HypWord], t_s: float) -> list[Word | Partial]:
        """Hand one pass' hypothesis to the policy (see :mod:`calmcall.asr.agreement`);
        apply the window trim it asks for; return its events."""
        if not job.final and (job.utt_id != self._utt_id or not self._triggered):
            return []  # stale interim result: the final pass will cover it
        p = DecodedPass(
            final=job.final,
            utt_id=job.utt_id,
            a0_s=self._time_s(job.a0),
            a1_s=self._time_s(job.a1),
            window_start_s=None if job.final else self._time_s(self._win0),
        )
        update = self.policy.apply(hyp, p, t_s)
        if update.trim_to_s is not None:
            cut = int(round(update.trim_to_s * self._sr)) - self._origin
            if self._win0 < cut < job.a1:
                self._win0 = cut
        return update.events

    # ------------------------------------------------------------------ output

    def _collect(self) -> list[Word | Partial]:
        if self._worker is not None:
            self._drain_results()
        now_s = self.t_s + 1e-9
        ready = [e for e in self._pending if e.t_s <= now_s]
        if ready:
            self._pending = [e for e in self._pending if e.t_s > now_s]
        ready.sort(key=lambda e: e.t_s)
        return ready

    def _trim_buffer(self) -> None:
        keep_from = self._n - max(self._pad + FRAME, self._context)
        if self._finals:
            keep_from = min(keep_from, self._finals[0].a0 - self._context)
        if self._triggered:
            keep_from = min(keep_from, self._win0 - self._context, self._speech_start - self._pad)
        keep_from = max(keep_from, self._buf0)
        if keep_from - self._buf0 >= self._sr:  # trim in 1 s steps (buffer <= ~window + 4 s)
            with self._lock:
                self._buf = self._buf[keep_from - self._buf0 :].copy()
                self._buf0 = keep_from


def transcribe_stream(
    model: Any,
    audio: np.ndarray,
    speaker: Speaker = "agent",
    *,
    block_s: float = 0.1,
    **kwargs: Any,
) -> list[Word | Partial]:
    """Feed a whole channel through a simulated-clock :class:`StreamingTranscriber`
    in ``block_s`` blocks, as ``analyze`` does; return all events in ``t_s`` order.
    ``kwargs`` go to :class:`StreamingTranscriber` (e.g. ``fixed_cost_s``)."""
    x = np.asarray(audio, dtype=np.float32).ravel()
    step = max(int(round(block_s * SAMPLE_RATE_HZ)), 1)
    st = StreamingTranscriber(model, speaker, **kwargs)
    events: list[Word | Partial] = []
    for i in range(0, len(x), step):
        events += st.feed(x[i : i + step])
    events += st.finish()
    return events

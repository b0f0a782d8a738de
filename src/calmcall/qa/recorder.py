"""Recording a session's audio (``--record-audio``): masked FLAC, one file per channel.

Recording needs the consent of everyone on the call, so it is off by default. When it
is on, every channel (``agent``, ``customer``) goes to its own file next to the session
log, ``<session_id>.<role>.flac`` (16 kHz, mono, PCM_16, mode 0600; see
:meth:`calmcall.qa.sessionlog.SessionWriter.audio_path`).

How audio flows
---------------
::

    session thread                                   writer thread
    add_block() ──► hold (>= delay_s, in memory) ──► mask ──► bounded queue ──► FlacSink.write
                        ▲                                        (queue_s)        flush + fsync ~1/s
    transcribed() / word() / advance(settled_s)                  full → drop + count (zeros later)

* **Never blocks the audio path.** The session thread only copies blocks into memory,
  silences masked spans and hands stretches to a queue bounded to ``queue_s`` seconds of
  audio. If the disk is so slow that the queue is full, the stretch is *dropped* and
  counted (``dropped_blocks``, ``dropped_s``); the writer later writes digital silence
  in its place, so the file keeps the session's time line. A write error stops the
  recording with one warning (``on_warning``); the session goes on.
* **Card numbers are silenced.** Which samples to silence (masked words, digit runs,
  untranscribed speech, the CVV and card windows, on every channel) and up to where the
  audio is checked is decided by :class:`calmcall.qa.redaction.RedactionPolicy` (pure,
  synchronous; its docstring gives the rules). The recorder holds the audio in memory
  for at least ``delay_s`` and until the policy's release point, applies its masks and
  writes. Audio held for longer than ``max_hold_s`` (the transcript fell that far
  behind) is written as silence and counted as ``unchecked_s``: never unmasked.
* **Crash safety.** About once a second the writer flushes libsndfile, writes the
  number of samples in complete FLAC frames into the header's STREAMINFO
  (``total_samples``) and ``fsync``-s. After a ``kill -9`` the file therefore reads
  with plain ``soundfile.read`` up to the last flush minus at most one FLAC block
  (4096 samples = 0.26 s), i.e. it loses about the last ``delay_s`` + 1.3 s of the call
  (what was still held in memory or not yet flushed). A clean close writes the exact
  length and the MD5 signature. :func:`read_recording` also reads a file whose header
  says "length unknown" (killed before its first flush).
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from calmcall.constants import SAMPLE_RATE_HZ
from calmcall.errors import RuntimeFault
from calmcall.qa.flac import FlacSink, Sink, read_recording, to_pcm16  # noqa: F401 (re-exported)
from calmcall.qa.redaction import (
    DEFAULT_CARD_WINDOW_S,
    DEFAULT_COVER_TOL_S,
    DEFAULT_CVV_WINDOW_S,
    DEFAULT_DELAY_S,
    DEFAULT_DIGIT_RUN_MIN,
    DEFAULT_EXTEND_S,
    DEFAULT_JOIN_GAP_S,
    DEFAULT_PAD_S,
    DEFAULT_UNCOVERED_S,
    RedactionPolicy,
)

log = logging.getLogger(__name__)

#: The queue between the session thread and the writer holds at most this much audio
#: (seconds per channel; 30 s of two channels is 1.9 MB).
DEFAULT_QUEUE_S = 30.0
#: Audio held longer than this (the transcript is this far behind) is written as silence.
DEFAULT_MAX_HOLD_S = 300.0
#: The writer flushes, updates the FLAC header and fsyncs this often (seconds).
DEFAULT_FLUSH_INTERVAL_S = 1.0
#: Largest stretch handed to the writer in one piece (seconds).
_PIECE_S = 1.0


class RecordingError(RuntimeFault):
    """The recording could not be started (the message says how to fix it)."""


@dataclass
class _Piece:
    start_n: int
    arrays: dict[str, np.ndarray]  # role → int16 (n,)

    @property
    def n(self) -> int:
        return len(next(iter(self.arrays.values())))


class AudioRecorder:
    """Delay, mask and write a session's audio; see the module docstring.

    Parameters
    ----------
    paths:
        role → FLAC path (``SessionWriter.audio_path(role)``), one per channel.
    delay_s, pad_s, join_gap_s, extend_s, queue_s, max_hold_s, flush_interval_s:
        the figures in the module docstring (seconds of audio / of wall clock for the
        flush interval).
    cvv_window_s:
        seconds of audio after a masked word or partial (and after a word that arms the
        CVV rule) in which the speaker's (the customer's) speech is silenced; 0 turns
        this rule off. Default :data:`DEFAULT_CVV_WINDOW_S` (20 s).
    language:
        the call's language (``en``, ``fr``, ``auto``): the card requests, security-code
        keywords and number words the redaction policy reads (``config.language.call``).
    sink_factory:
        makes a :class:`Sink` for a path (default :class:`FlacSink`).
    on_warning:
        called once with a one-line message when recording stops or degrades (from
        the writer thread or the session thread); default: ``logging.warning``.

    The session thread calls :meth:`add_block` with every 16 kHz block, passes the raw
    committed words to :meth:`transcribed`, the masked words and partials the pipeline
    released to :meth:`word` / :meth:`partial`, then calls :meth:`advance`. None of these touch the disk or wait for
    the writer. :meth:`finish` writes everything still held (masked) and closes the
    files; :meth:`close` abandons what is not yet checked.
    """

    def __init__(
        self,
        paths: Mapping[str, str | os.PathLike[str]],
        *,
        delay_s: float = DEFAULT_DELAY_S,
        pad_s: float = DEFAULT_PAD_S,
        join_gap_s: float = DEFAULT_JOIN_GAP_S,
        extend_s: float = DEFAULT_EXTEND_S,
        queue_s: float = DEFAULT_QUEUE_S,
        max_hold_s: float = DEFAULT_MAX_HOLD_S,
        flush_interval_s: float = DEFAULT_FLUSH_INTERVAL_S,
        cvv_window_s: float = DEFAULT_CVV_WINDOW_S,
        card_window_s: float = DEFAULT_CARD_WINDOW_S,
        digit_run_min: int = DEFAULT_DIGIT_RUN_MIN,
        uncovered_s: float = DEFAULT_UNCOVERED_S,
        cover_tol_s: float = DEFAULT_COVER_TOL_S,
        sink_factory: Callable[[Path], Sink] = FlacSink,
        on_warning: Callable[[str], None] | None = None,
        sample_rate_hz: int = SAMPLE_RATE_HZ,
        language: str = "en",
    ) -> None:
        if not paths:
            raise ValueError("AudioRecorder needs at least one role → path")
        if (
            min(delay_s, pad_s, extend_s, cvv_window_s, card_window_s, uncovered_s, cover_tol_s) < 0
            or min(queue_s, flush_interval_s, join_gap_s) <= 0
            or digit_run_min < 0
        ):
            raise ValueError(
                "delay_s, pad_s, extend_s, cvv_window_s, card_window_s, uncovered_s and "
                "cover_tol_s must be >= 0 s, digit_run_min >= 0; queue_s, "
                "flush_interval_s and join_gap_s > 0 s"
            )
        if max_hold_s < delay_s:
            raise ValueError(f"max_hold_s ({max_hold_s} s) must be >= delay_s ({delay_s} s)")
        self.paths = {role: Path(p) for role, p in paths.items()}
        self.roles = tuple(self.paths)
        self.sr = int(sample_rate_hz)
        self.delay_s = float(delay_s)
        self.queue_s = float(queue_s)
        self.max_hold_s = float(max_hold_s)
        self.flush_interval_s = float(flush_interval_s)
        self._sink_factory = sink_factory
        self._on_warning = on_warning
        self._warned: set[str] = set()
        #: what to silence and up to where the audio is checked (session thread only)
        self.policy = RedactionPolicy(
            self.roles,
            delay_s=delay_s,
            pad_s=pad_s,
            join_gap_s=join_gap_s,
            extend_s=extend_s,
            cvv_window_s=cvv_window_s,
            card_window_s=card_window_s,
            digit_run_min=digit_run_min,
            uncovered_s=uncovered_s,
            cover_tol_s=cover_tol_s,
            on_warning=self._warn,
            sample_rate_hz=self.sr,
            language=language,
        )
        self.pad_s = self.policy.pad_s
        self.join_gap_s = self.policy.join_gap_s
        self.extend_s = self.policy.extend_s
        self.cvv_window_s = self.policy.cvv_window_s
        self.card_window_s = self.policy.card_window_s
        self.digit_run_min = self.policy.digit_run_min
        self.uncovered_s = self.policy.uncovered_s
        self.cover_tol_s = self.policy.cover_tol_s
        # session-thread state
        self._held: collections.deque[_Piece] = collections.deque()
        self._finished = False
        self.unchecked_n = 0
        self.dropped_blocks = 0
        self.dropped_n = 0
        # queue (session thread → writer thread)
        self._cond = threading.Condition()
        self._queue: collections.deque[_Piece | None] = collections.deque()
        self._queued_n = 0
        self._max_queue_n = int(round(self.queue_s * self.sr))
        # writer-thread state
        self._sinks: dict[str, Sink] = {}
        self._written_n = 0
        self._final_n: int | None = None
        self.error: BaseException | None = None
        self.write_s = 0.0  # wall seconds the writer spent in write/flush (CPU cost)
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Create the files and start the writer thread. Raises :class:`RecordingError`."""
        for role, path in self.paths.items():
            try:
                self._sinks[role] = self._sink_factory(path)
            except FileExistsError:
                self._close_sinks()
                raise RecordingError(
                    f"{path} already exists; recordings are never overwritten (move it away, or start a new session)"
                ) from None
            except OSError as exc:
                self._close_sinks()
                raise RecordingError(
                    f"cannot create {path}: {exc.strerror or exc} (check that the "
                    "sessions folder is writable, or pass another --sessions-dir)"
                ) from None
        try:
            from .sessionlog.paths import _fsync_dir

            _fsync_dir(next(iter(self.paths.values())).parent)
        except OSError:
            pass
        self._thread = threading.Thread(target=self._writer_loop, name="calmcall-recorder", daemon=True)
        self._thread.start()

    def finish(self, timeout_s: float = 60.0) -> dict[str, Any]:
        """End of the session: write everything still held (masked), close the files.
        Waits (off the audio path) up to ``timeout_s`` for the writer; returns
        :meth:`summary`."""
        if not self._finished:
            end = self.policy.end_n
            self.policy.finish()
            self._release(end, final=True)
            self._held.clear()
            self._stop_writer(end, timeout_s)
        return self.summary()

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop without writing audio that was not yet checked (e.g. the session failed)."""
        if not self._finished:
            self._held.clear()
            self._stop_writer(self._released_n, timeout_s)

    def _stop_writer(self, final_n: int, timeout_s: float) -> None:
        self._finished = True
        with self._cond:
            self._queue.append(None)
            self._final_n = final_n
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                self._warn(
                    "slow",
                    f"audio recording: the disk did not finish writing within {timeout_s:.0f} s; "
                    "the FLAC files may be incomplete",
                )
        else:
            self._close_sinks()

    # ------------------------------------------------------------------ session thread
    # ------------------------------------------------------------------ session thread
    def add_block(self, block: Mapping[str, np.ndarray]) -> None:
        """Keep one block (role → float32 16 kHz samples, shape (n,), equal lengths)."""
        if self._finished or self.error is not None:
            return
        first = block.get(self.roles[0])
        n = len(first) if first is not None else 0
        if n == 0:
            return
        arrays: dict[str, np.ndarray] = {}
        for role in self.roles:
            x = block.get(role)
            if x is None:
                arrays[role] = np.zeros(n, dtype=np.int16)
            else:
                y = to_pcm16(x[:n])
                arrays[role] = y if len(y) == n else np.concatenate([y, np.zeros(n - len(y), np.int16)])
        start_n = self.policy.n
        self.policy.feed_audio(arrays)
        if self.policy.cutoff_n is None:
            self._held.append(_Piece(start_n, arrays))

    def transcribed(self, items: Iterable[Any]) -> None:
        """Raw committed words (before masking) as the transcriber gave them: their
        audio is held until the masker has released them (memory only, never written)."""
        self.policy.transcribed(items)

    def word(self, w: Any) -> None:
        """A masked word as the pipeline released it (a ``Word`` event)."""
        self.policy.word(w)

    def partial(self, p: Any) -> None:
        """A masked live partial (a ``Partial`` event); see
        :meth:`calmcall.qa.redaction.RedactionPolicy.partial`."""
        self.policy.partial(p)

    def advance(self, settled_s: float | None = None) -> None:
        """Hand on the audio that is old enough (``delay_s``), that the transcriber has
        finished with (before ``settled_s``, None = unknown) and that no word still held
        by the card masker covers (:meth:`RedactionPolicy.release_limit`)."""
        if self._finished:
            return
        if self.error is not None:
            self._held.clear()  # recording stopped: keep no audio in memory
            self.policy.skip(self.policy.n)
            return
        limit = self.policy.release_limit(settled_s)
        if limit > self._released_n:
            self._release(limit)
        over = self.policy.n - int(round(self.max_hold_s * self.sr))
        if over > self._released_n and self.policy.cutoff_n is None:
            self._warn(
                "unchecked",
                f"audio recording: the transcript is more than {self.max_hold_s:.0f} s behind; "
                "audio it has not checked for card numbers is written as silence",
            )
            self._release(over, silence=True)

    def transcript_lost(self, settled_s: float | None = None) -> None:
        """Transcription stopped: card numbers can no longer be found, so nothing after
        what is already checked is recorded: audio before ``settled_s`` (None = unknown:
        then only audio older than ``delay_s``)."""
        if self.policy.cutoff_n is not None or self._finished:
            return
        cut_n = self.policy.transcript_lost(settled_s)
        self._warn(
            "lost",
            f"audio recording stopped at {cut_n / self.sr:.1f} s: transcription failed, "
            "so card numbers could no longer be masked",
        )

    # ------------------------------------------------------------------ info
    @property
    def _n(self) -> int:
        """Samples received (per channel)."""
        return self.policy.n

    @property
    def _released_n(self) -> int:
        """Samples handed on (queued, dropped or silenced)."""
        return self.policy.released_n

    @property
    def silenced_n(self) -> dict[str, int]:
        return self.policy.silenced_n

    @property
    def masked_spans(self) -> int:
        return self.policy.masked_spans

    @property
    def masked_n(self) -> int:
        return self.policy.silenced_n["masked"]

    @property
    def cvv_window_n(self) -> int:
        """Samples silenced by a CVV window and by no masked word."""
        return self.policy.silenced_n["cvv_window"]

    @property
    def evidence_spans(self) -> dict[str, int]:
        return self.policy.evidence_spans

    @property
    def late_masks(self) -> int:
        return self.policy.late_masks

    @property
    def failed(self) -> bool:
        return self.error is not None

    def status(self) -> dict[str, Any]:
        """For the overlay's status and the session summary (seconds of audio)."""
        sr = float(self.sr)
        return {
            "recording": not self._finished and self.error is None and self.policy.cutoff_n is None,
            "files": [str(p) for p in self.paths.values()],
            "held_s": round((self._n - self._released_n) / sr, 2),
            "queued_s": round(self._queued_n / sr, 2),
            "written_s": round(self._written_n / sr, 2),
            "dropped_blocks": self.dropped_blocks,
            "dropped_s": round(self.dropped_n / sr, 2),
            "masked_spans": self.masked_spans,
            "masked_s": round(self.masked_n / sr, 2),
            "cvv_window_s_silenced": round(self.cvv_window_n / sr, 2),
            "digits_s_silenced": round(self.silenced_n["digits"] / sr, 2),
            "untranscribed_s_silenced": round(self.silenced_n["untranscribed"] / sr, 2),
            "card_window_s_silenced": round(self.silenced_n["card_window"] / sr, 2),
            "evidence_spans": dict(self.evidence_spans),
            "unchecked_s": round(self.unchecked_n / sr, 2),
            "late_masks": self.late_masks,
            "error": str(self.error) if self.error is not None else None,
        }

    def summary(self) -> dict[str, Any]:
        out = self.status()
        out.pop("held_s")
        out.pop("queued_s")
        out["write_cpu_s"] = round(self.write_s, 3)
        out["duration_s"] = round(self._n / self.sr, 3)
        return out

    # ------------------------------------------------------------------ internals
    def _warn(self, key: str, text: str) -> None:
        if key in self._warned:
            return
        self._warned.add(key)
        if self._on_warning is not None:
            try:
                self._on_warning(text)
                return
            except Exception:  # pragma: no cover - a broken callback must not stop audio
                pass
        log.warning("%s", text)

    def _release(self, to_n: int, *, final: bool = False, silence: bool = False) -> None:
        """Hand samples [released, to_n) on: masked (or all silence), in pieces of at
        most 1 s. Blocking on the queue only when ``final``."""
        a = self._released_n
        if to_n <= a:
            return
        parts: dict[str, list[np.ndarray]] = {r: [] for r in self.roles}
        while self._held and self._held[0].start_n < to_n:
            piece = self._held[0]
            end = piece.start_n + piece.n
            lo, hi = max(a, piece.start_n) - piece.start_n, min(to_n, end) - piece.start_n
            for r in self.roles:
                parts[r].append(piece.arrays[r][lo:hi])
            if end <= to_n:
                self._held.popleft()
            else:
                break
        got = sum(len(x) for x in parts[self.roles[0]])
        to_n = a + got  # never beyond what was received
        if got == 0:
            return
        arrays = {r: np.concatenate(parts[r]) if len(parts[r]) > 1 else parts[r][0].copy() for r in self.roles}
        if silence:
            for r in self.roles:
                arrays[r][:] = 0
            self.unchecked_n += got
            self.policy.skip(to_n)
        else:
            mask = self.policy.release(to_n)
            if mask is not None and mask.any():
                for r in self.roles:
                    arrays[r][mask] = 0
        if self.error is not None:
            return
        step = int(self.sr * _PIECE_S)
        for k in range(0, got, step):
            self._enqueue(_Piece(a + k, {r: arrays[r][k : k + step] for r in self.roles}), block=final)

    def _enqueue(self, piece: _Piece, *, block: bool) -> None:
        with self._cond:
            if block:
                deadline = time.monotonic() + 30.0
                while self._queued_n + piece.n > self._max_queue_n and self._queued_n > 0 and self.error is None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
            if self._queued_n + piece.n > self._max_queue_n and self._queued_n > 0:
                self.dropped_blocks += 1
                self.dropped_n += piece.n
                drop = True
            else:
                self._queue.append(piece)
                self._queued_n += piece.n
                self._cond.notify_all()
                drop = False
        if drop:
            self._warn(
                "drop",
                f"audio recording: the disk is too slow, {self.queue_s:.0f} s of audio are waiting; "
                "dropping audio (written as silence) rather than delaying the call",
            )

    def _writer_loop(self) -> None:
        last_flush = time.monotonic()
        while True:
            with self._cond:
                while not self._queue:
                    self._cond.wait(self.flush_interval_s)
                    if not self._queue and time.monotonic() - last_flush >= self.flush_interval_s:
                        break
                item = self._queue.popleft() if self._queue else False
                if isinstance(item, _Piece):
                    self._queued_n -= item.n
                    self._cond.notify_all()
            if item is None:
                break
            if self.error is not None:
                continue
            try:
                t0 = time.perf_counter()
                if isinstance(item, _Piece):
                    self._write_gap(item.start_n)
                    for r in self.roles:
                        self._sinks[r].write(item.arrays[r])
                    self._written_n = item.start_n + item.n
                if time.monotonic() - last_flush >= self.flush_interval_s:
                    for s in self._sinks.values():
                        s.flush()
                    last_flush = time.monotonic()
                self.write_s += time.perf_counter() - t0
            except Exception as exc:
                self._fail(exc)
        try:
            t0 = time.perf_counter()
            if self.error is None and self._final_n is not None:
                self._write_gap(self._final_n)
            self._close_sinks(raise_errors=self.error is None)
            self.write_s += time.perf_counter() - t0
        except Exception as exc:
            self._fail(exc)
            self._close_sinks()

    def _write_gap(self, upto_n: int) -> None:
        """Digital silence for audio dropped on a full queue (keeps the time line)."""
        step = self.sr * 10
        while self._written_n < upto_n:
            k = min(step, upto_n - self._written_n)
            z = np.zeros(k, dtype=np.int16)
            for r in self.roles:
                self._sinks[r].write(z)
            self._written_n += k

    def _fail(self, exc: BaseException) -> None:
        self.error = exc
        with self._cond:  # wake a finish() waiting for room
            self._cond.notify_all()
        where = f"{self._written_n / self.sr:.1f} s"
        self._warn(
            "error",
            f"audio recording stopped after {where}: {exc} (the session goes on; the FLAC "
            "files hold the audio up to there; free disk space or pick another --sessions-dir)",
        )

    def _close_sinks(self, raise_errors: bool = False) -> None:
        first: BaseException | None = None
        for s in self._sinks.values():
            try:
                s.close()
            except Exception as exc:
                first = first or exc
        if first is not None and raise_errors:
            raise first

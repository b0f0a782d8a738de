"""One call's core, for every front end: pipeline + per-speaker transcribers.

:class:`CallRunner` is what ``analyze``, batch, ``live`` and ``replay`` all run: each
block of audio (one array per role, 16 kHz) goes to :meth:`Pipeline.feed
<calmcall.pipeline.Pipeline.feed>` (prosody, overtalk, customer state), then to the
transcriber; the transcriber's words and partials, merged across speakers in order of
their release time ``t_s`` (stable: agent before customer at equal times), go to
:meth:`Pipeline.feed_words <calmcall.pipeline.Pipeline.feed_words>` (card masking,
phrase rules). The front ends differ only in where blocks come from (a file, a
real-time clock, a device) and in the transcriber's executor:

* analyze / batch: :class:`Transcribers` with a :class:`~calmcall.asr.stream.SimulatedClock`
  (decodes run inline and are charged their compute time, so words arrive at the audio
  time a live call on this machine would have had them);
* live / replay: :class:`Transcribers` on one real-time decode thread (``feed`` never
  waits for the model), or :class:`~calmcall.live.logged_words.LoggedWords` re-delivering
  a session's logged words.

Given the same audio and the same decode results, every front end therefore gives the
same events (tests/test_runner.py).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from typing import Any, Protocol, cast

import numpy as np

from .events import Event, Partial, Speaker, Word

log = logging.getLogger(__name__)

__all__ = ["SETTLE_GUARD_S", "CallRunner", "Transcriber", "Transcribers", "transcriber_settled_s"]


class Transcriber(Protocol):
    """What :class:`CallRunner` needs of a transcriber (``Transcribers``, ``LoggedWords``)."""

    def feed(self, blocks: dict[str, np.ndarray]) -> list[Any]: ...  # one block per role → words/partials now due
    def finish(self) -> list[Any]: ...  # the rest, at the end of the call
    def close(self) -> None: ...


class Transcribers:
    """One :class:`~calmcall.asr.stream.StreamingTranscriber` per role.

    With ``clock`` (a :class:`~calmcall.asr.stream.SimulatedClock`, shared by the roles:
    they queue for one decoder, as they do live) decodes run inline under simulated
    time; without it they run on one real-time decode thread and ``feed`` never waits
    for the model. ``transcriber_kw`` (decode ``options``, ``language_lock``) go to every
    role's transcriber. Output of all roles is merged in order of ``t_s`` (stable)."""

    def __init__(self, model: Any, roles: Iterable[str], *, clock: Any | None = None, **transcriber_kw: Any) -> None:
        from .asr.stream import DecodeWorker, StreamingTranscriber

        self.worker = DecodeWorker() if clock is None else None
        self.language_lock = transcriber_kw.get("language_lock")  # auto language: what the call settled on
        executor: dict[str, Any] = {"worker": self.worker} if clock is None else {"clock": clock}
        self.by_role = {r: StreamingTranscriber(model, cast(Speaker, r), **executor, **transcriber_kw) for r in roles}
        self._closed = False
        self._idle_settled_s: dict[str, float] = {}

    def feed(self, blocks: dict[str, np.ndarray]) -> list[Any]:
        """One block per role (16 kHz float32) → the words and partials released, by ``t_s``."""
        items: list[Any] = []
        for role, tr in self.by_role.items():
            items += tr.feed(blocks[role])
        items.sort(key=lambda e: e.t_s)
        return items

    def finish(self) -> list[Any]:
        """The remaining words of every role, by ``t_s``."""
        items: list[Any] = []
        for tr in self.by_role.values():
            items += tr.finish()
        items.sort(key=lambda e: e.t_s)
        return items

    def settled_s(self) -> float | None:
        """Audio time (s) before which no role can commit another word, or None if
        that cannot be told. A recorder writes audio only up to here (card masking)."""
        out = math.inf
        for role, tr in self.by_role.items():
            s = transcriber_settled_s(tr, self._idle_settled_s.get(role, 0.0))
            if s is None:
                return None
            if not tr.busy:  # words of later utterances start after this
                self._idle_settled_s[role] = s
            out = min(out, s)
        return out if math.isfinite(out) else None

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self.worker is not None:
                self.worker.close()


#: Audio this close to the end of what the transcriber was fed is never taken as settled
#: (seconds): speech the VAD has not triggered on yet, plus its 0.4 s padding.
SETTLE_GUARD_S = 1.0


def transcriber_settled_s(tr: Any, idle_settled_s: float = 0.0) -> float | None:
    """Audio time (s) before which a real-time ``StreamingTranscriber`` can no longer
    commit a word: while it is idle (:attr:`~calmcall.asr.stream.StreamingTranscriber.busy`
    false) everything fed except the last ``SETTLE_GUARD_S``; while it is busy, the end
    of its last committed word (new words start after it) or ``idle_settled_s``, the
    value when it was last idle (the utterances it works on began after that), whichever
    is later. None for a transcriber without ``busy``/``committed_end_s``."""
    try:
        busy, fed_s, committed_s = bool(tr.busy), float(tr.t_s), float(tr.committed_end_s)
    except AttributeError:
        return None
    if not busy:
        return max(0.0, fed_s - SETTLE_GUARD_S, idle_settled_s)
    return max(0.0, idle_settled_s, committed_s if math.isfinite(committed_s) else 0.0)


class CallRunner:
    """Pipeline + transcriber of one call: blocks in, events out, in audio time.

    ``pipeline`` is a :class:`~calmcall.pipeline.Pipeline` (its phrase coach and card
    masker run inside ``feed_words``); ``transcriber`` a :class:`Transcriber` or None
    (no words). ``on_words(items)`` (optional) sees the transcriber's raw output before
    the pipeline masks it (the audio recorder holds that audio until the masked words
    are back). A transcriber that raises is dropped with one error log line (coaching
    goes on without words); ``on_transcriber_failed(exc)`` is told.
    """

    def __init__(
        self,
        pipeline: Any,
        transcriber: Transcriber | None = None,
        *,
        on_words: Callable[[list[Any]], None] | None = None,
        on_transcriber_failed: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.pipe = pipeline
        self.transcriber = transcriber
        self.on_words = on_words
        self.on_transcriber_failed = on_transcriber_failed

    @property
    def t_s(self) -> float:
        """Audio processed so far (s)."""
        return float(getattr(self.pipe, "t_s", 0.0))

    def feed(self, blocks: dict[str, np.ndarray]) -> list[Event]:
        """One block per role (equal lengths, 16 kHz float32) → prosody events, then
        the events of the words released by this block."""
        events: list[Event] = list(self.pipe.feed(blocks))
        if self.transcriber is not None:
            try:
                items = self.transcriber.feed(blocks)
            except Exception as exc:  # a failing transcriber must not stop coaching
                self._failed(exc, "transcriber failed, transcription off: %s")
                items = []
            events += self.words(items)
        return events

    def poll(self) -> list[Event]:
        """Words a real-time transcriber released since the last block (if it can say)."""
        poll = getattr(self.transcriber, "poll", None)
        if poll is None:
            return []
        try:
            items = poll()
        except Exception as exc:
            self._failed(exc, "transcriber failed, transcription off: %s")
            return []
        return self.words(items)

    def words(self, items: list[Word | Partial]) -> list[Event]:
        """Transcriber output → card masking and phrase rules → events."""
        if not items:
            return []
        if self.on_words is not None:
            self.on_words(items)
        return list(self.pipe.feed_words(items))

    def finish(self, *, words: bool = True) -> list[Event]:
        """End of the call: the transcriber's last words (unless ``words`` is False: a
        live session stopped early does not wait for them), then the pipeline's end."""
        events: list[Event] = []
        if self.transcriber is not None and words:
            finish = getattr(self.transcriber, "finish", None) or getattr(self.transcriber, "close", None)
            if finish is not None:
                try:
                    events += self.words(finish() or [])
                except Exception as exc:
                    self._failed(exc, "transcriber failed at the end: %s")
        events += self.pipe.finish()
        return events

    def close(self) -> None:
        """Release the transcriber's decode thread (idempotent)."""
        close = getattr(self.transcriber, "close", None)
        if close is not None:
            close()

    def _failed(self, exc: BaseException, msg: str) -> None:
        log.error(msg, exc)
        if self.on_transcriber_failed is not None:  # told while the transcriber can still say what settled
            self.on_transcriber_failed(exc)
        self.transcriber = None

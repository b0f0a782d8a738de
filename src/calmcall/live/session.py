"""A live or replayed session: audio source → pipeline (+ transcriber) → overlay.

The session runs on its own thread of control, apart from the audio callbacks (which
only enqueue) and from the websocket server (``publish`` only schedules work on the
server's loop), so neither a slow browser nor a slow transcriber can hold audio up:

* prosody, overtalk and customer-state events go out the moment ``Pipeline.feed``
  returns them, one 0.1 s block after the audio arrived;
* the transcriber runs in real-time mode (its own worker thread; ``feed`` never
  blocks) and its words are passed through ``Pipeline.feed_words`` (card masking,
  phrase rules) when they are ready, later than prosody and never in its way.

Every event keeps its audio-time stamp ``t_s``; the session also knows the wall-clock
time of audio t=0 (``origin_unix``), which the status and the benchmark use to
measure latency.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ..events import CustomerState, Event, Measures, Prompt, Status, to_dict
from ..runner import SETTLE_GUARD_S, CallRunner, Transcribers, transcriber_settled_s  # noqa: F401 (re-exported)
from .event_replay import EventReplay  # noqa: F401 (re-exported)
from .publishing import Publish, Publisher, SessionStats, band  # noqa: F401 (re-exported)
from .sources import (  # noqa: F401 (re-exported)
    BLOCK_N,
    BLOCK_S,
    CUSTOMER_WAIT_N,
    FIRST_BLOCK_N,
    CaptureSource,
    FileSource,
    Source,
    aligned_first_block_n,
)

log = logging.getLogger(__name__)


class Session(Publisher):
    """Runs ``pipeline`` (and ``transcriber``) over ``source`` and publishes events.

    ``publish(type, data)`` must not block (``OverlayServer.publish``). ``on_event``
    (optional) sees every event, e.g. a session log writer. ``status_extra`` adds to
    the status message (e.g. the number of overlay clients). ``recorder`` (optional, a
    :class:`calmcall.qa.recorder.AudioRecorder`) gets every block, the raw and the masked
    words, and is finished (all audio written, masked) when the session ends; it only
    touches memory on this thread.
    """

    def __init__(
        self,
        source: Source,
        pipeline: Any,
        *,
        publish: Publish,
        config: Any,
        transcriber: Any | None = None,
        model_name: str | None = None,
        mode: str = "live",
        on_event: Callable[[Event], None] | None = None,
        status_extra: Callable[[], dict[str, Any]] | None = None,
        recorder: Any | None = None,
        measures_min_interval_s: float = 0.2,
        status_interval_s: float = 1.0,
    ) -> None:
        self.source = source
        self.pipe = pipeline
        self.publish = publish
        self.cfg = config
        self.runner = CallRunner(pipeline, transcriber, on_words=self._on_words, on_transcriber_failed=self._transcriber_failed)
        self._finish_settled_s: float | None = None
        self._finishing = False
        self.model_name = model_name
        self.mode = mode
        self.on_event = on_event
        self.status_extra = status_extra
        self.recorder = recorder
        self.measures_min_interval_s = measures_min_interval_s
        self.status_interval_s = status_interval_s
        self.stats = SessionStats()
        self._last_measures: dict[str, float] = {}
        self._escalated = False
        self._stop = threading.Event()
        self._next_status = 0.0
        self.device_log: list[dict[str, Any]] = []
        self.recording: dict[str, Any] | None = None  # the recorder's summary once finished
        # an auto call's language lock: logged once it decides (a replay routes cues by it)
        self._language_lock = getattr(transcriber, "language_lock", None)
        self._language_logged = False

    # ------------------------------------------------------------------ info
    @property
    def speed(self) -> float:  # type: ignore[override]
        """Playback speed of the source (x real time; 1 live)."""
        return float(self.source.speed)

    @property
    def roles(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(self.source.roles)

    @property
    def origin_unix(self) -> float:  # type: ignore[override]
        """Wall-clock time of audio t=0 (set when the source starts)."""
        return float(self.source.origin_unix)

    @property
    def finished(self) -> bool:
        """True when the source played to its end (not stopped early)."""
        return bool(self.source.finished)

    @property
    def t_s(self) -> float:
        """Audio time processed so far (seconds)."""
        return float(getattr(self.pipe, "t_s", 0.0))

    # ------------------------------------------------------------------ loop
    def run(self) -> SessionStats:
        """Process until the source finishes or :meth:`stop`; returns the stats."""
        self.source.start()
        self._emit_status(force=True)
        try:
            while not self._stop.is_set() and not self.source.finished:
                blocks = self.source.next_blocks(0.05)
                for blk in blocks:
                    self._process_block(blk)
                if self.transcriber is not None:
                    self._drain_transcriber()
                if hasattr(self.source, "device_events"):
                    for ev in self.source.device_events():
                        self.device_log.append(ev)
                        self._emit_status(force=True, note=ev)
                self._emit_status()
            self._finish()
        finally:
            self.source.close()
        return self.stats

    @property
    def transcriber(self) -> Any | None:
        """The transcriber in use (None: off, or failed and dropped)."""
        return self.runner.transcriber

    def _process_block(self, blk: dict[str, np.ndarray]) -> None:
        t0 = time.perf_counter()
        self._rec("add_block", blk)  # memory only
        self._log_language()
        self._send(self.runner.feed(blk))
        if self.recorder is not None:
            self._rec("advance", self._settled_s())
        dt = time.perf_counter() - t0
        self.stats.blocks += 1
        self.stats.total_process_s += dt
        self.stats.max_block_ms = max(self.stats.max_block_ms, dt * 1000.0)

    def _drain_transcriber(self) -> None:
        self._log_language()
        self._send(self.runner.poll())

    @property
    def language(self) -> dict[str, Any] | None:
        """An ``auto`` call's language detection (``LanguageLock.to_dict()``); None when
        the call's language was fixed or there is no transcriber."""
        lock = self._language_lock
        return lock.to_dict() if lock is not None and getattr(lock, "detected", False) else None

    def _log_language(self) -> None:
        """Once an ``auto`` call's language is decided, log a ``language`` record at the
        audio time the session first sees it (checked before each block and each poll
        of the transcriber, so words released after it were routed by it); a replay
        (:class:`calmcall.live.logged_words.LoggedLanguage`) switches language there."""
        if self._language_logged or self._language_lock is None:
            return
        info = self.language
        if info is None or info.get("language") is None:
            return
        self._language_logged = True
        self._record({"type": "language", "t_s": round(self.t_s, 3), **info})

    def _on_words(self, items: list[Any]) -> None:
        """The recorder sees the raw words first, so it holds their audio until the
        masked words are back."""
        self._rec("transcribed", items)

    def _transcriber_failed(self, exc: BaseException) -> None:
        if self.recorder is not None:
            self._rec("transcript_lost", self._finish_settled_s if self._finishing else self._settled_s())

    def _settled_s(self) -> float | None:
        """Audio time before which the transcriber commits no more words (None: unknown)."""
        settled = getattr(self.transcriber, "settled_s", None)
        try:
            return settled() if settled is not None else None
        except Exception:  # unknown is safe: the recorder then keeps to its fixed delay
            return None

    def _rec(self, method: str, *args: Any) -> Any:
        """Call the recorder; if it fails (a bug, not a disk error: those it handles
        itself) recording stops, keeping only what was checked, and the session goes on."""
        if self.recorder is None:
            return None
        try:
            return getattr(self.recorder, method)(*args)
        except Exception as exc:
            log.error("audio recording failed, recording stopped: %s", exc)
            rec, self.recorder = self.recorder, None
            try:
                rec.close()
            except Exception:
                pass
            return None

    def _finish(self) -> None:
        # a recording needs the last words too (their card numbers are masked in it)
        words = self.source.finished or self.recorder is not None
        self._finish_settled_s = self._settled_s()
        self._finishing = True
        self._log_language()
        self._send(self.runner.finish(words=words))
        self._log_language()  # decided by the last utterance
        if self.recorder is not None:
            self.recording = self._rec("finish")
        self._emit_status(force=True)

    def _send(self, events: Iterable[Event]) -> None:
        now = time.monotonic()
        for ev in events:
            self.stats.count(ev.type)
            if isinstance(ev, Measures):
                last = self._last_measures.get(ev.speaker, -1e9)
                if now - last < self.measures_min_interval_s:
                    self._record(ev)  # the log keeps every measure; the overlay ~4/s
                    continue
                self._last_measures[ev.speaker] = now
            data = to_dict(ev)
            if isinstance(ev, Prompt):
                sent = time.time()
                self.stats.prompts.append(
                    {
                        "t_s": ev.t_s,
                        "kind": ev.kind,
                        "headline": ev.headline,
                        "audio_wall": self.audio_wall(ev.t_s),
                        "published_wall": sent,
                        "published_audio_s": self.pipe.t_s,  # audio consumed when it went out
                    }
                )
            elif ev.type == "word":
                self.stats.words += 1
                self._rec("word", ev)
            elif ev.type == "partial":
                self._rec("partial", ev)
            self.publish(ev.type, data)
            self._record(ev)  # after publishing: a prompt's fsync never delays the overlay
            if isinstance(ev, CustomerState):
                self._customer_state(ev.state)

    def _emit_status(self, *, force: bool = False, note: dict[str, Any] | None = None) -> None:
        now = time.monotonic()
        if not force and now < self._next_status:
            return
        self._next_status = now + self.status_interval_s
        info = dict(self.source.status())
        t_s = float(getattr(self.pipe, "t_s", 0.0))
        lag = (time.time() - self.audio_wall(t_s)) * 1000.0 if self.stats.blocks else None
        overflows = sum(d.get("overflows", 0) for d in info.get("devices", []))
        dropped = sum(d.get("dropped_chunks", 0) for d in info.get("devices", []))
        info.update(
            {
                "mode": self.mode,
                "model": self.model_name,
                "t_s": round(t_s, 2),
                "lag_ms": round(lag, 1) if lag is not None else None,
                "overflows": overflows,
                "dropped_blocks": dropped,
                "max_block_ms": round(self.stats.max_block_ms, 2),
                "origin_unix_ms": round(self.source.origin_unix * 1000.0, 1),
                "speed": self.source.speed,
            }
        )
        if self.recorder is not None:
            info["recording"] = self._rec("status")
        if note is not None:
            info["event"] = {k: v for k, v in note.items() if k != "wall"}
        if self.status_extra is not None:
            info.update(self.status_extra())
        ev = Status(t_s=t_s, info=info)
        self.publish("status", to_dict(ev))
        if force:
            self._record(ev)


def describe_file(path: str | Path) -> str:
    return Path(path).name

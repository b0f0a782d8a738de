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
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Protocol

import numpy as np

from ..events import CustomerState, Event, Measures, Prompt, Status, to_dict
from .capture import TARGET_RATE_HZ, DeviceCapture

log = logging.getLogger(__name__)

BLOCK_S = 0.1
BLOCK_N = int(round(BLOCK_S * TARGET_RATE_HZ))
#: How far the agent's audio may run ahead while a live customer chunk is late (samples, 0.1 s).
CUSTOMER_WAIT_N = BLOCK_N


def aligned_first_block_n() -> int:
    """Length of a first block after which every 0.1 s block ends exactly where the
    pipeline evaluates its conditions (every EVAL_FRAMES frames; a frame is known at
    its end). A prompt then goes out the moment its last sample arrives instead of
    waiting up to 70 ms for the rest of a 0.1 s block. The pipeline gives the same
    events on any block grid, so this changes when prompts are sent, not what or
    their ``t_s``."""
    from ..pipeline import EVAL_FRAMES
    from ..prosody import FRAME, HOP

    if EVAL_FRAMES * HOP != BLOCK_N:
        return BLOCK_N
    return (FRAME - HOP) % BLOCK_N or BLOCK_N


#: First block length: the aligned grid (prompts go out as their last sample arrives).
FIRST_BLOCK_N = aligned_first_block_n()

Publish = Callable[[str, dict[str, Any]], None]


class Source(Protocol):
    roles: tuple[str, ...]
    origin_unix: float
    finished: bool
    speed: float

    def start(self) -> None: ...
    def next_blocks(self, timeout_s: float) -> list[dict[str, np.ndarray]]: ...
    def status(self) -> dict[str, Any]: ...
    def close(self) -> None: ...


class FileSource:
    """Plays a loaded call on the real clock (``speed`` times real time)."""

    def __init__(self, call: Any, *, name: str = "", speed: float = 1.0,
                 clock: Callable[[], float] = time.monotonic, first_block_n: int = FIRST_BLOCK_N) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self.call = call
        self.name = name
        self.speed = speed
        self.clock = clock
        self.roles = ("agent", "customer") if call.customer is not None else ("agent",)
        self.origin_unix = 0.0
        self.finished = False
        self._t0 = 0.0
        self._pos = 0
        self._n = len(call.agent)
        self._first_n = first_block_n

    def start(self) -> None:
        self._t0 = self.clock()
        self.origin_unix = time.time()

    def next_blocks(self, timeout_s: float) -> list[dict[str, np.ndarray]]:
        if self._pos >= self._n:
            self.finished = True
            return []
        elapsed_audio = (self.clock() - self._t0) * self.speed
        due_end = int(elapsed_audio * TARGET_RATE_HZ)
        next_end = min(self._pos + (self._first_n if self._pos == 0 else BLOCK_N), self._n)
        if due_end < next_end:
            wait = (next_end - due_end) / TARGET_RATE_HZ / self.speed
            time.sleep(min(timeout_s, max(0.0, wait)))
            elapsed_audio = (self.clock() - self._t0) * self.speed
            due_end = int(elapsed_audio * TARGET_RATE_HZ)
        out = []
        while self._pos < self._n:
            end = min(self._pos + (self._first_n if self._pos == 0 else BLOCK_N), self._n)
            if end > due_end:
                break
            blk = {"agent": np.asarray(self.call.agent[self._pos:end], dtype=np.float32)}
            if self.call.customer is not None:
                blk["customer"] = np.asarray(self.call.customer[self._pos:end], dtype=np.float32)
            out.append(blk)
            self._pos = end
        return out

    def status(self) -> dict[str, Any]:
        return {"source": "replay", "file": self.name, "speed": self.speed,
                "position_s": round(self._pos / TARGET_RATE_HZ, 2),
                "duration_s": round(self._n / TARGET_RATE_HZ, 2), "devices": []}

    def close(self) -> None:
        pass


class CaptureSource:
    """Microphone (and optional customer input) as aligned 0.1 s blocks.

    The agent's device is the clock. While it is down (the watchdog is reopening it)
    silence is supplied at wall-clock pace so the session, the customer side and the
    overlay go on. The customer's device is aligned to the agent's: a block waits up to
    ``CUSTOMER_WAIT_N`` samples (0.1 s) of agent audio for a late customer chunk
    (delivery jitter must not shift the customer's audio), then a short supply is
    padded with silence; a backlog over 0.5 s (clock drift) is trimmed."""

    def __init__(self, agent: DeviceCapture, customer: DeviceCapture | None = None, *,
                 clock: Callable[[], float] = time.monotonic, first_block_n: int = FIRST_BLOCK_N) -> None:
        self.agent = agent
        self.customer = customer
        self.roles = ("agent", "customer") if customer is not None else ("agent",)
        self.clock = clock
        self.speed = 1.0
        self.origin_unix = 0.0
        self.finished = False
        self._abuf = np.zeros(0, dtype=np.float32)
        self._cbuf = np.zeros(0, dtype=np.float32)
        self._t0 = 0.0
        self._produced = 0  # agent samples handed out or buffered, incl. silence
        self.padded_s = 0.0
        self.customer_underruns = 0
        self.customer_trimmed_s = 0.0
        self._origin_fixed = False
        self._blocks_out = 0
        self._first_n = first_block_n

    def start(self) -> None:
        """Open the devices (raises DeviceError) and start their watchdogs."""
        self.agent.open()
        if self.customer is not None:
            try:
                self.customer.open()
            except Exception:
                self.agent.close()
                raise
        self._t0 = self.clock()
        self.origin_unix = time.time()
        self.agent.start_watchdog()
        if self.customer is not None:
            self.customer.start_watchdog()

    def next_blocks(self, timeout_s: float) -> list[dict[str, np.ndarray]]:
        self.agent.wait(timeout_s)
        a = self.agent.read()
        if not self._origin_fixed and self.agent.first_callback is not None:
            # audio t=0 is the first captured sample, delivered one chunk before the
            # first callback returned. The device's own input latency (PortAudio's
            # estimate, in the status as device_latency_ms) comes on top and is not
            # counted here: host APIs report it unreliably.
            wall, chunk_s, _adc_lag_s = self.agent.first_callback
            # silence supplied while the device was still (re)opening is audio before it
            pre_s = self._produced / TARGET_RATE_HZ
            self.origin_unix = wall - chunk_s - pre_s
            self._t0 = self.clock() - (time.time() - self.origin_unix)
            self._origin_fixed = True
        self._produced += len(a)
        if self.agent.state != "ok":
            expected = int((self.clock() - self._t0) * TARGET_RATE_HZ)
            missing = expected - self._produced
            if missing > BLOCK_N:
                a = np.concatenate([a, np.zeros(missing, dtype=np.float32)])
                self._produced += missing
                self.padded_s += missing / TARGET_RATE_HZ
        if len(a):
            self._abuf = np.concatenate([self._abuf, a])
        if self.customer is not None:
            c = self.customer.read()
            if len(c):
                self._cbuf = np.concatenate([self._cbuf, c])
        out = []
        while len(self._abuf) >= (n := BLOCK_N if self._blocks_out else self._first_n):
            if (self.customer is not None and len(self._cbuf) < n and self.customer.state == "ok"
                    and len(self._abuf) - n < CUSTOMER_WAIT_N):
                break  # the customer's next chunk is probably only late (jitter): wait for it
            blk = {"agent": self._abuf[:n]}
            self._abuf = self._abuf[n:]
            if self.customer is not None:
                c = self._cbuf[:n]
                self._cbuf = self._cbuf[n:]
                if len(c) < n:
                    if self.customer.state == "ok":
                        self.customer_underruns += 1
                    c = np.concatenate([c, np.zeros(n - len(c), dtype=np.float32)])
                blk["customer"] = c
            out.append(blk)
            self._blocks_out += 1
        if self.customer is not None and len(self._cbuf) > 5 * BLOCK_N:
            drop = len(self._cbuf) - BLOCK_N
            self._cbuf = self._cbuf[drop:]
            self.customer_trimmed_s += drop / TARGET_RATE_HZ
        return out

    def status(self) -> dict[str, Any]:
        devs = [self.agent.status()]
        if self.customer is not None:
            devs.append(self.customer.status())
        return {"source": "live", "devices": devs, "padded_s": round(self.padded_s, 2),
                "customer_underruns": self.customer_underruns,
                "customer_trimmed_s": round(self.customer_trimmed_s, 2)}

    def device_events(self) -> list[dict[str, Any]]:
        out = []
        for cap in (self.agent, self.customer):
            if cap is None:
                continue
            while cap.events:
                out.append(cap.events.popleft())
        return out

    def close(self) -> None:
        self.agent.close()
        if self.customer is not None:
            self.customer.close()


class Transcribers:
    """One real-time :class:`~calmcall.asr.stream.StreamingTranscriber` per role, all
    sharing one decode thread. ``feed`` never waits for the model."""

    def __init__(self, model: Any, roles: Iterable[str], *, options: Any | None = None,
                 language_lock: Any | None = None) -> None:
        from ..asr.stream import DecodeWorker, StreamingTranscriber

        self.worker = DecodeWorker()
        self.language_lock = language_lock
        self.by_role = {r: StreamingTranscriber(model, r, worker=self.worker, options=options,  # type: ignore[arg-type]
                                                language_lock=language_lock) for r in roles}
        self._closed = False
        self._idle_settled_s: dict[str, float] = {}

    def feed(self, blocks: dict[str, np.ndarray]) -> list[Any]:
        items: list[Any] = []
        for role, tr in self.by_role.items():
            items += tr.feed(blocks[role])
        items.sort(key=lambda e: e.t_s)
        return items

    def finish(self) -> list[Any]:
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


def band(cfg: Any, *, escalated: bool = False) -> dict[str, Any]:
    """The agent's target band for the overlay's gauges (relative to the calm
    baseline; pitch and volume tighten while the customer is escalated)."""
    m = cfg.targets.margins(escalated=escalated)
    return {
        "pace": {"min": 0.5, "max": 2.0, "lo": 0.5, "hi": round(1.0 + m["pace"], 3), "unit": "x calm"},
        "pitch": {"min": -6.0, "max": 12.0, "lo": -6.0, "hi": round(m["pitch"], 3), "unit": "st"},
        "volume": {"min": -15.0, "max": 15.0, "lo": -15.0, "hi": round(m["volume"], 3), "unit": "dB"},
        "escalated": escalated,
    }


class _Stoppable:
    """Stop from any thread (Ctrl-C handler, ``--duration`` timer, tests)."""

    _stop: threading.Event

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()


@dataclass
class SessionStats:
    blocks: int = 0
    prompts: list[dict[str, Any]] = field(default_factory=list)
    events: dict[str, int] = field(default_factory=dict)
    max_block_ms: float = 0.0
    total_process_s: float = 0.0
    words: int = 0

    def count(self, type_: str) -> None:
        self.events[type_] = self.events.get(type_, 0) + 1


class Session(_Stoppable):
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
        self.transcriber = transcriber
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

    # ------------------------------------------------------------------ info
    def hello(self) -> dict[str, Any]:
        """What a connecting overlay is told first."""
        return {
            "mode": self.mode,
            "speed": self.source.speed,
            "roles": list(self.source.roles),
            "band": band(self.cfg, escalated=self._escalated),
            "origin_unix_ms": round(self.source.origin_unix * 1000.0, 1),
            "model": self.model_name,
        }

    def audio_wall(self, t_s: float) -> float:
        """Wall-clock (unix) time at which audio time ``t_s`` was captured/played."""
        return self.source.origin_unix + t_s / self.source.speed

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

    def _process_block(self, blk: dict[str, np.ndarray]) -> None:
        t0 = time.perf_counter()
        self._rec("add_block", blk)  # memory only
        events = self.pipe.feed(blk)
        self._send(events)  # prosody first: never behind transcription
        if self.transcriber is not None:
            try:
                items = self.transcriber.feed(blk)
            except Exception as exc:  # a failing transcriber must not stop coaching
                self._transcriber_failed(exc)
                items = []
            if items:
                self._words(items)
        if self.recorder is not None:
            self._rec("advance", self._settled_s())
        dt = time.perf_counter() - t0
        self.stats.blocks += 1
        self.stats.total_process_s += dt
        self.stats.max_block_ms = max(self.stats.max_block_ms, dt * 1000.0)

    def _drain_transcriber(self) -> None:
        poll = getattr(self.transcriber, "poll", None)
        if poll is None:
            return
        try:
            items = poll()
        except Exception as exc:
            self._transcriber_failed(exc)
            return
        if items:
            self._words(items)

    def _words(self, items: list[Any]) -> None:
        """Transcriber output → card masking and phrase rules → out. The recorder sees
        the raw words first, so it holds their audio until the masked words are back."""
        self._rec("transcribed", items)
        self._send(self.pipe.feed_words(items))

    def _transcriber_failed(self, exc: BaseException) -> None:
        log.error("transcriber failed, transcription off: %s", exc)
        if self.recorder is not None:
            self._rec("transcript_lost", self._settled_s())
        self.transcriber = None

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
        if self.transcriber is not None:
            close = getattr(self.transcriber, "finish", None) or getattr(self.transcriber, "close", None)
            # a recording needs the last words too (their card numbers are masked in it)
            if close is not None and (self.source.finished or self.recorder is not None):
                settled = self._settled_s()
                try:
                    items = close()
                    if items:
                        self._words(items)
                except Exception as exc:
                    log.error("transcriber failed at the end: %s", exc)
                    self._rec("transcript_lost", settled)
        self._send(self.pipe.finish())
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
                self.stats.prompts.append({
                    "t_s": ev.t_s, "kind": ev.kind, "headline": ev.headline,
                    "audio_wall": self.audio_wall(ev.t_s), "published_wall": sent,
                    "published_audio_s": self.pipe.t_s,  # audio consumed when it went out
                })
            elif ev.type == "word":
                self.stats.words += 1
                self._rec("word", ev)
            elif ev.type == "partial":
                self._rec("partial", ev)
            self.publish(ev.type, data)
            self._record(ev)  # after publishing: a prompt's fsync never delays the overlay
            if isinstance(ev, CustomerState):
                self._escalated = ev.state == "escalated"
                self.publish("band", band(self.cfg, escalated=self._escalated))

    def _record(self, ev: Event) -> None:
        if self.on_event is None:
            return
        try:
            self.on_event(ev)
        except Exception as exc:  # a failing session log must not stop coaching
            log.error("session log failed, logging stopped: %s", exc)
            self.on_event = None

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
        info.update({
            "mode": self.mode, "model": self.model_name, "t_s": round(t_s, 2),
            "lag_ms": round(lag, 1) if lag is not None else None,
            "overflows": overflows, "dropped_blocks": dropped,
            "max_block_ms": round(self.stats.max_block_ms, 2),
            "origin_unix_ms": round(self.source.origin_unix * 1000.0, 1),
            "speed": self.source.speed,
        })
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


class EventReplay(_Stoppable):
    """Re-emits the events of a session log (one without recorded audio) to the overlay
    on the real clock, ``speed`` times real time: each record goes out when the replay
    clock reaches its ``t_s``, so the overlay shows what the live call showed, when it
    showed it. The original ``status`` records are not re-sent (they describe the old
    devices); the replay sends its own about once a second, and a ``band`` message after
    each customer-state change as a live session does. ``on_event`` (optional) sees
    every re-emitted record (a dict with ``"type"``), e.g. the new session's log.

    It offers what the commands use of :class:`Session`: ``run``, ``stop``, ``hello``,
    ``stats``, ``t_s``, ``finished``, ``stopped``, ``device_log``.
    """

    def __init__(
        self,
        records: Iterable[dict[str, Any]],
        *,
        publish: Publish,
        config: Any,
        speed: float = 1.0,
        duration_s: float | None = None,
        roles: Iterable[str] = ("agent",),
        model_name: str | None = None,
        on_event: Callable[[dict[str, Any]], None] | None = None,
        status_extra: Callable[[], dict[str, Any]] | None = None,
        session_id: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        status_interval_s: float = 1.0,
    ) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self.records = [r for r in records if isinstance(r, dict) and r.get("type") != "status"]
        last = max((_t(r) for r in self.records), default=0.0)
        self.duration_s = max(last, float(duration_s or 0.0))
        self.publish = publish
        self.cfg = config
        self.speed = float(speed)
        self.roles = tuple(roles)
        self.model_name = model_name
        self.on_event = on_event
        self.status_extra = status_extra
        self.session_id = session_id
        self.clock = clock
        self.status_interval_s = status_interval_s
        self.mode = "replay"
        self.origin_unix = 0.0
        self.stats = SessionStats()
        self.device_log: list[dict[str, Any]] = []
        self.recording: dict[str, Any] | None = None
        self._stop = threading.Event()
        self._escalated = False
        self._pos_s = 0.0
        self._finished = False

    # ------------------------------------------------------------------ info
    def hello(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "speed": self.speed,
            "roles": list(self.roles),
            "band": band(self.cfg, escalated=self._escalated),
            "origin_unix_ms": round(self.origin_unix * 1000.0, 1),
            "model": self.model_name,
        }

    def audio_wall(self, t_s: float) -> float:
        return self.origin_unix + t_s / self.speed

    @property
    def finished(self) -> bool:
        return self._finished

    @property
    def t_s(self) -> float:
        return self._pos_s

    # ------------------------------------------------------------------ loop
    def run(self) -> SessionStats:
        """Re-emit until the end of the log or :meth:`stop`; returns the stats."""
        t0 = self.clock()
        self.origin_unix = time.time()
        self._status(force=True)
        next_status = t0 + self.status_interval_s
        for rec in self.records:
            t = _t(rec)
            while not self._stop.is_set():
                now = self.clock()
                due = t0 + t / self.speed
                if now >= due:
                    break
                if now >= next_status:
                    self._pos_s = (now - t0) * self.speed
                    self._status()
                    next_status = now + self.status_interval_s
                self._stop.wait(max(0.0, min(due, next_status) - now))
            if self._stop.is_set():
                break
            self._pos_s = max(self._pos_s, t)
            self._emit(rec)
        if not self._stop.is_set():
            end = t0 + self.duration_s / self.speed
            while not self._stop.is_set() and self.clock() < end:
                self._stop.wait(min(0.25, end - self.clock()))
            if not self._stop.is_set():
                self._pos_s = self.duration_s
                self._finished = True
        self._status(force=True)
        return self.stats

    def _emit(self, rec: dict[str, Any]) -> None:
        kind = str(rec["type"])
        self.stats.count(kind)
        if kind == "prompt":
            self.stats.prompts.append({
                "t_s": _t(rec), "kind": rec.get("kind"), "headline": rec.get("headline"),
                "audio_wall": self.audio_wall(_t(rec)), "published_wall": time.time(),
            })
        elif kind == "word":
            self.stats.words += 1
        self.publish(kind, rec)
        self._record(rec)
        if kind == "customer_state":
            self._escalated = rec.get("state") == "escalated"
            self.publish("band", band(self.cfg, escalated=self._escalated))

    def _record(self, rec: dict[str, Any]) -> None:
        if self.on_event is None:
            return
        try:
            self.on_event(rec)
        except Exception as exc:  # a failing session log must not stop the replay
            log.error("session log failed, logging stopped: %s", exc)
            self.on_event = None

    def _status(self, *, force: bool = False) -> None:
        info: dict[str, Any] = {
            "mode": self.mode, "source": "session", "session_id": self.session_id,
            "model": self.model_name, "t_s": round(self._pos_s, 2), "lag_ms": None,
            "position_s": round(self._pos_s, 2), "duration_s": round(self.duration_s, 2),
            "overflows": 0, "dropped_blocks": 0, "max_block_ms": 0.0,
            "origin_unix_ms": round(self.origin_unix * 1000.0, 1), "speed": self.speed, "devices": [],
        }
        if self.status_extra is not None:
            info.update(self.status_extra())
        data = to_dict(Status(t_s=self._pos_s, info=info))
        self.publish("status", data)
        if force:
            self._record(data)


def _t(rec: dict[str, Any]) -> float:
    t = rec.get("t_s")
    return float(t) if isinstance(t, (int, float)) and math.isfinite(t) else 0.0

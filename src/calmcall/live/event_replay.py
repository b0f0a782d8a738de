"""Re-emitting a logged session (one without recorded audio) to the overlay on the real clock."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from ..events import Status, to_dict
from .publishing import Publish, Publisher, SessionStats


class EventReplay(Publisher):
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
        language_lock: Any | None = None,
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
        #: an ``auto`` call's logged language (:class:`calmcall.live.logged_words.LoggedLanguage`):
        #: decided when its ``language`` record is re-emitted, so cues before it stay English
        self.language_lock = language_lock
        self.origin_unix = 0.0
        self.stats = SessionStats()
        self.device_log: list[dict[str, Any]] = []
        self.recording: dict[str, Any] | None = None
        self._stop = threading.Event()
        self._escalated = False
        self._pos_s = 0.0
        self._finished = False

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
        if kind == "language" and self.language_lock is not None:
            self.language_lock.advance(_t(rec))
        if kind == "prompt":
            self.stats.prompts.append(
                {
                    "t_s": _t(rec),
                    "kind": rec.get("kind"),
                    "headline": rec.get("headline"),
                    "audio_wall": self.audio_wall(_t(rec)),
                    "published_wall": time.time(),
                }
            )
        elif kind == "word":
            self.stats.words += 1
        self.publish(kind, rec)
        self._record(rec)
        if kind == "customer_state":
            self._customer_state(rec.get("state"))

    @property
    def language(self) -> dict[str, Any] | None:
        """The logged language detection, once re-emitted (as :attr:`Session.language`)."""
        lock = self.language_lock
        return lock.to_dict() if lock is not None and lock.language is not None else None

    def _status(self, *, force: bool = False) -> None:
        info: dict[str, Any] = {
            "mode": self.mode,
            "source": "session",
            "session_id": self.session_id,
            "model": self.model_name,
            "t_s": round(self._pos_s, 2),
            "lag_ms": None,
            "position_s": round(self._pos_s, 2),
            "duration_s": round(self.duration_s, 2),
            "overflows": 0,
            "dropped_blocks": 0,
            "max_block_ms": 0.0,
            "origin_unix_ms": round(self.origin_unix * 1000.0, 1),
            "speed": self.speed,
            "devices": [],
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

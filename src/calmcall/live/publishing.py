"""What live sessions and event replays share: the overlay's band message, the
publish callback's shape, stop handling, statistics, and the part of the overlay
protocol both speak (``hello``, audio-to-wall-clock time, the band after a customer
state change, the event log hook)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

#: ``publish(type, data)``: hands one overlay message to the server; must not block.
Publish = Callable[[str, dict[str, Any]], None]


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


class Publisher(_Stoppable):
    """The overlay side of a session (live or replayed).

    Subclasses provide ``speed`` (x real time), ``roles``, ``origin_unix`` (wall-clock
    time of audio t=0), ``publish``, ``cfg``, ``model_name``, ``mode`` and ``on_event``."""

    speed: float
    roles: tuple[str, ...]
    origin_unix: float
    publish: Publish
    cfg: Any
    model_name: str | None
    mode: str
    on_event: Callable[[Any], None] | None
    _escalated: bool = False

    def hello(self) -> dict[str, Any]:
        """What a connecting overlay is told first."""
        return {
            "mode": self.mode,
            "speed": self.speed,
            "roles": list(self.roles),
            "band": band(self.cfg, escalated=self._escalated),
            "origin_unix_ms": round(self.origin_unix * 1000.0, 1),
            "model": self.model_name,
        }

    def audio_wall(self, t_s: float) -> float:
        """Wall-clock (unix) time at which audio time ``t_s`` was captured/played."""
        return self.origin_unix + t_s / self.speed

    def _customer_state(self, state: Any) -> None:
        """A customer-state change: the band tightens or relaxes; the overlay is told."""
        self._escalated = state == "escalated"
        self.publish("band", band(self.cfg, escalated=self._escalated))

    def _record(self, ev: Any) -> None:
        """Hand ``ev`` to ``on_event`` (the session log); a failing log stops logging, not coaching."""
        if self.on_event is None:
            return
        try:
            self.on_event(ev)
        except Exception as exc:
            log.error("session log failed, logging stopped: %s", exc)
            self.on_event = None

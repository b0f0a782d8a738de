"""The one vocabulary of events calmcall produces.

Every event carries ``t_s``: the audio time, in seconds since the call started, at
which the event became known (i.e. when it would have appeared on a live call).
A replay of the same audio therefore produces the same events with the same ``t_s``.

All events are frozen dataclasses; :func:`to_dict` turns any of them into the JSON
shape used by ``analyze --json``, the websocket messages and the session logs (a
``"type"`` key is added).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

Speaker = Literal["agent", "customer"]
Severity = Literal["low", "medium", "high"]

#: Prompt kinds, in the order the coach prefers them when several fire at once.
PROMPT_KINDS: tuple[str, ...] = (
    "overtalk",
    "customer_escalation",
    "volume",
    "pace",
    "pitch",
    "phrase",
)
SEVERITY_RANK: dict[str, int] = {"low": 0, "medium": 1, "high": 2}


@dataclass(frozen=True, slots=True)
class Prompt:
    """A coaching cue shown to the agent.

    ``headline`` is two words ("Slow down"); ``detail`` one line of measurable fact
    ("190 wpm - your calm pace is 140"). ``evidence`` holds the numbers behind it
    (JSON-serialisable, units in the key names).
    """

    t_s: float
    kind: str
    headline: str
    detail: str
    severity: Severity
    evidence: dict[str, Any] = field(default_factory=dict)
    type: ClassVar[str] = "prompt"


@dataclass(frozen=True, slots=True)
class Measures:
    """A periodic snapshot of one speaker's voice (default every 0.25 s of audio).

    Values are ``None`` when not measurable yet (no speech in the window).
    ``pitch_st`` is the median F0 of the window in semitones above the speaker's
    baseline median F0; ``level_rel_db`` / ``rate_rel`` likewise against the baseline
    (``rate_rel`` is a ratio, 1.0 = calm pace). ``baseline_status``: ``"learned"``,
    ``"profile"`` or ``"still learning (reason)"`` (why no baseline is used yet).
    ``wpm`` is words per minute over the elapsed time of the current stretch of
    committed words (:mod:`calmcall.pace`).
    """

    t_s: float
    speaker: Speaker
    active: bool
    f0_hz: float | None
    pitch_st: float | None
    level_db: float | None
    level_rel_db: float | None
    rate_syl_s: float | None
    rate_rel: float | None
    wpm: float | None
    in_band: bool | None
    baseline_status: str = ""
    #: the agent's pace/pitch/volume excess in margins as the prompts judge it (>= 1:
    #: outside the target band; pace from words when there are any), None when not rated
    excess: dict[str, float] | None = None
    type: ClassVar[str] = "measures"


@dataclass(frozen=True, slots=True)
class Baseline:
    """A speaker's calm baseline.

    ``f0_hz``: median F0 of voiced frames; ``level_db``: active speech level in dBFS;
    ``rate_syl_s``: syllables per second of active speech; ``wpm``: words per minute
    when transcription supplied words, else ``None``.
    """

    f0_hz: float
    level_db: float
    rate_syl_s: float
    wpm: float | None = None
    speech_s: float = 0.0
    source: str = "learned"


@dataclass(frozen=True, slots=True)
class BaselineReady:
    """Emitted once per speaker when its baseline becomes known."""

    t_s: float
    speaker: Speaker
    baseline: Baseline
    type: ClassVar[str] = "baseline"


@dataclass(frozen=True, slots=True)
class CustomerState:
    """The customer's state changed: ``"calm"`` or ``"escalated"``."""

    t_s: float
    state: Literal["calm", "escalated"]
    evidence: dict[str, Any] = field(default_factory=dict)
    type: ClassVar[str] = "customer_state"


@dataclass(frozen=True, slots=True)
class Word:
    """A committed (final) transcribed word. ``start_s``/``end_s`` locate it in the
    audio; ``t_s`` is when it was committed (``t_s >= end_s``)."""

    t_s: float
    start_s: float
    end_s: float
    text: str
    speaker: Speaker
    confidence: float
    type: ClassVar[str] = "word"


@dataclass(frozen=True, slots=True)
class Partial:
    """Uncommitted text of a speaker's current utterance, for display only."""

    t_s: float
    speaker: Speaker
    text: str
    type: ClassVar[str] = "partial"


@dataclass(frozen=True, slots=True)
class Status:
    """Live-session status (devices, model, latency, overflow count)."""

    t_s: float
    info: dict[str, Any] = field(default_factory=dict)
    type: ClassVar[str] = "status"


Event = Prompt | Measures | BaselineReady | CustomerState | Word | Partial | Status


def _round(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_round(v) for v in value]
    return value


def to_dict(event: Event) -> dict[str, Any]:
    """Return the JSON-ready dict of ``event``, with a leading ``"type"`` key and
    floats rounded to 1 ms / 3 decimals."""
    out: dict[str, Any] = {"type": event.type}
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            value = dataclasses.asdict(value)
        out[f.name] = _round(value)
    return out

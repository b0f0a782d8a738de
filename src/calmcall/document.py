"""The analyze document: one builder for analysed files and recorded sessions.

``calmcall analyze --json``, ``calmcall report``, ``calmcall analyze DIR --out`` (batch)
and the scorecard all read this one shape; docs/analyze-json.md describes every key.
:func:`analysis_document` is the only place that lays it out: from a call's events
(:func:`calmcall.analysis.build_document`) and from a session log
(:func:`calmcall.qa.sessionlog.session_to_analysis`). Keys are only ever added;
``schema`` changes when a key changes meaning.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["SCHEMA_VERSION", "analysis_document", "strip_type"]

#: Version of the document's layout (docs/analyze-json.md).
SCHEMA_VERSION = 1


def strip_type(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Event dicts (``calmcall.events.to_dict`` or logged records) without their ``type`` key."""
    return [{k: v for k, v in r.items() if k != "type"} for r in records]


def analysis_document(
    *,
    file: str,
    duration_s: float,
    channels: Mapping[str, int | None],
    prompts: list[dict[str, Any]],
    words: list[dict[str, Any]],
    timeline: list[dict[str, Any]],
    customer_states: list[dict[str, Any]],
    baselines: Mapping[str, Any],
    config: Mapping[str, Any],
    measures: Mapping[str, Any] | None = None,
    suppressed_prompts: int | None = None,
    session: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The document, keys in their documented order.

    ``prompts``, ``words``, ``timeline`` (measures events) and ``customer_states`` are
    event dicts without ``type``; ``baselines`` maps "agent"/"customer" to a baseline
    dict (with ``t_s``) or None; ``measures`` is the per-speaker summary (None per
    speaker where it is not known, e.g. for a session); ``suppressed_prompts`` counts
    the candidates the coach held back (None where not known); ``session`` is
    given for a recorded session only.
    """
    doc: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "file": file,
        "duration_s": duration_s,
        "channels": dict(channels),
        "agent_only": channels.get("customer") is None,
        "prompts": prompts,
        "measures": dict(measures) if measures is not None else {"agent": None, "customer": None},
        "words": words,
        "timeline": timeline,
        "customer_states": customer_states,
        "baselines": {"agent": baselines.get("agent"), "customer": baselines.get("customer")},
        "config": dict(config),
        "suppressed_prompts": suppressed_prompts,
    }
    if session is not None:
        doc["session"] = dict(session)
    return doc

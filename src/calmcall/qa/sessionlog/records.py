"""One log record: encoding an event as a JSON line, and checking one read back (times
in audio seconds, finite numbers, required keys)."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from typing import Any, TypeGuard

from calmcall import events as _events


def _finite(value: Any) -> Any:
    """Replace NaN/inf (not valid JSON) by None, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _as_record(event: Any) -> dict[str, Any]:
    if isinstance(event, Mapping):
        record = dict(event)
    elif dataclasses.is_dataclass(event) and not isinstance(event, type):
        record = _events.to_dict(event)  # type: ignore[arg-type]
    else:
        raise TypeError(f"SessionWriter.write() takes an event or a dict, not {type(event).__name__}")
    if not isinstance(record.get("type"), str):
        raise ValueError("a session log record needs a string 'type' key")
    return record


def _encode(record: dict[str, Any]) -> bytes:
    try:
        text = json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError:  # NaN/inf somewhere: store null rather than invalid JSON
        text = json.dumps(_finite(record), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (text + "\n").encode("utf-8")


MAX_T_S = 7 * 86400.0
#: Keys whose values must be a finite number (or null) wherever they appear at the
#: top of a record: times, and the measures the reports plot.
_NUMERIC_KEYS = (
    "t_s",
    "start_s",
    "end_s",
    "duration_s",
    "f0_hz",
    "pitch_st",
    "level_db",
    "level_rel_db",
    "rate_syl_s",
    "rate_rel",
    "wpm",
    "confidence",
)
_TIME_KEYS = ("t_s", "start_s", "end_s")
#: What each record type must carry besides a valid ``t_s`` (string keys).
_REQUIRED_STR = {
    "prompt": ("kind",),
    "word": ("text", "speaker"),
    "measures": ("speaker",),
    "customer_state": ("state",),
    "baseline": ("speaker",),
    "partial": ("speaker",),
}


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # the writer never writes NaN/Infinity


def _is_time(v: Any) -> TypeGuard[float]:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and 0.0 <= v <= MAX_T_S


def record_problem(rec: dict[str, Any]) -> str | None:
    """Why an event record cannot be used (None when it can): no string ``type``, a
    ``t_s`` that is missing or not a time in [0, MAX_T_S], a number field that is not
    a finite number, or a missing field its type needs."""
    kind = rec.get("type")
    if not isinstance(kind, str):
        return "no type"
    if not _is_time(rec.get("t_s")):
        return "bad t_s"
    for key in _NUMERIC_KEYS:
        v = rec.get(key)
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            return f"bad {key}"
        if key in _TIME_KEYS and not _is_time(v):
            return f"bad {key}"
    for key in _REQUIRED_STR.get(kind, ()):
        if not isinstance(rec.get(key), str):
            return f"no {key}"
    if kind == "word" and not (_is_time(rec.get("start_s")) and _is_time(rec.get("end_s"))):
        return "bad word times"
    if kind == "baseline" and not isinstance(rec.get("baseline"), dict):
        return "no baseline"
    return None


def damage_note(skipped: int, torn: bool) -> str | None:
    """``"3 damaged record(s) skipped, torn last line"`` style note, or None."""
    bits = []
    if skipped:
        bits.append(f"{skipped} damaged record(s) skipped")
    if torn:
        bits.append("torn last line dropped")
    return ", ".join(bits) or None

"""Scorecard: pure functions from an ``analyze --json`` document to QA numbers.

Shared by the HTML report and the batch summary CSV, so both always agree. Every
number is a measurable fact about the call (times, counts, shares); nothing here
labels anyone's emotions.

Definitions (all times in audio seconds; the timeline is the 0.25 s ``Measures``
grid, a snapshot at ``t_s`` describing ``(t_s - step, t_s]``):

* **in band**: share of the agent's active, measurable snapshots whose ``in_band``
  is true: the pipeline's own verdict (one band rule for the prompts, ``analyze``'s
  ``in_band_share``, this scorecard and the report; the pipeline counts the same
  snapshots, so the shares are equal).
* **over limit per dimension**: share of active agent snapshots whose pace, pitch or
  level is outside the band by the pipeline's rule: its ``excess`` (in margins, >= 1;
  pace from transcribed words when there are any). Documents without ``excess``
  (older ones) fall back to the raw values against
  :meth:`calmcall.config.TargetConfig.margins` (``rate_rel`` against the ``pace``
  margin, as the pipeline of those documents did), with no margin of its own.
* **talk ratio**: agent speech time / (agent + customer speech time).
* **overtalk**: stretches where both talk at once for at least ``overtalk.overlap_s``
  (0.5 s); an **agent interruption** is one where the customer had already been
  talking for ``overtalk.customer_min_s`` when the agent started.
* **silence**: stretches where neither talks, between the first and last speech of
  the call; gaps under 2 s are ignored; those over 10 s are listed.
* **monologue**: a speaker's stretch of speech not broken by the other party
  talking for 1 s or more, nor by a pause of 2 s or more.
* **escalation episode**: from a customer ``escalated`` state to the next ``calm``
  (or the end of the call). **Back in band**: from the first out-of-band agent
  snapshot at or after the episode start (within the episode) to the first moment
  from which the agent's active speech stays in band for ``settle_s`` (1 s);
  0 when the agent never left the band during the episode, ``None`` when they were
  not back in band by the end of the call.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from calmcall.config import TargetConfig
from calmcall.events import PROMPT_KINDS

SILENCE_MIN_S = 2.0
SILENCE_LONG_S = 10.0
MONOLOGUE_BREAK_OTHER_S = 1.0
MONOLOGUE_BREAK_PAUSE_S = 2.0
SETTLE_S = 1.0
TURN_GAP_S = 3.0

#: the band's settings: the pipeline's own (calmcall.config.TargetConfig), no copy
_TARGET_DEFAULTS = {f.name: float(f.default) for f in dataclasses.fields(TargetConfig)}  # type: ignore[arg-type]  # all defaults are numbers
_OVERTALK_DEFAULTS = {"overlap_s": 0.5, "customer_min_s": 0.5}


# --------------------------------------------------------------------------- config


def targets(doc: Mapping[str, Any]) -> dict[str, float]:
    """The agent's target band from the document's config (defaults when absent).
    Accepts the nested ``config.targets`` shape and flat aliases
    (``rate_margin``, ``level_margin_db``)."""
    cfg = doc.get("config") or {}
    t = cfg.get("targets") if isinstance(cfg.get("targets"), Mapping) else cfg
    out = dict(_TARGET_DEFAULTS)
    aliases = {"pace_margin": ("pace_margin", "rate_margin"), "volume_margin_db": ("volume_margin_db", "level_margin_db")}
    for key in out:
        for name in aliases.get(key, (key,)):
            v = t.get(name) if isinstance(t, Mapping) else None
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                out[key] = float(v)
                break
    return out


def band_margins(tg: Mapping[str, float], *, escalated: bool) -> dict[str, float]:
    """The band's margins now, by the pipeline's rule (:meth:`TargetConfig.margins`)."""
    return TargetConfig(**{k: tg[k] for k in _TARGET_DEFAULTS}).margins(escalated=escalated)


#: dimension -> (timeline key, calm value, margin key, excess key)
BAND_DIMS: dict[str, tuple[str, float, str, str]] = {
    "pace": ("rate_rel", 1.0, "pace", "pace"),
    "pitch": ("pitch_st", 0.0, "pitch", "pitch"),
    "level": ("level_rel_db", 0.0, "volume", "volume"),
}


def above_band(m: Mapping[str, Any], dim: str, tg: Mapping[str, float], *, escalated: bool) -> bool | None:
    """Whether snapshot ``m`` is outside the band in ``dim`` (pace | pitch | level) by
    the pipeline's rule; ``None`` when not measurable."""
    key, calm, margin_key, excess_key = BAND_DIMS[dim]
    ex = m.get("excess")
    if isinstance(ex, Mapping):
        v = ex.get(excess_key)
        return bool(v >= 1.0) if isinstance(v, (int, float)) and not isinstance(v, bool) else None
    value = m.get(key)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    return bool(value >= calm + band_margins(tg, escalated=escalated)[margin_key])


def overtalk_settings(doc: Mapping[str, Any]) -> dict[str, float]:
    cfg = doc.get("config") or {}
    o = cfg.get("overtalk")
    if not isinstance(o, Mapping):
        o = {}
    out = dict(_OVERTALK_DEFAULTS)
    for k in out:
        v = o.get(k)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            out[k] = float(v)
    return out


# --------------------------------------------------------------------------- grid helpers


def grid_step_s(timeline: list[Mapping[str, Any]]) -> float:
    """The spacing of the measures timeline (0.25 s unless the config changed it)."""
    ts = sorted({float(m["t_s"]) for m in timeline if m.get("speaker") == "agent"})
    diffs = sorted(b - a for a, b in itertools.pairwise(ts) if b - a > 1e-6)
    if not diffs:
        return 0.25
    return round(diffs[len(diffs) // 2], 3)


def _series(timeline: list[Mapping[str, Any]], speaker: str) -> list[Mapping[str, Any]]:
    return sorted((m for m in timeline if m.get("speaker") == speaker), key=lambda m: float(m["t_s"]))


def activity(timeline: list[Mapping[str, Any]], speaker: str, step_s: float, n: int) -> list[bool]:
    """Boolean speech activity of ``speaker`` on the grid (cell i = ``(i*step, (i+1)*step]``)."""
    out = [False] * n
    for m in _series(timeline, speaker):
        i = int(round(float(m["t_s"]) / step_s)) - 1
        if 0 <= i < n and m.get("active"):
            out[i] = True
    return out


def runs(mask: list[bool], value: bool = True) -> list[tuple[int, int]]:
    """Half-open index ranges ``[a, b)`` where ``mask`` equals ``value``."""
    out = []
    start = None
    for i, v in enumerate(mask):
        if v == value and start is None:
            start = i
        elif v != value and start is not None:
            out.append((start, i))
            start = None
    if start is not None:
        out.append((start, len(mask)))
    return out


def _r(x: float | None, nd: int = 2) -> float | None:
    return None if x is None else round(float(x), nd)


def _median(values: Iterable[float | None]) -> float | None:
    v = sorted(float(x) for x in values if isinstance(x, (int, float)) and math.isfinite(x))
    if not v:
        return None
    mid = len(v) // 2
    return v[mid] if len(v) % 2 else (v[mid - 1] + v[mid]) / 2


# --------------------------------------------------------------------------- pieces


def escalation_episodes(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``[{"start_s", "end_s", "ongoing_at_end"}]`` from the customer state changes."""
    duration = float(doc.get("duration_s") or 0.0)
    eps: list[dict[str, Any]] = []
    start: float | None = None
    for st in sorted(doc.get("customer_states") or [], key=lambda s: float(s["t_s"])):
        if st.get("state") == "escalated" and start is None:
            start = float(st["t_s"])
        elif st.get("state") == "calm" and start is not None:
            eps.append({"start_s": start, "end_s": float(st["t_s"]), "ongoing_at_end": False})
            start = None
    if start is not None:
        eps.append({"start_s": start, "end_s": max(duration, start), "ongoing_at_end": True})
    return eps


def escalated_at(eps: list[dict[str, Any]], t: float) -> bool:
    return any(e["start_s"] <= t < e["end_s"] or (e["ongoing_at_end"] and t >= e["start_s"]) for e in eps)


def over_limit_shares(doc: Mapping[str, Any]) -> dict[str, float | None]:
    """Share of active agent snapshots outside the band, per dimension (:func:`above_band`)."""
    tg = targets(doc)
    eps = escalation_episodes(doc)
    counts = {"pace": [0, 0], "pitch": [0, 0], "level": [0, 0]}
    for m in _series(doc.get("timeline") or [], "agent"):
        if not m.get("active"):
            continue
        esc = escalated_at(eps, float(m["t_s"]))
        for dim in counts:
            over = above_band(m, dim, tg, escalated=esc)
            if over is not None:
                counts[dim][0] += 1
                counts[dim][1] += over
    return {f"{dim}_over_share": (_r(k / n, 4) if n else None) for dim, (n, k) in counts.items()}


def in_band(timeline: list[Mapping[str, Any]]) -> dict[str, Any]:
    agent = [m for m in _series(timeline, "agent") if m.get("active") and m.get("in_band") is not None]
    k = sum(bool(m["in_band"]) for m in agent)
    step = grid_step_s(timeline)
    return {
        "in_band_share": _r(k / len(agent), 4) if agent else None,
        "measured_speech_s": _r(len(agent) * step),
        "in_band_s": _r(k * step),
    }


def _back_in_band(agent: list[Mapping[str, Any]], start: float, end: float, step: float) -> dict[str, Any]:
    active = [m for m in agent if m.get("active") and m.get("in_band") is not None]
    first_out = next((m for m in active if start <= float(m["t_s"]) <= end + step / 2 and not m["in_band"]), None)
    if first_out is None:
        return {"agent_left_band": False, "left_band_s": None, "back_in_band_s": 0.0, "back_at_s": None}
    t_out = float(first_out["t_s"])
    later = [m for m in active if float(m["t_s"]) > t_out]
    need = max(1, int(round(SETTLE_S / step)))
    for i, m in enumerate(later):
        window = later[i : i + need]
        if len(window) == need and all(w["in_band"] for w in window):
            t_back = float(m["t_s"]) - step  # the snapshot covers (t - step, t]
            return {
                "agent_left_band": True,
                "left_band_s": _r(t_out - step),
                "back_in_band_s": _r(max(0.0, t_back - (t_out - step))),
                "back_at_s": _r(t_back),
            }
    return {"agent_left_band": True, "left_band_s": _r(t_out - step), "back_in_band_s": None, "back_at_s": None}


def escalations(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    timeline = doc.get("timeline") or []
    step = grid_step_s(timeline)
    agent = _series(timeline, "agent")
    out = []
    for ep in escalation_episodes(doc):
        out.append(
            {
                "start_s": _r(ep["start_s"]),
                "end_s": _r(ep["end_s"]),
                "duration_s": _r(ep["end_s"] - ep["start_s"]),
                "ongoing_at_end": ep["ongoing_at_end"],
                **_back_in_band(agent, ep["start_s"], ep["end_s"], step),
            }
        )
    return out


def _monologues(me: list[bool], other: list[bool], step: float) -> list[tuple[int, int]]:
    other_break = max(1, int(round(MONOLOGUE_BREAK_OTHER_S / step)))
    pause_break = max(1, int(round(MONOLOGUE_BREAK_PAUSE_S / step)))
    breaks = [False] * len(me)
    for a, b in runs(other):
        if b - a >= other_break:
            for i in range(a, b):
                breaks[i] = True
    out: list[tuple[int, int]] = []
    cur: tuple[int, int] | None = None
    for a, b in runs(me):
        if cur is not None and (a - cur[1]) < pause_break and not any(breaks[cur[1] : a]):
            cur = (cur[0], b)
            continue
        if cur is not None:
            out.append(cur)
        cur = (a, b)
    if cur is not None:
        out.append(cur)
    return out


def talk_and_silence(doc: Mapping[str, Any]) -> dict[str, Any]:
    timeline = doc.get("timeline") or []
    step = grid_step_s(timeline)
    duration = float(doc.get("duration_s") or 0.0)
    n = max(int(math.ceil(duration / step - 1e-9)), max((int(round(float(m["t_s"]) / step)) for m in timeline), default=0))
    agent = activity(timeline, "agent", step, n)
    has_customer = any(m.get("speaker") == "customer" for m in timeline)
    customer = activity(timeline, "customer", step, n) if has_customer else [False] * n
    agent_s = sum(agent) * step
    customer_s = sum(customer) * step
    out: dict[str, Any] = {
        "agent_talk_s": _r(agent_s),
        "customer_talk_s": _r(customer_s) if has_customer else None,
        "talk_ratio_agent": (_r(agent_s / (agent_s + customer_s), 4) if has_customer and agent_s + customer_s > 0 else None),
    }
    # overtalk
    if has_customer:
        ot = overtalk_settings(doc)
        both = [a and c for a, c in zip(agent, customer)]
        min_cells = max(1, int(round(ot["overlap_s"] / step)))
        cust_min = max(0, int(round(ot["customer_min_s"] / step)))
        episodes: list[dict[str, Any]] = []
        for a, b in runs(both):
            if b - a < min_cells:
                continue
            # who was talking first: count the customer's speech right before
            k = a
            while k > 0 and customer[k - 1] and not agent[k - 1]:
                k -= 1
            interrupted = (a - k) >= cust_min and (a - k) > 0
            episodes.append(
                {
                    "start_s": _r(a * step),
                    "end_s": _r(b * step),
                    "duration_s": _r((b - a) * step),
                    "agent_interrupted": interrupted,
                }
            )
        out.update(
            {
                "overtalk_count": len(episodes),
                "agent_interruptions": sum(e["agent_interrupted"] for e in episodes),
                "overtalk_s": _r(sum(e["duration_s"] for e in episodes)),
                "overtalk_episodes": episodes,
            }
        )
    else:
        out.update({"overtalk_count": None, "agent_interruptions": None, "overtalk_s": None, "overtalk_episodes": []})
    # silences between the first and last speech of the call
    anyone = [a or c for a, c in zip(agent, customer)]
    speech = [i for i, v in enumerate(anyone) if v]
    silences: list[dict[str, Any]] = []
    if speech:
        inner = anyone[speech[0] : speech[-1] + 1]
        for a, b in runs(inner, False):
            d = (b - a) * step
            if d >= SILENCE_MIN_S - 1e-9:
                silences.append({"start_s": _r((a + speech[0]) * step), "end_s": _r((b + speech[0]) * step), "duration_s": _r(d)})
    long = [s for s in silences if s["duration_s"] > SILENCE_LONG_S]
    out.update(
        {
            "silence_total_s": _r(sum(s["duration_s"] for s in silences)),
            "silences_over_10s": len(long),
            "longest_silence_s": _r(max((s["duration_s"] for s in silences), default=0.0)),
            "long_silences": long,
        }
    )
    # monologues
    for who, me, other in (("agent", agent, customer), ("customer", customer, agent)):
        if who == "customer" and not has_customer:
            out["longest_customer_monologue_s"] = None
            out["longest_customer_monologue"] = None
            continue
        mons = _monologues(me, other, step)
        best = max(mons, key=lambda ab: ab[1] - ab[0], default=None)
        out[f"longest_{who}_monologue_s"] = _r((best[1] - best[0]) * step) if best else 0.0
        out[f"longest_{who}_monologue"] = {"start_s": _r(best[0] * step), "end_s": _r(best[1] * step)} if best else None
    return out


def prompt_counts(prompts: list[Mapping[str, Any]]) -> dict[str, int]:
    c = Counter(str(p.get("kind")) for p in prompts)
    out = {k: c.pop(k, 0) for k in PROMPT_KINDS}
    out.update(sorted(c.items()))
    return out


def agent_medians(timeline: list[Mapping[str, Any]]) -> dict[str, float | None]:
    act = [m for m in _series(timeline, "agent") if m.get("active")]
    return {
        "agent_median_wpm": _r(_median(m.get("wpm") for m in act), 1),
        "agent_median_rate_rel": _r(_median(m.get("rate_rel") for m in act), 3),
        "agent_median_pitch_st": _r(_median(m.get("pitch_st") for m in act), 2),
        "agent_median_level_rel_db": _r(_median(m.get("level_rel_db") for m in act), 2),
    }


def turns(words: list[Mapping[str, Any]], *, gap_s: float = TURN_GAP_S) -> list[dict[str, Any]]:
    """Speaker turns from words: each speaker's words are first grouped into
    utterances (split at pauses of ``gap_s``), so overlapping speech does not shred
    the text; utterances are then ordered by start time and consecutive ones of the
    same speaker merged. ``overlap`` marks a turn that starts before the previous
    one ends."""
    utts: list[dict[str, Any]] = []
    by_speaker: dict[str, list[Mapping[str, Any]]] = {}
    for w in words:
        by_speaker.setdefault(str(w.get("speaker")), []).append(w)
    for sp, ws in by_speaker.items():
        cur: dict[str, Any] | None = None
        for w in sorted(ws, key=lambda w: float(w.get("start_s", 0.0))):
            start = float(w.get("start_s", 0.0))
            end = float(w.get("end_s", start))
            if cur is not None and start - cur["end_s"] < gap_s:
                cur["words"].append(w)
                cur["end_s"] = max(cur["end_s"], end)
            else:
                cur = {"speaker": sp, "start_s": start, "end_s": end, "words": [w]}
                utts.append(cur)
    utts.sort(key=lambda u: (u["start_s"], u["speaker"]))
    out: list[dict[str, Any]] = []
    for u in utts:
        if out and out[-1]["speaker"] == u["speaker"]:
            out[-1]["words"].extend(u["words"])
            out[-1]["end_s"] = max(out[-1]["end_s"], u["end_s"])
            continue
        u["overlap"] = bool(out) and u["start_s"] < out[-1]["end_s"]
        out.append(u)
    for t in out:
        t.setdefault("overlap", False)
        t["text"] = " ".join(str(w.get("text", "")).strip() for w in t["words"]).strip()
    return out


# --------------------------------------------------------------------------- scorecard


def scorecard(doc: Mapping[str, Any]) -> dict[str, Any]:
    """All scorecard numbers for one analyze document (or a session turned into one)."""
    timeline = doc.get("timeline") or []
    prompts = doc.get("prompts") or []
    words = doc.get("words") or []
    duration = float(doc.get("duration_s") or 0.0)
    card: dict[str, Any] = {
        "duration_s": _r(duration),
        "has_customer": any(m.get("speaker") == "customer" for m in timeline),
    }
    card.update(in_band(timeline))
    card.update(over_limit_shares(doc))
    card.update(agent_medians(timeline))
    card["prompts_total"] = len(prompts)
    card["prompts_per_kind"] = prompt_counts(prompts)
    card["prompts_per_10_min"] = _r(len(prompts) / duration * 600.0, 2) if duration > 0 else None
    card.update(talk_and_silence(doc))
    eps = escalations(doc)
    card["escalation_episodes"] = len(eps)
    card["escalations"] = eps
    back = [e["back_in_band_s"] for e in eps if e["back_in_band_s"] is not None]
    card["max_back_in_band_s"] = _r(max(back)) if back else None
    card["escalations_not_back_in_band"] = sum(e["agent_left_band"] and e["back_in_band_s"] is None for e in eps)
    card["words"] = len(words)
    card["agent_words"] = sum(w.get("speaker") == "agent" for w in words)
    card["customer_words"] = sum(w.get("speaker") == "customer" for w in words)
    card["targets"] = targets(doc)
    return card


CSV_FIELDS: tuple[str, ...] = (
    "file",
    "status",
    "error",
    "duration_s",
    "in_band_share",
    "pace_over_share",
    "pitch_over_share",
    "level_over_share",
    "agent_median_wpm",
    "prompts_total",
    *(f"prompts_{k}" for k in PROMPT_KINDS),
    "overtalk_count",
    "agent_interruptions",
    "talk_ratio_agent",
    "longest_agent_monologue_s",
    "longest_customer_monologue_s",
    "silences_over_10s",
    "silence_total_s",
    "escalation_episodes",
    "max_back_in_band_s",
    "escalations_not_back_in_band",
    "words",
    "json",
    "report",
)


def csv_row(doc: Mapping[str, Any], card: Mapping[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """One flat summary-CSV row (keys = :data:`CSV_FIELDS`) for a call."""
    card = scorecard(doc) if card is None else card
    row: dict[str, Any] = {k: "" for k in CSV_FIELDS}
    row.update({"file": doc.get("file", ""), "status": "ok"})
    for k in CSV_FIELDS:
        if k in card and not isinstance(card[k], (dict, list)):
            row[k] = "" if card[k] is None else card[k]
    for kind, n in card.get("prompts_per_kind", {}).items():
        if f"prompts_{kind}" in row:
            row[f"prompts_{kind}"] = n
    row.update({k: ("" if v is None else v) for k, v in extra.items()})
    return row

"""A readable text summary of an analyze document."""

from __future__ import annotations

from typing import Any


def _mmss(t_s: float) -> str:
    m, s = divmod(max(0.0, t_s), 60.0)
    return f"{int(m):02d}:{s:04.1f}"


def _fmt(v: Any, unit: str, spec: str = ".0f") -> str:
    return "-" if v is None else f"{v:{spec}} {unit}"


def doc_cue_language(doc: dict[str, Any]) -> str:
    """The language a document's cues are in (``language.cues``; ``en`` when absent)."""
    lang = (doc.get("language") or {}).get("cues") if isinstance(doc.get("language"), dict) else None
    return lang if lang in ("en", "fr") else "en"


def format_summary(doc: dict[str, Any], lang: str | None = None) -> str:
    """Render prompts with times, per-speaker measures and the share of agent
    speech inside the targets, as plain text for a terminal. ``lang`` (``en``/``fr``;
    default: the document's cue language) picks the catalogue (:mod:`calmcall.messages`)."""
    from .messages import message as m_

    lang = lang or doc_cue_language(doc)

    def t(key: str, **values: Any) -> str:
        return m_(key, lang, **values)

    ch = doc["channels"]
    lines = [t("summary.title", file=doc["file"], duration_s=doc["duration_s"])]
    if doc.get("agent_only"):
        lines.append(t("summary.channels_mono", agent=ch["agent"]))
    else:
        lines.append(t("summary.channels", agent=ch["agent"], customer=ch["customer"]))
    language = doc.get("language")
    if isinstance(language, dict) and language.get("call") == "auto":
        detected = (language.get("detection") or {}).get("language")
        lines.append(t("summary.language", language=f"auto -> {detected or '?'}"))
    lines.append("")
    prompts = doc["prompts"]
    lines.append(t("summary.prompts", n=len(prompts)))
    if not prompts:
        lines.append(t("summary.no_prompts"))
    for p in prompts:
        lines.append(f"  {_mmss(p['t_s'])}  [{p['kind']}, {p['severity']}]  {p['headline']}: {p['detail']}")
    states = doc.get("customer_states") or []
    if states:
        lines.append("")
        lines.append(t("summary.customer_state"))
        for s in states:
            state = t(f"state.{s['state']}") if s["state"] in ("escalated", "calm") else s["state"]
            lines.append(f"  {_mmss(s['t_s'])}  {state}")
    lines.append("")
    lines.append(t("summary.measures"))
    for role in ("agent", "customer"):
        m = doc["measures"].get(role)
        if not m:
            continue
        b = m.get("baseline")
        base = (
            t("summary.baseline_none", status=m.get("baseline_status") or t("summary.not_learned"))
            if not b
            else (t("summary.baseline", f0_hz=b["f0_hz"], level_db=b["level_db"], rate_syl_s=b["rate_syl_s"], source=b["source"]))
        )
        lines.append(
            t(
                "summary.speaker",
                role=t(f"role.{role}"),
                speech_s=m["speech_s"],
                f0=_fmt(m["median_f0_hz"], "Hz"),
                level=_fmt(m["active_level_db"], "dBFS", ".1f"),
                pace=_fmt(m["rate_syl_s"], "syl/s", ".2f"),
            )
        )
        lines.append(f"  {'':8s} {base}")
    share = doc["measures"]["agent"].get("in_band_share")
    if share is not None:
        lines.append(t("summary.in_band", pct=share * 100))
    if doc.get("words"):
        lines.append("")
        lines.append(t("summary.transcript", n=len(doc["words"])))
    return "\n".join(lines)

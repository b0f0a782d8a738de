"""A readable text summary of an analyze document."""

from __future__ import annotations

from typing import Any


def _mmss(t_s: float) -> str:
    m, s = divmod(max(0.0, t_s), 60.0)
    return f"{int(m):02d}:{s:04.1f}"


def _fmt(v: Any, unit: str, spec: str = ".0f") -> str:
    return "-" if v is None else f"{v:{spec}} {unit}"


def format_summary(doc: dict[str, Any]) -> str:
    """Render prompts with times, per-speaker measures and the share of agent
    speech inside the targets, as plain text for a terminal."""
    ch = doc["channels"]
    lines = [f"calmcall analysis of {doc['file']} ({doc['duration_s']:.1f} s)"]
    if doc.get("agent_only"):
        lines.append(f"channels: agent = {ch['agent']}; mono / agent-only call: "
                     "no customer channel, so overtalk and customer escalation are not measured")
    else:
        lines.append(f"channels: agent = {ch['agent']}, customer = {ch['customer']}")
    lines.append("")
    prompts = doc["prompts"]
    lines.append(f"Prompts ({len(prompts)}):")
    if not prompts:
        lines.append("  none - the agent stayed inside their calm band")
    for p in prompts:
        lines.append(f"  {_mmss(p['t_s'])}  [{p['kind']}, {p['severity']}]  {p['headline']}: {p['detail']}")
    states = doc.get("customer_states") or []
    if states:
        lines.append("")
        lines.append("Customer state:")
        for s in states:
            lines.append(f"  {_mmss(s['t_s'])}  {s['state']}")
    lines.append("")
    lines.append("Measures (whole call, active speech only):")
    for role in ("agent", "customer"):
        m = doc["measures"].get(role)
        if not m:
            continue
        b = m.get("baseline")
        base = f"baseline: {m.get('baseline_status') or 'not learned'}" if not b else (
            f"calm baseline {b['f0_hz']:.0f} Hz, {b['level_db']:.1f} dBFS, {b['rate_syl_s']:.2f} syl/s ({b['source']})")
        lines.append(f"  {role:8s} speech {m['speech_s']:.1f} s, median pitch {_fmt(m['median_f0_hz'], 'Hz')}, "
                     f"level {_fmt(m['active_level_db'], 'dBFS', '.1f')}, pace {_fmt(m['rate_syl_s'], 'syl/s', '.2f')}")
        lines.append(f"  {'':8s} {base}")
    share = doc["measures"]["agent"].get("in_band_share")
    if share is not None:
        lines.append(f"  agent speech inside the target band: {share * 100:.0f} %")
    if doc.get("words"):
        lines.append("")
        lines.append(f"Transcript: {len(doc['words'])} words (see --json / --vtt / --srt)")
    return "\n".join(lines)

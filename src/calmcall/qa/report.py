"""One self-contained HTML report per call or session.

The file needs no network to view: styles and script are inline, the timeline plot
is a base64 PNG drawn with matplotlib (no pyplot, no global state), and a
Content-Security-Policy forbids the page to load or send anything. The audio is
linked (relative path) when it is available, or embedded (Ogg/Opus, base64) on
request; timestamps and clicks on the timeline then play the call from that point.

The report states measurable facts about the call: pace, pitch and level relative
to the agent's own calm baseline, counts and times. It never labels the agent's
emotions.
"""

from __future__ import annotations

import base64
import html
import json
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from calmcall.qa import scorecard as sc
from calmcall.qa.report_audio import AUDIO_EXTS, AudioSource, _audio_src, audio_sources_for  # noqa: F401 (re-exported)
from calmcall.qa.report_plot import fmt_time, timeline_png
from calmcall.safeio import atomic_write_text


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100.0 * x:.1f} %"


def _sec(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f} s"


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _ts(t_s: float | None, *, label: str | None = None) -> str:
    """A timestamp that seeks the audio (when there is audio) and the timeline cursor."""
    if t_s is None:
        return "-"
    return f'<a class="ts" href="#" data-t="{float(t_s):.2f}" title="play from {fmt_time(t_s)}">{_e(label or fmt_time(t_s))}</a>'


# --------------------------------------------------------------------------- plot


_CSS = """
:root{--fg:#1d1d1f;--muted:#666;--line:#ddd;--agent:#1f5fa8;--customer:#8a5a00;--bad:#c0392b;--ok:#2e7d32}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);margin:0;background:#fafafa}
main{max-width:1260px;margin:0 auto;padding:16px 24px 48px}
h1{font-size:22px;margin:8px 0 2px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
.meta{color:var(--muted);margin:0}.note{color:var(--muted);font-size:12px;margin:6px 0 0}
table{border-collapse:collapse;background:#fff}td,th{padding:4px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{font-weight:600;background:#f0f0f0}td.num{text-align:right;font-variant-numeric:tabular-nums}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(190px,1fr));gap:10px;margin-bottom:12px}
.card{background:#fff;border:1px solid var(--line);border-radius:6px;padding:8px 12px}
.card .v{font-size:20px;font-weight:600;font-variant-numeric:tabular-nums}.card .k{color:var(--muted);font-size:12px}
#timeline-plot{width:100%;height:auto;border:1px solid var(--line);background:#fff;cursor:crosshair;display:block}
.plotwrap{position:relative}#cursor{position:absolute;top:0;bottom:0;width:2px;background:#000;opacity:.6;display:none;pointer-events:none}
a.ts{font-variant-numeric:tabular-nums;color:#0b57d0;text-decoration:none;white-space:nowrap}a.ts:hover{text-decoration:underline}
.turn{display:grid;grid-template-columns:64px 90px 1fr;gap:8px;padding:5px 8px;border-bottom:1px solid #eee;background:#fff}
.turn .who{font-weight:600}.turn.agent .who{color:var(--agent)}.turn.customer .who{color:var(--customer)}
.turn.playing{background:#fff8d6}.sev-high{color:var(--bad);font-weight:600}.empty{color:var(--muted);font-style:italic}
#player{position:sticky;top:0;background:#fafafa;padding:6px 0;z-index:2;border-bottom:1px solid var(--line)}
#player audio{width:100%;max-width:640px;height:36px}
"""

_JS = """
(function(){
  var audios=[].slice.call(document.querySelectorAll('audio.call-audio'));
  var img=document.getElementById('timeline-plot'), cursor=document.getElementById('cursor');
  function place(t){ if(!img||!cursor) return; var x0=+img.dataset.x0,x1=+img.dataset.x1,t0=+img.dataset.t0,t1=+img.dataset.t1;
    var f=x0+(t-t0)/(t1-t0)*(x1-x0); cursor.style.left=(f*img.clientWidth)+'px'; cursor.style.display='block'; }
  function seek(t){ place(t); audios.forEach(function(a){ try{ a.currentTime=t; var p=a.play(); if(p&&p.catch) p.catch(function(){}); }catch(e){} }); }
  window.calmcallSeek=seek;
  document.addEventListener('click',function(ev){ var a=ev.target.closest('a.ts'); if(!a) return; ev.preventDefault(); seek(parseFloat(a.dataset.t)); });
  if(img){ img.addEventListener('click',function(ev){ var r=img.getBoundingClientRect(); var f=(ev.clientX-r.left)/r.width;
    var x0=+img.dataset.x0,x1=+img.dataset.x1,t0=+img.dataset.t0,t1=+img.dataset.t1; var t=t0+(f-x0)/(x1-x0)*(t1-t0);
    if(t>=t0&&t<=t1) seek(t); }); }
  if(audios.length){ var turns=[].slice.call(document.querySelectorAll('.turn')); audios[0].addEventListener('timeupdate',function(){
    var t=audios[0].currentTime; place(t); turns.forEach(function(el){ el.classList.toggle('playing', t>=+el.dataset.start && t<=+el.dataset.end); }); }); }
})();
"""


def _card(key: str, label: str, value: Any, shown: str) -> str:
    raw = "" if value is None else json.dumps(value)
    return (
        f'<div class="card" data-key="{_e(key)}" data-value="{_e(raw)}"><div class="v">{_e(shown)}</div>'
        f'<div class="k">{_e(label)}</div></div>'
    )


def _row(key: str, label: str, value: Any, shown: str) -> str:
    raw = "" if value is None else json.dumps(value)
    return f'<tr data-key="{_e(key)}" data-value="{_e(raw)}"><th>{_e(label)}</th><td class="num">{_e(shown)}</td></tr>'


def _baseline_text(b: Mapping[str, Any] | None, status: str | None = None) -> str:
    if not b:
        return status or "not learned (too little speech)"
    parts = []
    if isinstance(b.get("rate_syl_s"), (int, float)):
        parts.append(f"pace {b['rate_syl_s']:.2f} syllables/s")
    if isinstance(b.get("wpm"), (int, float)):
        parts.append(f"{b['wpm']:.0f} wpm")
    if isinstance(b.get("f0_hz"), (int, float)):
        parts.append(f"pitch {b['f0_hz']:.0f} Hz")
    if isinstance(b.get("level_db"), (int, float)):
        parts.append(f"level {b['level_db']:.1f} dBFS")
    if b.get("source"):
        parts.append(f"({b['source']})")
    return ", ".join(parts)


def render_report(
    doc: Mapping[str, Any],
    *,
    out_path: str | os.PathLike[str] | None = None,
    audio: Sequence[AudioSource] | None = None,
    embed_audio: bool = False,
    title: str | None = None,
    card: Mapping[str, Any] | None = None,
    lang: str | None = None,
) -> str:
    """Return the report HTML for an analyze document (or a session turned into one
    by :func:`calmcall.qa.sessionlog.session_to_analysis`).

    ``audio``: sources to play (default: :func:`audio_sources_for`); linked by a
    path relative to ``out_path`` unless ``embed_audio``. ``lang`` (``en``/``fr``;
    default: the document's cue language) picks the headings and the prompts'
    language (:mod:`calmcall.messages`).
    """
    from calmcall.messages import localize_dict, message
    from calmcall.summary import doc_cue_language

    lang = lang if lang in ("en", "fr") else doc_cue_language(dict(doc))

    def say(key: str, **values: Any) -> str:
        return message(key, lang, **values)

    card = sc.scorecard(doc) if card is None else card
    out = Path(out_path) if out_path is not None else None
    sources = audio_sources_for(doc) if audio is None else list(audio)
    png, geo = timeline_png(doc)
    name = Path(str(doc.get("file") or "call")).name
    session = doc.get("session") if isinstance(doc.get("session"), Mapping) else None
    title = title or say("report.title", name=name)
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    ch = doc.get("channels") or {}
    tg = card["targets"]
    ppk = card["prompts_per_kind"]

    h: list[str] = []
    h.append(f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">')
    h.append('<meta name="viewport" content="width=device-width,initial-scale=1">')
    h.append(
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; '
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; media-src data: file: blob: 'self'\">"
    )
    h.append('<meta name="referrer" content="no-referrer">')
    h.append(f"<title>{_e(title)}</title><style>{_CSS}</style></head><body><main>")
    # header
    h.append(f"<header><h1>{_e(title)}</h1>")
    meta_bits = [
        f"duration {fmt_time(card['duration_s'])} ({card['duration_s']:.1f} s)" if card["duration_s"] is not None else ""
    ]
    if session:
        meta_bits.append(f"session {session.get('session_id')}")
        if session.get("started_at"):
            meta_bits.append(f"started {session['started_at']}")
        if session.get("agent"):
            meta_bits.append(f"agent {session['agent']}")
        if not session.get("complete"):
            meta_bits.append("log incomplete (session did not close cleanly)")
        if session.get("damage"):
            meta_bits.append(f"log damaged: {session['damage']}")
    meta_bits.append(
        f"channels: agent {ch.get('agent')}, customer {ch.get('customer') if ch.get('customer') is not None else 'none'}"
    )
    meta_bits.append(f"generated {generated}")
    h.append(f'<p class="meta">{_e(" · ".join(b for b in meta_bits if b))}</p>')
    h.append(f'<p class="meta">File: <code>{_e(doc.get("file", ""))}</code></p>')
    bl = doc.get("baselines") or {}
    h.append(
        f'<p class="meta">Agent calm baseline: {_e(_baseline_text(bl.get("agent"), ((doc.get("measures") or {}).get("agent") or {}).get("baseline_status")))}. '
        f"Target band: pace up to +{tg['pace_margin'] * 100:.0f} % (transcribed words; "
        f"+{tg['acoustic_pace_margin'] * 100:.0f} % for the acoustic estimate without words), "
        f"pitch up to +{tg['pitch_margin_st']:g} st, level up to +{tg['volume_margin_db']:g} dB above that baseline "
        f"(pitch and level x{tg['escalated_factor']:g}, pace x{tg['escalated_pace_factor']:g} while the customer "
        "is escalated) - the rule the prompts use.</p>"
    )
    h.append(
        '<p class="note">This report states measurable facts about the call (pace, pitch, level, times and counts). '
        "It makes no judgement about anyone's emotions. It was produced on this machine and loads nothing from the network.</p>"
    )
    h.append("</header>")

    # audio player
    h.append('<section id="player">')
    if sources:
        for s in sources:
            h.append(
                f'<div><span class="meta">{_e(s.label)} audio</span> '
                f'<audio class="call-audio" controls preload="metadata" src="{_e(_audio_src(s, out, embed_audio))}"></audio></div>'
            )
        h.append('<p class="note">Click a timestamp or the timeline to play from that point.</p>')
    else:
        h.append('<p class="note">No audio available for this call: timestamps mark the timeline only.</p>')
    h.append("</section>")

    # scorecard
    h.append(f'<section id="scorecard"><h2>{_e(say("report.scorecard"))}</h2><div class="cards">')
    h.append(_card("in_band_share", "agent speech in the target band", card["in_band_share"], _pct(card["in_band_share"])))
    h.append(_card("prompts_total", "prompts", card["prompts_total"], str(card["prompts_total"])))
    h.append(
        _card(
            "overtalk_count",
            "overtalk episodes",
            card["overtalk_count"],
            "-" if card["overtalk_count"] is None else str(card["overtalk_count"]),
        )
    )
    h.append(_card("talk_ratio_agent", "agent share of talk time", card["talk_ratio_agent"], _pct(card["talk_ratio_agent"])))
    h.append(
        _card(
            "longest_agent_monologue_s",
            "longest agent monologue",
            card["longest_agent_monologue_s"],
            _sec(card["longest_agent_monologue_s"]),
        )
    )
    h.append(_card("silences_over_10s", "silences over 10 s", card["silences_over_10s"], str(card["silences_over_10s"])))
    h.append(
        _card(
            "escalation_episodes", "customer escalation episodes", card["escalation_episodes"], str(card["escalation_episodes"])
        )
    )
    h.append(
        _card("max_back_in_band_s", "longest time back into band", card["max_back_in_band_s"], _sec(card["max_back_in_band_s"]))
    )
    h.append('</div><table class="scorecard"><tbody>')
    rows = [
        ("in_band_share", "Agent speech in the target band", card["in_band_share"], _pct(card["in_band_share"])),
        (
            "in_band_s",
            "Measured agent speech in band / measured",
            card["in_band_s"],
            f"{_sec(card['in_band_s'])} of {_sec(card['measured_speech_s'])}",
        ),
        ("pace_over_share", "Agent speech above the pace band", card["pace_over_share"], _pct(card["pace_over_share"])),
        ("pitch_over_share", "Agent speech above the pitch band", card["pitch_over_share"], _pct(card["pitch_over_share"])),
        ("level_over_share", "Agent speech above the level band", card["level_over_share"], _pct(card["level_over_share"])),
        (
            "agent_median_rate_rel",
            "Agent median pace (x calm)",
            card["agent_median_rate_rel"],
            "-" if card["agent_median_rate_rel"] is None else f"{card['agent_median_rate_rel']:.2f}",
        ),
        (
            "agent_median_wpm",
            "Agent median words per minute",
            card["agent_median_wpm"],
            "-" if card["agent_median_wpm"] is None else f"{card['agent_median_wpm']:.0f}",
        ),
        ("prompts_total", "Prompts, all kinds", card["prompts_total"], str(card["prompts_total"])),
    ]
    rows += [(f"prompts_{k}", f"Prompts: {k.replace('_', ' ')}", n, str(n)) for k, n in ppk.items()]
    rows += [
        (
            "overtalk_count",
            "Overtalk episodes (both talking >= 0.5 s)",
            card["overtalk_count"],
            "-" if card["overtalk_count"] is None else str(card["overtalk_count"]),
        ),
        (
            "agent_interruptions",
            "of which the agent started while the customer talked",
            card["agent_interruptions"],
            "-" if card["agent_interruptions"] is None else str(card["agent_interruptions"]),
        ),
        ("overtalk_s", "Overtalk time", card["overtalk_s"], _sec(card["overtalk_s"])),
        ("talk_ratio_agent", "Talk ratio (agent / both)", card["talk_ratio_agent"], _pct(card["talk_ratio_agent"])),
        ("agent_talk_s", "Agent talk time", card["agent_talk_s"], _sec(card["agent_talk_s"])),
        ("customer_talk_s", "Customer talk time", card["customer_talk_s"], _sec(card["customer_talk_s"])),
        (
            "longest_agent_monologue_s",
            "Longest agent monologue",
            card["longest_agent_monologue_s"],
            _sec(card["longest_agent_monologue_s"]),
        ),
        (
            "longest_customer_monologue_s",
            "Longest customer monologue",
            card["longest_customer_monologue_s"],
            _sec(card["longest_customer_monologue_s"]),
        ),
        ("silences_over_10s", "Silences over 10 s", card["silences_over_10s"], str(card["silences_over_10s"])),
        ("silence_total_s", "Total silence (gaps under 2 s ignored)", card["silence_total_s"], _sec(card["silence_total_s"])),
        ("escalation_episodes", "Customer escalation episodes", card["escalation_episodes"], str(card["escalation_episodes"])),
        (
            "max_back_in_band_s",
            "Longest time for the agent to get back into band",
            card["max_back_in_band_s"],
            _sec(card["max_back_in_band_s"]),
        ),
        (
            "words",
            "Transcribed words (agent / customer)",
            card["words"],
            f"{card['words']} ({card['agent_words']} / {card['customer_words']})",
        ),
    ]
    h.extend(_row(*r) for r in rows)
    h.append("</tbody></table></section>")

    # timeline
    b64 = base64.b64encode(png).decode("ascii")
    h.append(f'<section id="timeline"><h2>{_e(say("report.timeline"))}</h2><div class="plotwrap">')
    h.append(
        f'<img id="timeline-plot" alt="Agent pace, pitch and level over the call against the target band, '
        f'with customer escalation, speech activity and prompts marked" src="data:image/png;base64,{b64}" '
        f'data-x0="{geo["x0"]:.5f}" data-x1="{geo["x1"]:.5f}" data-t0="{geo["t0"]:.3f}" data-t1="{geo["t1"]:.3f}">'
    )
    h.append('<div id="cursor"></div></div>')
    h.append(
        '<p class="note">Green: the target band (the agent\'s calm baseline plus the margins; tighter while the customer is '
        "escalated). Red dots: agent speech above the band. Shaded red: customer escalated (raised pitch, level or pace "
        "against the customer's own start of call). Dashed purple: prompts. Bottom strip: who is talking; orange: overtalk.</p>"
    )
    h.append("</section>")

    # prompts
    h.append(f'<section id="prompts"><h2>{_e(say("report.prompts"))}</h2>')
    prompts = sorted(doc.get("prompts") or [], key=lambda p: float(p["t_s"]))
    prompts = [localize_dict(p, lang) for p in prompts]
    if prompts:
        h.append(
            "<table><thead><tr>"
            + "".join(f"<th>{_e(say('report.th.' + k))}</th>" for k in ("time", "kind", "prompt", "detail", "severity"))
            + "</tr></thead><tbody>"
        )
        for p in prompts:
            sev = str(p.get("severity", ""))
            h.append(
                f'<tr class="prompt" data-kind="{_e(p.get("kind"))}"><td>{_ts(float(p["t_s"]))}</td><td>{_e(p.get("kind"))}</td>'
                f'<td>{_e(p.get("headline"))}</td><td>{_e(p.get("detail"))}</td><td class="sev-{_e(sev)}">{_e(sev)}</td></tr>'
            )
        h.append("</tbody></table>")
    else:
        h.append(f'<p class="empty">{_e(say("report.no_prompts"))}</p>')
    h.append("</section>")

    # escalations
    h.append(f'<section id="escalations"><h2>{_e(say("report.escalations"))}</h2>')
    if card["escalations"]:
        h.append(
            "<table><thead><tr><th>start</th><th>end</th><th>duration</th><th>agent left the band</th>"
            "<th>time back into band</th></tr></thead><tbody>"
        )
        for e in card["escalations"]:
            back = (
                "stayed in band"
                if not e["agent_left_band"]
                else (
                    f"{e['back_in_band_s']:.1f} s (left {fmt_time(e['left_band_s'])}, back {fmt_time(e['back_at_s'])})"
                    if e["back_in_band_s"] is not None
                    else "not back in band by the end of the call"
                )
            )
            end = _ts(e["end_s"]) + (" (still escalated at the end)" if e["ongoing_at_end"] else "")
            h.append(
                f'<tr class="escalation"><td>{_ts(e["start_s"])}</td><td>{end}</td><td class="num">{_sec(e["duration_s"])}</td>'
                f"<td>{'yes at ' + _ts(e['left_band_s']) if e['agent_left_band'] else 'no'}</td><td>{_e(back)}</td></tr>"
            )
        h.append("</tbody></table>")
    else:
        h.append(
            f'<p class="empty">{_e(say("report.no_escalation"))}</p>'
            if card["has_customer"]
            else f'<p class="empty">{_e(say("report.no_customer"))}</p>'
        )
    h.append("</section>")

    # overtalk & silences
    h.append(f'<section id="events"><h2>{_e(say("report.events"))}</h2>')
    items = [
        (
            e["start_s"],
            "overtalk",
            f"{e['duration_s']:.1f} s" + (" - agent started while the customer talked" if e["agent_interrupted"] else ""),
        )
        for e in card["overtalk_episodes"]
    ]
    items += [(s["start_s"], "silence", f"{s['duration_s']:.1f} s with nobody talking") for s in card["long_silences"]]
    if items:
        h.append("<table><thead><tr><th>time</th><th>what</th><th>detail</th></tr></thead><tbody>")
        for t, what, detail in sorted(items):
            h.append(f"<tr><td>{_ts(t)}</td><td>{_e(what)}</td><td>{_e(detail)}</td></tr>")
        h.append("</tbody></table>")
    else:
        h.append(f'<p class="empty">{_e(say("report.none"))}</p>')
    h.append("</section>")

    # transcript
    h.append(f'<section id="transcript"><h2>{_e(say("report.transcript"))}</h2>')
    tr = sc.turns(doc.get("words") or [])
    if tr:
        for t in tr:
            who = (
                message("report.who.agent", lang)
                if t["speaker"] == "agent"
                else message("report.who.customer", lang)
                if t["speaker"] == "customer"
                else t["speaker"]
            )
            h.append(
                f'<div class="turn {_e(t["speaker"])}" data-start="{t["start_s"]:.2f}" data-end="{t["end_s"]:.2f}">'
                f'<div>{_ts(t["start_s"])}</div><div class="who">{_e(who)}</div><div class="text">{_e(t["text"])}</div></div>'
            )
    else:
        h.append(f'<p class="empty">{_e(say("report.no_transcript"))}</p>')
    h.append("</section>")
    h.append(f"<script>{_JS}</script></main></body></html>")
    return "\n".join(h)


def write_report(doc: Mapping[str, Any], out_path: str | os.PathLike[str], **kwargs: Any) -> Path:
    """Render and write the report atomically (temporary file + rename)."""
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    text = render_report(doc, out_path=out, **kwargs)
    atomic_write_text(out, text)
    return out

"""``calmcall dashboard OUT -o fleet.html``: one self-contained page over a batch's calls.

Reads ``OUT/calls.parquet`` (:mod:`calmcall.fleet.table`; pyarrow) or, without it,
``OUT/summary.csv`` (then there are no agent, team or call-time columns). The page
needs no network: the plots are inline SVG drawn here, there is no script, and a
Content-Security-Policy forbids loading anything. Every string that comes from the
data (file names, manifest fields, error messages) is HTML-escaped.

What it shows, all measurable facts about the calls (never a judgement of anyone's
emotions):

* the distribution of the agent's in-band share (share of measured agent speech
  inside the target band), one bar per 10 %;
* prompts per kind per hour of agent talk (``sum(prompts_kind) / sum(agent_talk_s) * 3600``);
* overtalk and long-silence rates: overtalk episodes per hour of agent talk, the
  share of call time in overtalk, silences over 10 s per hour of calls;
* trends over time (per day, or per hour when the calls span under two days) of the
  in-band share and prompts per agent-talk hour, per team when the manifest names
  teams, else for all calls;
* per-agent rows and trends only when the manifest names agents (``agent_id``);
  without a manifest there is no per-agent view;
* the calls that most need a listen (:func:`listen_score`), linked to their per-call
  reports, and the calls that failed.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import math
import os
import statistics
import urllib.parse
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from calmcall.errors import InputError
from calmcall.events import PROMPT_KINDS
from calmcall.safeio import atomic_write_text

PALETTE = ("#1f5fa8", "#c0392b", "#2e7d32", "#8a5a00", "#6a1b9a", "#00838f", "#ad1457", "#455a64")
MAX_SERIES = len(PALETTE)
TOP_LISTEN = 25


class DashboardError(InputError):
    """The batch output folder has no table to draw (no calls.parquet or summary.csv)."""


def _e(x: Any) -> str:
    return html.escape("" if x is None else str(x), quote=True)


def _num(v: Any) -> float | None:
    if v is None or v == "" or isinstance(v, bool):
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _time(v: Any) -> dt.datetime | None:
    if isinstance(v, dt.datetime):
        return v if v.tzinfo else v.replace(tzinfo=dt.UTC)
    if not v:
        return None
    try:
        from calmcall.fleet.manifest import parse_time

        return parse_time(str(v))
    except ValueError:
        return None


# --------------------------------------------------------------------------- data


def load_rows(out_dir: str | os.PathLike[str]) -> tuple[list[dict[str, Any]], str]:
    """The batch's rows (dicts, numbers as float or None, ``call_time`` an aware
    datetime or None) and the table they came from (``calls.parquet`` or ``summary.csv``)."""
    out = Path(out_dir).expanduser()
    if not out.is_dir():
        raise DashboardError(f"{out}: no such folder; give the --out folder of `calmcall analyze CALLS --out OUT`")
    pq_path, csv_path = out / "calls.parquet", out / "summary.csv"
    if pq_path.is_file():
        try:
            import pyarrow.parquet as pq
        except ImportError:
            pq = None
        if pq is not None:
            try:
                rows = pq.read_table(pq_path).to_pylist()
            except Exception as exc:  # pyarrow raises several types for a damaged file
                raise DashboardError(
                    f"{pq_path}: not a readable Parquet table ({str(exc).splitlines()[0][:200]}); "
                    "rerun `calmcall analyze ... --out` to rewrite it"
                ) from None
            return [dict(r) for r in rows], "calls.parquet"
    if csv_path.is_file():
        try:
            with csv_path.open(newline="", encoding="utf-8") as f:
                return [dict(r) for r in csv.DictReader(f)], "summary.csv"
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise DashboardError(f"{csv_path}: not readable ({exc}); rerun `calmcall analyze ... --out`") from None
    raise DashboardError(f"{out}: no calls.parquet or summary.csv here; run `calmcall analyze CALLS --out {out}` first")


def listen_score(r: Mapping[str, Any]) -> tuple[float, list[str]]:
    """How much a call needs a listen, from measured facts, and the facts that count:
    3 per customer escalation the agent did not get back into band from, 2 x the share
    of agent speech outside the band, 1 per prompt per minute of agent talk, 0.5 per
    overtalk episode, 0.3 per silence over 10 s."""
    score, why = 0.0, []
    nb = _num(r.get("escalations_not_back_in_band")) or 0.0
    if nb:
        score += 3 * nb
        why.append(f"{nb:.0f} customer escalation(s) with the agent not back in band")
    share = _num(r.get("in_band_share"))
    if share is not None:
        score += 2 * (1 - share)
        if share < 0.8:
            why.append(f"{share * 100:.0f} % of agent speech in band")
    talk_min = (_num(r.get("agent_talk_s")) or 0.0) / 60
    prompts = _num(r.get("prompts_total")) or 0.0
    if talk_min > 0 and prompts:
        score += prompts / talk_min
        why.append(f"{prompts:.0f} prompt(s) in {talk_min:.1f} min of agent talk")
    ot = _num(r.get("overtalk_count")) or 0.0
    if ot:
        score += 0.5 * ot
        why.append(f"{ot:.0f} overtalk episode(s)")
    sil = _num(r.get("silences_over_10s")) or 0.0
    if sil:
        score += 0.3 * sil
        why.append(f"{sil:.0f} silence(s) over 10 s")
    return score, why


def _rate(num: float, den_s: float) -> float | None:
    """``num`` per hour of ``den_s`` seconds (None without any)."""
    return num / den_s * 3600 if den_s > 0 else None


def _sum(rows: Iterable[Mapping[str, Any]], key: str) -> float:
    return sum(_num(r.get(key)) or 0.0 for r in rows)


# --------------------------------------------------------------------------- SVG


def svg_bars(
    items: Sequence[tuple[str, float | None, str]], *, title: str, width: int = 560, bar_h: int = 20, color: str = PALETTE[0]
) -> str:
    """Horizontal bars: ``(label, value, shown text)``; None values draw no bar."""
    label_w, pad = 190, 6
    h = pad * 2 + bar_h * len(items) + 4
    vmax = max((v for _l, v, _s in items if v is not None), default=0.0) or 1.0
    plot_w = width - label_w - 90
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {h}" '
        f'width="{width}" height="{h}"><title>{_e(title)}</title>'
    ]
    for i, (label, v, shown) in enumerate(items):
        y = pad + i * bar_h
        out.append(f'<text x="{label_w - 6}" y="{y + bar_h * 0.7:.1f}" text-anchor="end">{_e(label)}</text>')
        if v is not None:
            w = max(1.0, plot_w * v / vmax) if v > 0 else 0.0
            out.append(f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{bar_h - 6}" fill="{color}"/>')
        out.append(f'<text x="{label_w + (plot_w * (v or 0) / vmax) + 4:.1f}" y="{y + bar_h * 0.7:.1f}">{_e(shown)}</text>')
    out.append("</svg>")
    return "".join(out)


def svg_histogram(values: Sequence[float], *, title: str, bins: int = 10, width: int = 560, height: int = 200) -> str:
    """A histogram of ``values`` in [0, 1], ``bins`` equal bins, x labelled in %."""
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, max(0, int(v * bins)))] += 1
    left, bottom, top = 36, 28, 22
    pw, ph = width - left - 8, height - bottom - top
    cmax = max(counts) or 1
    bw = pw / bins
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}"><title>{_e(title)}</title>',
        f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="#999"/>',
    ]
    for i, c in enumerate(counts):
        bh = ph * c / cmax
        x = left + i * bw
        out.append(
            f'<rect x="{x + 1:.1f}" y="{top + ph - bh:.1f}" width="{bw - 2:.1f}" height="{bh:.1f}" fill="{PALETTE[0]}">'
            f"<title>{i * 100 // bins}-{(i + 1) * 100 // bins} %: {c} call(s)</title></rect>"
        )
        if c:
            out.append(f'<text x="{x + bw / 2:.1f}" y="{top + ph - bh - 3:.1f}" text-anchor="middle">{c}</text>')
        out.append(f'<text x="{x:.1f}" y="{height - 10}" text-anchor="middle">{i * 100 // bins}</text>')
    out.append(f'<text x="{left + pw:.1f}" y="{height - 10}" text-anchor="end">100 %</text>')
    out.append('<text x="4" y="12">calls</text></svg>')
    return "".join(out)


def svg_lines(
    series: Mapping[str, Sequence[tuple[dt.datetime, float]]],
    *,
    title: str,
    y_label: str,
    percent: bool = False,
    width: int = 760,
    height: int = 240,
) -> str:
    """One line per series over time (points sorted by time), with a legend."""
    pts = [p for s in series.values() for p in s]
    if not pts:
        return ""
    t0 = min(p[0] for p in pts).timestamp()
    t1 = max(p[0] for p in pts).timestamp()
    span = (t1 - t0) or 1.0
    ymax = max(p[1] for p in pts)
    ymax = 1.0 if percent else (ymax * 1.1 or 1.0)
    left, right, top, bottom = 48, 170, 24, 30
    pw, ph = width - left - right, height - top - bottom

    def xy(t: dt.datetime, y: float) -> tuple[float, float]:
        return left + pw * (t.timestamp() - t0) / span, top + ph * (1 - y / ymax)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}"><title>{_e(title)}</title>',
        f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="#999"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + ph}" stroke="#999"/>',
    ]
    for frac in (0.0, 0.5, 1.0):
        y = top + ph * (1 - frac)
        lab = f"{frac * 100:.0f} %" if percent else f"{frac * ymax:.3g}"
        out.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{_e(lab)}</text>')
    fmt = "%Y-%m-%d" if span >= 2 * 86400 else "%m-%d %H:00"
    for edge_s, anchor in ((t0, "start"), (t1, "end")):
        out.append(
            f'<text x="{left + pw * (edge_s - t0) / span:.1f}" y="{height - 10}" text-anchor="{anchor}">'
            f"{_e(dt.datetime.fromtimestamp(edge_s, dt.UTC).strftime(fmt))}</text>"
        )
    for k, (name, s) in enumerate(series.items()):
        color = PALETTE[k % len(PALETTE)]
        coords = [xy(t, y) for t, y in sorted(s)]
        if len(coords) > 1:
            out.append(
                f'<polyline fill="none" stroke="{color}" stroke-width="2" points="'
                + " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
                + '"/>'
            )
        for (x, y), (t, v) in zip(coords, sorted(s)):
            shown = f"{v * 100:.0f} %" if percent else f"{v:.3g}"
            out.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"><title>{_e(name)} '
                f"{_e(t.strftime(fmt))}: {_e(shown)}</title></circle>"
            )
        ly = top + 14 + 16 * k
        out.append(
            f'<rect x="{width - right + 10}" y="{ly - 9}" width="10" height="10" fill="{color}"/>'
            f'<text x="{width - right + 24}" y="{ly}">{_e(name[:24])}</text>'
        )
    out.append(f'<text x="4" y="12">{_e(y_label)}</text></svg>')
    return "".join(out)


# --------------------------------------------------------------------------- page


def _bucket(rows: Sequence[Mapping[str, Any]]) -> tuple[str, Any]:
    times = [t for t in (r.get("_t") for r in rows) if t is not None]
    if not times:
        return "", None
    if (max(times) - min(times)).total_seconds() >= 2 * 86400:
        return "per day (UTC)", lambda t: t.replace(hour=0, minute=0, second=0, microsecond=0)
    return "per hour (UTC)", lambda t: t.replace(minute=0, second=0, microsecond=0)


def _trend(rows: Sequence[Mapping[str, Any]], key: str, bucket: Any, metric: str) -> dict[str, list[tuple[dt.datetime, float]]]:
    """Per group (``key``'s value), per time bucket: the mean in-band share
    (``metric="in_band"``) or prompts per agent-talk hour (``"prompts"``)."""
    groups: dict[str, dict[dt.datetime, list[Mapping[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if r.get("_t") is not None:
            groups[str(r.get(key) or "all calls") if key else "all calls"][bucket(r["_t"])].append(r)
    biggest = sorted(groups, key=lambda g: -sum(len(v) for v in groups[g].values()))[:MAX_SERIES]
    out: dict[str, list[tuple[dt.datetime, float]]] = {}
    for g in sorted(biggest):
        pts = []
        for t, rs in groups[g].items():
            if metric == "in_band":
                vals = [v for v in (_num(r.get("in_band_share")) for r in rs) if v is not None]
                if vals:
                    pts.append((t, statistics.fmean(vals)))
            else:
                v = _rate(_sum(rs, "prompts_total"), _sum(rs, "agent_talk_s"))
                if v is not None:
                    pts.append((t, v))
        if pts:
            out[g] = pts
    return out


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.0f} %"


def _f(x: float | None, nd: int = 1) -> str:
    return "-" if x is None else f"{x:.{nd}f}"


def _link(out_dir: Path, dash_path: Path, r: Mapping[str, Any]) -> str:
    name = Path(str(r.get("file") or "")).name
    target = str(r.get("report") or "") or str(r.get("json") or "")
    if not target:
        return _e(name)
    target = Path(target).name  # an output name in OUT, never a path or a scheme
    rel = os.path.relpath(out_dir.resolve() / target, dash_path.resolve().parent)
    href = urllib.parse.quote(rel.replace(os.sep, "/"))
    return f'<a href="{_e(href)}">{_e(name)}</a>'


_CSS = """
:root{--fg:#1d1d1f;--muted:#666;--line:#ddd}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);margin:0;background:#fafafa}
main{max-width:1260px;margin:0 auto;padding:16px 24px 48px}
h1{font-size:22px;margin:8px 0 2px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
.meta{color:var(--muted);margin:0}.note{color:var(--muted);font-size:12px;margin:6px 0 0}
.cards{display:flex;flex-wrap:wrap;gap:10px}.card{background:#fff;border:1px solid var(--line);border-radius:6px;padding:8px 12px;min-width:150px}
.card b{display:block;font-size:20px}table{border-collapse:collapse;background:#fff;margin-top:6px}
td,th{border:1px solid var(--line);padding:3px 8px;text-align:left;vertical-align:top}td.num{text-align:right}
svg.chart{background:#fff;border:1px solid var(--line);font:11px system-ui,sans-serif;max-width:100%;height:auto}
.empty{color:var(--muted)}
"""


def render_dashboard(rows: Sequence[Mapping[str, Any]], *, out_dir: Path, dash_path: Path, source: str = "calls.parquet") -> str:
    """The dashboard HTML for the batch rows of ``out_dir`` (see the module doc);
    links are relative to ``dash_path``."""
    rows = [{**r, "_t": _time(r.get("call_time"))} for r in rows]
    ok = [r for r in rows if str(r.get("status") or "") == "ok"]
    bad = [r for r in rows if str(r.get("status") or "") != "ok"]
    has_agents = any(str(r.get("agent_id") or "") for r in rows)
    has_teams = any(str(r.get("team") or "") for r in rows)
    call_s, talk_s = _sum(ok, "duration_s"), _sum(ok, "agent_talk_s")
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    times = [r["_t"] for r in rows if r["_t"] is not None]
    h: list[str] = [
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">",
        '<meta name="referrer" content="no-referrer">',
        f"<title>Fleet QA: {_e(out_dir.name)}</title><style>{_CSS}</style></head><body><main>",
        f"<header><h1>Fleet QA: {_e(out_dir.name)}</h1>",
    ]
    span = f" · calls from {min(times):%Y-%m-%d %H:%M} to {max(times):%Y-%m-%d %H:%M} UTC" if times else ""
    h.append(
        f'<p class="meta">{len(rows)} calls ({len(ok)} analysed, {len(bad)} failed) · {call_s / 3600:.2f} h of calls, '
        f"{talk_s / 3600:.2f} h of agent talk{_e(span)} · from {_e(source)} · generated {generated}</p>"
    )
    h.append(
        '<p class="note">This page states measurable facts about the calls (time in the target band, prompts, '
        "overtalk, silences, counts and rates). It makes no judgement about anyone's emotions. "
        + (
            "Per-agent views appear because the manifest names agents (agent_id). "
            if has_agents
            else "There is no per-agent view: no manifest named agents (agent_id). "
        )
        + "It loads nothing from the network.</p></header>"
    )

    # headline cards
    shares = [v for v in (_num(r.get("in_band_share")) for r in ok) if v is not None]
    ot_rate = _rate(_sum(ok, "overtalk_count"), talk_s)
    sil_rate = _rate(_sum(ok, "silences_over_10s"), call_s)
    ot_share = (_sum(ok, "overtalk_s") / call_s) if call_s > 0 else None
    h.append('<section id="overview"><div class="cards">')
    for label, shown in (
        ("median in-band share", _pct(statistics.median(shares)) if shares else "-"),
        ("prompts per hour of agent talk", _f(_rate(_sum(ok, "prompts_total"), talk_s))),
        ("overtalk episodes per hour of agent talk", _f(ot_rate)),
        ("share of call time in overtalk", _pct(ot_share) if ot_share is None or ot_share >= 0.01 else f"{ot_share * 100:.1f} %"),
        ("silences over 10 s per hour of calls", _f(sil_rate)),
        ("calls failed", str(len(bad))),
    ):
        h.append(f'<div class="card"><b>{_e(shown)}</b>{_e(label)}</div>')
    h.append("</div></section>")

    # distribution of in-band share
    h.append('<section id="in-band"><h2>Agent speech in the target band: distribution over calls</h2>')
    if shares:
        h.append(svg_histogram(shares, title="calls per in-band share bin"))
        h.append(
            f'<p class="note">{len(shares)} calls with measured agent speech; median {_pct(statistics.median(shares))}, '
            f"lowest {_pct(min(shares))}. The band is the agent's calm baseline plus the configured margins.</p>"
        )
    else:
        h.append('<p class="empty">No call with measured agent speech.</p>')
    h.append("</section>")

    # prompts per kind per hour of agent talk
    h.append('<section id="prompts"><h2>Prompts per kind per hour of agent talk</h2>')
    kinds = list(PROMPT_KINDS) + sorted(
        {k[len("prompts_") :] for r in rows for k in r if k.startswith("prompts_") and k != "prompts_total"} - set(PROMPT_KINDS)
    )
    items = []
    for k in kinds:
        v = _rate(_sum(ok, f"prompts_{k}"), talk_s)
        items.append((k.replace("_", " "), v, _f(v)))
    if talk_s > 0:
        h.append(svg_bars(items, title="prompts per hour of agent talk, by kind"))
        h.append(f'<p class="note">Prompts of each kind over {talk_s / 3600:.2f} h of agent talk time.</p>')
    else:
        h.append('<p class="empty">No agent talk measured.</p>')
    h.append("</section>")

    # overtalk and silences
    h.append('<section id="overtalk"><h2>Overtalk and long silences</h2>')
    two_party = [r for r in ok if _num(r.get("overtalk_count")) is not None]
    h.append(
        svg_bars(
            [
                ("overtalk / h agent talk", ot_rate, _f(ot_rate)),
                (
                    "agent interruptions / h",
                    _rate(_sum(ok, "agent_interruptions"), talk_s),
                    _f(_rate(_sum(ok, "agent_interruptions"), talk_s)),
                ),
                ("silences > 10 s / h calls", sil_rate, _f(sil_rate)),
            ],
            title="overtalk and long-silence rates",
            color=PALETTE[3],
        )
    )
    with_sil = sum(1 for r in ok if (_num(r.get("silences_over_10s")) or 0) > 0)
    h.append(
        f'<p class="note">Overtalk: both parties talking at once for 0.5 s or more ({len(two_party)} calls with a customer '
        f"channel). {with_sil} of {len(ok)} calls have at least one silence over 10 s.</p></section>"
    )

    # trends
    label, bucket = _bucket(rows)
    h.append('<section id="trends"><h2>Trends over time</h2>')
    if bucket is None:
        h.append('<p class="empty">No call times (give a manifest with call_time, or keep file times).</p>')
    else:
        key = "team" if has_teams else ""
        who = "per team" if has_teams else "all calls (no manifest named teams)"
        h.append(
            svg_lines(
                _trend(ok, key, bucket, "in_band"),
                title=f"mean in-band share {label}, {who}",
                y_label="in-band share",
                percent=True,
            )
        )
        h.append(
            svg_lines(
                _trend(ok, key, bucket, "prompts"), title=f"prompts per hour of agent talk {label}, {who}", y_label="prompts / h"
            )
        )
        h.append(
            f'<p class="note">{_e(label[:1].upper() + label[1:])}, {_e(who)}; at most {MAX_SERIES} groups (the largest).</p>'
        )
    h.append("</section>")

    # per team table
    if has_teams:
        h.append('<section id="teams"><h2>Per team</h2>' + _group_table(ok, "team") + "</section>")
    # per agent: only when the manifest names agents
    if has_agents:
        h.append('<section id="agents"><h2>Per agent</h2>' + _group_table(ok, "agent_id"))
        if bucket is not None:
            h.append(
                svg_lines(
                    _trend(ok, "agent_id", bucket, "in_band"),
                    title=f"mean in-band share {label}, per agent",
                    y_label="in-band share",
                    percent=True,
                )
            )
        h.append(
            '<p class="note">Agents as the manifest names them; the figures are measured on their calls, '
            "lowest in-band share first.</p></section>"
        )

    # calls that most need a listen
    h.append('<section id="listen"><h2>Calls that most need a listen</h2>')
    ranked = sorted(((listen_score(r), r) for r in ok), key=lambda x: -x[0][0])
    ranked = [x for x in ranked if x[0][0] > 0][:TOP_LISTEN]
    if ranked:
        h.append(
            "<table><thead><tr><th>call</th>"
            + ("<th>agent</th>" if has_agents else "")
            + ("<th>team</th>" if has_teams else "")
            + "<th>time</th><th>score</th><th>measured</th></tr></thead><tbody>"
        )
        for (score, why), r in ranked:
            t = f"{r['_t']:%Y-%m-%d %H:%M}" if r["_t"] is not None else ""
            h.append(
                f'<tr class="listen"><td>{_link(out_dir, dash_path, r)}</td>'
                + (f"<td>{_e(r.get('agent_id'))}</td>" if has_agents else "")
                + (f"<td>{_e(r.get('team'))}</td>" if has_teams else "")
                + f'<td>{_e(t)}</td><td class="num">{score:.2f}</td><td>{_e("; ".join(why))}</td></tr>'
            )
        h.append("</tbody></table>")
        h.append(
            '<p class="note">Score: 3 per customer escalation the agent did not get back into band from, 2 x the share '
            "of agent speech outside the band, 1 per prompt per minute of agent talk, 0.5 per overtalk episode, "
            f"0.3 per silence over 10 s; the top {TOP_LISTEN}. Links open the per-call report.</p>"
        )
    else:
        h.append('<p class="empty">No call stands out.</p>')
    h.append("</section>")

    if bad:
        h.append(
            '<section id="failed"><h2>Calls that failed</h2><table><thead><tr><th>file</th><th>error</th></tr></thead><tbody>'
        )
        for r in bad:
            h.append(f'<tr class="failed"><td>{_e(r.get("file"))}</td><td>{_e(r.get("error"))}</td></tr>')
        h.append('</tbody></table><p class="note">Rerun the same `calmcall analyze` to retry them.</p></section>')
    h.append("</main></body></html>")
    return "\n".join(h)


def _group_table(rows: Sequence[Mapping[str, Any]], key: str) -> str:
    groups: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[str(r.get(key) or "(none)")].append(r)
    stats = []
    for g, rs in groups.items():
        shares = [v for v in (_num(r.get("in_band_share")) for r in rs) if v is not None]
        talk = _sum(rs, "agent_talk_s")
        stats.append((statistics.median(shares) if shares else None, g, rs, talk))
    stats.sort(key=lambda s: (s[0] is None, s[0] if s[0] is not None else 0.0, s[1]))
    out = [
        "<table><thead><tr><th>" + _e(key) + "</th><th>calls</th><th>agent talk</th><th>median in-band share</th>"
        "<th>prompts / h talk</th><th>overtalk / h talk</th><th>silences &gt; 10 s</th></tr></thead><tbody>"
    ]
    for med, g, rs, talk in stats:
        out.append(
            f'<tr class="group"><td>{_e(g)}</td><td class="num">{len(rs)}</td><td class="num">{talk / 3600:.2f} h</td>'
            f'<td class="num">{_pct(med)}</td><td class="num">{_f(_rate(_sum(rs, "prompts_total"), talk))}</td>'
            f'<td class="num">{_f(_rate(_sum(rs, "overtalk_count"), talk))}</td>'
            f'<td class="num">{_sum(rs, "silences_over_10s"):.0f}</td></tr>'
        )
    out.append("</tbody></table>")
    return "".join(out)


def write_dashboard(out_dir: str | os.PathLike[str], dash_path: str | os.PathLike[str]) -> Path:
    """Read the batch table of ``out_dir`` and write the dashboard to ``dash_path``
    atomically (``0600``). Raises :class:`DashboardError` when there is nothing to draw."""
    out = Path(out_dir).expanduser()
    dest = Path(dash_path).expanduser()
    rows, source = load_rows(out)
    if not rows:
        raise DashboardError(f"{out}: the batch table has no calls; run `calmcall analyze CALLS --out {out}`")
    text = render_dashboard(rows, out_dir=out, dash_path=dest, source=source)
    dest.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(dest, text)
    return dest

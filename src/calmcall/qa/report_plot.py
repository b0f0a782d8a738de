"""The report's timeline plot: pace, pitch and level against the target band, prompts
and overtalk marked, as a PNG drawn with matplotlib (no pyplot, no global state)."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from calmcall.qa import scorecard as sc


def fmt_time(t_s: float | None) -> str:
    """``m:ss`` (or ``h:mm:ss``) for a time in seconds."""
    if t_s is None:
        return "-"
    t = max(0.0, float(t_s))
    h, rem = divmod(int(t), 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


_COLORS = {
    "agent": "#1f5fa8",
    "customer": "#8a5a00",
    "band": "#cfe8cf",
    "over": "#c0392b",
    "escalated": "#f3c6c0",
    "prompt": "#6a1b9a",
    "overtalk": "#e67e22",
}


def timeline_png(doc: Mapping[str, Any], *, width_px: int = 1200, dpi: int = 100) -> tuple[bytes, dict[str, float]]:
    """Draw the agent's pace, pitch and level against the target band, the customer's
    escalated stretches, both parties' speech and the prompts. Returns the PNG and
    the plot area in figure fractions plus the time axis (``x0, x1, t0, t1``), so a
    click on the image can be mapped to a time."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    timeline = doc.get("timeline") or []
    duration = float(doc.get("duration_s") or 0.0) or max((float(m["t_s"]) for m in timeline), default=1.0)
    tg = sc.targets(doc)
    eps = sc.escalation_episodes(doc)
    step = sc.grid_step_s(timeline)
    agent = sorted((m for m in timeline if m.get("speaker") == "agent"), key=lambda m: float(m["t_s"]))

    fig = Figure(figsize=(width_px / dpi, 7.2), dpi=dpi)
    FigureCanvasAgg(fig)
    gs = fig.add_gridspec(4, 1, height_ratios=[3, 3, 3, 1.4], hspace=0.12, left=0.07, right=0.985, top=0.95, bottom=0.08)
    axes = [fig.add_subplot(gs[0])]
    axes += [fig.add_subplot(gs[i], sharex=axes[0]) for i in (1, 2, 3)]

    # (dimension, y label): the band's upper edge is calm + the pipeline's margin now
    # (sc.band_margins: tighter while the customer is escalated); the red dots are the
    # snapshots outside the band by the pipeline's own rule (sc.above_band), so the
    # plot agrees with the in-band share. Pace is drawn as the acoustic rate against
    # its band; with a transcript the pipeline judges pace from words, and the dots say so.
    words_pace = any(isinstance(m.get("excess"), Mapping) for m in agent) and bool(doc.get("words"))
    pace_margin_key = "pace" if not any(isinstance(m.get("excess"), Mapping) for m in agent) else "acoustic_pace"
    panels = [
        ("pace", "pace (x calm)" + (" - dots: word pace" if words_pace else "")),
        ("pitch", "pitch (st vs calm)"),
        ("level", "level (dB vs calm)"),
    ]

    def upper(t: float, dim: str) -> float:
        _key, calm, mkey, _ex = sc.BAND_DIMS[dim]
        if dim == "pace":
            mkey = pace_margin_key
        return calm + sc.band_margins(tg, escalated=sc.escalated_at(eps, t))[mkey]

    for ax, (dim, label) in zip(axes, panels):
        key, calm = sc.BAND_DIMS[dim][0], sc.BAND_DIMS[dim][1]
        limit = upper(-1.0, dim)
        pts = [(float(m["t_s"]), m.get(key), bool(m.get("active"))) for m in agent]
        ts = [t for t, v, a in pts if a and isinstance(v, (int, float))]
        vs = [float(v) for t, v, a in pts if a and isinstance(v, (int, float))]
        # band: everything up to the upper limit (tighter while the customer is escalated)
        grid = [i * step for i in range(int(duration / step) + 2)]
        lims = [upper(t, dim) for t in grid]
        lo = min([calm - (limit - calm) * 1.5] + vs) if vs else calm - (limit - calm) * 1.5
        hi = max([calm + (limit - calm) * 2.5] + vs) if vs else calm + (limit - calm) * 2.5
        pad = 0.05 * (hi - lo)
        ax.set_ylim(lo - pad, hi + pad)
        ax.fill_between(grid, lo - pad, lims, step="post", color=_COLORS["band"], lw=0, label="target band")
        ax.axhline(calm, color="#7a7a7a", lw=0.8, ls=":")
        if ts:
            # a gap > 1 s in the agent's speech breaks the line
            xs: list[float] = []
            ys: list[float] = []
            for i, (t, v) in enumerate(zip(ts, vs)):
                if i and t - ts[i - 1] > 1.0:
                    xs.append(float("nan"))
                    ys.append(float("nan"))
                xs.append(t)
                ys.append(v)
            ax.plot(xs, ys, color=_COLORS["agent"], lw=1.2, label="agent")
            over = {
                float(m["t_s"])
                for m in agent
                if m.get("active") and sc.above_band(m, dim, tg, escalated=sc.escalated_at(eps, float(m["t_s"])))
            }
            ot = [(t, v) for t, v in zip(ts, vs) if t in over]
            if ot:
                ax.scatter([t for t, _ in ot], [v for _, v in ot], s=9, color=_COLORS["over"], zorder=3, label="above band")
        ax.set_ylabel(label, fontsize=9)
        ax.tick_params(labelsize=8, labelbottom=False)
        ax.grid(axis="x", color="#e4e4e4", lw=0.6)

    # speech activity strip: agent row 1, customer row 0, overtalk marks
    strip = axes[3]
    n = max(1, int(round(duration / step)))
    for row, who in ((1, "agent"), (0, "customer")):
        act = sc.activity(timeline, who, step, n)
        spans = [(a * step, (b - a) * step) for a, b in sc.runs(act)]
        if spans:
            strip.broken_barh(spans, (row - 0.35, 0.7), color=_COLORS[who])
    card_ot = sc.talk_and_silence(doc).get("overtalk_episodes") or []
    if card_ot:
        strip.broken_barh([(e["start_s"], e["duration_s"]) for e in card_ot], (-0.5, 2.0), color=_COLORS["overtalk"], alpha=0.35)
    strip.set_yticks([0, 1], ["customer", "agent"], fontsize=8)
    strip.set_ylim(-0.6, 1.6)
    strip.tick_params(labelsize=8)
    strip.set_xlabel("call time (m:ss)", fontsize=9)

    for ax in axes:
        for e in eps:
            ax.axvspan(e["start_s"], e["end_s"], color=_COLORS["escalated"], alpha=0.45, lw=0, zorder=0)
        for p in doc.get("prompts") or []:
            ax.axvline(float(p["t_s"]), color=_COLORS["prompt"], lw=1.0, ls="--", zorder=4)
        ax.set_xlim(0, duration)
    top = axes[0]
    ymax = top.get_ylim()[1]
    for p in doc.get("prompts") or []:
        top.annotate(
            str(p.get("kind", "")),
            (float(p["t_s"]), ymax),
            xytext=(2, -2),
            textcoords="offset points",
            fontsize=7,
            color=_COLORS["prompt"],
            va="top",
            rotation=90,
            zorder=5,
        )
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [
        Line2D([], [], color=_COLORS["agent"], lw=1.2, label="agent"),
        Patch(color=_COLORS["band"], label="target band"),
        Line2D([], [], color=_COLORS["over"], marker="o", lw=0, ms=3, label="above band"),
        Patch(color=_COLORS["escalated"], label="customer escalated"),
        Line2D([], [], color=_COLORS["prompt"], ls="--", label="prompt"),
        Patch(color=_COLORS["overtalk"], alpha=0.35, label="overtalk"),
    ]
    fig.legend(handles=handles, loc="upper center", ncol=6, fontsize=8, frameon=False, bbox_to_anchor=(0.5, 1.0))
    from matplotlib.ticker import FuncFormatter

    strip.xaxis.set_major_formatter(FuncFormatter(lambda x, _: fmt_time(x)))

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    pos = axes[0].get_position()
    return buf.getvalue(), {"x0": pos.x0, "x1": pos.x1, "t0": 0.0, "t1": duration}


# --------------------------------------------------------------------------- audio

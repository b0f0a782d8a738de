"""calmcall dashboard: one self-contained page over a real batch's calls."""

from __future__ import annotations

import csv
import io
import os
import urllib.parse
from html.parser import HTMLParser
from pathlib import Path

import pytest
import soundfile as sf

from calmcall.cli import main
from calmcall.qa import batch
from calmcall.qa import dashboard as db

pytest.importorskip("pyarrow", reason="calls.parquet needs pyarrow: pip install 'calmcall[fleet]'")

HOSTILE_FILE = '<img src=x onerror=alert(1)>&"q'
HOSTILE_TEAM = "</td><script>alert(2)</script>"
HOSTILE_AGENT = '"><svg onload=alert(3)>'
ALLOWED_TAGS = {
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "main",
    "header",
    "h1",
    "h2",
    "p",
    "section",
    "div",
    "b",
    "svg",
    "rect",
    "text",
    "line",
    "polyline",
    "circle",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "a",
}


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(text: str) -> _Page:
    p = _Page()
    p.feed(text)
    return p


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A real batch (prosody only) of four calls and a corrupt one, with a manifest
    naming agents and teams over three days; hostile strings in a file name, a team
    and an agent id; and the same calls without a manifest."""
    from conftest import SAMPLE_CALL

    base = tmp_path_factory.mktemp("dash")
    d = base / "calls"
    d.mkdir()
    x, rate = sf.read(SAMPLE_CALL, always_2d=True)
    names = ["full.wav", f"{HOSTILE_FILE}.wav", "mid.wav", "late.wav"]
    for n, (a, b) in zip(names, [(0, 88), (0, 30), (20, 60), (50, 88)]):
        sf.write(d / n, x[a * rate : b * rate], rate, subtype="PCM_16")
    (d / "broken.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + os.urandom(200))
    man = d / "manifest.csv"
    with man.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["path", "agent_id", "call_time", "team", "site"])
        w.writerow(["full.wav", "ag-1", "2026-11-28T09:00:00Z", "Billing", "north"])
        w.writerow([f"{HOSTILE_FILE}.wav", HOSTILE_AGENT, "2026-11-29T10:00:00Z", HOSTILE_TEAM, "<b>x</b>"])
        w.writerow(["mid.wav", "ag-2", "2026-11-29T14:00:00Z", "Billing", "north"])
        w.writerow(["late.wav", "ag-1", "2026-11-30T11:00:00Z", HOSTILE_TEAM, "south"])
        w.writerow(["broken.wav", "ag-2", "2026-11-30T12:00:00Z", "Billing", "south"])
    os.environ["CALMCALL_BATCH_INPROCESS"] = "1"
    try:
        opts = batch.Options(transcribe=False)
        batch.batch_analyze(str(man), base / "out", opts=opts, jobs=1, progress=io.StringIO())
        batch.batch_analyze(str(d), base / "plain", opts=opts, jobs=1, progress=io.StringIO())
    finally:
        os.environ.pop("CALMCALL_BATCH_INPROCESS", None)
    return {"base": base, "out": base / "out", "plain": base / "plain"}


def test_dashboard_sections_numbers_and_links(fleet: dict[str, Path]) -> None:
    dest = fleet["base"] / "site" / "fleet.html"
    assert main(["dashboard", str(fleet["out"]), "-o", str(dest)]) == 0
    text = dest.read_text(encoding="utf-8")
    page = _parse(text)
    ids = {a.get("id") for t, a in page.tags if t == "section"}
    assert {"overview", "in-band", "prompts", "overtalk", "trends", "teams", "agents", "listen", "failed"} <= ids
    # the figures are the table's: prompts per hour of agent talk, from calls.parquet
    from calmcall.fleet.table import read_calls

    rows = [r for r in read_calls(fleet["out"]) if r["status"] == "ok"]
    rate = sum(r["prompts_total"] for r in rows) / sum(r["agent_talk_s"] for r in rows) * 3600
    assert f"<b>{rate:.1f}</b>prompts per hour of agent talk" in text
    assert sum(r["prompts_total"] for r in rows) > 0
    # every chart is inline SVG; the trends have one line per team
    svgs = [a for t, a in page.tags if t == "svg"]
    assert len(svgs) >= 5
    assert sum(1 for t, _a in page.tags if t == "polyline") >= 2
    # the listen links open the per-call reports (relative to the page)
    hrefs = [a["href"] for t, a in page.tags if t == "a"]
    assert hrefs
    for h in hrefs:
        assert "://" not in h and not h.startswith(("javascript", "data", "/"))
        assert (dest.parent / urllib.parse.unquote(h)).resolve().is_file(), h
    assert any(urllib.parse.unquote(h).endswith(".html") for h in hrefs)
    assert "broken.wav" in "".join(page.text)  # the failed call is listed
    assert oct(dest.stat().st_mode & 0o777) == "0o600"


def test_dashboard_escapes_hostile_strings(fleet: dict[str, Path]) -> None:
    dest = fleet["base"] / "hostile.html"
    db.write_dashboard(fleet["out"], dest)
    text = dest.read_text(encoding="utf-8")
    page = _parse(text)
    # nothing from the data became markup: only the page's own tags, no event handlers, no sources
    assert {t for t, _a in page.tags} <= ALLOWED_TAGS, {t for t, _a in page.tags} - ALLOWED_TAGS
    for _t, attrs in page.tags:
        assert not any(k.startswith("on") for k in attrs), attrs
        assert "src" not in attrs
    # ... and the strings are shown as text
    shown = "".join(page.text)
    assert HOSTILE_TEAM in shown and HOSTILE_AGENT in shown and HOSTILE_FILE in shown
    assert "<script" not in text and "<img" not in text and "<svg onload" not in text
    assert "Content-Security-Policy" in text and "<link" not in text and "https://" not in text


def test_no_per_agent_view_without_a_manifest(fleet: dict[str, Path], capsys: pytest.CaptureFixture) -> None:
    assert main(["dashboard", str(fleet["plain"])]) == 0
    text = (fleet["plain"] / "fleet.html").read_text(encoding="utf-8")
    ids = {a.get("id") for t, a in _parse(text).tags if t == "section"}
    assert "agents" not in ids and "teams" not in ids and "listen" in ids and "trends" in ids
    assert "no per-agent view: no manifest named agents" in text
    assert "file times" not in text  # file times are call times here: the trend is drawn
    capsys.readouterr()
    # a folder without a batch table: one line, exit 2
    assert main(["dashboard", str(fleet["base"] / "calls")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("calmcall: error: ") and "no calls.parquet or summary.csv" in err and len(err.splitlines()) == 1


def test_listen_score_counts_measured_facts() -> None:
    calm = {"in_band_share": 0.98, "agent_talk_s": 300, "prompts_total": 0, "overtalk_count": 0}
    rough = {
        "in_band_share": 0.4,
        "agent_talk_s": 60,
        "prompts_total": 4,
        "overtalk_count": 3,
        "escalations_not_back_in_band": 1,
        "silences_over_10s": 2,
    }
    s_calm, why_calm = db.listen_score(calm)
    s_rough, why_rough = db.listen_score(rough)
    assert s_calm == pytest.approx(0.04) and why_calm == []
    assert s_rough == pytest.approx(3 + 2 * 0.6 + 4 + 1.5 + 0.6)
    assert why_rough[0].startswith("1 customer escalation") and "40 % of agent speech in band" in why_rough


def test_dashboard_from_summary_csv_without_parquet(fleet: dict[str, Path]) -> None:
    """Without calls.parquet (a local run without pyarrow) the page is drawn from
    summary.csv: the same headline figures, and no agent, team or time views."""
    import shutil

    only_csv = fleet["base"] / "csv_only"
    shutil.copytree(fleet["out"], only_csv)
    (only_csv / "calls.parquet").unlink()
    rows, source = db.load_rows(only_csv)
    assert source == "summary.csv" and len(rows) == 5
    text = db.render_dashboard(rows, out_dir=only_csv, dash_path=only_csv / "fleet.html", source=source)
    full = db.render_dashboard(db.load_rows(fleet["out"])[0], out_dir=fleet["out"], dash_path=fleet["out"] / "f.html")
    assert "prompts per hour of agent talk</div>" in text
    # summary.csv has no agent_talk_s: the rate cannot be computed, and says so ("-")
    assert "<b>-</b>prompts per hour of agent talk" in text and "<b>-</b>prompts per hour" not in full
    ids = {a.get("id") for t, a in _parse(text).tags if t == "section"}
    assert "agents" not in ids and "teams" not in ids and "in-band" in ids and "listen" in ids
    assert "from summary.csv" in text and HOSTILE_TEAM not in "".join(_parse(text).text)

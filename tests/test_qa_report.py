"""HTML reports on a real call: opened in headless Chromium, numbers checked against
the analyze JSON; sessions logged from the pipeline give the analyze prompts; CLI."""

from __future__ import annotations

import html.parser
import json
import shutil
from pathlib import Path

import pytest
import soundfile as sf

from calmcall import events as ev
from calmcall.analysis import analyze_file, run_call
from calmcall.audio_io import load_call
from calmcall.cli import main
from calmcall.config import load_config
from calmcall.qa import scorecard as sc
from calmcall.qa import sessionlog as sl
from calmcall.qa.report import render_report, write_report

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CROP_S = 45.0  # covers the sample's escalation, overtalk and pace prompt; keeps the test short


@pytest.fixture(scope="module")
def short_call(tmp_path_factory: pytest.TempPathFactory, sample_call: Path) -> Path:
    x, rate = sf.read(sample_call, always_2d=True)
    out = tmp_path_factory.mktemp("call") / "short call.wav"  # a space: the audio link must be quoted
    sf.write(out, x[: int(CROP_S * rate)], rate, subtype="PCM_16")
    return out


@pytest.fixture(scope="module")
def doc(short_call: Path) -> dict:
    """The real analyze document, with transcription (tiny.en)."""
    return analyze_file(short_call, config=load_config(None), transcribe=True)


class _Scrape(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self.prompts: list[str] = []
        self.turns = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "tr" and "data-key" in a:
            self.values[a["data-key"]] = a["data-value"]
        if tag == "tr" and "prompt" in (a.get("class") or ""):
            self.prompts.append(a["data-kind"])
        if tag == "div" and "turn" in (a.get("class") or "").split():
            self.turns += 1


def _num(text: str):
    return None if text == "" else json.loads(text)


def test_report_numbers_match_the_analyze_json(doc: dict, tmp_path: Path) -> None:
    page = _Scrape()
    page.feed(render_report(doc, out_path=tmp_path / "r.html"))
    v = {k: _num(x) for k, x in page.values.items()}
    # computed here straight from the JSON, independently of qa.scorecard
    prompts = doc["prompts"]
    assert prompts, "the sample call must produce prompts"
    assert v["prompts_total"] == len(prompts)
    for kind in ev.PROMPT_KINDS:
        assert v[f"prompts_{kind}"] == sum(p["kind"] == kind for p in prompts)
    assert page.prompts == [p["kind"] for p in sorted(prompts, key=lambda p: p["t_s"])]
    agent = [m for m in doc["timeline"] if m["speaker"] == "agent" and m["active"] and m["in_band"] is not None]
    assert v["in_band_share"] == pytest.approx(sum(m["in_band"] for m in agent) / len(agent), abs=1e-4)
    a_s = sum(m["active"] for m in doc["timeline"] if m["speaker"] == "agent")
    c_s = sum(m["active"] for m in doc["timeline"] if m["speaker"] == "customer")
    assert v["talk_ratio_agent"] == pytest.approx(a_s / (a_s + c_s), abs=1e-4)
    assert v["agent_talk_s"] == pytest.approx(a_s * 0.25)
    assert v["escalation_episodes"] == sum(s["state"] == "escalated" for s in doc["customer_states"]) >= 1
    assert v["words"] == len(doc["words"]) > 20
    assert page.turns == len(sc.turns(doc["words"])) >= 2
    # and the scorecard module gives the same numbers as the page
    card = sc.scorecard(doc)
    for key in ("overtalk_count", "longest_agent_monologue_s", "silences_over_10s", "max_back_in_band_s"):
        assert v[key] == card[key]


def test_report_opens_in_chromium_with_plots_transcript_scorecard(doc: dict, short_call: Path, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed")
    out = write_report(doc, tmp_path / "report.html")
    ARTIFACTS.mkdir(exist_ok=True)
    requests: list[str] = []
    console: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            # the page's own CSP stays on: it must not block its plot, styles, script or audio
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("request", lambda r: requests.append(r.url))
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
            page.goto(out.as_uri())
            for sel in ("#timeline-plot", "#scorecard", "#transcript .turn", "#prompts tr.prompt", "audio.call-audio"):
                assert page.locator(sel).first.is_visible(), sel
            box = page.locator("#timeline-plot").bounding_box()
            assert box and box["width"] > 800 and box["height"] > 400  # the PNG decoded and laid out
            assert page.locator("#transcript .turn").count() == len(sc.turns(doc["words"]))
            first_words = sc.turns(doc["words"])[0]["text"].split()[:3]
            assert " ".join(first_words) in page.locator("#transcript").inner_text()
            assert page.locator("#scorecard [data-key=prompts_total] td").inner_text() == str(len(doc["prompts"]))
            page.screenshot(path=str(ARTIFACTS / "qa_report.png"), full_page=True)

            # the linked audio loads, and a timestamp plays the call from that point
            page.wait_for_function("document.querySelector('audio.call-audio').readyState >= 1", timeout=10000)
            assert page.evaluate("document.querySelector('audio.call-audio').duration") == pytest.approx(CROP_S, abs=0.1)
            t = sorted(doc["prompts"], key=lambda p: p["t_s"])[-1]["t_s"]
            page.locator(f'#prompts a.ts[data-t="{t:.2f}"]').click()
            page.wait_for_timeout(300)
            assert page.evaluate("document.querySelector('audio.call-audio').currentTime") >= t - 0.01
            assert page.locator("#cursor").is_visible()
        finally:
            browser.close()
    assert all(u.startswith(("file:", "data:")) for u in requests), requests
    assert not [c for c in console if "Content Security Policy" in c or c.startswith("error")], console


def test_no_emotion_labels_about_the_agent(doc: dict) -> None:
    text = render_report(doc).lower()
    for word in ("angry", "anger", "stressed", "stress", "frustrated", "upset", "emotion:", "nervous", "anxious"):
        assert word not in text.replace("judgement about anyone's emotions", ""), word


def test_logged_session_gives_the_analyze_prompts_and_scorecard(short_call: Path, tmp_path: Path) -> None:
    """What a live/replay session records is what analyze reports for the same call."""
    cfg = load_config(None)
    events, _pipe = run_call(load_call(short_call), config=cfg, transcribe=False)
    meta = {"source": "replay", "file": str(short_call), "agent": "Sam", "config": cfg.to_dict()}
    with sl.SessionWriter(tmp_path, meta, session_id="replay-test") as w:
        for e in events:
            w.write(e)
    session = sl.read_session(w.path)
    analyzed = analyze_file(short_call, config=cfg, transcribe=False)
    assert [{k: v for k, v in p.items() if k != "type"} for p in session.prompts] == analyzed["prompts"]
    assert len(analyzed["prompts"]) >= 2
    from_session = sl.session_to_analysis(session)
    a, b = sc.scorecard(analyzed), sc.scorecard(from_session)
    for key in (
        "in_band_share",
        "prompts_per_kind",
        "overtalk_count",
        "talk_ratio_agent",
        "escalations",
        "longest_agent_monologue_s",
        "silence_total_s",
    ):
        assert a[key] == b[key], key
    info = sl.list_sessions(tmp_path)[0]
    assert info.prompts == len(analyzed["prompts"]) and info.in_band_share == a["in_band_share"]


def test_cli_sessions_and_report(short_call: Path, doc: dict, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    sessions = tmp_path / "sessions"
    with sl.SessionWriter(
        sessions, {"source": "live", "agent": "Sam", "file": str(short_call)}, session_id="20250102T030405Z-abcdef"
    ) as w:
        for p in doc["prompts"]:
            w.write({"type": "prompt", **p})
        for m in doc["timeline"]:
            w.write({"type": "measures", **m})
        for word in doc["words"]:
            w.write({"type": "word", **word})
    assert main(["sessions", "--sessions-dir", str(sessions)]) == 0
    out = capsys.readouterr().out
    assert "20250102T030405Z-abcdef" in out and "Sam" in out and "1 session(s)" in out
    assert main(["sessions", "--sessions-dir", str(sessions), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["sessions"]
    assert listed[0]["prompts"] == len(doc["prompts"])

    # by session id prefix, from the sessions folder
    r1 = tmp_path / "from_session.html"
    assert main(["report", "20250102T03", "--sessions-dir", str(sessions), "-o", str(r1)]) == 0
    assert "Sam" in r1.read_text() and "session 20250102T030405Z-abcdef" in r1.read_text()
    # from a saved analyze JSON, with the audio named explicitly
    js = tmp_path / "call.json"
    js.write_text(json.dumps(doc))
    r2 = tmp_path / "from_json.html"
    assert main(["report", str(js), "-o", str(r2), "--audio", str(short_call)]) == 0
    assert "short%20call.wav" in r2.read_text()
    # bad input: one line, exit 2
    assert main(["report", "no-such-thing", "--sessions-dir", str(sessions)]) == 2
    assert "no such audio file, JSON document or session" in capsys.readouterr().err
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x00\x00garbage")
    assert main(["report", str(bad), "-o", str(tmp_path / "x.html")]) == 2
    assert not (tmp_path / "x.html").exists()


def test_live_replay_session_log_has_the_analyze_prompts(short_call: Path, tmp_path: Path) -> None:
    """`replay` through the live path (real clock, 30x) with the session writer as its
    event sink: the logged prompts are the analyze prompts, at the same audio times."""
    live = pytest.importorskip("calmcall.live.session")
    from calmcall.pipeline import Pipeline

    cfg = load_config(None)
    call = load_call(short_call)
    with sl.SessionWriter(
        tmp_path, {"source": "replay", "file": str(short_call), "config": cfg.to_dict()}, session_id="live-replay"
    ) as w:
        session = live.Session(
            live.FileSource(call, name=str(short_call), speed=30.0),
            Pipeline(cfg, has_customer=True),
            publish=lambda *a, **k: None,
            config=cfg,
            mode="replay",
            on_event=w.write,
        )
        session.run()
    logged = [{k: v for k, v in p.items() if k != "type"} for p in sl.read_session(w.path).prompts]
    assert logged == analyze_file(short_call, config=cfg, transcribe=False)["prompts"]
    assert logged

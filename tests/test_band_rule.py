"""One band rule: analyze's in-band share, the scorecard's and the HTML report's are the
same number for the same call, and the per-dimension "over the band" shares agree
with the pipeline's in-band verdict snapshot by snapshot (issue 10 item 4: the report
said 33.8 % where analyze said 59 %)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from calmcall.analysis import build_document, run_call
from calmcall.audio_io import load_call
from calmcall.config import Config
from calmcall.qa import scorecard as sc
from calmcall.qa.report import render_report

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "sample_call.wav"


def _doc(with_words: bool) -> dict[str, Any]:
    call = load_call(SAMPLE)
    if with_words:
        from truth_words import run_with_words, truth_words

        truth = json.loads(SAMPLE.with_suffix(".truth.json").read_text())
        events, pipe = run_with_words(call, truth_words(truth), config=Config())
    else:
        events, pipe = run_call(call, config=Config(), transcribe=False)
    return build_document(call, events, pipe, Config())


@pytest.fixture(scope="module", params=[False, True], ids=["no-words", "simulated-transcript"])
def doc(request: pytest.FixtureRequest) -> dict[str, Any]:
    return _doc(request.param)


def test_scorecard_and_report_in_band_share_equal_analyze(doc: dict[str, Any]) -> None:
    analyze_share = doc["measures"]["agent"]["in_band_share"]
    card = sc.scorecard(doc)
    assert analyze_share is not None and 0.3 < analyze_share < 0.95
    assert card["in_band_share"] == pytest.approx(analyze_share, abs=5e-4)
    html = render_report(doc, card=card)
    m = re.search(r'data-key="in_band_share" data-value="([0-9.]+)"><div class="v">([0-9.]+) %', html)
    assert m is not None
    assert float(m.group(1)) == card["in_band_share"] and float(m.group(2)) == pytest.approx(100 * analyze_share, abs=0.06)


def test_over_band_dimensions_follow_the_pipeline_verdict(doc: dict[str, Any]) -> None:
    tg = sc.targets(doc)
    eps = sc.escalation_episodes(doc)
    rated = [m for m in doc["timeline"] if m["speaker"] == "agent" and m["active"] and m["in_band"] is not None]
    assert rated
    for m in rated:
        esc = sc.escalated_at(eps, m["t_s"])
        over = [sc.above_band(m, d, tg, escalated=esc) for d in ("pace", "pitch", "level")]
        assert any(over) == (not m["in_band"]), m


def test_scorecard_uses_the_pipeline_margins() -> None:
    tg = sc.targets({})
    assert tg["pace_margin"] == Config().targets.pace_margin and tg["escalated_pace_factor"] == 1.0
    assert sc.band_margins(tg, escalated=True) == Config().targets.margins(escalated=True)
    # a document without the pipeline's excess: raw values against the same margins,
    # pace not tightened while the customer is escalated
    m = {"rate_rel": 1.28, "pitch_st": 1.9, "level_rel_db": 0.0}
    assert sc.above_band(m, "pace", tg, escalated=True) is False
    assert sc.above_band(m, "pitch", tg, escalated=True) is True  # 3 st x 0.6 = 1.8 st

"""Scripted espeak-ng calls with known violations → exactly the expected prompts.

Each scenario (benchmarks/scripted.py) opens with calm alternating turns, then has
one violation (or none). A prompt must appear within 3 s of each violation's start
(customer escalation: 4 s; pace: 4 s with words, the goal of issue 10 with transcript
latency included, 5 s without, where the acoustic pace's 3 s window, its 1.5 s hold
and the 0.3 s decision window add up to 4.8 s, README "When prompts appear") and none
during calm turns. The bundled sample call is checked the same way, with a simulated
transcript (benchmarks/truth_words.py) and without words.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from calmcall.analysis import build_document, run_call
from calmcall.audio_io import load_call
from calmcall.config import Config

ROOT = Path(__file__).resolve().parents[1]
MAX_DELAY_S = 3.0
PACE_MAX_DELAY_S = {True: 4.0, False: 5.0}  # with / without transcribed words
#: The customer's state needs two raised measures held 2 s; their pitch and syllable rate
#: reach the 1-3 s windows only once swift-f0 has heard the frame's 0.512 s chunk and its
#: 0.16 s look-ahead (up to 0.67 s after the audio), so this prompt may come later.
CUSTOMER_MAX_DELAY_S = 4.0


def _max_delay_s(kind: str, words: bool = False) -> float:
    if kind == "pace":
        return PACE_MAX_DELAY_S[words]
    return CUSTOMER_MAX_DELAY_S if kind == "customer_escalation" else MAX_DELAY_S


needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng not installed (the README test command installs it)"
)


def _analyze(wav: Path) -> dict[str, Any]:
    call = load_call(wav)
    events, pipe = run_call(call, config=Config(), transcribe=False)
    return build_document(call, events, pipe, Config())


def _match(doc: dict[str, Any], truth: dict[str, Any]) -> tuple[list[str], list[tuple[str, float]], list[tuple[str, float]]]:
    """Returns (missed violation kinds, false prompts (kind, t_s), delays (kind, s))."""
    missed, false, delays = [], [], []
    words = bool(doc["words"])
    prompts = doc["prompts"]
    for v in truth["violations"]:
        hits = [
            p
            for p in prompts
            if p["kind"] == v["kind"] and v["start_s"] <= p["t_s"] <= v["start_s"] + _max_delay_s(v["kind"], words)
        ]
        if hits:
            delays.append((v["kind"], hits[0]["t_s"] - v["start_s"]))
        else:
            missed.append(v["kind"])
    for p in prompts:
        if not any(
            p["kind"] == v["kind"] and v["start_s"] <= p["t_s"] <= v["start_s"] + _max_delay_s(v["kind"], words)
            for v in truth["violations"]
        ):
            false.append((p["kind"], p["t_s"]))
    return missed, false, delays


@pytest.fixture(scope="module")
def scenario_docs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    import scripted

    out = {}
    tmp = tmp_path_factory.mktemp("scenarios")
    for name in scripted.SCENARIOS:
        truth = scripted.render_call(scripted.scenario(name), tmp / f"{name}.wav")
        out[name] = (_analyze(tmp / f"{name}.wav"), truth)
    return out


@needs_espeak
@pytest.mark.parametrize("name", ["pace", "pitch", "volume", "overtalk", "customer_escalation"])
def test_violation_is_prompted_within_3_s(scenario_docs: dict, name: str) -> None:
    doc, truth = scenario_docs[name]
    missed, _false, delays = _match(doc, truth)
    words = bool(doc["words"])
    assert not missed, f"{name}: no prompt within {_max_delay_s(name, words)} s; prompts: {doc['prompts']}"
    assert all(0 <= d <= _max_delay_s(k, words) for k, d in delays)


@needs_espeak
@pytest.mark.parametrize(
    "name", ["calm_only", "pace", "pitch", "volume", "overtalk", "customer_interrupts", "customer_escalation"]
)
def test_no_pitch_volume_overtalk_prompts_in_calm_turns(scenario_docs: dict, name: str) -> None:
    doc, truth = scenario_docs[name]
    _missed, false, _ = _match(doc, truth)
    non_pace = [f for f in false if f[0] != "pace"]
    assert not non_pace, f"{name}: false prompts {non_pace}"


@needs_espeak
def test_no_pace_prompts_in_calm_turns(scenario_docs: dict) -> None:
    false = [(n, f) for n, (doc, truth) in scenario_docs.items() for f in _match(doc, truth)[1] if f[0] == "pace"]
    assert not false, false


@needs_espeak
def test_customer_interrupting_is_not_agent_overtalk(scenario_docs: dict) -> None:
    doc, _truth = scenario_docs["customer_interrupts"]
    assert not [p for p in doc["prompts"] if p["kind"] == "overtalk"]
    assert doc["measures"]["customer"]["overtalk_by_agent"] == 0


@needs_espeak
def test_escalation_sets_customer_state_and_tightens_targets(scenario_docs: dict) -> None:
    doc, truth = scenario_docs["customer_escalation"]
    states = doc["customer_states"]
    start = truth["violations"][0]["start_s"]
    assert states and states[0]["state"] == "escalated" and start <= states[0]["t_s"] <= start + CUSTOMER_MAX_DELAY_S
    esc = [p for p in doc["prompts"] if p["kind"] == "customer_escalation"][0]
    assert esc["severity"] == "high" and "let them finish" in esc["detail"]


def _analyze_with_words(wav: Path, truth: dict[str, Any]) -> dict[str, Any]:
    from truth_words import run_with_words, truth_words

    call = load_call(wav)
    events, pipe = run_with_words(call, truth_words(truth), config=Config())
    return build_document(call, events, pipe, Config())


def test_sample_call_gives_the_expected_prompts() -> None:
    truth = json.loads((ROOT / "samples" / "sample_call.truth.json").read_text())
    doc = _analyze_with_words(ROOT / "samples" / "sample_call.wav", truth)
    missed, false, _delays = _match(doc, truth)
    assert not missed and not false, (missed, false, doc["prompts"])
    assert sorted(p["kind"] for p in doc["prompts"]) == sorted(v["kind"] for v in truth["violations"])
    pace = [p for p in doc["prompts"] if p["kind"] == "pace"][0]
    assert pace["evidence"]["wpm_source"] == "words"
    calm = int(pace["detail"].split("your calm pace is ")[1])
    assert 140 <= calm <= 160  # the script's calm agent turns: 145-155 wpm


def test_sample_call_without_words_has_no_false_prompts() -> None:
    """Without a transcript the 240 wpm turn reads ~1.6x acoustically, at the edge of the
    wider acoustic band: it may go unprompted, but nothing calm is prompted."""
    truth = json.loads((ROOT / "samples" / "sample_call.truth.json").read_text())
    doc = _analyze(ROOT / "samples" / "sample_call.wav")
    missed, false, _delays = _match(doc, truth)
    assert not false and set(missed) <= {"pace"}, (missed, false)


def test_prompts_state_facts_not_emotions() -> None:
    doc = _analyze(ROOT / "samples" / "sample_call.wav")
    banned = ("angry", "stressed", "upset", "nervous", "emotional", "frustrated", "anxious", "aggressive")
    for p in doc["prompts"]:
        if p["kind"] in ("pace", "pitch", "volume", "overtalk"):
            text = (p["headline"] + " " + p["detail"]).lower()
            assert not any(b in text for b in banned), p
            assert len(p["headline"].split()) == 2, p["headline"]
            assert any(ch.isdigit() for ch in p["detail"]), p["detail"]


def test_json_schema_and_determinism() -> None:
    a = _analyze(ROOT / "samples" / "sample_call.wav")
    b = _analyze(ROOT / "samples" / "sample_call.wav")
    assert a["prompts"] == b["prompts"]
    assert isinstance(a["duration_s"], float) and a["channels"] == {"agent": 0, "customer": 1}
    for p in a["prompts"]:
        assert set(p) >= {"t_s", "kind", "headline", "detail", "severity", "evidence"}
        assert p["kind"] in {"pace", "pitch", "volume", "overtalk", "customer_escalation"}
        assert p["severity"] in {"low", "medium", "high"}
    assert set(a["measures"]) == {"agent", "customer"}
    gaps = [b_["t_s"] - a_["t_s"] for a_, b_ in zip(a["prompts"], a["prompts"][1:])]
    assert all(g >= 6.0 - 1e-6 for g in gaps)  # rate limit / break-through gap


def test_mono_call_is_agent_only(tmp_path: Path) -> None:
    import soundfile as sf

    x, sr = sf.read(ROOT / "samples" / "sample_call.wav", dtype="float32")
    sf.write(tmp_path / "mono.wav", x[:, 0], sr)
    doc = _analyze(tmp_path / "mono.wav")
    assert doc["agent_only"] and doc["channels"]["customer"] is None
    assert not [p for p in doc["prompts"] if p["kind"] in ("overtalk", "customer_escalation")]
    assert {p["kind"] for p in doc["prompts"]} >= {"volume", "pitch"}

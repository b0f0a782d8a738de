"""The caller's rise over their baseline is bounded, robust and stated in sane units."""

from __future__ import annotations

import re

from calmcall.config import Config
from calmcall.escalation import MAX_LEVEL_DB, MAX_PITCH_ST, MAX_RATE_RATIO, RiseTracker, bounded_rise, describe
from calmcall.events import Baseline, Prompt

CALM = Baseline(f0_hz=200.0, level_db=-30.0, rate_syl_s=4.0)


def test_a_baseline_learned_from_noise_gives_no_pace_rise() -> None:
    """The "+3012 % faster" case: a 0.13 syl/s baseline (noise) against 4 syl/s speech."""
    noise_baseline = Baseline(f0_hz=200.0, level_db=-30.0, rate_syl_s=0.13)
    rise = bounded_rise({"f0_hz": 200.0, "level_db": -30.0, "rate_syl_s": 4.0}, noise_baseline)
    assert rise["rate_rel"] is None
    assert bounded_rise({"rate_syl_s": 25.0}, CALM)["rate_rel"] is None  # implausible window


def test_every_rise_is_clipped_to_its_bound() -> None:
    rise = bounded_rise({"f0_hz": 480.0, "level_db": -2.0, "rate_syl_s": 8.9}, Baseline(100.0, -60.0, 2.0))
    assert rise["pitch_st"] == MAX_PITCH_ST  # 27 st measured (octave errors) -> 12
    assert rise["level_rel_db"] == MAX_LEVEL_DB  # 58 dB -> 20
    assert rise["rate_rel"] == MAX_RATE_RATIO  # 4.45x -> 2
    assert bounded_rise({"f0_hz": 200.0}, None) == {"level_rel_db": None, "pitch_st": None, "rate_rel": None}


def test_detail_is_in_db_semitones_and_bounded_percent() -> None:
    assert describe({"level_rel_db": 8.4, "pitch_st": 4.2, "rate_rel": 1.45}) == "+8 dB louder, +4 semitones higher, 45 % faster"
    assert describe({"level_rel_db": MAX_LEVEL_DB, "rate_rel": MAX_RATE_RATIO}) == "at least +20 dB louder, at least 100 % faster"


def test_rise_is_the_median_of_recent_speech() -> None:
    tr = RiseTracker(window=5)
    for _ in range(4):
        tr.update({"level_db": -30.0}, CALM, active=True)
    r = tr.update({"level_db": -5.0}, CALM, active=True)  # one odd window
    assert r["level_rel_db"] == 0.0
    r = tr.update({"level_db": -10.0}, CALM, active=False)  # a pause adds nothing
    assert r["level_rel_db"] == 0.0
    assert tr.update({"level_db": -30.0}, None, active=True)["level_rel_db"] is None


def test_escalation_prompt_detail_is_bounded_on_a_scripted_call(tmp_path) -> None:
    import shutil

    import pytest

    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng not installed")
    import scripted

    from calmcall.analysis import run_call
    from calmcall.audio_io import load_call

    scripted.render_call(scripted.scenario("customer_escalation"), tmp_path / "c.wav")
    events, _ = run_call(load_call(tmp_path / "c.wav"), config=Config(), transcribe=False)
    esc = [e for e in events if isinstance(e, Prompt) and e.kind == "customer_escalation"]
    assert len(esc) == 1
    m = re.fullmatch(r"Caller is (.+) than at the start - let them finish, then answer low and slow", esc[0].detail)
    assert m, esc[0].detail
    for part in m.group(1).split(", "):
        assert re.fullmatch(r"(at least )?\+\d+ dB louder|(at least )?\+\d+ semitones higher|(at least )?\d+ % faster", part), (
            part
        )
    pct = re.search(r"(\d+) % faster", esc[0].detail)
    assert pct is None or int(pct.group(1)) <= 100

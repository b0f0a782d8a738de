"""The arbiter (calmcall.coach.Coach): the most important cue is shown, not the first.

Unit tests on hand-made candidates, offered on the pipeline's 0.1 s evaluation grid
the way the pipeline offers them (a pace/pitch/volume candidate again on every
evaluation while its condition holds; a phrase cue once). The espeak-ng fixtures at
the end run whole calls through the pipeline (tests/test_pace.py has the calm-pace
bounds)."""

from __future__ import annotations

import itertools
import shutil
from typing import Any

import pytest

from calmcall.coach import Coach
from calmcall.config import CoachConfig, Config
from calmcall.events import Prompt

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")


def _prosody(kind: str, t: float, excess: float, severity: str, short: str = "") -> Prompt:
    headline = {"pace": "Slow down", "pitch": "Lower pitch", "volume": "Lower voice"}[kind]
    return Prompt(
        t_s=t,
        kind=kind,
        headline=headline,
        detail=f"{kind} detail",
        severity=severity,  # type: ignore[arg-type]
        evidence={"excess_margins": excess, "short": short or f"{kind} x{excess}"},
    )


def _phrase(rule: str, t: float, severity: str, rank: int) -> Prompt:
    return Prompt(
        t_s=t,
        kind="phrase",
        headline="Phrase cue",
        detail=rule,
        severity=severity,  # type: ignore[arg-type]
        evidence={"rule": rule, "rank": rank},
    )


def _run(coach: Coach, schedule: dict[int, list[Prompt]], ticks: range) -> list[Prompt]:
    """``schedule``: tick index (t = i / 10 s) -> candidates offered at that evaluation."""
    shown: list[Prompt] = []
    for i in ticks:
        t = round(i / 10, 3)
        shown += coach.offer([dataclass_at(p, t) for p in schedule.get(i, [])], now_s=t)
    return shown


def dataclass_at(p: Prompt, t: float) -> Prompt:
    import dataclasses

    return dataclasses.replace(p, t_s=t)


def _holding(p: Prompt, start: int, stop: int) -> dict[int, list[Prompt]]:
    return {i: [p] for i in range(start, stop)}


def _merge(*parts: dict[int, list[Prompt]]) -> dict[int, list[Prompt]]:
    out: dict[int, list[Prompt]] = {}
    for part in parts:
        for i, ps in part.items():
            out.setdefault(i, []).extend(ps)
    return out


def test_a_borderline_cue_does_not_take_the_slot_from_a_stronger_one() -> None:
    """A borderline pace excess (low) is ready at 10 s; the caller escalates (high) 1 s
    later. The escalation cue is shown at 11 s; the pace cue, never shown, has not started
    a cooldown: it is shown once the 20 s interval after the escalation cue is over."""
    pace = _prosody("pace", 0, 1.05, "low")
    esc = Prompt(t_s=0, kind="customer_escalation", headline="Caller escalating", detail="d", severity="high")
    shown = _run(Coach(CoachConfig()), _merge(_holding(pace, 100, 400), _holding(esc, 110, 160)), range(0, 400))
    assert [(p.kind, p.t_s) for p in shown] == [("customer_escalation", 11.0), ("pace", 31.0)]
    assert shown[0].evidence["ready_s"] == 11.0 and shown[1].evidence["ready_s"] == 10.0
    assert "also" not in shown[0].evidence


def test_a_stronger_cue_breaks_through_after_a_weak_one() -> None:
    """A low-severity phrase cue is shown (after its 2 s wait); a medium volume cue 7 s
    later breaks through the 20 s limit (a higher tier, >= 3 s after); a medium pitch
    cue 7 s after that too (a distinct problem); a medium pace cue 0.7 s after the
    pitch cue does not: 3 s must pass, and then the budget's bucket is empty (3 cues,
    refilled at one per 20 s: 0.72 + 4.7 / 20 < 1 by the time the pace ends)."""
    cfg = CoachConfig()
    schedule = _merge(
        {0: [_phrase("apology.bare_sorry", 0, "low", 10)]},
        _holding(_prosody("volume", 0, 1.5, "medium"), 90, 130),
        _holding(_prosody("pitch", 0, 1.5, "medium"), 160, 200),
        _holding(_prosody("pace", 0, 1.5, "medium"), 170, 210),
    )
    shown = _run(Coach(cfg), schedule, range(0, 260))
    assert [(p.kind, p.t_s) for p in shown] == [("phrase", 2.0), ("volume", 9.3), ("pitch", 16.3)]


def test_a_weak_cue_never_breaks_through() -> None:
    """A high escalation cue at 1 s; a low pace cue and a medium phrase cue (tiers 0
    and 1) ready 5 s later wait out the 20 s; the stronger of them is shown then."""
    esc = Prompt(t_s=0, kind="customer_escalation", headline="Caller escalating", detail="d", severity="high")
    shown = _run(
        Coach(CoachConfig()),
        _merge(
            _holding(esc, 10, 30),
            _holding(_prosody("pace", 0, 1.05, "low"), 60, 260),
            {60: [_phrase("defensive.policy", 0, "medium", 70)]},
        ),
        range(0, 260),
    )
    assert [(p.kind, p.t_s) for p in shown] == [("customer_escalation", 1.0), ("pace", 21.0)]


def test_the_budget_bucket_bounds_every_stretch_of_the_call() -> None:
    """Distinct problems, one after another every 3.5 s for 3 minutes (each holds 3 s):
    never more than ``burst`` cues within any 20 s, and over the call at most
    ``burst`` + duration / 20 s; no two cues closer than ``breakthrough_gap_s``."""
    cfg = CoachConfig()
    kinds = ("pace", "pitch", "volume")
    schedule: dict[int, list[Prompt]] = {}
    for j, start in enumerate(range(0, 1800, 35)):
        schedule = _merge(schedule, _holding(_prosody(kinds[j % 3], 0, 1.5, "medium"), start, start + 30))
    shown = _run(Coach(cfg), schedule, range(0, 1800))
    ts = [p.t_s for p in shown]
    assert len(ts) <= cfg.burst + 180 / cfg.min_interval_s
    assert all(sum(1 for u in ts if t - cfg.min_interval_s < u <= t) <= cfg.burst for t in ts)
    assert all(b - a >= cfg.breakthrough_gap_s - 1e-9 for a, b in itertools.pairwise(ts))
    assert len(ts) >= 180 / cfg.min_interval_s  # the budget is used, not starved


def test_the_same_kind_may_come_back_only_when_stronger() -> None:
    """A borderline pace cue shown at 2 s does not block a fast stretch's high pace cue
    7 s later (cooldown and interval give way to a higher tier), but blocks another
    borderline one."""
    low = _prosody("pace", 0, 1.05, "low")
    high = _prosody("pace", 0, 2.4, "high")
    shown = _run(
        Coach(CoachConfig()), _merge(_holding(low, 0, 40), _holding(high, 90, 120), _holding(low, 150, 200)), range(0, 260)
    )
    assert [(p.kind, p.severity, p.t_s) for p in shown] == [("pace", "low", 2.0), ("pace", "high", 9.0)]


def test_a_medium_cue_is_upgraded_only_after_the_rate_limit() -> None:
    """A medium pace cue shown at 0.3 s; the same stretch turns high 4 s later and holds:
    the agent is already slowing down on the first cue, so a second "Slow down" comes
    only once ``min_interval_s`` passed (20.3 s), not 3 s after the first (as it may
    after a low-severity one: the test above). A different kind still breaks through."""
    cfg = CoachConfig()
    medium = _prosody("pace", 0, 1.5, "medium")
    high = _prosody("pace", 0, 2.4, "high")
    shown = _run(Coach(cfg), _merge(_holding(medium, 0, 40), _holding(high, 40, 260)), range(0, 260))
    assert [(p.kind, p.severity, p.t_s) for p in shown] == [("pace", "medium", 0.3), ("pace", "high", 20.3)]
    shown = _run(
        Coach(cfg),
        _merge(_holding(medium, 0, 40), _holding(high, 40, 260), _holding(_prosody("volume", 0, 1.5, "medium"), 50, 90)),
        range(0, 260),
    )
    assert [(p.kind, p.t_s) for p in shown][:2] == [("pace", 0.3), ("volume", 5.3)]


def test_coincident_excesses_give_one_cue_naming_the_strongest() -> None:
    volume = _prosody("volume", 0, 1.5, "medium", "+9 dB louder")
    pitch = _prosody("pitch", 0, 2.5, "high", "pitch +7.5 st")
    pace = _prosody("pace", 0, 1.1, "low", "205 wpm")
    coach = Coach(CoachConfig())
    shown = _run(coach, _merge(_holding(volume, 50, 90), _holding(pace, 50, 90), _holding(pitch, 52, 90)), range(0, 120))
    assert len(shown) == 1
    p = shown[0]
    assert (p.kind, p.headline, p.severity, p.t_s) == ("pitch", "Lower pitch", "high", 5.2)
    assert p.detail == "pitch detail (also +9 dB louder, 205 wpm)"
    assert [a["kind"] for a in p.evidence["also"]] == ["volume", "pace"]
    # the kinds named in the cue were shown: their cooldown runs too
    assert set(coach._last_by_key) == {"pitch", "volume", "pace"}


def test_the_worse_phrase_wins() -> None:
    """'As I said' (medium, rank 50) then 'calm down' (medium, rank 90) 0.8 s later:
    'calm down' is shown. A bare 'sorry' (low) loses to 'it's policy' (medium) 1.5 s
    later the same way."""
    shown = _run(
        Coach(CoachConfig()),
        {10: [_phrase("defensive.as_i_said", 0, "medium", 50)], 18: [_phrase("defensive.calm_down", 0, "medium", 90)]},
        range(0, 100),
    )
    assert [(p.evidence["rule"], p.t_s) for p in shown] == [("defensive.calm_down", 3.8)]
    shown = _run(
        Coach(CoachConfig()),
        {10: [_phrase("apology.bare_sorry", 0, "low", 10)], 25: [_phrase("defensive.policy", 0, "medium", 70)]},
        range(0, 100),
    )
    assert [(p.evidence["rule"], p.t_s) for p in shown] == [("defensive.policy", 4.5)]


def test_builtin_playbook_ranks_the_worse_phrases_higher() -> None:
    from calmcall.text.playbook import load_playbook

    pb = load_playbook()
    r = {rule.id: (rule.severity, rule.rank) for rule in pb.rules}
    for worse in ("defensive.calm_down", "defensive.not_my_fault", "defensive.policy"):
        assert (r[worse][0], r[worse][1]) > (r["apology.bare_sorry"][0], r["apology.bare_sorry"][1]) or (
            r[worse][0] == "medium" and r["apology.bare_sorry"][0] == "low"
        )
        assert r[worse][1] > r["defensive.as_i_said"][1] > r["apology.bare_sorry"][1]


def test_high_severity_is_shown_at_once_and_events_wait_for_the_grid() -> None:
    coach = Coach(CoachConfig())
    ot = Prompt(t_s=3.33, kind="overtalk", headline="Listen first", detail="d", severity="high", evidence={})
    assert [p.t_s for p in coach.offer([ot])] == [3.33]  # an event offer, between evaluations
    coach2 = Coach(CoachConfig())
    assert coach2.offer([_phrase("defensive.policy", 1.23, "medium", 70)]) == []  # decided on the grid
    shown = _run(coach2, {}, range(13, 40))
    assert [(p.kind, p.t_s) for p in shown] == [("phrase", 3.3)]  # 2 s after it was ready, on the grid


def test_budget_is_kept() -> None:
    """Medium cues that keep holding get one slot per 20 s."""
    cands = _merge(_holding(_prosody("pace", 0, 1.5, "medium"), 0, 1200), _holding(_prosody("volume", 0, 1.5, "medium"), 0, 1200))
    shown = _run(Coach(CoachConfig()), cands, range(0, 1200))
    gaps = [b.t_s - a.t_s for a, b in itertools.pairwise(shown)]
    assert len(shown) == 3 and all(g >= 20.0 - 1e-9 for g in gaps)


# ------------------------------------------------------------------ whole calls


def _render(tmp_path: Any, name: str, build: Any) -> tuple[dict, Any]:
    import scripted

    from calmcall.audio_io import load_call

    s = scripted.Script()
    build(s, scripted)
    wav = tmp_path / f"{name}.wav"
    truth = scripted.render_call(s.turns, wav)
    return truth, load_call(wav)


def _opening(s: Any, scripted: Any, n: int = 3) -> None:
    for i in range(n):
        s.say("agent", scripted.AGENT_CALM[i], wpm=150)
        s.say("customer", scripted.CUSTOMER_CALM[i])


@needs_espeak
def test_borderline_pace_wobble_then_a_real_fast_turn_is_prompted(tmp_path: Any) -> None:
    """A calm line that the acoustic estimate reads fast (docs/background.md: Real speech; README
    "Benchmarks": calm turns reach 1.31x), said a little quickly (165 vs 150 wpm), a
    short reply, then a 260 wpm turn: the fast turn gets its pace cue within 4 s of its
    start (transcript latency included), naming its own pace; the wobble gets none."""
    from truth_words import run_with_words, truth_words

    def build(s: Any, scripted: Any) -> None:
        _opening(s, scripted)
        s.say("agent", scripted.AGENT_CALM[3], wpm=165)
        s.say("customer", "Okay.")
        s.say("agent", scripted.AGENT_PACE, wpm=260, label="pace", gap_s=1.0)

    truth, call = _render(tmp_path, "wobble", build)
    fast = [t for t in truth["turns"] if t["label"] == "pace"][0]
    events, _ = run_with_words(call, truth_words(truth), config=Config())
    paces = [e for e in events if isinstance(e, Prompt) and e.kind == "pace"]
    hits = [p for p in paces if fast["start_s"] <= p.t_s <= fast["start_s"] + 4.0]
    assert hits, [(p.t_s, p.detail) for p in paces]
    assert hits[0].evidence["wpm"] >= 220 and hits[0].evidence["wpm_source"] == "words"
    assert paces[0] is hits[0]


@needs_espeak
def test_a_phrase_cue_in_a_loud_high_turn_gives_way_to_the_voice_cue(tmp_path: Any) -> None:
    """The agent says a bare 'Sorry.' and goes on, 0.2 s later, in a +9 dB, +8 st voice:
    the voice cue is shown, not the low-severity phrase cue that was ready first."""
    from truth_words import run_with_words, truth_words

    from calmcall.analysis import make_phrase_coach

    def build(s: Any, scripted: Any) -> None:
        _opening(s, scripted)
        s.say("agent", "Sorry.", wpm=150)
        s.say(
            "agent",
            "Please let me finish explaining, because the refund has already been approved.",
            pitch=85,
            gain_db=9.0,
            label="pitch",
            gap_s=0.2,
        )
        s.say("customer", scripted.CUSTOMER_CALM[4])
        s.say("agent", scripted.AGENT_CALM[5], wpm=150)

    truth, call = _render(tmp_path, "phrase_loud", build)
    turn = dict([t for t in truth["turns"] if t["label"] == "pitch"][0])
    turn["start_s"] -= 1.0  # from the "Sorry."
    events, _ = run_with_words(call, truth_words(truth), config=Config(), phrase_coach=make_phrase_coach(None))
    in_turn = [e for e in events if isinstance(e, Prompt) and turn["start_s"] <= e.t_s <= turn["end_s"] + 1.0]
    assert in_turn and in_turn[0].kind in ("pitch", "volume"), [(p.t_s, p.kind, p.detail) for p in in_turn]
    assert not [p for p in in_turn if p.kind == "phrase"]


def test_playbook_rank_is_validated_and_defaults_to_0(tmp_path: Any) -> None:
    from calmcall.text.playbook import PlaybookError, load_playbook

    ok = tmp_path / "ok.toml"
    ok.write_text(
        '[[rule]]\nid = "team.x"\npatterns = ["unfortunately"]\nheadline = "Positive framing"\n'
        'detail = "Say what you can do"\nseverity = "low"\nspeaker = "agent"\n'
    )
    assert load_playbook([ok]).rule("team.x").rank == 0
    bad = tmp_path / "bad.toml"
    bad.write_text(ok.read_text() + "rank = 150\n")
    with pytest.raises(PlaybookError, match="rank"):
        load_playbook([bad])


@needs_espeak
def test_no_word_pace_cue_while_the_calm_pace_is_learned(tmp_path: Any) -> None:
    """A brisk opening (215 wpm, over the 185 wpm ceiling) is the calm speech the
    baseline learns from: no pace cue before the calm pace is known (the ceiling judged
    these openings: 18 of 43 unjustified cues on the dev calls with words). A fast turn
    afterwards, against that calm pace, is prompted."""
    from truth_words import run_with_words, truth_words

    def build(s: Any, scripted: Any) -> None:
        for i in range(4):
            s.say("agent", scripted.AGENT_CALM[i], wpm=215)
            s.say("customer", scripted.CUSTOMER_CALM[i])
        s.say("agent", scripted.AGENT_PACE, wpm=360, label="pace", gap_s=1.0)

    truth, call = _render(tmp_path, "brisk_opening", build)
    fast = [t for t in truth["turns"] if t["label"] == "pace"][0]
    events, pipe = run_with_words(call, truth_words(truth), config=Config())
    paces = [e for e in events if isinstance(e, Prompt) and e.kind == "pace"]
    assert [p for p in paces if p.t_s < fast["start_s"]] == [], [(p.t_s, p.detail) for p in paces]
    assert pipe._spk["agent"].calm_pace is not None
    hits = [p for p in paces if fast["start_s"] <= p.t_s <= fast["start_s"] + 4.0]
    assert hits and hits[0].evidence["basis"] == "calm", [(p.t_s, p.detail) for p in paces]

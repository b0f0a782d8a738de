"""Scorecard definitions on hand-made timelines with known answers (fast, pure)."""

from __future__ import annotations

import pytest

from calmcall.qa import scorecard as sc

STEP = 0.25


def _timeline(agent_spans, customer_spans, duration, *, out_of_band=()):
    """Measures every 0.25 s; spans are (start_s, end_s) of speech."""
    tl = []
    n = int(round(duration / STEP))
    for i in range(1, n + 1):
        t = i * STEP
        for who, spans in (("agent", agent_spans), ("customer", customer_spans)):
            if spans is None:  # agent-only call
                continue
            active = any(a < t <= b for a, b in spans)
            oob = who == "agent" and any(a < t <= b for a, b in out_of_band)
            tl.append(
                {
                    "t_s": t,
                    "speaker": who,
                    "active": active,
                    "f0_hz": 120.0 if active else None,
                    "pitch_st": (5.0 if oob else 0.0) if active else None,
                    "level_db": -30.0 if active else None,
                    "level_rel_db": 0.0 if active else None,
                    "rate_syl_s": 4.0 if active else None,
                    "rate_rel": 1.0 if active else None,
                    "wpm": None,
                    "in_band": (not oob) if active and who == "agent" else None,
                }
            )
    return tl


def _doc(agent, customer, duration, **kw):
    states = kw.pop("states", [])
    prompts = kw.pop("prompts", [])
    return {
        "file": "x.wav",
        "duration_s": duration,
        "channels": {"agent": 0, "customer": 1},
        "prompts": prompts,
        "words": [],
        "timeline": _timeline(agent, customer, duration, **kw),
        "customer_states": states,
        "baselines": {},
        "config": {},
    }


def test_silences_gaps_under_2s_ignored_and_over_10s_listed() -> None:
    # agent 0-5, gap 1.5 s, customer 6.5-10, silence 12 s, agent 22-25, silence 3 s, customer 28-30
    doc = _doc([(0, 5), (22, 25)], [(6.5, 10), (28, 30)], 40.0)
    card = sc.scorecard(doc)
    assert card["silences_over_10s"] == 1
    assert card["long_silences"] == [{"start_s": 10.0, "end_s": 22.0, "duration_s": 12.0}]
    assert card["silence_total_s"] == pytest.approx(15.0)  # 12 + 3; the 1.5 s gap and the trailing 10 s are not counted
    assert card["longest_silence_s"] == 12.0
    assert card["agent_talk_s"] == 8.0 and card["customer_talk_s"] == 5.5
    assert card["talk_ratio_agent"] == pytest.approx(8.0 / 13.5, abs=1e-4)


def test_overtalk_and_interruptions() -> None:
    # customer 0-10; agent starts at 5 while the customer talks (interruption, 5 s overlap);
    # customer backchannel 14-14.25 during agent speech 12-20 (too short to count);
    # both start together at 30 (overlap 2 s, nobody talking before: not an interruption)
    doc = _doc([(5, 11), (12, 20), (30, 32)], [(0, 10), (14, 14.25), (30, 33)], 40.0)
    card = sc.scorecard(doc)
    assert card["overtalk_count"] == 2
    assert card["agent_interruptions"] == 1
    assert card["overtalk_s"] == pytest.approx(7.0)
    assert [e["start_s"] for e in card["overtalk_episodes"]] == [5.0, 30.0]


def test_longest_monologue_breaks_on_other_party_or_long_pause() -> None:
    # agent 0-10, pause 1 s, 11-20 (one monologue of 20 s: short pause, a 0.5 s backchannel at 15)
    # then customer speaks 21-23 (breaks), agent 23.5-30, pause 3 s (breaks), agent 33-40
    doc = _doc([(0, 10), (11, 20), (23.5, 30), (33, 40)], [(15, 15.5), (21, 23)], 45.0)
    card = sc.scorecard(doc)
    assert card["longest_agent_monologue_s"] == 20.0
    assert card["longest_agent_monologue"] == {"start_s": 0.0, "end_s": 20.0}
    assert card["longest_customer_monologue_s"] == 2.0


def test_escalation_episode_and_time_back_into_band() -> None:
    states = [
        {"t_s": 10.0, "state": "escalated", "evidence": {}},
        {"t_s": 40.0, "state": "calm", "evidence": {}},
        {"t_s": 50.0, "state": "escalated", "evidence": {}},
    ]
    # agent speaks throughout, out of band 15-22 -> back at 22 = 7 s; second episode: stays in band
    doc = _doc([(0, 60)], None, 60.0, out_of_band=[(15, 22)], states=states)
    card = sc.scorecard(doc)
    assert card["escalation_episodes"] == 2
    e1, e2 = card["escalations"]
    assert (e1["start_s"], e1["end_s"], e1["agent_left_band"], e1["left_band_s"]) == (10.0, 40.0, True, 15.0)
    assert e1["back_in_band_s"] == pytest.approx(7.0) and e1["back_at_s"] == pytest.approx(22.0)
    assert e2["ongoing_at_end"] and not e2["agent_left_band"] and e2["back_in_band_s"] == 0.0
    assert card["max_back_in_band_s"] == pytest.approx(7.0)
    assert card["in_band_share"] == pytest.approx(1 - 7.0 / 60.0, abs=1e-4)
    assert card["pitch_over_share"] == pytest.approx(7.0 / 60.0, abs=1e-4)
    # agent-only call: no customer numbers
    assert card["overtalk_count"] is None and card["talk_ratio_agent"] is None


def test_not_back_in_band_by_the_end() -> None:
    states = [{"t_s": 10.0, "state": "escalated", "evidence": {}}]
    doc = _doc([(0, 30)], [], 30.0, out_of_band=[(12, 30)], states=states)
    (e,) = sc.scorecard(doc)["escalations"]
    assert e["agent_left_band"] and e["back_in_band_s"] is None
    assert sc.scorecard(doc)["escalations_not_back_in_band"] == 1


def test_prompt_counts_turns_and_csv_row() -> None:
    prompts = [{"t_s": 1.0, "kind": "pace"}, {"t_s": 30.0, "kind": "pace"}, {"t_s": 50.0, "kind": "phrase"}]
    doc = _doc([(0, 5)], [(6, 8)], 60.0, prompts=prompts)
    doc["words"] = [
        {"start_s": 0.1, "end_s": 0.4, "text": "hello", "speaker": "agent", "confidence": 1.0},
        {"start_s": 0.5, "end_s": 0.9, "text": "there", "speaker": "agent", "confidence": 1.0},
        {"start_s": 0.7, "end_s": 0.8, "text": "hi", "speaker": "customer", "confidence": 1.0},
        {"start_s": 6.0, "end_s": 6.5, "text": "card", "speaker": "customer", "confidence": 1.0},
    ]
    card = sc.scorecard(doc)
    assert card["prompts_per_kind"]["pace"] == 2 and card["prompts_per_kind"]["phrase"] == 1
    assert card["prompts_per_kind"]["overtalk"] == 0 and card["prompts_total"] == 3
    turns = sc.turns(doc["words"])
    assert [(t["speaker"], t["text"], t["overlap"]) for t in turns] == [
        ("agent", "hello there", False),
        ("customer", "hi card", True),
    ]
    row = sc.csv_row(doc, card)
    assert set(row) == set(sc.CSV_FIELDS)
    assert row["prompts_pace"] == 2 and row["status"] == "ok" and row["silences_over_10s"] == 0


def test_targets_from_config_and_aliases() -> None:
    assert sc.targets({"config": {"targets": {"pace_margin": 0.1}}})["pace_margin"] == 0.1
    assert sc.targets({"config": {"rate_margin": 0.2, "level_margin_db": 4}})["volume_margin_db"] == 4.0
    assert sc.targets({})["pitch_margin_st"] == 3.0

"""Phrase playbook: each built-in rule fires when it should and stays quiet when it
should not; user rule files; malformed files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from calmcall.events import Prompt, Word
from calmcall.text.playbook import PhraseCoach, PlaybookError, load_playbook

WORD_S = 0.32  # a word every 0.32 s of audio, ~190 wpm with short gaps
LATENCY_S = 1.1  # commit latency of the streaming transcriber


def say(speaker: str, text: str, start_s: float, latency_s: float = LATENCY_S) -> list[Word]:
    """Words of ``text`` spoken from ``start_s``, committed ``latency_s`` after they end."""
    out = []
    t = start_s
    for raw in text.split():
        end = t + WORD_S - 0.04
        out.append(
            Word(
                t_s=round(end + latency_s, 3),
                start_s=round(t, 3),
                end_s=round(end, 3),
                text=" " + raw,
                speaker=speaker,
                confidence=0.9,
            )
        )
        t += WORD_S
    return out


def end_of(words: list[Word]) -> float:
    return words[-1].end_s


def run(
    *turns: list[Word],
    escalated_from: float | None = None,
    until_s: float | None = None,
    customer_name: str | None = None,
    playbook=None,
    tick_s: float = 0.25,
) -> list[Prompt]:
    """Feed words in commit order with ticks every ``tick_s`` like the pipeline does."""
    pc = PhraseCoach(playbook or load_playbook(), customer_name=customer_name)
    words = sorted((w for turn in turns for w in turn), key=lambda w: (w.t_s, w.start_s))
    last = max((w.t_s for w in words), default=0.0)
    until = until_s if until_s is not None else last + 3.0
    esc = lambda t: escalated_from is not None and t >= escalated_from  # noqa: E731
    out: list[Prompt] = []
    t = 0.0
    i = 0
    while t <= until + 1e-9:
        while i < len(words) and words[i].t_s <= t:
            out += pc.on_word(words[i], customer_escalated=esc(words[i].t_s))
            i += 1
        out += pc.tick(t, customer_escalated=esc(t))
        t = round(t + tick_s, 6)
    return out


def rules(prompts: list[Prompt]) -> list[str]:
    return [p.evidence["rule"] for p in prompts]


# ---------------------------------------------------------------- the playbook itself


def test_builtin_rules_are_complete_and_well_formed():
    pb = load_playbook()
    assert set(pb.ids) >= {
        "apology.bare_sorry",
        "defensive.calm_down",
        "defensive.not_my_fault",
        "defensive.policy",
        "defensive.as_i_said",
        "defensive.lecture",
        "argue.contradict",
        "argue.stuck",
        "empathy.acknowledge",
        "rapport.use_name",
        "escalation.manager_early",
        "abuse.boundary",
    }
    for r in pb.rules:
        assert len(r.headline.split()) == 2, r.id
        assert r.detail and "\n" not in r.detail
        assert r.severity in ("low", "medium", "high")
        assert r.description


def test_prompt_shape_and_evidence():
    agent = say("agent", "Okay. Sorry.", 2.0)
    ps = run(agent)
    assert rules(ps) == ["apology.bare_sorry"]
    p = ps[0]
    assert p.kind == "phrase" and p.severity == "low" and len(p.headline.split()) == 2
    ev = p.evidence
    assert ev["rule"] == "apology.bare_sorry"
    assert ev["words"] == [{"text": "Sorry.", "start_s": agent[1].start_s, "end_s": agent[1].end_s}]
    assert p.t_s == agent[1].t_s  # known when "Sorry." was committed (the period ends it)


# ---------------------------------------------------------------- bare sorry


@pytest.mark.parametrize(
    "text",
    [
        "Sorry.",
        "Oh, I'm so sorry.",
        "I am sorry, let me look at that.",
        "SORRY!",
        "My apologies.",
        "I'm sorry, but the system is down.",
    ],
)
def test_bare_sorry_fires(text):
    assert "apology.bare_sorry" in rules(run(say("agent", text, 1.0)))


@pytest.mark.parametrize(
    "text",
    [
        "I'm sorry that your order arrived late.",
        "I am sorry for the delay on your refund.",
        "Sorry about the wait.",
        "I'm really sorry you had to call twice.",
        "We are sorry to hear that.",
        "Sorry?",
        "I apologize for the mix-up with your bill.",
        "My apologies for the trouble.",
    ],
)
def test_full_apology_or_pardon_is_not_bare(text):
    assert "apology.bare_sorry" not in rules(run(say("agent", text, 1.0)))


def test_bare_sorry_without_punctuation_waits_for_the_utterance_end():
    # recognisers do not always punctuate: decided when the speaker goes quiet
    agent = say("agent", "i am sorry", 1.0)
    ps = run(agent, until_s=10)
    assert rules(ps) == ["apology.bare_sorry"]
    assert ps[0].t_s >= agent[-1].t_s + 2.0 - 1e-6  # settle time, not before
    # ... and a continuation committed a little later is not a bare sorry
    late = say("agent", "i am sorry", 1.0) + say("agent", "for the delay", 1.0 + 3 * WORD_S, latency_s=1.8)
    assert "apology.bare_sorry" not in rules(run(late, until_s=10))


def test_customer_sorry_is_not_coached():
    assert rules(run(say("customer", "Sorry.", 1.0))) == []


# ---------------------------------------------------------------- defensive phrases


@pytest.mark.parametrize(
    "text,rule",
    [
        ("Sir, please calm down.", "defensive.calm_down"),
        ("You need to CALM DOWN", "defensive.calm_down"),
        ("That's not my fault.", "defensive.not_my_fault"),
        ("that is not my problem", "defensive.not_my_fault"),
        ("Thats not my department", "defensive.not_my_fault"),
        ("It's company policy.", "defensive.policy"),
        ("it is just our policy", "defensive.policy"),
        ("As I already said, the refund takes five days.", "defensive.as_i_said"),
        ("Like I told you before, it ships Monday.", "defensive.as_i_said"),
        ("You need to understand that we can't do that.", "defensive.lecture"),
        ("You have to understand, madam.", "defensive.lecture"),
        ("You're not listening.", "defensive.lecture"),
    ],
)
def test_defensive_phrases(text, rule):
    assert rule in rules(run(say("agent", text, 1.0)))


@pytest.mark.parametrize(
    "text",
    [
        "I understand, let me check that for you.",
        "Our refund policy gives you thirty days.",  # mentions policy, not hiding behind it
        "I can see it is not your fault at all.",  # "not your fault" is not "not my fault"
        "Let me explain how the charge works.",
        "Thank you for your patience.",
    ],
)
def test_neutral_agent_speech_is_quiet(text):
    assert rules(run(say("agent", text, 1.0))) == []


def test_same_rule_does_not_fire_on_every_word():
    agent = say("agent", "Calm down. Calm down, calm down please.", 1.0)
    assert rules(run(agent)) == ["defensive.calm_down"]


# ---------------------------------------------------------------- arguing


def test_contradicting_right_after_a_complaint():
    cust = say("customer", "This is the third time my parcel has been late.", 1.0)
    agent = say("agent", "But you chose the standard delivery.", end_of(cust) + 0.6)
    assert "argue.contradict" in rules(run(cust, agent))
    agent = say("agent", "Actually, the parcel left on Monday.", end_of(cust) + 0.8)
    assert "argue.contradict" in rules(run(cust, agent))
    agent = say("agent", "No, you never told us the new address.", end_of(cust) + 0.5)
    assert "argue.contradict" in rules(run(cust, agent))


def test_but_long_after_or_mid_sentence_is_not_arguing():
    cust = say("customer", "This is the third time my parcel has been late.", 1.0)
    later = say("agent", "But the parcel is with the courier now.", end_of(cust) + 9.0)
    assert "argue.contradict" not in rules(run(cust, later))
    mid = say("agent", "I can help with that, but I need your order number.", end_of(cust) + 0.6)
    assert "argue.contradict" not in rules(run(cust, mid))
    # a one-word backchannel is not a complaint turn
    yes = say("customer", "Yeah.", 1.0)
    after = say("agent", "But first, may I have your postcode?", end_of(yes) + 0.5)
    assert "argue.contradict" not in rules(run(yes, after))


def test_stuck_argument_proposes_working_together():
    t = 1.0
    turns = []
    for spk, text in [
        ("customer", "No, I never got the email."),
        ("agent", "But it was sent on Monday."),
        ("customer", "That's not true, I checked my inbox."),
        ("agent", "No, I can see it here, it was sent."),
    ]:
        ws = say(spk, text, t)
        turns.append(ws)
        t = end_of(ws) + 0.5
    ps = run(*turns)
    assert "argue.stuck" in rules(ps)
    stuck = [p for p in ps if p.evidence["rule"] == "argue.stuck"][0]
    assert stuck.headline == "Work together"
    assert stuck.t_s == turns[-1][0].t_s  # fires on the 4th contradicting turn ("No,")
    assert stuck.evidence["turns"] == 4


def test_two_contradictions_are_not_yet_stuck():
    cust = say("customer", "No, I never got the email.", 1.0)
    agent = say("agent", "But it was sent on Monday.", end_of(cust) + 0.5)
    cust2 = say("customer", "Okay, I will look again.", end_of(agent) + 0.5)
    assert "argue.stuck" not in rules(run(cust, agent, cust2))


# ---------------------------------------------------------------- acknowledgement


def test_escalated_customer_without_acknowledgement():
    cust = say("customer", "I have been waiting for three weeks and nobody calls me back!", 1.0)
    agent = say("agent", "Can I have your order number please.", end_of(cust) + 0.5)
    ps = run(cust, agent, escalated_from=3.0, until_s=25.0)
    ack = [p for p in ps if p.evidence["rule"] == "empathy.acknowledge"]
    assert ack and ack[0].t_s == pytest.approx(18.0)  # 15 s after escalation
    assert ack[0].headline == "Acknowledge feelings"
    assert ack[0].evidence["since_s"] == pytest.approx(3.0)


@pytest.mark.parametrize(
    "ack",
    [
        "I understand, that's really frustrating.",
        "I can see why you're upset.",
        "That must be so frustrating.",
        "I'd be annoyed too.",
    ],
)
def test_acknowledgement_resets_the_clock(ack):
    cust = say("customer", "I have been waiting for three weeks and nobody calls me back!", 1.0)
    agent = say("agent", ack, 8.0)
    ps = run(cust, agent, escalated_from=3.0, until_s=20.0)
    assert "empathy.acknowledge" not in rules(ps)


def test_calm_customer_needs_no_acknowledgement():
    cust = say("customer", "Hello, I would like to change my address.", 1.0)
    assert "empathy.acknowledge" not in rules(run(cust, until_s=60.0))


# ---------------------------------------------------------------- customer's name


def test_name_said_by_customer_then_not_used():
    cust = say("customer", "Hi, my name is Sarah Jones and I am furious.", 1.0)
    agent = say("agent", "I understand, let me check your account.", 6.0)
    ps = run(cust, agent, escalated_from=4.0, until_s=70.0)
    use = [p for p in ps if p.evidence["rule"] == "rapport.use_name"]
    assert use and use[0].t_s == pytest.approx(64.0)
    assert "Sarah" in use[0].detail and use[0].evidence["name"] == "Sarah"


def test_name_used_by_agent_keeps_quiet():
    cust = say("customer", "It's Sarah speaking, and I am furious.", 1.0)
    agent = say("agent", "Sarah, I understand, let me check your account.", 40.0)
    ps = run(cust, agent, escalated_from=4.0, until_s=70.0)
    assert "rapport.use_name" not in rules(ps)


def test_name_given_on_the_command_line():
    cust = say("customer", "This is ridiculous, I want my money back!", 1.0)
    ps = run(cust, escalated_from=3.0, until_s=70.0, customer_name="jane smith")
    use = [p for p in ps if p.evidence["rule"] == "rapport.use_name"]
    assert use and use[0].t_s == pytest.approx(63.0) and "Jane Smith" in use[0].detail
    # "Mrs Smith" counts as using the name
    agent = say("agent", "Mrs Smith, I will refund it today.", 30.0)
    ps = run(cust, agent, escalated_from=3.0, until_s=70.0, customer_name="Jane Smith")
    assert "rapport.use_name" not in rules(ps)


def test_this_is_ridiculous_is_not_a_name():
    cust = say("customer", "this is ridiculous and this is unacceptable", 1.0)
    ps = run(cust, escalated_from=2.0, until_s=80.0)
    assert "rapport.use_name" not in rules(ps)


# ---------------------------------------------------------------- manager


def test_manager_offered_right_after_escalation():
    cust = say("customer", "This is the worst service I have ever had!", 1.0)
    agent = say("agent", "I can transfer you to my supervisor.", 6.0)
    ps = run(cust, agent, escalated_from=3.0)
    assert "escalation.manager_early" in rules(ps)
    mgr = [p for p in ps if p.evidence["rule"] == "escalation.manager_early"][0]
    assert mgr.headline == "Resolve first"


def test_manager_before_any_solution_attempt_even_when_calm():
    agent = say("agent", "Let me get my manager for you.", 5.0)
    assert "escalation.manager_early" in rules(run(agent))


def test_manager_after_trying_and_well_into_the_escalation_is_fine():
    cust = say("customer", "This is the worst service I have ever had!", 1.0)
    a1 = say("agent", "Let me check the order. I can offer a replacement today.", 10.0)
    a2 = say("agent", "I can transfer you to my supervisor.", 80.0)
    ps = run(cust, a1, a2, escalated_from=3.0)
    assert "escalation.manager_early" not in rules(ps)


# ---------------------------------------------------------------- abuse


@pytest.mark.parametrize(
    "text",
    [
        "This is fucking ridiculous.",
        "You're an idiot.",
        "What a load of bullshit.",
        "Oh shut up and listen.",
        "This is f***ing useless.",
        "You are completely useless!",
    ],
)
def test_abuse_from_customer(text):
    ps = run(say("customer", text, 1.0))
    assert "abuse.boundary" in rules(ps)
    p = [p for p in ps if p.evidence["rule"] == "abuse.boundary"][0]
    assert p.severity == "high" and p.detail == "You may set a boundary and follow the abuse policy"


@pytest.mark.parametrize(
    "text",
    [
        "This is really annoying, the app is useless.",  # about the product, not the agent
        "I just want to know where my parcel is.",
        "Scunthorpe is where I live.",
    ],
)
def test_no_abuse(text):
    assert "abuse.boundary" not in rules(run(say("customer", text, 1.0)))


# ---------------------------------------------------------------- user rule files


def test_user_file_adds_and_overrides_and_disables(tmp_path: Path):
    f = tmp_path / "my_rules.toml"
    f.write_text(
        """
[[rule]]
id = "team.no_unfortunately"
description = "Our team avoids 'unfortunately'."
speaker = "agent"
patterns = ["unfortunately"]
headline = "Positive framing"
detail = "Say what you can do rather than what you cannot"
severity = "low"

[[rule]]
id = "defensive.policy"
speaker = "agent"
patterns = ["(rules|policy) (are|is) (rules|policy)"]
headline = "Explain why"
detail = "Our own wording"
severity = "high"

[[rule]]
id = "apology.bare_sorry"
enabled = false
""",
        encoding="utf-8",
    )
    pb = load_playbook(extra=[f])
    assert "team.no_unfortunately" in pb.ids and "apology.bare_sorry" not in pb.ids
    ps = run(say("agent", "Unfortunately it's company policy. Sorry. Rules are rules.", 1.0), playbook=pb)
    assert sorted(rules(ps)) == ["defensive.policy", "team.no_unfortunately"]
    assert [p for p in ps if p.evidence["rule"] == "defensive.policy"][0].severity == "high"
    only = load_playbook(extra=[f], replace=True)
    assert only.ids == ["team.no_unfortunately", "defensive.policy"]


def _bad(tmp_path: Path, body: str) -> str:
    f = tmp_path / "bad_rules.toml"
    f.write_text(body, encoding="utf-8")
    with pytest.raises(PlaybookError) as exc:
        load_playbook(extra=[f])
    msg = str(exc.value)
    assert "\n" not in msg and str(f) in msg
    return msg


RULE = 'id = "x.rule"\nspeaker = "agent"\nheadline = "Two words"\ndetail = "One line"\nseverity = "low"\n'


def test_syntax_error_names_the_file(tmp_path: Path):
    msg = _bad(tmp_path, '[[rule]]\nid = "x.rule"\nseverity = high\n')
    assert "TOML syntax error" in msg and "line 3" in msg
    msg = _bad(tmp_path, '[[rule]]\nid = "x.rule"\npatterns = ["calm down"\n')
    assert "TOML syntax error" in msg


def test_unknown_key_names_rule_and_key(tmp_path: Path):
    msg = _bad(tmp_path, "[[rule]]\n" + RULE + 'patterns = ["x"]\nseverty = "high"\n')
    assert "rule 'x.rule'" in msg and "'severty'" in msg


def test_bad_type_and_bad_values(tmp_path: Path):
    msg = _bad(tmp_path, "[[rule]]\n" + RULE + 'patterns = "calm down"\n')
    assert "rule 'x.rule'" in msg and "patterns" in msg
    msg = _bad(tmp_path, "[[rule]]\n" + RULE.replace('"low"', '"urgent"') + 'patterns = ["x"]\n')
    assert "severity" in msg
    msg = _bad(tmp_path, "[[rule]]\n" + RULE.replace('"agent"', '"supervisor"') + 'patterns = ["x"]\n')
    assert "speaker" in msg
    msg = _bad(tmp_path, "[[rule]]\n" + RULE + 'patterns = ["x"]\nwithin_s = "soon"\n')
    assert "within_s" in msg


def test_bad_patterns(tmp_path: Path):
    msg = _bad(tmp_path, "[[rule]]\n" + RULE + 'patterns = ["calm (down"]\n')
    assert "rule 'x.rule'" in msg and "calm (down" in msg and "missing ')'" in msg
    msg = _bad(tmp_path, "[[rule]]\n" + RULE + 'patterns = ["/fu(ck/"]\n')
    assert "bad regex" in msg
    msg = _bad(tmp_path, "[[rule]]\n" + RULE + 'patterns = ["{nope}"]\n')
    assert "unknown class" in msg
    msg = _bad(tmp_path, 'colour = "blue"\n')
    assert "colour" in msg


def test_missing_user_file(tmp_path: Path):
    with pytest.raises(PlaybookError, match="not found"):
        load_playbook(extra=[tmp_path / "nope.toml"])


# ---------------------------------------------------------------- pattern language


@pytest.mark.parametrize(
    "pattern,text,hit",
    [
        ("that's not my (fault|problem)", "That is NOT my problem!", True),
        ("i am not", "I'm not", True),
        ("can not", "I can't", True),
        ("can not", "I cannot", True),
        ("give me [a|one] minute", "give me one minute", True),
        ("give me [a|one] minute", "give me a minute", True),
        ("give me {num} minutes", "give me 5 minutes", True),
        ("give me {num} minutes", "give me five minutes", True),
        ("transfer you ... manager", "transfer you to my manager", True),
        ("transfer you ... manager", "transfer you to someone who is not the manager", False),
        ("^ but", "well but", False),
        ("^ but", "Okay. But", True),
        ("ref* me", "refund me", True),
        ("/re(fund|turn)/ it", "return it", True),
    ],
)
def test_pattern_language(tmp_path: Path, pattern, text, hit):
    f = tmp_path / "p.toml"
    f.write_text(
        '[[rule]]\nid = "t.p"\nspeaker = "agent"\nheadline = "Test rule"\ndetail = "d"\nseverity = "low"\n'
        f"patterns = [{json.dumps(pattern)}]\n",
        encoding="utf-8",
    )
    pb = load_playbook(extra=[f], replace=True)
    assert (rules(run(say("agent", text, 1.0), playbook=pb)) == ["t.p"]) is hit


def test_acknowledged_customer_is_reminded_only_much_later():
    cust = say("customer", "I have been waiting for three weeks and nobody calls me back!", 1.0)
    agent = say("agent", "I understand, that's really frustrating.", 6.0)
    ack_t = agent[-1].t_s
    ps = run(cust, agent, escalated_from=3.0, until_s=ack_t + 50.0)
    ack = [p for p in ps if p.evidence["rule"] == "empathy.acknowledge"]
    assert len(ack) == 1 and ack[0].t_s >= ack_t + 45.0 - 1e-6


def test_name_spelt_slightly_differently_counts():
    cust = say("customer", "My name is Sarah and I am furious.", 1.0)
    agent = say("agent", "Sara, I will sort this out now.", 30.0)
    ps = run(cust, agent, escalated_from=2.0, until_s=75.0)
    assert "rapport.use_name" not in rules(ps)


def test_as_i_said_without_as():
    # the recogniser often drops the first short word
    assert "defensive.as_i_said" in rules(run(say("agent", "I already said, the refund takes five days.", 1.0)))

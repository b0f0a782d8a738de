"""The streaming commit policy (calmcall.asr.agreement.LocalAgreement), without a model:
decode hypotheses are written by hand, as the words a pass would return (absolute
seconds), and the policy's commits, partials and window trims are checked."""

from __future__ import annotations

import itertools
import math

import pytest

from calmcall.asr.agreement import (
    CUT_OFF_GUARD_S,
    REPEAT_TAIL_GAP_S,
    DecodedPass,
    HypWord,
    LocalAgreement,
)
from calmcall.asr.words import _norm_word
from calmcall.events import Partial, Word


def hyp(*words: tuple[str, float, float]) -> list[HypWord]:
    """Hypothesis from (text, start_s, end_s) triples."""
    return [HypWord(a, b, t, _norm_word(t), 0.9) for t, a, b in words]


def timed(text: str, start_s: float, word_s: float = 0.4, gap_s: float = 0.1) -> list[tuple[str, float, float]]:
    """The words of ``text`` spoken one after another from ``start_s``, each
    ``word_s`` long, ``gap_s`` apart."""
    out = []
    t = start_s
    for w in text.split():
        out.append((w, round(t, 3), round(t + word_s, 3)))
        t += word_s + gap_s
    return out


def interim(a0_s: float, a1_s: float, utt: int = 1, window_start_s: float | None = None) -> DecodedPass:
    return DecodedPass(False, utt, a0_s, a1_s, a0_s if window_start_s is None else window_start_s)


def final(a0_s: float, a1_s: float, utt: int = 1) -> DecodedPass:
    return DecodedPass(True, utt, a0_s, a1_s)


def texts(events: list[Word | Partial]) -> list[str]:
    return [e.text for e in events if isinstance(e, Word)]


def partials(events: list[Word | Partial]) -> list[str]:
    return [e.text for e in events if isinstance(e, Partial)]


SENTENCE = timed("ask not what your country can do for you", 1.0)  # 1.0 .. 5.4 s


def test_two_agreeing_hypotheses_commit_their_common_prefix() -> None:
    pol = LocalAgreement("agent")
    first = pol.apply(hyp(*SENTENCE[:4]), interim(0.6, 3.0), t_s=3.4)
    assert texts(first.events) == []  # nothing to agree with yet
    assert partials(first.events) == ["ask not what your"]
    # the second pass agrees on "ask not what" and reads the 4th word differently
    second = pol.apply(hyp(*SENTENCE[:3], ("you're", 2.5, 2.9), *SENTENCE[4:6]), interim(0.6, 4.0), t_s=4.4)
    assert texts(second.events) == ["ask", "not", "what"]
    assert partials(second.events) == ["you're country can"]
    w = second.words
    assert all(x.t_s == 4.4 and x.speaker == "agent" for x in w)
    assert [(x.start_s, x.end_s) for x in w] == [(a, b) for _t, a, b in SENTENCE[:3]]
    assert pol.committed_end_s == SENTENCE[2][2]


def test_agreement_ignores_case_and_punctuation() -> None:
    pol = LocalAgreement("customer")
    pol.apply(hyp(("Ask", 1.0, 1.4), ("not,", 1.5, 1.9), ("what", 2.0, 2.4)), interim(0.6, 3.0), t_s=3.2)
    up = pol.apply(hyp(("ask", 1.0, 1.4), ("not!", 1.5, 1.9), ("What", 2.0, 2.4), ("your", 2.5, 2.9)), interim(0.6, 4.0), 4.2)
    # the text committed is the second pass' own
    assert texts(up.events) == ["ask", "not!", "What"]


def test_fully_agreeing_last_word_at_the_window_end_is_held_back() -> None:
    pol = LocalAgreement("agent")
    words = hyp(*SENTENCE[:3])  # "what" ends at 2.4 s
    pol.apply(words, interim(0.6, 2.5), t_s=2.8)
    up = pol.apply(words, interim(0.6, 2.4 + CUT_OFF_GUARD_S - 0.01), t_s=3.0)
    assert texts(up.events) == ["ask", "not"]
    assert partials(up.events) == ["what"]
    # the same agreement with the word well inside the window commits it
    pol2 = LocalAgreement("agent")
    pol2.apply(words, interim(0.6, 3.0), t_s=3.2)
    assert texts(pol2.apply(words, interim(0.6, 3.0), t_s=3.4).events) == ["ask", "not", "what"]


def test_final_pass_commits_every_new_word_and_clears_the_partial() -> None:
    pol = LocalAgreement("agent")
    pol.apply(hyp(*SENTENCE[:4]), interim(0.6, 3.0), t_s=3.2)
    pol.apply(hyp(*SENTENCE[:6]), interim(0.6, 4.0), t_s=4.3)  # commits "ask not what your"
    up = pol.apply(hyp(*SENTENCE), final(0.6, 5.8), t_s=6.2)
    assert texts(up.events) == ["country", "can", "do", "for", "you"]
    assert partials(up.events) == [""]  # the display is cleared
    assert not pol.partial_shown
    assert pol.committed_end_s == SENTENCE[-1][2]


def test_words_inside_already_committed_time_are_not_committed_again() -> None:
    pol = LocalAgreement("agent")
    pol.apply(hyp(*SENTENCE[:3]), final(0.6, 2.8), t_s=3.1)  # ... "what" ends 2.4 s
    # next utterance's pass re-decodes the end of the old one (left context, jitter)
    again = hyp(("what", 2.0 + 0.08, 2.4 + 0.04), ("your", 2.45, 2.9), ("country", 3.0, 3.4))
    up = pol.apply(again, final(1.6, 3.8, utt=2), t_s=4.1)
    assert texts(up.events) == ["your", "country"]
    # a word starting inside committed time is clamped to start at the committed end
    assert up.words[0].start_s == pytest.approx(2.45)
    pol2 = LocalAgreement("agent")
    pol2.apply(hyp(("one", 1.0, 1.5)), final(0.6, 1.9), t_s=2.0)
    up2 = pol2.apply(hyp(("two", 1.3, 1.9)), final(0.6, 2.3, utt=2), t_s=2.6)  # midpoint 1.6 > 1.5
    assert texts(up2.events) == ["two"]
    assert up2.words[0].start_s == 1.5 and up2.words[0].end_s == 1.9


def test_words_before_the_window_start_are_left_context_only() -> None:
    pol = LocalAgreement("agent")
    # a pass with 2 s of left context: words before a0_s were never meant to be committed
    up = pol.apply(hyp(("earlier", 0.5, 0.9), ("now", 2.2, 2.6)), final(2.0, 3.0), t_s=3.3)
    assert texts(up.events) == ["now"]


def test_a_repeated_committed_tail_is_dropped_but_a_spoken_repetition_is_kept() -> None:
    pol = LocalAgreement("agent")
    pol.apply(hyp(("no", 1.0, 1.3), ("thanks", 1.4, 1.8)), final(0.6, 2.2), t_s=2.4)
    # the next window starts with the committed "no thanks" again, timestamps shifted
    # past the committed end by the new window's leading silence
    dup = hyp(("no", 1.9, 2.0), ("thanks", 2.0, 2.05), ("bye", 2.3, 2.6))
    assert texts(pol.apply(dup, final(1.8, 3.0, utt=2), t_s=3.2).events) == ["bye"]
    # the speaker says it again a second later: those are new words
    pol2 = LocalAgreement("agent")
    pol2.apply(hyp(("no", 1.0, 1.3), ("thanks", 1.4, 1.8)), final(0.6, 2.2), t_s=2.4)
    later = 1.8 + REPEAT_TAIL_GAP_S + 0.5
    said = hyp(("no", later, later + 0.3), ("thanks", later + 0.4, later + 0.8))
    assert texts(pol2.apply(said, final(later - 0.4, later + 1.2, utt=2), t_s=later + 1.4).events) == ["no", "thanks"]


def test_repeated_words_inside_one_hypothesis_are_all_committed() -> None:
    pol = LocalAgreement("agent")
    h = hyp(*timed("no no no I said no", 1.0))
    pol.apply(h, interim(0.6, 4.5), t_s=4.7)
    up = pol.apply(h, interim(0.6, 5.0), t_s=5.2)
    assert texts(up.events) == ["no", "no", "no", "I", "said", "no"]


def test_a_trailing_thank_you_seen_by_one_interim_pass_is_not_committed() -> None:
    pol = LocalAgreement("agent")
    words = SENTENCE[:4]
    pol.apply(hyp(*words, ("Thank", 3.0, 3.2), ("you.", 3.2, 3.4)), interim(0.6, 3.6), t_s=3.9)
    up = pol.apply(hyp(*words, *SENTENCE[4:6]), interim(0.6, 4.5), t_s=4.8)
    assert texts(up.events) == ["ask", "not", "what", "your"]
    assert partials(up.events) == ["country can"]
    up = pol.apply(hyp(*SENTENCE), final(0.6, 5.8), t_s=6.1)
    assert texts(up.events) == ["country", "can", "do", "for", "you"]


def test_empty_decodes() -> None:
    pol = LocalAgreement("agent")
    assert pol.apply([], interim(0.6, 2.0), t_s=2.2).events == []  # no partial to clear
    assert pol.apply([], final(0.6, 2.4), t_s=2.6).events == []
    assert pol.committed_end_s == -math.inf
    pol.apply(hyp(*SENTENCE[:2]), interim(0.6, 2.5), t_s=2.7)
    assert pol.partial_shown
    up = pol.apply([], interim(0.6, 3.5), t_s=3.7)  # the pass lost the words: clear the display
    assert up.events == [Partial(3.7, "agent", "")] and not pol.partial_shown
    # nothing agreed with the empty pass; the final pass still commits
    assert texts(pol.apply(hyp(*SENTENCE[:2]), final(0.6, 3.9), t_s=4.1).events) == ["ask", "not"]


def test_previous_hypothesis_of_another_utterance_is_not_agreed_with() -> None:
    pol = LocalAgreement("agent")
    pol.apply(hyp(*SENTENCE[:3]), interim(0.6, 3.0, utt=1), t_s=3.2)
    up = pol.apply(hyp(*SENTENCE[:3]), interim(0.6, 3.0, utt=2), t_s=3.4)
    assert texts(up.events) == []


def test_window_trim_after_a_commit_in_a_long_window() -> None:
    pol = LocalAgreement("agent", trim_after_s=8.0)
    long = timed(" ".join(f"w{i}" for i in range(20)), 1.0)  # 1.0 .. 10.9 s
    pol.apply(hyp(*long[:17]), interim(0.6, 9.5), t_s=9.8)  # window 8.9 s, nothing agreed yet
    up = pol.apply(hyp(*long[:19]), interim(0.6, 10.5), t_s=10.8)
    assert len(up.words) == 17
    assert up.trim_to_s == pol.committed_end_s == long[16][2]
    # the next pass starts from the trimmed window: words before it are not new
    up2 = pol.apply(hyp(*long[17:]), interim(up.trim_to_s, 11.5, window_start_s=up.trim_to_s), t_s=11.8)
    assert [w.text for w in up2.words] == ["w17", "w18"] and up2.trim_to_s is None  # window 2.1 s: no trim


def test_no_window_trim_in_a_short_window_or_without_a_commit() -> None:
    pol = LocalAgreement("agent", trim_after_s=8.0)
    pol.apply(hyp(*SENTENCE[:4]), interim(0.6, 3.0), t_s=3.2)
    up = pol.apply(hyp(*SENTENCE[:6]), interim(0.6, 4.0), t_s=4.2)
    assert up.words and up.trim_to_s is None  # window 3.4 s
    pol2 = LocalAgreement("agent", trim_after_s=2.0)
    pol2.apply(hyp(*SENTENCE[:4]), interim(0.6, 3.0), t_s=3.2)
    up2 = pol2.apply(hyp(("other", 1.0, 1.4)), interim(0.6, 4.0), t_s=4.2)
    assert up2.words == [] and up2.trim_to_s is None  # long window, nothing committed
    assert pol2.apply(hyp(*SENTENCE), final(0.6, 6.0), t_s=6.3).trim_to_s is None  # finals never trim


def test_prompt_is_the_committed_words_before_the_window() -> None:
    pol = LocalAgreement("agent")
    assert pol.prompt(10.0, 4) is None
    pol.apply(hyp(*SENTENCE), final(0.6, 5.8), t_s=6.0)
    assert pol.prompt(10.0, 3) == "do for you"
    assert pol.prompt(2.0, 3) == "ask not"  # "what" ends 2.4 s, after the window start
    assert pol.prompt(10.0, 0) is None


def _stream_sentence(words: list[tuple[str, float, float]], step_s: float) -> list[Word | Partial]:
    """Feed the policy the passes a transcriber would run on one utterance with an
    interim pass every ``step_s`` of audio: each pass sees the words that end before
    its window end, the last one possibly cut off (read as another word); then the final pass."""
    pol = LocalAgreement("agent")
    events: list[Word | Partial] = []
    a0, end = 0.6, words[-1][2] + 0.4
    t = a0 + step_s
    while t < end:
        seen = [w for w in words if w[2] <= t]
        cut = [w for w in words if w[1] < t < w[2]]
        h = seen + [(w[0][:2] + "-", w[1], t) for w in cut]
        events += pol.apply(hyp(*h), interim(a0, t), t_s=t + 0.3).events
        t += step_s
    events += pol.apply(hyp(*words), final(a0, end), t_s=end + 0.3).events
    return events


@pytest.mark.parametrize("step_s", [0.5, 0.7, 1.0, 1.3, 2.0, 10.0])
def test_committed_text_does_not_depend_on_the_interim_schedule(step_s: float) -> None:
    """Block size and decoder speed change when the interim passes happen; the words
    committed by the end of the utterance, and their times, must not change."""
    events = _stream_sentence(SENTENCE, step_s)
    words = [e for e in events if isinstance(e, Word)]
    assert [(w.text, w.start_s, w.end_s) for w in words] == SENTENCE
    assert all(w.t_s >= w.end_s for w in words)
    for a, b in itertools.pairwise(words):
        assert b.start_s >= a.end_s
    assert partials(events)[-1:] in ([], [""])  # any partial shown is cleared at the end
    if step_s < 3:
        assert words[0].t_s < SENTENCE[-1][2]  # something was committed before the end

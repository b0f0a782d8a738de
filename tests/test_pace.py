"""Pace from words: the syllable counter, words over elapsed turn time, the calm pace's
plausibility bounds, and the pace cue's wording (calmcall.pace, Pipeline._pace)."""

from __future__ import annotations

import re
import shutil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calmcall.config import Config
from calmcall.events import Baseline, BaselineReady, Prompt, Word
from calmcall.pace import PLAUSIBLE_WPM, WordPace, plausible_wpm, stretches, syllables, text_syllables, words_over_elapsed
from calmcall.pipeline import MIN_CALIBRATION_WORDS, _SpeakerState

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")

# Hand-counted syllables. DEV: the words the counter's exception table was written
# against (the project's scripted call lines); HELD: counted afterwards, never tuned on
# (LJSpeech/JFK/stereo transcripts and call-centre vocabulary: 1 miss, "react").
# HELD2: a second list counted after the counter was frozen (its misses are left).
DEV = """thank:1 you:1 for:1 calling:2 my:1 name:1 is:1 sam:1 let:1 me:1 pull:1 up:1 your:1 account:2
can:1 see:1 charge:1 mean:1 check:1 where:1 it:1 came:1 from:1 could:1 confirm:2 last:1 four:1 digits:2 card:1
file:1 please:1 understand:3 and:1 i:1 am:1 sorry:2 has:1 taken:2 this:1 long:1 look:1 into:2 right:1 now:1
found:1 order:2 was:1 sent:1 twice:1 will:1 refund:2 second:2 payment:2 today:2 should:1 three:1 to:1 five:1
days:1 anything:3 else:1 help:1 with:1 while:1 have:1 open:2 added:2 note:1 so:1 that:1 nobody:3 charges:2
again:2 also:2 get:1 email:2 reference:3 number:2 call:1 patience:2 good:1 afternoon:3 hi:1 about:2 bill:1
fourteenth:2 eighty:2 dollars:2 sure:1 ends:1 okay:2 sounds:1 fine:1 no:1 think:1 everything:4 did:1 not:1
expect:2 at:1 all:1 how:1 take:1 great:1 thanks:1 sorting:2 out:1 third:1 time:1 called:1 ever:2 fixes:2
sick:1 of:1 being:2 passed:1 around:2 person:2 next:1 what:1 going:2 do:1 ticket:2 escalate:3 billing:2
reverse:2 confirmation:4 straight:1 away:2 really:2 frustrating:3 promise:2 doing:2 fix:1 finish:2
explaining:3 because:2 already:3 approved:2 reach:1 week:1 sir:1 need:1 listen:2 moment:2 well:1 problem:2
charged:1 month:1 then:1 never:2 even:2 ordered:2 box:1 first:1 place:1 subscription:3 separate:3 looks:1
like:1 placed:1 same:1 day:1 website:2 wait:1 single:2 somebody:3 promises:3 enough:2 want:1 sorted:2
hear:1 happened:2 explain:2 cancel:2 block:1 online:2 orders:2 confirms:2 when:1 money:2 back:1 usually:4
takes:1 working:2 far:1 too:1 slow:1 marked:1 urgent:2 before:2 weekend:2 alright:2 suppose:2 does:1
happen:2 yes:1 very:2 trouble:2""".split()
HELD = """in:1 comparatively:5 modern:2 produced:2 the:1 books:1 which:1 were:1 immediate:4 predecessors:4
true:1 printed:2 book:1 worth:1 mention:2 passing:2 as:1 an:1 example:3 typography:4 been:1 surpassed:2
than:1 operations:4 ugly:2 ones:1 fellow:2 americans:4 ask:1 country:2 he:1 began:2 a:1 confused:2
complaint:2 against:2 wizard:2 who:1 had:1 vanished:2 behind:2 curtain:2 on:1 left:1 horizon:3 seems:1
extremely:3 distant:2 customer:3 service:2 manager:3 supervisor:4 policy:3 department:3 responsibility:6
apologize:4 apology:4 specific:3 frustration:3 upset:2 absolutely:4 definitely:4 unfortunately:5
appreciate:4 situation:4 information:4 delivery:4 package:2 shipping:2 tracking:2 address:2 telephone:3
password:2 security:4 verification:5 transaction:3 balance:2 interest:3 credit:2 debit:2 available:4
possible:3 issue:2 invoice:2 receipt:2 discount:2 compensation:4 escalation:4 minutes:2 hours:1
tomorrow:3 yesterday:3 machine:2 engine:2 little:2 table:2 simple:2 handle:2 smile:1 style:1 miles:1
tables:2 cycle:2 able:2 whole:1 rule:1 create:2 react:2 video:3 radio:3 idea:3 area:3 quiet:2 science:2
poem:2 saying:2 trying:2 playing:2 played:1 stayed:1 wanted:2 needed:2 looked:1 asked:1 closed:1
boxes:2 classes:2 uses:2 lines:1 notes:1 makes:1 goes:1 shoes:1 everyone:3 someone:2 anyone:3""".split()
HELD2 = """representative:5 apologised:4 offered:2 voucher:2 driver:2 damaged:2 parcel:2 evening:2 however:3
remained:2 unhappy:3 demanded:3 immediately:5 whenever:3 beautiful:3 business:2 families:3 quickly:2
honestly:3 anyway:3 phone:1 replaced:2 processing:3 processed:2 recorded:3 cancelled:2 guarantee:3
warranty:3 eligible:4 technician:3 appointment:3 schedule:2 rescheduled:3 literally:4 basically:3
obviously:4 experience:4 premium:3 period:3 audio:3 various:3 serious:3 ruined:2 created:3 naturally:4
earlier:3 twenty:2""".split()


def _score(items: list[str]) -> tuple[float, int, int]:
    ok = ref = got = 0
    for it in items:
        w, n = it.rsplit(":", 1)
        g = syllables(w)
        ok += g == int(n)
        ref += int(n)
        got += g
    return ok / len(items), ref, got


def test_syllable_counter_on_hand_counted_words() -> None:
    acc, ref, got = _score(DEV)
    assert acc >= 0.99 and abs(got - ref) <= 2
    acc, ref, got = _score(HELD)
    assert acc >= 0.98 and abs(got - ref) / ref <= 0.01
    acc, ref, got = _score(HELD2)  # frozen-counter list: ~87 % of words, total within 5 %
    assert acc >= 0.85 and abs(got - ref) / ref <= 0.05


def test_syllables_of_numbers_marks_and_compounds() -> None:
    assert syllables("80") == 2 and syllables("15") == 2 and syllables("7") == 2
    assert syllables("$80.") == 2 and syllables("1,000") == 3  # one thousand
    assert syllables("411111") == 6  # long digit runs are read digit by digit
    assert syllables("****") == 4  # a masked card group: one per digit
    assert syllables("follow-up") == 3 and syllables("forty-one") == 3
    assert syllables("Americans,") == 4 and syllables("don't") == 1 and syllables("couldn't") == 2
    assert syllables("...") == 0 and syllables("I") == 1
    assert text_syllables("ask not what your country can do for you") == 10


def _words(times: list[tuple[float, float]], text: str = "word", *, latency_s: float = 1.0, speaker: str = "agent") -> list[Word]:
    return [
        Word(t_s=b + latency_s, start_s=a, end_s=b, text=text, speaker=speaker, confidence=1.0)  # type: ignore[arg-type]
        for a, b in times
    ]


def test_words_over_elapsed_includes_short_pauses_and_splits_at_long_ones() -> None:
    # 10 words of 0.3 s with 0.1 s gaps, a 1.5 s pause inside (kept), then a 2.5 s pause (new stretch)
    times = [(0.4 * i, 0.4 * i + 0.3) for i in range(5)]
    times += [(3.2 + 0.4 * i, 3.5 + 0.4 * i) for i in range(5)]  # 1.5 s pause after 1.9 s
    times += [(7.6 + 0.4 * i, 7.9 + 0.4 * i) for i in range(6)]  # 2.5 s pause after 5.1 s
    parts = stretches(_words(times))
    assert [len(p) for p in parts] == [10, 6]
    wpm, syl_s, n, n_syl, elapsed = words_over_elapsed(parts[0])  # type: ignore[misc]
    # elapsed: the span of the word middles (0.15 .. 4.95 s) extended by one word slot
    assert n == 10 and elapsed == pytest.approx(4.8 * 10 / 9) and wpm == pytest.approx(112.5)
    assert syl_s == pytest.approx(10 / elapsed) and n_syl == 10


def test_word_pace_uses_committed_words_of_the_current_stretch() -> None:
    wp = WordPace()
    for w in _words([(0.4 * i, 0.4 * i + 0.3) for i in range(12)]):  # 12 words over 4.7 s
        wp.add(w)
    assert wp.reading(2.0) is None  # only 3 committed by 2.0 s (t_s = end + 1 s)
    r = wp.reading(10.0)
    assert r is not None and r.words == 12 and r.wpm == pytest.approx(150.0) and not r.settled  # a word every 0.4 s
    # the trailing window: words starting at most window_s before the last end
    short = wp.reading(10.0, 2.0)
    assert short is not None and short.words == 5 and short.start_s == pytest.approx(2.8)
    assert not short.settled  # a short window cut from a longer stretch is not settled
    # voice activity after a 3 s silence: a new stretch, with no committed word yet
    for k in range(50):
        wp.observe(4.7 + 0.1 * k, active=k == 0)
    wp.observe(8.0, active=True)
    assert wp.reading(10.0) is None
    for w in _words([(8.0 + 0.3 * i, 8.25 + 0.3 * i) for i in range(6)]):
        wp.add(w)
    r = wp.reading(12.0)
    assert r is not None and r.words == 6 and r.start_s == pytest.approx(8.0)


def test_reading_settles_after_9_s_or_40_syllables() -> None:
    wp = WordPace()
    for w in _words([(0.5 * i, 0.5 * i + 0.4) for i in range(20)], text="thank"):  # 1 syllable each
        wp.add(w)
    r = wp.reading(30.0)
    assert (
        r is not None and r.elapsed_s == pytest.approx(9.0) and r.wpm == pytest.approx(120.0) and r.settled
    )  # outgrew the 9 s window
    short = wp.reading(30.0, 2.5)
    assert short is not None and short.words == 5 and not short.settled
    wp2 = WordPace()
    for w in _words([(0.5 * i, 0.5 * i + 0.4) for i in range(10)], text="responsibility"):  # 6 each
        wp2.add(w)
    r2 = wp2.reading(30.0)
    assert r2 is not None and r2.elapsed_s < 9.0 and r2.syllables == 60 and r2.settled


# ------------------------------------------------------------------ calm pace bounds


def _state_with_baseline(t_b: float = 10.0) -> _SpeakerState:
    st = _SpeakerState("agent", Config(), 10.0, None)
    st.baseline = Baseline(f0_hz=100.0, level_db=-30.0, rate_syl_s=4.0, wpm=None, speech_s=10.0)
    st.baseline_t_s = t_b
    return st


def test_calm_pace_is_words_over_elapsed_time() -> None:
    st = _state_with_baseline()
    assert st.calib_words is not None
    # 20 words, one every 0.4 s: 150 wpm; then a later word
    st.calib_words += _words([(0.4 * i, 0.4 * i + 0.35) for i in range(20)], text="thank")
    st.calib_words += _words([(11.0, 11.3)])
    ev = st.calibrate_wpm(12.0)
    assert isinstance(ev, BaselineReady) and ev.baseline.wpm == pytest.approx(150.0, abs=0.05)
    assert st.calm_wpm() == pytest.approx(150.0, abs=0.05) and st.calm_pace == pytest.approx((150.0, 2.5))


@pytest.mark.parametrize("gap_s, expect_wpm", [(1.9, 28.6), (0.0, 342.9)])
def test_implausible_calm_pace_is_refused_and_said(gap_s: float, expect_wpm: float) -> None:
    """The VAD's 'first 10 s of speech' mostly silence (1.9 s pauses between words) or a
    runaway transcript (0.175 s per word): the calm pace is not used, and the state says why."""
    st = _state_with_baseline(t_b=40.0)
    dur = 0.2 if gap_s else 0.175
    times = [((dur + gap_s) * i, (dur + gap_s) * i + dur) for i in range(MIN_CALIBRATION_WORDS + 12)]
    st.calib_words += _words(times)  # type: ignore[operator]
    assert st.calibrate_wpm(55.0) is None
    note = st.calm_pace_refused
    assert note is not None and note["wpm"] == pytest.approx(expect_wpm, abs=0.5)
    assert "outside the plausible 90-260" in note["reason"] and "not used" in note["reason"]
    assert st.baseline is not None and st.baseline.wpm is None and st.calm_wpm() is None


def test_a_profile_calm_pace_outside_the_bounds_is_not_quoted() -> None:
    st = _SpeakerState("agent", Config(), 10.0, Baseline(100.0, -30.0, 4.0, wpm=32.0, source="profile"))
    assert st.calm_wpm() is None and st.nuclei_per_word(1.3) == 1.3
    assert plausible_wpm(90.0) and plausible_wpm(260.0) and not plausible_wpm(89.9) and not plausible_wpm(None)


_CALM_RE = re.compile(r"calm pace is (\d+)")


def _fast_call(tmp_path, *, calm_wpm: int, fast_wpm: int):  # type: ignore[no-untyped-def]
    import scripted

    s = scripted.Script()
    for i in range(4):
        s.say("agent", scripted.AGENT_CALM[i], wpm=calm_wpm)
        s.say("customer", scripted.CUSTOMER_CALM[i])
    s.say("agent", scripted.AGENT_PACE, wpm=fast_wpm, label="pace")
    return scripted.render_call(s.turns, tmp_path / f"c{calm_wpm}_{fast_wpm}.wav"), tmp_path / f"c{calm_wpm}_{fast_wpm}.wav"


@needs_espeak
def test_no_cue_says_a_calm_pace_outside_90_260(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A profile with a calm pace of 32 wpm (the bug report) and learned calm paces from
    transcripts whose timing is stretched or squeezed: no cue quotes a calm pace outside
    90-260 wpm; where the calm pace is refused the ceiling is named instead."""
    from truth_words import run_with_words, truth_words

    from calmcall.audio_io import load_call

    truth, wav = _fast_call(tmp_path, calm_wpm=150, fast_wpm=240)
    call = load_call(wav)
    texts: list[str] = []
    profile = Baseline(90.0, -31.7, 2.8, wpm=32.0, source="profile")
    for scale, prof in ((1.0, profile), (1.0, None), (3.0, None), (0.3, None)):
        words = truth_words(truth)
        if scale != 1.0:  # the calm turns' word times squeezed or stretched around their starts
            words = [
                Word(
                    t_s=w.t_s,
                    start_s=w.start_s,
                    end_s=w.start_s + (w.end_s - w.start_s) * scale,
                    text=w.text,
                    speaker=w.speaker,
                    confidence=1.0,
                )
                for w in words
            ]
        events, _ = run_with_words(call, words, config=Config(), profile=prof)
        texts += [e.detail for e in events if isinstance(e, Prompt)]
    paces = [int(m.group(1)) for t in texts for m in [_CALM_RE.search(t)] if m]
    assert all(PLAUSIBLE_WPM[0] <= v <= PLAUSIBLE_WPM[1] for v in paces), texts
    assert any("ceiling" in t for t in texts), texts  # the refused / 32 wpm cases name the ceiling
    assert paces, texts  # and the plausible case quotes its calm pace


@settings(max_examples=60, deadline=None)
@given(calm=st.floats(min_value=5.0, max_value=600.0), now=st.floats(min_value=1.0, max_value=60.0))
def test_calm_wpm_is_always_plausible_or_none(calm: float, now: float) -> None:
    st_ = _SpeakerState("agent", Config(), 10.0, Baseline(100.0, -30.0, 4.0, wpm=calm, source="profile"))
    v = st_.calm_wpm()
    assert v is None or PLAUSIBLE_WPM[0] <= v <= PLAUSIBLE_WPM[1]

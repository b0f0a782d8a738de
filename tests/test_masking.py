"""Payment-card masking: spoken and digit card numbers, security codes, what is left
alone, and the timing of held-back words."""

from __future__ import annotations

import pytest

from calmcall.events import Word
from calmcall.text.masking import CardMasker, MaskContext, luhn_ok, mask_partial, mask_text, words_to_digits

WORD_S = 0.36
LATENCY_S = 1.2
CARD_WORDS = "four one one one one one one one one one one one one one one one"  # 4111 1111 1111 1111


def say(text: str, start_s: float, speaker: str = "customer", word_s: float = WORD_S) -> list[Word]:
    out = []
    t = start_s
    for raw in text.split():
        end = t + word_s - 0.05
        out.append(
            Word(
                t_s=round(end + LATENCY_S, 3),
                start_s=round(t, 3),
                end_s=round(end, 3),
                text=" " + raw,
                speaker=speaker,
                confidence=0.9,
            )
        )
        t += word_s
    return out


def feed_all(m: CardMasker, words: list[Word], end_s: float | None = None) -> list[Word]:
    out = []
    for w in words:  # one at a time, as the transcriber commits them
        out += m.feed([w])
    out += m.flush(end_s if end_s is not None else words[-1].t_s + 1.0)
    return out


def texts(words: list[Word]) -> str:
    return " ".join(w.text.strip() for w in words)


def test_luhn():
    assert luhn_ok("4111111111111111") and luhn_ok("79927398713")
    assert not luhn_ok("4111111111111112") and not luhn_ok("")


def test_words_to_digits():
    assert words_to_digits(CARD_WORDS) == "4111111111111111"
    assert words_to_digits("four double one triple one oh zero") == "41111100"
    assert words_to_digits("forty one eleven") == "4111"
    assert words_to_digits("four hundred and twelve") == "412"
    assert words_to_digits("one twenty three") == "123"


# ---------------------------------------------------------------- spoken card numbers


def test_spoken_card_number_is_masked_in_words():
    words = say("my card number is " + CARD_WORDS + " thanks", 1.0)
    out = feed_all(CardMasker(), words)
    assert len(out) == len(words)
    assert texts(out) == "my card number is " + " ".join(["*"] * 12) + " 1 1 1 1 thanks"
    assert "four" not in texts(out)


def test_spoken_card_number_without_keywords_is_masked_by_luhn():
    out = feed_all(CardMasker(), say("it is " + CARD_WORDS + " okay", 1.0))
    assert texts(out).startswith("it is * * * *") and "four" not in texts(out)


def test_spoken_card_number_in_mask_text():
    assert mask_text(CARD_WORDS) == " ".join(["*"] * 12 + ["1"] * 4)
    doubles = "It's four double one double one one one one one one one one one one one one."
    assert mask_text(doubles) == "It's " + " ".join(["*"] * 12) + " 1 1 1 1."


def test_double_and_oh_variants():
    # 4000 0000 0000 0002 is Luhn-valid
    spoken = "four oh oh oh zero zero zero zero double oh oh zero oh oh zero two"
    assert words_to_digits(spoken) == "4000000000000002" and luhn_ok("4000000000000002")
    assert mask_text("card: " + spoken) == "card: " + " ".join(["*"] * 12) + " 0 0 0 2"
    assert mask_text("security code four hundred and twelve") == "security code * * and **"


def test_digit_card_number_is_masked():
    assert mask_text("my card is 4111 1111 1111 1111") == "my card is **** **** **** 1111"
    assert mask_text("4111-1111-1111-1111.") == "****-****-****-1111."
    assert mask_text("number:4111111111111111") == "number:************1111"
    words = say("it's 4111 1111 1111 1111 and", 2.0)
    out = feed_all(CardMasker(), words)
    assert texts(out) == "it's **** **** **** 1111 and"


# ---------------------------------------------------------------- left alone


def test_non_luhn_sixteen_digits_is_not_masked():
    # an order or account number: fails the Luhn check, no card talk -> left alone
    assert not luhn_ok("4111111111111112")
    assert mask_text("my order number is 4111 1111 1111 1112") == "my order number is 4111 1111 1111 1112"
    words = say("the reference is " + CARD_WORDS[:-3] + "two please", 1.0)
    assert texts(feed_all(CardMasker(), words)) == texts(words)


def test_phone_numbers_are_not_masked():
    assert mask_text("call me on 0207 946 0123") == "call me on 0207 946 0123"
    phone = "oh two oh seven nine four six oh one two three"
    words = say("my phone number is " + phone + " thank you", 1.0)
    assert texts(feed_all(CardMasker(), words)) == texts(words)


def test_everyday_numbers_are_untouched():
    for s in [
        "one moment please",
        "I called two or three times",
        "it cost 129 pounds",
        "oh I see",
        "give me five minutes",
        "for two weeks",
        "in 2024",
    ]:
        assert mask_text(s) == s
        words = say(s, 1.0)
        assert texts(feed_all(CardMasker(), words)) == texts(words)


# ---------------------------------------------------------------- security codes


def test_cvv_after_security_code_is_masked():
    words = say("and the security code is one two three okay", 1.0)
    out = feed_all(CardMasker(), words)
    assert texts(out) == "and the security code is * * * okay"
    assert mask_text("the security code is one two three") == "the security code is * * *"
    assert mask_text("CVV: 123") == "CVV: ***"
    assert mask_text("the C.V.C. is 4321") == "the C.V.C. is ****"
    assert mask_text("card verification value one twenty three") == "card verification value * * *"


def test_cvv_asked_by_agent_answered_by_customer():
    ctx = MaskContext()
    agent, cust = CardMasker(context=ctx), CardMasker(context=ctx)
    feed_all(agent, say("can you read me the three digit security code", 1.0, speaker="agent"))
    out = feed_all(cust, say("yes it is seven three one", 5.0))
    assert texts(out) == "yes it is * * *"
    # without the shared context the customer's masker cannot know
    out = feed_all(CardMasker(), say("yes it is seven three one", 5.0))
    assert texts(out) == "yes it is seven three one"


def test_three_digits_without_trigger_are_kept():
    assert mask_text("I have 123 items") == "I have 123 items"


def test_code_right_after_card_number_is_masked():
    out = mask_text("4111 1111 1111 1111 expiry 1225 and 737")
    assert out == "**** **** **** 1111 expiry **** and ***"


# ---------------------------------------------------------------- card conversation


def test_misheard_digit_still_masked_when_talking_about_a_card():
    ctx = MaskContext()
    agent, cust = CardMasker(context=ctx), CardMasker(context=ctx)
    feed_all(agent, say("could I take the long card number please", 1.0, speaker="agent"))
    bad = CARD_WORDS[: -len("one")] + "two"  # 4111 1111 1111 1112: fails Luhn
    out = feed_all(cust, say("yes " + bad, 5.0))
    assert "four" not in texts(out) and texts(out).endswith("* 1 1 1 2")


def test_half_a_number_after_a_long_pause_is_masked_in_card_talk():
    ctx = MaskContext()
    m = CardMasker(context=ctx)
    first = say("my visa is four one one one one one one one", 1.0)
    second = say("one one one one one one one one", first[-1].end_s + 3.0)  # > 2 s pause
    out = feed_all(m, first + second)
    assert "one" not in texts(out) and "four" not in texts(out)


def test_partials_mask_half_numbers():
    assert mask_partial("my number is four one one one one one one") == "my number is * * * * * * *"
    assert mask_partial("so that is 4111 11") == "so that is **** **"
    assert mask_partial("I called twice") == "I called twice"


# ---------------------------------------------------------------- streaming behaviour


def test_held_words_are_released_with_correct_timings():
    words = say("it is " + CARD_WORDS + " thanks", 1.0)
    m = CardMasker()
    released: list[Word] = []
    for w in words[:-1]:
        got = m.feed([w])
        if w.text.strip() in ("it", "is"):
            assert got == [w]  # plain words pass straight through
        else:
            assert got == [] and m.holding
        released += got
    ender = words[-1]
    got = m.feed([ender])
    assert not m.holding
    assert [w.text.strip() for w in got][-1] == "thanks" and len(got) == 17
    for orig, new in zip(words[2:], got):
        assert (new.start_s, new.end_s, new.speaker, new.confidence) == (orig.start_s, orig.end_s, orig.speaker, orig.confidence)
        assert new.t_s == max(orig.t_s, ender.t_s)
    assert got[-1] == ender


def test_flush_and_poll_release_with_now():
    words = say("it is " + CARD_WORDS, 1.0)
    m = CardMasker()
    out = m.feed(words)
    assert texts(out) == "it is" and m.holding
    due = m.release_due_s
    assert due == pytest.approx(words[-1].end_s + m.release_after_s)
    assert m.poll(due - 0.1) == []
    got = m.poll(due + 0.05)
    assert len(got) == 16 and all(w.t_s == due + 0.05 for w in got)
    assert texts(got) == " ".join(["*"] * 12 + ["1"] * 4)
    m.feed(say("one two", 30.0))
    got = m.flush(40.0)
    assert texts(got) == "one two" and all(w.t_s == 40.0 for w in got) and not m.holding


def test_gap_ends_a_run():
    m = CardMasker()
    a = say("one two", 1.0)
    b = say("three", a[-1].end_s + 2.5)
    out = m.feed(a + b)
    assert texts(out) == "one two"  # released when "three" came 2.5 s later
    assert all(w.t_s == b[0].t_s for w in out)
    assert m.holding


def test_trailing_homophone_is_a_word():
    m = CardMasker()
    out = feed_all(m, say("I have one for you", 1.0))
    assert texts(out) == "I have one for you"


def test_filler_inside_a_card_number_is_kept_and_does_not_split_it():
    spoken = "four one one one uh one one one one one one one one um one one one one"
    out = texts(feed_all(CardMasker(), say(spoken, 1.0)))
    assert "four" not in out and "uh" in out and out.endswith("1 1 1 1")


# ---------------------------------------------------------------- what Whisper really prints
# (tiny.en on espeak-ng speech: digits glued to commas, "four" heard as "for", groups
# garbled into extra digits, a spoken CVV heard as "10023", "CVV" heard as "CV")


def test_real_recogniser_output_formats():
    garbled = [" Yes,", " it's", " for", " 111,", " 111,", " 111,", " 111,", " 111,", " 111,", " 111."]
    out = texts(feed_all(CardMasker(), _words(garbled)))
    assert "1" not in out and out.startswith("Yes, it's *")
    glued = [" My", " card", " number", " is", " 4", ",10011", ",1011", ",111", ",10011", " and"]
    out = texts(feed_all(CardMasker(), _words(glued)))
    assert out == "My card number is * ,***** ,**** ,*** ,*0011 and"  # 17 digits, card talk: last 4 kept
    assert mask_text(" and the security code is 10023.") == " and the security code is *****."
    assert mask_text(" The CV is seven, three, seven.") == " The CV is *, *, *."
    assert mask_text("I waited for 3 weeks") == "I waited for 3 weeks"
    assert mask_text("I paid for 2 things") == "I paid for 2 things"


def _words(texts_: list[str], start_s: float = 1.0) -> list[Word]:
    out, t = [], start_s
    for raw in texts_:
        out.append(
            Word(
                t_s=round(t + 1.5, 3), start_s=round(t, 3), end_s=round(t + 0.3, 3), text=raw, speaker="customer", confidence=0.8
            )
        )
        t += 0.35
    return out


def test_digits_glued_to_a_letter_by_the_recogniser_are_still_masked() -> None:
    """tiny.en heard a group of a card number as "C17066" (cardaudio benchmark): the
    digits of such a token belong to the run and are masked; ordinary tokens with a
    digit or two ("10am", "mp3", "B12") are left alone."""
    assert mask_text("my card is 4111 C1111 1111 1111 thanks") == "my card is **** C**** **** 1111 thanks"
    assert mask_text("it is 4111 1111x 1111 1111") == "it is **** ****x **** 1111"
    for text in ("call me at 10am or on the 2nd", "the mp3 and the 4G plan", "vitamin B12"):
        assert mask_text(text) == text

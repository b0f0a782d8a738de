"""The recording's redaction policy alone: no threads, no files (calmcall.qa.redaction)."""

from __future__ import annotations

import numpy as np
import pytest

from calmcall.events import Partial, Word
from calmcall.qa.redaction import VAD_FRAME_N, RedactionPolicy
from calmcall.text.masking import MASK

SR = 16000


def _tone(n: int, level: float = 0.3) -> np.ndarray:
    t = np.arange(n) / SR
    return (level * 32767 * np.sin(2 * np.pi * 220 * t)).astype(np.int16)


def _noise(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 3, n).astype(np.int16)


def _feed(pol: RedactionPolicy, x: np.ndarray, block_n: int = 1600) -> None:
    for b in range(0, len(x), block_n):
        pol.feed_audio({r: x[b : b + block_n] for r in pol.roles})


def _word(start_s: float, end_s: float, text: str, speaker: str = "agent") -> Word:
    return Word(t_s=end_s + 1.0, start_s=start_s, end_s=end_s, text=text, speaker=speaker, confidence=0.9)  # type: ignore[arg-type]


def test_release_limit_is_the_delay_behind_the_audio_and_the_settled_time() -> None:
    pol = RedactionPolicy(("agent",), delay_s=2.0, uncovered_s=0.0, cvv_window_s=0.0)
    _feed(pol, _noise(5 * SR))
    assert pol.release_limit() == 3 * SR
    assert pol.release_limit(settled_s=1.5) == int(1.5 * SR)


def test_a_raw_word_not_yet_back_from_the_masker_holds_its_audio() -> None:
    pol = RedactionPolicy(("agent",), delay_s=1.0, extend_s=0.0, uncovered_s=0.0, cvv_window_s=0.0)
    _feed(pol, _noise(10 * SR))
    w = _word(3.0, 3.4, "hello")
    pol.transcribed([w])
    assert pol.release_limit() == int((3.0 - 0.3) * SR)
    pol.word(w)
    assert pol.release_limit() == 9 * SR


def test_a_masked_word_is_silenced_with_its_pad_and_counted_once() -> None:
    pol = RedactionPolicy(("agent", "customer"), delay_s=1.0, extend_s=0.0, uncovered_s=0.0, cvv_window_s=0.0)
    _feed(pol, _noise(6 * SR))
    w = _word(2.0, 2.5, MASK * 4)
    pol.transcribed([w])
    pol.word(w)
    limit = pol.release_limit()
    mask = pol.release(limit)
    assert mask is not None and len(mask) == limit
    on = np.flatnonzero(mask)
    assert on[0] == int((2.0 - 0.3) * SR) and on[-1] + 1 == int((2.5 + 0.3) * SR)
    assert pol.silenced_n["masked"] == len(on) and pol.masked_spans == 1
    assert pol.released_n == limit
    # released audio is never released again; nothing more to silence
    assert pol.release(limit) is None
    assert pol.silenced_n["masked"] == len(on)


def test_a_masked_span_grows_over_the_speakers_stretch_of_speech() -> None:
    x = np.concatenate([_noise(SR), _tone(3 * SR), _noise(4 * SR)])  # speech 1-4 s
    pol = RedactionPolicy(("agent",), delay_s=1.0, uncovered_s=0.0, cvv_window_s=0.0, card_window_s=0.0)
    _feed(pol, x)
    w = _word(2.0, 2.4, MASK * 4)
    pol.transcribed([w])
    pol.word(w)
    mask = pol.release(pol.release_limit())
    assert mask is not None
    on = np.flatnonzero(mask)
    # the whole stretch 1-4 s (voice activity frames + pad), not only the word
    assert on[0] <= int((1.0 - 0.2) * SR) and on[-1] >= int((4.0 + 0.2) * SR)
    assert on[-1] < int(5.0 * SR)


def test_a_late_mask_is_counted_and_warned_not_applied() -> None:
    warned: list[tuple[str, str]] = []
    pol = RedactionPolicy(("agent",), delay_s=1.0, extend_s=0.0, uncovered_s=0.0, on_warning=lambda k, t: warned.append((k, t)))
    _feed(pol, _noise(6 * SR))
    pol.release(pol.release_limit())
    pol.word(_word(1.0, 1.5, MASK * 4))
    assert pol.late_masks == 1 and warned and warned[0][0] == "late"
    assert "after its audio was written" in warned[0][1]


def test_digit_runs_in_words_and_partials_are_silenced() -> None:
    pol = RedactionPolicy(("agent",), delay_s=1.0, extend_s=0.0, uncovered_s=0.0, cvv_window_s=0.0)
    _feed(pol, _noise(20 * SR))
    for k, text in enumerate(("four", "two", "seven")):
        w = _word(2.0 + 0.4 * k, 2.3 + 0.4 * k, text)
        pol.transcribed([w])
        pol.word(w)
    pol.partial(Partial(t_s=12.0, speaker="agent", text="it is nine eight seven six"))
    assert pol.evidence_spans["digits"] == 2
    pol.finish()
    mask = pol.release(pol.end_n)
    assert mask is not None
    assert mask[int(2.1 * SR)] and mask[int(3.0 * SR)] and mask[int(11.9 * SR)]
    assert not mask[int(1.0 * SR)] and not mask[int(15.0 * SR)]
    assert pol.silenced_n["digits"] == int(mask.sum())


def test_untranscribed_speech_is_silenced_and_covered_speech_kept() -> None:
    x = np.concatenate([_noise(SR), _tone(2 * SR), _noise(2 * SR), _tone(2 * SR), _noise(2 * SR)])
    pol = RedactionPolicy(("agent",), delay_s=1.0, cvv_window_s=0.0, card_window_s=0.0)
    _feed(pol, x)
    words = [_word(1.0 + 0.3 * k, 1.3 + 0.3 * k, "so") for k in range(7)]  # cover 1-3 s only
    pol.transcribed(words)
    for w in words:
        pol.word(w)
    pol.finish()
    mask = pol.release(pol.end_n)
    assert mask is not None
    assert not mask[int(2.0 * SR)]  # transcribed speech kept
    assert mask[int(5.5 * SR)] and mask[int(6.5 * SR)]  # the sentence without words
    assert pol.evidence_spans["untranscribed"] == 1


def test_a_cvv_window_silences_the_readers_speech_after_a_card_number() -> None:
    n = 30 * SR
    agent, customer = _noise(n, 1), _noise(n, 2)
    customer[10 * SR : 11 * SR] = _tone(SR)  # the code, 8 s after the number
    pol = RedactionPolicy(("agent", "customer"), delay_s=1.0, extend_s=0.0, uncovered_s=0.0, card_window_s=0.0)
    for b in range(0, n, 1600):
        pol.feed_audio({"agent": agent[b : b + 1600], "customer": customer[b : b + 1600]})
    pol.word(_word(1.0, 2.0, MASK * 16, speaker="customer"))
    pol.finish()
    mask = pol.release(pol.end_n)
    assert mask is not None and mask[int(10.5 * SR)]
    assert not mask[int(5.0 * SR)]  # no speech there: kept
    assert pol.silenced_n["cvv_window"] >= SR


def test_a_card_request_opens_the_card_window_on_the_customer() -> None:
    n = 40 * SR
    agent, customer = _noise(n, 1), _noise(n, 2)
    customer[20 * SR : 21 * SR] = _tone(SR)
    customer[35 * SR : 36 * SR] = _tone(SR)  # after the 30 s window: kept
    pol = RedactionPolicy(("agent", "customer"), delay_s=1.0, extend_s=0.0, uncovered_s=0.0, cvv_window_s=0.0)
    for b in range(0, n, 1600):
        pol.feed_audio({"agent": agent[b : b + 1600], "customer": customer[b : b + 1600]})
    for k, text in enumerate("what is the card number".split()):
        pol.word(_word(1.0 + 0.3 * k, 1.25 + 0.3 * k, text))
    assert pol.evidence_spans["card_window"] == 1
    pol.finish()
    mask = pol.release(pol.end_n)
    assert mask is not None and mask[int(20.5 * SR)] and not mask[int(35.5 * SR)]


def test_transcript_lost_caps_every_later_release_point() -> None:
    pol = RedactionPolicy(("agent",), delay_s=2.0, uncovered_s=0.0)
    _feed(pol, _noise(10 * SR))
    cut = pol.transcript_lost(settled_s=5.0)
    assert cut == 5 * SR and pol.end_n == 5 * SR
    _feed(pol, _noise(10 * SR))
    assert pol.release_limit() == 5 * SR
    assert pol.transcript_lost(settled_s=9.0) == 5 * SR  # unchanged


def test_skip_hands_audio_on_without_counting() -> None:
    pol = RedactionPolicy(("agent",), delay_s=1.0, extend_s=0.0, uncovered_s=0.0)
    _feed(pol, _noise(6 * SR))
    pol.word(_word(2.0, 2.5, MASK * 4))
    pol.skip(4 * SR)
    assert pol.released_n == 4 * SR and pol.silenced_n["masked"] == 0


def test_block_size_does_not_change_the_masks() -> None:
    x = np.concatenate([_noise(SR), _tone(2 * SR), _noise(3 * SR)])
    masks = []
    for block_n in (VAD_FRAME_N * 3 + 7, 1600, 4000):
        pol = RedactionPolicy(("agent",), delay_s=1.0, cvv_window_s=0.0)
        _feed(pol, x, block_n)
        pol.finish()
        m = pol.release(pol.end_n)
        assert m is not None
        masks.append(m)
    assert all(np.array_equal(masks[0], m) for m in masks[1:])


def test_bad_settings_say_which_to_fix() -> None:
    with pytest.raises(ValueError, match="pad_s"):
        RedactionPolicy(("agent",), pad_s=-1.0)
    with pytest.raises(ValueError, match="role"):
        RedactionPolicy(())


def _two_channel_policy(language: str, **kw: float) -> tuple[RedactionPolicy, int]:
    """A 40 s call, customer speech (a tone) at 20-21 s, after the 30 s card window at
    35-36 s; every other rule off but the one under test."""
    n = 40 * SR
    agent, customer = _noise(n, 1), _noise(n, 2)
    customer[20 * SR : 21 * SR] = _tone(SR)
    customer[35 * SR : 36 * SR] = _tone(SR)
    settings = {"delay_s": 1.0, "extend_s": 0.0, "uncovered_s": 0.0, "cvv_window_s": 0.0, **kw}
    pol = RedactionPolicy(("agent", "customer"), language=language, **settings)  # type: ignore[arg-type]
    for b in range(0, n, 1600):
        pol.feed_audio({"agent": agent[b : b + 1600], "customer": customer[b : b + 1600]})
    return pol, n


def _say(pol: RedactionPolicy, text: str, start_s: float = 1.0, speaker: str = "agent") -> None:
    for k, tok in enumerate(text.split()):
        pol.word(_word(start_s + 0.3 * k, start_s + 0.25 + 0.3 * k, tok, speaker=speaker))


# French card requests as a recogniser may write them: accents dropped, elisions kept,
# split ("d expiration") or glued ("dexpiration")
FRENCH_CARD_REQUESTS = (
    "quel est le numéro de votre carte",
    "quel est le numero de votre carte",
    "pouvez-vous me lire les seize chiffres",
    "et la date d'expiration",
    "et la date d\u2019expiration",
    "et la date d expiration",
    "et la date dexpiration",
    "vous réglez par carte bancaire",
    "je vais prendre votre carte de crédit",
    "le nom du titulaire",
)


@pytest.mark.parametrize("text", FRENCH_CARD_REQUESTS)
def test_a_french_card_request_opens_the_card_window_in_a_french_call(text: str) -> None:
    pol, _ = _two_channel_policy("fr")
    _say(pol, text)
    assert pol.evidence_spans["card_window"] == 1, text
    pol.finish()
    mask = pol.release(pol.end_n)
    assert mask is not None and mask[int(20.5 * SR)] and not mask[int(35.5 * SR)]


@pytest.mark.parametrize("language", ["en", "fr", "auto"])
def test_french_card_request_words_are_read_per_language(language: str) -> None:
    """English keywords in an English call, French in a French one, both in auto; a bare
    "carte" ("bloquer la carte") and small talk open nothing."""
    expect = {"quel est le numéro de votre carte": language != "en", "what is the card number": language != "fr"}
    for text, opens in expect.items():
        pol, _ = _two_channel_policy(language)
        _say(pol, text)
        assert pol.evidence_spans["card_window"] == int(opens), (language, text)
    for text in ("je voudrais bloquer la carte", "j'ai mal au dos depuis hier", "bonjour madame je vous écoute"):
        pol, _ = _two_channel_policy(language)
        _say(pol, text)
        assert pol.evidence_spans["card_window"] == 0, (language, text)
        assert pol.release(pol.release_limit()) is None


def test_a_french_card_request_in_a_partial_opens_the_card_window() -> None:
    pol, _ = _two_channel_policy("fr")
    pol.partial(Partial(t_s=2.0, speaker="agent", text="votre date d'expiration s'il vous plaît"))
    assert pol.evidence_spans["card_window"] == 1


@pytest.mark.parametrize(
    "text", ["quel est le cryptogramme", "et le code de sécurité", "et le code de securite", "les trois chiffres au dos"]
)
def test_a_french_security_code_keyword_opens_the_cvv_window(text: str) -> None:
    pol, _ = _two_channel_policy("fr", card_window_s=0.0, cvv_window_s=20.0)
    _say(pol, text, start_s=10.0)
    pol.finish()
    mask = pol.release(pol.end_n)
    assert mask is not None and mask[int(20.5 * SR)], text  # the code, ~10 s after the keyword
    assert not mask[int(35.5 * SR)]  # beyond the 20 s window: kept
    assert pol.silenced_n["cvv_window"] >= SR
    # the same words in an English call arm nothing
    pol, _ = _two_channel_policy("en", card_window_s=0.0, cvv_window_s=20.0)
    _say(pol, text, start_s=10.0)
    pol.finish()
    assert pol.release(pol.end_n) is None


def test_french_number_words_are_a_digit_run_in_a_french_call() -> None:
    """French "sept trois neuf" (a security code the masker lets through outside a card
    conversation) is 3 digits of a run in French, nothing in English."""
    for language, runs in (("fr", 1), ("en", 0)):
        pol, _ = _two_channel_policy(language, card_window_s=0.0)
        _say(pol, "c'est sept trois neuf", start_s=20.0, speaker="customer")
        assert pol.evidence_spans["digits"] == runs, language
    pol, _ = _two_channel_policy("fr", card_window_s=0.0)
    pol.partial(Partial(t_s=21.0, speaker="customer", text="quatre-vingt-onze soixante-dix"))
    assert pol.evidence_spans["digits"] == 1


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="language"):
        RedactionPolicy(("agent",), language="de")

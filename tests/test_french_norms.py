"""Per-language pace norms (calmcall.norms): French syllables, the French default
ceiling, and what stays the same."""

from __future__ import annotations

import pytest

from calmcall.config import Config, config_from_dict, with_language
from calmcall.events import Word
from calmcall.norms import NORMS, apply_norms, norms_for, syllable_counter
from calmcall.pace import WordPace, syllables, words_over_elapsed
from calmcall.text.syllables_fr import fr_number_syllables, syllables_fr, text_syllables_fr

#: hand-counted, as spoken in conversation (mute final e not counted)
HAND = {
    "porte": 1,
    "portes": 1,
    "idée": 2,
    "réel": 2,
    "parlent": 1,
    "moment": 2,
    "naïf": 2,
    "payer": 2,
    "bonjour": 2,
    "désolée": 3,
    "politique": 3,
    "entreprise": 3,
    "comprendre": 2,
    "frustration": 3,
    "solution": 3,
    "ensemble": 2,
    "responsable": 3,
    "c'est": 1,
    "l'entreprise": 3,
    "aujourd'hui": 3,
    "téléphone": 3,
    "commande": 2,
    "arrivée": 3,
    "semaines": 2,
    "attendu": 3,
    "calmez-vous": 3,
    "je": 1,
    "vous": 1,
    "votre": 1,
    "problème": 2,
    "question": 2,
    "vraiment": 2,
    "monsieur": 2,
    "une": 1,
    "nous": 1,
    "allons": 2,
    "trouver": 2,
    "service": 2,
    "merci": 2,
    "carte": 1,
    "numéro": 3,
    "peut-être": 2,
    "80": 2,
    "91": 3,
    "21": 3,
    "2026": 4,
    "****": 4,
    "que": 1,
}


def test_french_syllables_on_a_hand_counted_list() -> None:
    wrong = {w: (syllables_fr(w), n) for w, n in HAND.items() if syllables_fr(w) != n}
    assert not wrong, wrong
    assert text_syllables_fr("Je comprends votre frustration") == 1 + 2 + 1 + 3


def test_english_counter_miscounts_french() -> None:
    """Why French needs its own counter: the English rules count mute endings."""
    words = ["entreprise", "comprendre", "parlent", "désolée", "semaines", "responsable"]
    assert sum(syllables(w) for w in words) != sum(syllables_fr(w) for w in words)


@pytest.mark.parametrize(
    "n,syl", [(0, 2), (1, 1), (17, 2), (20, 1), (21, 3), (70, 3), (71, 4), (80, 2), (99, 4), (100, 1), (300, 2)]
)
def test_french_number_syllables(n: int, syl: int) -> None:
    assert fr_number_syllables(n) == syl


def test_french_ceiling_follows_the_syllable_rate_ratio() -> None:
    assert NORMS["en"].pace_ceiling_wpm == Config().targets.pace_ceiling_wpm == 185.0
    assert NORMS["fr"].pace_ceiling_wpm == round(185.0 * 7.18 / 6.19) == 215
    assert norms_for("fr").wpm_factor == pytest.approx(1.16, abs=0.005)
    assert norms_for("auto") is NORMS["en"]


def test_language_flag_moves_only_the_default_ceiling() -> None:
    fr = with_language(Config(), "fr")
    assert fr.targets.pace_ceiling_wpm == 215.0
    assert fr.targets.pace_margin == Config().targets.pace_margin  # relative margins are language independent
    assert with_language(Config(), "en").targets.pace_ceiling_wpm == 185.0
    own = config_from_dict({"targets": {"pace_ceiling_wpm": 200}})
    assert with_language(own, "fr").targets.pace_ceiling_wpm == 200.0  # the user's value is kept
    from_file = config_from_dict({"language": {"call": "fr"}})
    assert from_file.targets.pace_ceiling_wpm == 215.0
    both = config_from_dict({"language": {"call": "fr"}, "targets": {"pace_ceiling_wpm": 185}})
    assert both.targets.pace_ceiling_wpm == 185.0
    assert apply_norms(Config(), "en") == Config()


def test_word_pace_counts_french_syllables() -> None:
    text = "je comprends votre frustration nous allons trouver une solution ensemble".split()
    words = [Word(0.4 * i + 0.3, 0.4 * i, 0.4 * i + 0.3, w, "agent", 0.9) for i, w in enumerate(text)]
    fr = WordPace(syllable_fn=syllable_counter("fr"))
    en = WordPace()
    for w in words:
        fr.add(w)
        en.add(w)
    r_fr, r_en = fr.reading(10.0), en.reading(10.0)
    assert r_fr is not None and r_en is not None
    assert r_fr.wpm == r_en.wpm  # words per minute do not depend on the language
    assert r_fr.syllables == sum(syllables_fr(w) for w in text) != r_en.syllables
    assert words_over_elapsed(words, syllable_counter("fr"))[3] == r_fr.syllables


def test_auto_counter_uses_french_rules_for_french_words() -> None:
    count = syllable_counter("auto")
    assert count("désolée") == syllables_fr("désolée")
    assert count("sorry") == syllables("sorry")

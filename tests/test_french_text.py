"""French text stages: the normaliser, the French playbook and French card masking
(text level; the spoken path is in tests/test_french_scripted.py)."""

from __future__ import annotations

import pytest

from calmcall.events import Word
from calmcall.text.masking import CardMasker, MaskContext, mask_partial, mask_text, words_to_digits
from calmcall.text.normalize_fr import fr_number_value, normalize_text_fr
from calmcall.text.playbook import LanguageRoutedCoach, PhraseCoach, load_playbook

# ---------------------------------------------------------------- normaliser


@pytest.mark.parametrize(
    "a,b",
    [
        ("Ce n'est pas ma faute", "c'est pas ma faute"),  # ne dropped
        ("C'est la politique", "C est la politique"),  # elision, apostrophe lost
        ("C'est la politique", "cest la politique"),  # apostrophe and space lost
        ("C 'est la politique", "c'est la politique"),  # Whisper's word split "C" + "'est"
        ("Je suis désolée", "je suis desolee"),  # accents
        ("Calmez-vous", "calmez vous"),  # hyphen
        ("comme je vous l'ai déjà dit", "comme je vous l ai deja dit"),
        ("Je n'y peux rien", "j'y peux rien"),
        ("M. Dupont", "Monsieur Dupont"),
        ("Mme Martin", "madame martin"),
    ],
)
def test_spellings_normalise_to_the_same_tokens(a: str, b: str) -> None:
    assert normalize_text_fr(a) == normalize_text_fr(b)


def test_normaliser_keeps_what_differs() -> None:
    assert normalize_text_fr("c'est ma faute") != normalize_text_fr("c'est pas ma faute")
    assert normalize_text_fr("je m'appelle") == ["je", "me", "appelle"]  # m' is "me", not monsieur
    assert normalize_text_fr("un") == ["un"]  # the article stays a word


@pytest.mark.parametrize(
    "parts,value",
    [
        (["quatre", "vingt", "onze"], 91),
        (["soixante", "dix"], 70),
        (["soixante", "dix", "sept"], 77),
        (["vingt", "et", "un"], 21),
        (["quatre", "vingts"], 80),
        (["dix", "huit"], 18),
        (["deux", "cent", "trois"], 203),
        (["soixante", "et", "onze"], 71),
        (["septante", "deux"], 72),
    ],
)
def test_french_number_values(parts: list[str], value: int) -> None:
    assert fr_number_value(parts) == value


def test_hyphenated_numbers_become_digits() -> None:
    assert normalize_text_fr("quatre-vingt-onze soixante-dix trois") == ["91", "70", "3"]
    assert fr_number_value(["vingt", "deux", "trois"]) is None  # two numbers, not one


# ---------------------------------------------------------------- playbook

FR = load_playbook(language="fr")
EN = load_playbook()


def _run(
    pb, lines: list[tuple[str, str]], *, escalated: bool = False, name: str | None = None, gap_s: float = 2.5
) -> list[tuple[float, str]]:
    """Feed ``lines`` ((speaker, text), one word every 0.35 s) to a coach; returns
    (time, rule id) of every prompt."""
    pc = PhraseCoach(pb, customer_name=name)
    t = 0.0
    out = []
    for spk, text in lines:
        for w in text.split():
            out += pc.on_word(Word(t + 0.3, t, t + 0.3, w, spk, 0.9), customer_escalated=escalated)  # type: ignore[arg-type]
            t += 0.35
        t += gap_s
        out += pc.tick(t, customer_escalated=escalated)
    out += pc.finish(t + 5)
    return [(p.t_s, p.evidence["rule"]) for p in out]


def _rules(pb, text: str, **kw) -> list[str]:
    return [r for _, r in _run(pb, [("agent", text)], **kw)]


def test_french_playbook_has_the_english_rule_ids() -> None:
    assert FR.language == "fr"
    assert set(FR.ids) == set(EN.ids)
    for r in FR.rules:  # French wording, not the English text
        assert r.headline != EN.rule(r.id).headline and r.detail != EN.rule(r.id).detail


@pytest.mark.parametrize(
    "text,rule",
    [
        ("Je suis désolée.", "apology.bare_sorry"),
        ("Désolé, mais je ne peux rien faire de plus.", "apology.bare_sorry"),
        ("Toutes mes excuses.", "apology.bare_sorry"),
        ("Calmez-vous, monsieur.", "defensive.calm_down"),
        ("Calmez vous s'il vous plaît", "defensive.calm_down"),
        ("Ce n'est pas ma faute.", "defensive.not_my_fault"),
        ("C'est pas mon problème.", "defensive.not_my_fault"),
        ("Je n'y peux rien.", "defensive.not_my_fault"),
        ("C'est la politique de l'entreprise.", "defensive.policy"),
        ("C 'est la politique de l 'entreprise.", "defensive.policy"),
        ("Comme je vous l'ai déjà dit, le colis est parti.", "defensive.as_i_said"),
        ("Je vous l'ai déjà dit.", "defensive.as_i_said"),
        ("Vous devez comprendre que le délai est normal.", "defensive.lecture"),
        ("Vous n'écoutez pas.", "defensive.lecture"),
        ("Je vais vous passer mon responsable.", "escalation.manager_early"),
        ("Je peux vous passer mon superieur.", "escalation.manager_early"),  # Whisper drops the accent
    ],
)
def test_agent_phrases_fire(text: str, rule: str) -> None:
    assert rule in _rules(FR, text)


@pytest.mark.parametrize(
    "text",
    [
        "Je suis désolée pour ce retard.",
        "Désolé que vous ayez attendu si longtemps.",
        "Je vous présente mes excuses pour cette erreur.",
        "Mes excuses pour le dérangement.",
        "Pardon ?",
        "C'est ma faute, je corrige tout de suite.",
        "Je comprends votre frustration, je regarde votre dossier.",
    ],
)
def test_full_apologies_and_good_phrases_stay_quiet(text: str) -> None:
    assert _rules(FR, text) == []


def test_contradiction_right_after_the_customer() -> None:
    lines = [
        ("customer", "Votre service est vraiment nul, j'attends depuis trois semaines"),
        ("agent", "Non madame, vous avez tort, le colis est parti hier"),
    ]
    assert "argue.contradict" in [r for _, r in _run(FR, lines, gap_s=0.5)]


def test_empathy_absence_and_its_satisfier() -> None:
    silent = [
        ("customer", "C'est inadmissible"),
        ("agent", "Alors je regarde le dossier"),
        ("agent", "Le colis est au dépôt"),
        ("agent", "Il arrive demain"),
        ("agent", "Voilà"),
    ]
    assert "empathy.acknowledge" in [r for _, r in _run(FR, silent, escalated=True, gap_s=4.0)]
    acknowledged = [
        ("customer", "C'est inadmissible"),
        ("agent", "Je comprends votre frustration"),
        ("agent", "Le colis est au dépôt"),
        ("agent", "Il arrive demain"),
        ("agent", "Voilà"),
    ]
    assert "empathy.acknowledge" not in [r for _, r in _run(FR, acknowledged, escalated=True, gap_s=4.0)]


def test_customer_name_is_picked_up_and_used() -> None:
    lines = [("customer", "Bonjour, je m'appelle Dupont")] + [("agent", "Je regarde votre commande tout de suite")] * 20
    fired = _run(FR, lines, escalated=True, gap_s=3.0)
    assert "rapport.use_name" in [r for _, r in fired]
    # saying the name (with Madame) satisfies the rule
    lines_named = [("customer", "Bonjour, je m'appelle Dupont")] + [("agent", "Madame Dupont, je regarde votre commande")] * 20
    assert "rapport.use_name" not in [r for _, r in _run(FR, lines_named, escalated=True, gap_s=3.0)]


def test_use_name_detail_carries_the_name() -> None:
    pc = PhraseCoach(FR, customer_name="Madame Dupont")
    assert pc.customer_name == "Madame Dupont"
    t = 0.0
    prompts = []
    for _ in range(30):
        prompts += pc.on_word(Word(t + 0.3, t, t + 0.3, "d'accord", "agent", 0.9), customer_escalated=True)
        t += 3.0
        prompts += pc.tick(t, customer_escalated=True)
    named = [p for p in prompts if p.evidence["rule"] == "rapport.use_name"]
    assert named
    assert named[0].detail == "Nommez la personne : « Madame Dupont, voici ce que je vais faire »"
    pc = PhraseCoach(FR, customer_name="Dupont")
    t, prompts = 0.0, []
    for _ in range(30):
        prompts += pc.on_word(Word(t + 0.3, t, t + 0.3, "d'accord", "agent", 0.9), customer_escalated=True)
        t += 3.0
        prompts += pc.tick(t, customer_escalated=True)
    assert "« Madame/Monsieur Dupont, voici" in next(p.detail for p in prompts if p.evidence["rule"] == "rapport.use_name")


def test_manager_after_a_solution_attempt_is_fine() -> None:
    text = "Je vais vérifier votre dossier. Bon, je peux vous passer mon responsable si vous voulez."
    assert "escalation.manager_early" not in _rules(FR, text)


def test_customer_insult_fires_the_boundary_rule() -> None:
    assert "abuse.boundary" in [r for _, r in _run(FR, [("customer", "Vous êtes complètement incompétent")])]


def test_user_french_rule_file_uses_the_french_normaliser(tmp_path) -> None:
    f = tmp_path / "mes_regles.toml"
    f.write_text(
        '[[rule]]\nid = "maison.pas_possible"\nspeaker = "agent"\npatterns = ["ce n\'est pas possible"]\n'
        'headline = "Proposez autre"\ndetail = "Dites ce qui est possible"\nseverity = "low"\n',
        encoding="utf-8",
    )
    pb = load_playbook(extra=[f], language="fr")
    assert "maison.pas_possible" in _rules(pb, "C'est pas possible.")


def test_routed_coach_holds_words_until_the_language_is_known() -> None:
    from calmcall.asr.language import LanguageLock

    lock = LanguageLock(None)
    coach = LanguageRoutedCoach({"en": PhraseCoach(EN), "fr": PhraseCoach(FR)}, lock)
    out = []
    t = 0.0
    for w in "Calmez-vous, monsieur.".split():
        out += coach.on_word(Word(t + 0.3, t, t + 0.3, w, "agent", 0.9))
        t += 0.35
    assert out == []  # undecided: held
    lock._language = "fr"  # what LanguageLock.resolve does once an utterance is long enough
    out += coach.tick(t + 3.0)
    assert [p.evidence["rule"] for p in out] == ["defensive.calm_down"]
    assert out[0].headline == FR.rule("defensive.calm_down").headline


def test_unknown_playbook_language_is_refused() -> None:
    from calmcall.text.playbook import PlaybookError

    with pytest.raises(PlaybookError, match="en, fr"):
        load_playbook(language="de")


# ---------------------------------------------------------------- masking

CARD = "quatre neuf sept deux un zéro un un un un un un un un un zéro"  # 4972 1011 1111 1110, Luhn-valid


def test_french_digit_words_are_masked() -> None:
    assert words_to_digits(CARD, "fr") == "4972101111111110"
    out = mask_text(f"mon numéro de carte est {CARD}", language="fr")
    assert out == "mon numéro de carte est " + "* " * 12 + "1 1 1 0"  # kept digits as figures, as in English
    assert mask_text(CARD, language="fr").startswith("* " * 12)  # Luhn-valid: masked without the word "carte"


@pytest.mark.parametrize(
    "spoken,digits",
    [
        ("quatre-vingt-onze", "91"),
        ("quatre vingt onze", "91"),
        ("soixante-dix", "70"),
        ("soixante dix sept", "77"),
        ("soixante et onze", "71"),
        ("vingt et un", "21"),
        ("quatre-vingts", "80"),
        ("dix-huit", "18"),
        ("zéro zéro", "00"),
        ("double quatre", "44"),
        ("deux fois quatre", "44"),
        ("triple un", "111"),
        ("septante-deux nonante", "7290"),
        ("deux cent trois", "203"),
    ],
)
def test_french_number_words_to_digits(spoken: str, digits: str) -> None:
    assert words_to_digits(spoken, "fr") == digits


def test_card_read_in_groups_of_two_digit_numbers() -> None:
    # 4111 1111 1111 1111 read in pairs: "quarante et un onze onze ..."
    spoken = "quarante et un onze onze onze onze onze onze onze"
    assert words_to_digits(spoken, "fr") == "4111111111111111"
    masked = mask_text(spoken, language="fr")
    assert "quarante" not in masked and masked.endswith("11")  # only the last four digits are shown


@pytest.mark.parametrize("keyword", ["le cryptogramme", "le code de sécurité", "le CVV", "les trois chiffres au dos"])
def test_security_code_after_french_keywords(keyword: str) -> None:
    assert mask_text(f"{keyword} c'est sept huit neuf", language="fr").endswith("* * *")


@pytest.mark.parametrize("keyword", ["le code au dos", "le numéro inscrit au dos", "le code indiqué au dos"])
def test_security_code_after_what_is_written_on_the_back(keyword: str) -> None:
    assert mask_text(f"{keyword} c'est sept huit neuf", language="fr").endswith("* * *")


def test_a_bare_au_dos_opens_no_security_code_window() -> None:
    """ "mal au dos" is not a question about the card's back: the number after it stays."""
    assert "* * *" not in mask_text("j'ai mal au dos depuis sept huit neuf jours", language="fr")


def test_security_code_asked_by_agent_masks_customer_answer() -> None:
    ctx = MaskContext(language="fr")
    agent, customer = CardMasker(context=ctx), CardMasker(context=ctx)
    t = 0.0
    for w in "Et le cryptogramme au dos de la carte ?".split():
        agent.feed([Word(t + 0.3, t, t + 0.3, w, "agent", 0.9)])
        t += 0.35
    out = []
    for w in "sept huit neuf".split():
        out += customer.feed([Word(t + 0.3, t, t + 0.3, w, "customer", 0.9)])
        t += 0.35
    out += customer.flush(t + 1)
    assert [w.text for w in out] == ["*", "*", "*"]


def test_ordinary_french_numbers_are_not_masked() -> None:
    text = "j'ai commandé deux colis il y a trois semaines, livraison le vingt et un"
    assert mask_text(text, language="fr") == text


def test_partial_masks_half_a_number() -> None:
    assert "quatre" not in mask_partial("c'est quatre neuf sept deux un zéro", language="fr")


def test_english_masking_ignores_french_words_and_auto_reads_both() -> None:
    assert words_to_digits(CARD, "en") != "4972101111111110"
    assert words_to_digits(CARD, "auto") == "4972101111111110"
    assert words_to_digits("four nine seven two", "auto") == "4972"

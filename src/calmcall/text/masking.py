"""Payment-card masking for transcripts: card numbers and security codes never leave
the process in clear.

What is masked
--------------
* **Card numbers**: a run of 13-19 digits, spoken as digits ("4111 1111 1111 1111",
  "4111-1111-…") or as number words ("four one one one …", "oh"/"zero"/"nought" for 0,
  "double four", "triple one", "forty one", "eleven", "four hundred and twelve"), that
  passes the Luhn check. Every digit but the last four becomes ``*``
  ("**** **** **** 1111"; a spoken word "four" becomes "*").
  A 13-19 digit run that fails the Luhn check is *not* masked: it is taken for a
  phone, order or account number.
* **In a card conversation** (the word "card", "visa", "mastercard", "amex", "credit" or
  "debit" said by either speaker within the last 30 s, when both speakers share a
  :class:`MaskContext`): any 12-19 digit run is masked (keep last four) even if the Luhn
  check fails (a misrecognised digit must not un-mask the number), and runs of 6-11
  digits are masked fully (half a number read with a long pause).
* Runs longer than 19 digits are masked fully (a card number read with its expiry or
  code, or a card number the recogniser garbled into extra digits: "4111" heard as
  "111, 111, …").
* **Security codes**: a 2-8 digit run within 20 s after "security code", "CVV",
  "CVC", "CV2", "CSC", "CID" or "card verification" (also "CV"/"CVB", as small
  recognisers hear "CVV"; either speaker when the context is shared) is masked fully,
  and so is any 3-5 digit run within 60 s after a card number was masked (CVV or expiry
  date read right after the number).

What is not
-----------
Numbers split by a word other than a filler ("four one one one, sorry, one one …") or
by a pause longer than ``gap_s`` (2 s) are separate runs; outside a card conversation
each piece is then too short to be masked. Homophones the recogniser writes as words
("for" for four, "to" for two) count as digits only next to other digits. Card
numbers the recogniser garbles into other words, names, addresses, expiry dates read
on their own, and bank account / sort codes are not masked.

Streaming
---------
:class:`CardMasker` holds number-like words back until their run ends (a non-number
word arrives, or a gap longer than ``gap_s``), then releases them masked. A released
word keeps ``start_s``/``end_s``; its ``t_s`` becomes the time it was actually
released: ``max(word.t_s, t_s of the word that ended the run)`` (or ``now_s`` for
:meth:`CardMasker.flush` / :meth:`CardMasker.poll`).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import cast

from ..events import Word
from .normalize import NUMBER_WORDS, TENS_WORDS, fold

__all__ = [
    "AUTO",
    "EN",
    "FR",
    "CardMasker",
    "KeywordTracker",
    "Lexicon",
    "MaskContext",
    "card_request",
    "lexicon",
    "luhn_ok",
    "mask_partial",
    "mask_text",
    "spoken_digit_count",
    "words_to_digits",
]

MASK = "*"

_UNITS = {k: v for k, v in NUMBER_WORDS.items() if v < 10}
_UNITS.update({"oh": 0, "o": 0, "nought": 0, "naught": 0, "nil": 0})
_TEENS = {k: v for k, v in NUMBER_WORDS.items() if v >= 10}
_TENS = {k: v // 10 for k, v in TENS_WORDS.items()}
_MULT = {"double": 2, "triple": 3, "treble": 3}
_FILLERS = {"uh", "um", "umm", "uhm", "er", "erm", "ah", "eh", "hmm", "mm", "mhm"}
_CONNECTORS = {"and", "dash", "hyphen", "space", "then"}
_AMBIGUOUS = {"for": 4, "fore": 4, "to": 2, "too": 2, "won": 1, "ate": 8}
_CARD_WORDS = {"card", "cards", "visa", "mastercard", "amex", "maestro", "credit", "debit", "expiry", "expiration"}
# "CV"/"CVB": how small recognisers often hear "CVV"
_CVV_SINGLE = {"cvv", "cvv2", "cvc", "cvc2", "cv2", "csc", "cid", "cvn", "cv", "cvb"}
_CVV_PAIRS = {
    ("security", "code"),
    ("security", "number"),
    ("card", "verification"),
    ("verification", "code"),
    ("verification", "value"),
    ("security", "digits"),
}


@dataclass(frozen=True)
class Lexicon:
    """The words of one language the masker reads numbers and keywords in.

    ``kinds`` maps a folded word to its item kind and value (``unit``, ``teen``,
    ``tens``, ``hundred``, ``mult``, ``filler``, ``conn``, ``amb``, and for French
    ``ftens`` — soixante / quatre-vingt, which absorb a following dix..seize —,
    ``vingt`` — 20, or 80 after quatre — and ``fois`` — "deux fois quatre" = 44).
    ``and_after``: a connector that does not end a run after these kinds ("four
    hundred and twelve", "vingt et un").
    """

    name: str
    kinds: dict[str, tuple[str, int | str | None]]
    and_after: dict[str, frozenset[str]]
    card_words: frozenset[str]
    cvv_single: frozenset[str]
    cvv_pairs: frozenset[tuple[str, str]]
    cvv_triples: frozenset[tuple[str, str, str]] = frozenset()


def _en_kinds() -> dict[str, tuple[str, int | str | None]]:
    k: dict[str, tuple[str, int | str | None]] = {}
    for w, v in _UNITS.items():
        k.setdefault(w, ("unit", v))
    for w, v in _TEENS.items():
        k.setdefault(w, ("teen", v))
    for w, v in _TENS.items():
        k.setdefault(w, ("tens", v))
    k.setdefault("hundred", ("hundred", None))
    for w, v in _MULT.items():
        k.setdefault(w, ("mult", v))
    for w in _FILLERS:
        k.setdefault(w, ("filler", None))
    for w in _CONNECTORS:
        k.setdefault(w, ("conn", w))
    for w, v in _AMBIGUOUS.items():
        k.setdefault(w, ("amb", v))
    return k


EN = Lexicon(
    name="en",
    kinds=_en_kinds(),
    and_after={"and": frozenset({"hundred"})},
    card_words=frozenset(_CARD_WORDS),
    cvv_single=frozenset(_CVV_SINGLE),
    cvv_pairs=frozenset(_CVV_PAIRS),
)


def _fr_kinds() -> dict[str, tuple[str, int | str | None]]:
    k: dict[str, tuple[str, int | str | None]] = {}
    for w, v in {
        "zero": 0,
        "un": 1,
        "une": 1,
        "deux": 2,
        "trois": 3,
        "quatre": 4,
        "cinq": 5,
        "six": 6,
        "sept": 7,
        "huit": 8,
        "neuf": 9,
    }.items():
        k[w] = ("unit", v)
    for w, v in {"onze": 11, "douze": 12, "treize": 13, "quatorze": 14, "quinze": 15, "seize": 16}.items():
        k[w] = ("teen", v)
    for w, v in {
        "dix": 1,
        "trente": 3,
        "quarante": 4,
        "cinquante": 5,
        "septante": 7,
        "huitante": 8,
        "octante": 8,
        "nonante": 9,
    }.items():
        k[w] = ("tens", v)
    k["soixante"] = ("ftens", 6)
    k["vingt"] = ("vingt", 2)
    k["vingts"] = ("vingt", 2)
    k["cent"] = ("hundred", None)
    k["cents"] = ("hundred", None)
    k["double"] = ("mult", 2)
    k["triple"] = ("mult", 3)
    k["fois"] = ("fois", None)
    for w in ("euh", "heu", "hum", "hm", "mmh", "ben", "bah", "eh", "ah"):
        k[w] = ("filler", None)
    for w in ("et", "tiret", "espace", "puis"):
        k[w] = ("conn", w)
    return k


#: French words before "au dos" that name what is written there: "les (trois) chiffres au
#: dos", "le code inscrit au dos"; a bare "au dos" ("j'ai mal au dos") asks for nothing.
#: Used by the masker's security-code triples and the recorder's card-request rule.
_FR_BACK_WORDS = frozenset(
    {"chiffres", "chiffre", "code", "numero", "inscrit", "inscrits", "indique", "indiques", "ecrit", "ecrits"}
)


#: French: "quatre un un un", "zéro", "soixante-dix", "quatre-vingt-onze", "vingt et un",
#: "double quatre" / "deux fois quatre"; card words "carte (bancaire)", "CB"; security
#: codes after "cryptogramme", "code de sécurité", "CVV", "les chiffres au dos".
FR = Lexicon(
    name="fr",
    kinds=_fr_kinds(),
    and_after={"et": frozenset({"tens", "ftens", "vingt", "hundred"})},
    card_words=frozenset(
        {"carte", "cartes", "bancaire", "visa", "mastercard", "amex", "maestro", "cb", "credit", "debit", "expiration"}
    ),
    cvv_single=frozenset(_CVV_SINGLE | {"cryptogramme", "crypto"}),
    cvv_pairs=frozenset({("code", "securite"), ("numero", "securite"), ("code", "verification"), ("code", "confidentiel")}),
    cvv_triples=frozenset(
        {("code", "de", "securite"), ("numero", "de", "securite"), ("code", "de", "verification")}
        | {(w, "au", "dos") for w in _FR_BACK_WORDS}
    ),
)


def _union(a: Lexicon, b: Lexicon) -> Lexicon:
    kinds = dict(a.kinds)
    for w, v in b.kinds.items():
        kinds.setdefault(w, v)
    and_after = dict(a.and_after)
    and_after.update(b.and_after)
    return Lexicon(
        name=f"{a.name}+{b.name}",
        kinds=kinds,
        and_after=and_after,
        card_words=a.card_words | b.card_words,
        cvv_single=a.cvv_single | b.cvv_single,
        cvv_pairs=a.cvv_pairs | b.cvv_pairs,
        cvv_triples=a.cvv_triples | b.cvv_triples,
    )


#: ``auto`` (the call's language is not known yet when its first digits are said):
#: English and French number words together.
AUTO = _union(EN, FR)
LEXICONS: dict[str, Lexicon] = {"en": EN, "fr": FR, "auto": AUTO}


def lexicon(language: str | Lexicon | None) -> Lexicon:
    """The :class:`Lexicon` of ``language`` (``en``, ``fr``, ``auto``; None: English)."""
    if isinstance(language, Lexicon):
        return language
    if language is None:
        return EN
    try:
        return LEXICONS[language]
    except KeyError:
        raise ValueError(f"masking language must be one of {', '.join(LEXICONS)}, not {language!r}") from None


_DIGITS_RE = re.compile(r"^[\d][\d ,.\-/]*$")
#: digits the recogniser glued to a letter or two ("C17066", "4111x"): still digits of a run
_GARBLED_DIGITS_RE = re.compile(r"^[a-z]{1,2}\d{2}[\d,.\-/]*$|^\d{2}[\d,.\-/]*[a-z]{1,2}$")
_EDGE_PUNCT = " \t\n\"'()[]{}<>,.;:!?\u2019\u2018\u201c\u201d"


# ---------------------------------------------------------------- parsing


@dataclass(frozen=True, slots=True)
class _Item:
    kind: str  # digits unit teen tens hundred mult filler conn amb
    value: int | str | None = None  # digit string, number value, connector word or None


def _classify(text: str, lex: Lexicon = EN) -> list[_Item] | None:
    """Number items of one word, or ``None`` for a non-number word."""
    core = fold(text).strip(_EDGE_PUNCT)
    if not core:
        return [_Item("filler")]
    if _DIGITS_RE.match(core) or _GARBLED_DIGITS_RE.match(core):
        digits = re.sub(r"\D", "", core)
        return [_Item("digits", digits)] if digits else None
    parts = [p for p in re.split(r"[-\u2010-\u2015]", core) if p]
    items: list[_Item] = []
    for p in parts:
        p = p.strip(_EDGE_PUNCT)
        hit = lex.kinds.get(p)
        if hit is not None:
            items.append(_Item(hit[0], hit[1]))
        elif p.isdigit():
            items.append(_Item("digits", p))
        else:
            return None
    return items or None


def _breaks_run(items: list[_Item] | None, held: Sequence[list[_Item]], lex: Lexicon = EN) -> bool:
    """A non-number word, or "and"/"et" that does not follow "hundred" (or, for "et",
    a tens word: "vingt et un"), ends a run."""
    if items is None:
        return True
    if len(items) == 1 and items[0].kind == "conn" and items[0].value in lex.and_after:
        allowed = lex.and_after[items[0].value]
        return not (held and held[-1] and held[-1][-1].kind in allowed)
    return False


_NUMBER_KINDS = ("digits", "unit", "teen", "tens", "hundred", "mult", "ftens", "vingt")


def _starts_run(items: list[_Item]) -> bool:
    return any(i.kind in _NUMBER_KINDS for i in items)


def _may_start_run(items: list[_Item]) -> bool:
    """Digits, number words, or a homophone ("for" 4, "to" 2) that may begin a number."""
    return _starts_run(items) or any(i.kind == "amb" for i in items)


def _digits(words_items: Sequence[list[_Item]]) -> list[tuple[str, int]]:
    """Digit characters of a run, each with the index of the word it came from.

    French additions (kinds only French words have): ``soixante``/``quatre-vingt``
    (``ftens``) + ``dix``..``seize`` -> 70-76 / 90-96; ``quatre`` + ``vingt`` -> 80;
    ``deux fois quatre`` -> 44 (``fois`` turns the unit before it into a multiplier)."""
    out: list[tuple[str, int]] = []
    tens: int | None = None  # word index of a tens word waiting for its unit
    ftens = False  # ... and it is soixante / quatre-vingt (absorbs dix..seize)
    hundred: int | None = None  # word index of "hundred" waiting for two digits
    mult: tuple[int, int] | None = None
    lone_unit = False  # the last digit out was a unit on its own ("quatre" before "vingt"/"fois")

    def close_tens() -> None:
        nonlocal tens, ftens
        if tens is not None:
            out.append(("0", tens))
            tens = None
            ftens = False

    def close_hundred() -> None:
        nonlocal hundred
        if hundred is not None:
            out.extend([("0", hundred), ("0", hundred)])
            hundred = None

    for w, items in enumerate(words_items):
        for it in items:
            k = it.kind
            was_lone_unit, lone_unit = lone_unit, False
            if k == "vingt" and was_lone_unit and out and out[-1][0] == "4" and tens is None:
                out.pop()  # quatre-vingt(s): 80
                k, it = "ftens", _Item("ftens", 8)
            elif k == "vingt":
                k = "tens"
            if k == "fois":
                if was_lone_unit and out:
                    d0, w0 = out.pop()
                    mult = (int(d0), w0)
                continue
            if k == "tens" and ftens and tens is not None and it.value == 1:
                out[-1] = (str(int(out[-1][0]) + 1), w)  # soixante-dix: 70, quatre-vingt-dix: 90
                ftens = False
                continue
            if k == "teen" and ftens and tens is not None:
                out[-1] = (str(int(out[-1][0]) + 1), out[-1][1])  # soixante et onze: 71
                out.append((str(cast(int, it.value) - 10), w))
                tens = None
                ftens = False
                continue
            if k == "digits":
                close_tens()
                close_hundred()
                mult = None
                out.extend((c, w) for c in str(it.value))
            elif k in ("unit", "amb"):
                d = str(it.value)
                if tens is not None and it.value != 0:
                    out.append((d, w))
                    tens = None
                    ftens = False
                elif hundred is not None:
                    out.extend([("0", hundred), (d, w)])
                    hundred = None
                else:
                    close_tens()
                    if mult is not None:
                        out.extend((d, mult[1]) for _ in range(mult[0] - 1))
                        mult = None
                    out.append((d, w))
                    lone_unit = k == "unit"
            elif k == "teen":
                close_tens()
                hundred = None
                mult = None
                out.extend((c, w) for c in str(it.value))
            elif k in ("tens", "ftens"):
                close_tens()
                hundred = None
                mult = None
                out.append((str(it.value), w))
                tens = w
                ftens = k == "ftens"
            elif k == "hundred":
                close_tens()
                close_hundred()
                if not out:
                    out.append(("1", w))
                hundred = w
            elif k == "mult":
                close_tens()
                close_hundred()
                mult = (int(cast(int, it.value)), w)
            # filler / conn: nothing
    close_tens()
    close_hundred()
    return out


def words_to_digits(text: str, language: str | Lexicon | None = None) -> str:
    """The digits spoken in ``text`` ("four double one" -> "411"; with
    ``language="fr"``, "quatre-vingt-onze" -> "91"); non-number words are skipped."""
    lex = lexicon(language)
    items = [_classify(w, lex) for w in text.split()]
    return "".join(c for c, _ in _digits([i for i in items if i]))


def spoken_digit_count(text: str, language: str | Lexicon | None = None) -> int | None:
    """How many digits one word says, for a recorder that looks for digit runs the
    masker did not mask: ``None`` for a word that is not part of a number (it ends a
    run), 0 for a filler, connector or homophone ("uh", "and", "for": inside a run
    but no digit of its own), else the digits ("four" 1, "fourteen" 2, "4111" 4,
    "hundred" 2, "double" 1, "forty-one" 2, and a word with 2+ digits glued to letters,
    "C17066", its digits)."""
    items = _classify(text, lexicon(language))
    if items is None:
        # digits glued to letters, as the recogniser writes a garbled group ("C17066")
        k = sum(ch.isdigit() for ch in text)
        return k if k >= 2 else None
    n = 0
    for it in items:
        if it.kind == "digits":
            n += len(str(it.value))
        elif it.kind in ("unit", "tens", "ftens", "vingt"):
            n += 1
        elif it.kind in ("teen", "hundred"):
            n += 2
        elif it.kind == "mult":
            n += int(cast(int, it.value)) - 1
    return n


#: Words that, next to "card" (within :data:`_CARD_REQUEST_SPAN` words), ask for or give
#: the card's data: "card number", "the number on the card", "card details".
_CARD_DATA_WORDS = {"number", "numbers", "digits", "details", "no"}
_CARD_REQUEST_SPAN = 4
#: ... and so do these before "card": "read me the card", "can I have the card".
_CARD_REQUEST_VERBS = {"read", "have", "give", "tell", "need", "take", "enter", "type", "use", "pay", "paying"}
#: Said alone, these are about a payment card and its data.
_CARD_ALONE = {"visa", "mastercard", "amex", "maestro", "expiry", "expiration", "cardholder", "pan"}
_CARD_REQUEST_PAIRS = {
    ("credit", "card"),
    ("debit", "card"),
    ("long", "number"),
    ("sixteen", "digit"),
    ("sixteen", "digits"),
    ("16", "digit"),
    ("16", "digits"),
    ("valid", "thru"),
    ("valid", "through"),
    ("valid", "until"),
    ("expiry", "date"),
    ("expires", "end"),
}


#: French (folded: lower case, accents dropped): words that, near "carte", ask for or give
#: its data ("le numéro de (votre) carte", "les chiffres de la carte", "les coordonnées
#: bancaires" is a pair below) ...
_FR_CARD_DATA_WORDS = {"numero", "numeros", "chiffres", "chiffre", "coordonnees", "donnees", "informations"}
#: ... verbs before "carte": "lisez-moi la carte", "payer par carte", "réglez par carte".
_FR_CARD_REQUEST_VERBS = {
    "lire",
    "lisez",
    "donner",
    "donnez",
    "dicter",
    "dictez",
    "communiquer",
    "communiquez",
    "saisir",
    "saisissez",
    "payer",
    "payez",
    "paie",
    "paye",
    "regler",
    "reglez",
    "regle",
    "prendre",
    "prends",
    "utiliser",
    "utilisez",
}
#: ... and these after "carte": "carte bancaire / bleue / de crédit / de paiement".
_FR_CARD_KIND_WORDS = {"bancaire", "bleue", "credit", "debit", "paiement", "visa", "mastercard"}
#: Said alone, these are about a payment card and its data ("date d'expiration",
#: "le cryptogramme", "le titulaire", "par CB").
_FR_CARD_ALONE = {
    "visa",
    "mastercard",
    "amex",
    "maestro",
    "expiration",
    "cryptogramme",
    "crypto",
    "titulaire",
    "cb",
    "cvv",
    "cvc",
}
_FR_CARD_REQUEST_PAIRS = {
    ("seize", "chiffres"),
    ("16", "chiffres"),
    ("code", "securite"),
    ("numero", "securite"),
    ("date", "validite"),
    ("valable", "jusqu"),
    ("valide", "jusqu"),
    ("expire", "fin"),
    ("coordonnees", "bancaires"),
}
#: Every word the French rules look at (an elided clitic glued to one, "dexpiration"
#: when the recogniser drops the apostrophe, is split off it).
_FR_VOCAB = (
    _FR_CARD_DATA_WORDS
    | _FR_CARD_REQUEST_VERBS
    | _FR_CARD_KIND_WORDS
    | _FR_CARD_ALONE
    | {w for pair in _FR_CARD_REQUEST_PAIRS for w in pair}
    | {"carte", "cartes", "dos"}
)
_FR_CLITICS = ("qu", "d", "l")


def _fr_card_tokens(tokens: Sequence[str]) -> list[str]:
    """French tokens as the card-request rules read them: folded, split at apostrophes
    and hyphens ("d'expiration" / "d expiration" -> "d", "expiration"), an elided
    clitic glued to a known word split off ("dexpiration" -> "expiration"), and
    without punctuation."""
    out: list[str] = []
    for t in tokens:
        for part in re.split(r"[\s'\-\u2010-\u2015]+", fold(t)):
            part = re.sub(r"[^a-z0-9]", "", part)
            if not part:
                continue
            if part not in _FR_VOCAB:
                for c in _FR_CLITICS:
                    if part.startswith(c) and part[len(c) :] in _FR_VOCAB:
                        part = part[len(c) :]
                        break
            out.append(part)
    return out


def _card_request_fr(tokens: Sequence[str]) -> bool:
    toks = _fr_card_tokens(tokens)[-_CARD_REQUEST_SPAN - 1 :]
    if not toks:
        return False
    last = toks[-1]
    if last in _FR_CARD_ALONE:
        return True
    if len(toks) >= 2 and (toks[-2], last) in _FR_CARD_REQUEST_PAIRS:
        return True
    near = toks[-_CARD_REQUEST_SPAN - 1 : -1]
    if len(toks) >= 3 and (toks[-3], last) in _FR_CARD_REQUEST_PAIRS and toks[-2] in ("de", "du", "des"):
        return True  # "code de sécurité", "date de validité", "numéro de sécurité"
    if last == "dos" and len(toks) >= 3 and toks[-2] == "au" and toks[-3] in _FR_BACK_WORDS:
        return True
    if last in ("carte", "cartes") and any(t in _FR_CARD_DATA_WORDS or t in _FR_CARD_REQUEST_VERBS for t in near):
        return True
    if last in _FR_CARD_DATA_WORDS and any(t in ("carte", "cartes") for t in near):
        return True
    return last in _FR_CARD_KIND_WORDS and any(t in ("carte", "cartes") for t in near[-2:])


def _card_request_en(tokens: Sequence[str]) -> bool:
    toks = [re.sub(r"[^a-z0-9]", "", fold(t)) for t in tokens[-_CARD_REQUEST_SPAN - 1 :]]
    toks = [t for t in toks if t]
    if not toks:
        return False
    last = toks[-1]
    if last in _CARD_ALONE:
        return True
    if len(toks) >= 2 and (toks[-2], last) in _CARD_REQUEST_PAIRS:
        return True
    near = toks[-_CARD_REQUEST_SPAN - 1 : -1]
    if last in ("card", "cards") and any(t in _CARD_DATA_WORDS or t in _CARD_REQUEST_VERBS for t in near):
        return True
    if last in _CARD_DATA_WORDS and last != "no" and any(t in ("card", "cards") for t in near):
        return True
    return last == "no" and len(toks) >= 2 and toks[-2] == "card"


def card_request(tokens: Sequence[str], language: str | Lexicon | None = None) -> bool:
    """True if the last word of ``tokens`` (words in the order said) completes a phrase
    that asks for or announces card data. A bare "card" / "carte" ("block the card",
    "bloquer la carte") is not enough. Used by the recorder to open a window on the
    card reader's speech.

    ``language`` (``en``, ``fr``, ``auto``: both; None: English; or a :class:`Lexicon`):

    * English: "card number", "the long number on the card", "read me the card",
      "pay by card", "credit/debit card", "expiry", "visa", "sixteen digits";
    * French: "numéro de (votre) carte", "les chiffres de la carte", "lisez-moi la
      carte", "payer par carte", "carte bancaire / bleue / de crédit", "date
      d'expiration", "date de validité", "valable jusqu'au", "les seize chiffres",
      "cryptogramme", "code de sécurité", "les (trois) chiffres au dos", "titulaire",
      "CB", "visa". Accents may be missing and elisions written "d'expiration", "d
      expiration" or "dexpiration" (words are folded and split as
      :func:`_fr_card_tokens` says).
    """
    name = lexicon(language).name
    if "fr" in name.split("+") and _card_request_fr(tokens):
        return True
    return "en" in name.split("+") and _card_request_en(tokens)


def luhn_ok(digits: str) -> bool:
    """Luhn (mod 10) check of a digit string."""
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


# ---------------------------------------------------------------- context


class MaskContext:
    """Keyword memory shared by the maskers of one call (agent and customer), so that
    the agent's "what is the security code?" arms masking of the customer's answer.
    Times are audio seconds."""

    def __init__(
        self, card_context_s: float = 30.0, cvv_window_s: float = 20.0, after_card_s: float = 60.0, language: str = "en"
    ):
        #: ``en``, ``fr`` or ``auto`` (both): the number words and keywords read
        self.language = language
        self.lexicon = lexicon(language)
        self.card_context_s = card_context_s
        self.cvv_window_s = cvv_window_s
        self.after_card_s = after_card_s
        self.card_word_t: float | None = None
        self.cvv_word_t: float | None = None
        self.card_masked_t: float | None = None

    def card_talk(self, t: float) -> bool:
        return self.card_word_t is not None and -1.0 <= t - self.card_word_t <= self.card_context_s

    def cvv_armed(self, t: float) -> bool:
        return self.cvv_word_t is not None and -1.0 <= t - self.cvv_word_t <= self.cvv_window_s

    def after_card(self, t: float) -> bool:
        return self.card_masked_t is not None and -1.0 <= t - self.card_masked_t <= self.after_card_s


class KeywordTracker:
    """Stamps a :class:`MaskContext` from one speaker's words: the time (s) of the
    last card word (``card_word_t``) and of the last security-code word or phrase,
    spelt-out "c v v" included (``cvv_word_t``). Feed words in order with their end
    time (s)."""

    def __init__(self) -> None:
        self.recent: list[str] = []

    def feed(self, text: str, t: float, ctx: MaskContext) -> None:
        lex = ctx.lexicon
        for tok in re.split(r"[\s\-']+" if lex is not EN else r"[\s\-]+", fold(text)):
            tok = re.sub(r"[^a-z0-9]", "", tok)
            if not tok:
                continue
            self.recent = (self.recent + [tok])[-4:]
            if tok in lex.card_words:
                ctx.card_word_t = t
            letters = ""
            for r in reversed(self.recent):  # "c v v" spelt out
                if len(r) == 1 or (r.isdigit() and letters):
                    letters = r + letters
                else:
                    break
            if (
                tok in lex.cvv_single
                or letters in lex.cvv_single
                or (len(self.recent) >= 2 and (self.recent[-2], tok) in lex.cvv_pairs)
                or (len(self.recent) >= 3 and (self.recent[-3], self.recent[-2], tok) in lex.cvv_triples)
            ):
                ctx.cvv_word_t = t


# ---------------------------------------------------------------- decisions


def _decide(digits: str, start_t: float | None, ctx: MaskContext, aggressive: bool = False) -> tuple[int, int, bool]:
    """``(mask_from, mask_to, is_card)``: mask digit positions in [mask_from, mask_to)."""
    n = len(digits)
    card_talk = start_t is not None and ctx.card_talk(start_t)
    if 13 <= n <= 19 and luhn_ok(digits):
        return 0, n - 4, True
    if 12 <= n <= 19 and (card_talk or aggressive):
        return 0, n - 4, True
    if n > 19:  # nobody reads 20+ digits aloud except a card with expiry/code, or ASR garble
        return 0, n, True
    if 6 <= n <= 11 and (card_talk or aggressive):
        return 0, n, False
    if start_t is not None:
        if 2 <= n <= 8 and ctx.cvv_armed(start_t):
            return 0, n, False
        if 3 <= n <= 5 and ctx.after_card(start_t):
            return 0, n, False
    return 0, 0, False


def _render(text: str, digit_marks: list[tuple[str, bool]]) -> str:
    """New text of one word: ``digit_marks`` are its digits with mask flags."""
    if not digit_marks:
        return text
    lead = len(text) - len(text.lstrip(_EDGE_PUNCT))
    trail = len(text) - len(text.rstrip(_EDGE_PUNCT))
    prefix, core, suffix = text[:lead], text[lead : len(text) - trail], text[len(text) - trail :]
    core_digits = re.sub(r"\D", "", core)
    if core_digits and len(core_digits) == len(digit_marks):
        it = iter(digit_marks)
        new = "".join((MASK if next(it)[1] else ch) if ch.isdigit() else ch for ch in core)
    else:
        new = "".join(MASK if m else d for d, m in digit_marks)
    return prefix + new + suffix


def _mask_run(
    texts: Sequence[str],
    items: Sequence[list[_Item]],
    start_t: float | None,
    ctx: MaskContext,
    t_ctx: float | None,
    aggressive: bool = False,
) -> list[str]:
    digs = _digits(items)
    digits = "".join(c for c, _ in digs)
    lo, hi, is_card = _decide(digits, start_t, ctx, aggressive)
    if hi <= lo:
        return list(texts)
    if is_card and t_ctx is not None:
        ctx.card_masked_t = t_ctx
    per_word: list[list[tuple[str, bool]]] = [[] for _ in texts]
    for pos, (c, w) in enumerate(digs):
        per_word[w].append((c, lo <= pos < hi))
    out = []
    for t, marks, its in zip(texts, per_word, items):
        if not marks and any(i.kind in ("hundred", "mult") for i in its):
            lead = len(t) - len(t.lstrip(_EDGE_PUNCT))
            trail = len(t) - len(t.rstrip(_EDGE_PUNCT))
            out.append(t[:lead] + MASK + t[len(t) - trail :])  # "hundred" says something too
        else:
            out.append(_render(t, marks))
    return out


# ---------------------------------------------------------------- streaming masker


class CardMasker:
    """Masks card numbers and security codes in one speaker's committed words.

    ``feed(words)`` returns the words that are safe to release, in order; number-like
    words are held back until their run ends. ``flush(now_s)`` releases everything
    held (end of call); ``poll(now_s)`` releases a held run once ``release_after_s``
    of audio has passed since its last word ended (call it on a timer). Pass the same
    :class:`MaskContext` to the agent's and the customer's masker so keywords said by
    one arm the masking of the other.

    A 13-19 digit run that fails the Luhn check (a phone, order or account number) is
    not masked unless the call is talking about a card; see the module docstring for
    exactly what is and is not caught.
    """

    def __init__(self, *, gap_s: float = 2.0, release_after_s: float = 4.5, context: MaskContext | None = None):
        self.gap_s = gap_s
        self.release_after_s = release_after_s
        self.context = context if context is not None else MaskContext()
        self._held: list[Word] = []
        self._held_items: list[list[_Item]] = []
        self._kw = KeywordTracker()

    @property
    def holding(self) -> bool:
        return bool(self._held)

    @property
    def release_due_s(self) -> float | None:
        """Audio time at which :meth:`poll` would release the held run (None if nothing held)."""
        return self._held[-1].end_s + self.release_after_s if self._held else None

    def feed(self, words: Iterable[Word]) -> list[Word]:
        out: list[Word] = []
        for w in words:
            if self._held and w.start_s - self._held[-1].end_s > self.gap_s:
                out += self._finish(w.t_s)
            items = _classify(w.text, self.context.lexicon)
            if items is None or _breaks_run(items, self._held_items, self.context.lexicon):
                out += self._finish(w.t_s)
                self._kw.feed(w.text, w.end_s, self.context)
                out.append(w)
            elif self._held or _may_start_run(items):
                self._held.append(w)
                self._held_items.append(items)
            else:  # a filler / "and" / "for" outside a run
                self._kw.feed(w.text, w.end_s, self.context)
                out.append(w)
        return out

    def flush(self, now_s: float) -> list[Word]:
        return self._finish(now_s)

    def poll(self, now_s: float) -> list[Word]:
        due = self.release_due_s
        if due is not None and now_s >= due:
            return self._finish(now_s)
        return []

    def _finish(self, release_t: float) -> list[Word]:
        if not self._held:
            return []
        held, items = self._held, self._held_items
        self._held, self._held_items = [], []
        # trailing fillers / connectors / homophones are words, not digits
        cut = len(held)
        while cut > 0 and not _starts_run(items[cut - 1]):
            cut -= 1
        run_texts = [w.text for w in held[:cut]]
        masked = _mask_run(run_texts, items[:cut], held[0].start_s, self.context, held[cut - 1].end_s if cut else None)
        out: list[Word] = []
        for i, w in enumerate(held):
            text = masked[i] if i < cut else w.text
            if i >= cut:
                self._kw.feed(w.text, w.end_s, self.context)
            out.append(dataclasses.replace(w, text=text, t_s=max(w.t_s, release_t)))
        return out


# ---------------------------------------------------------------- free text

_LOOSE_DIGITS_RE = re.compile(r"(?<!\d)\d(?:[ \-.]?\d){11,22}(?!\d)")


def _mask_loose(text: str, aggressive: bool) -> str:
    """Safety net for digits glued to other characters ("card:4111111111111111")."""

    def sub(m: re.Match[str]) -> str:
        s = m.group(0)
        digits = re.sub(r"\D", "", s)
        lo, hi, _ = _decide(digits, None, MaskContext(), aggressive)
        if hi <= lo:
            return s
        out, k = [], 0
        for ch in s:
            if ch.isdigit():
                out.append(MASK if lo <= k < hi else ch)
                k += 1
            else:
                out.append(ch)
        return "".join(out)

    return _LOOSE_DIGITS_RE.sub(sub, text)


def mask_text(text: str, *, aggressive: bool = False, context: MaskContext | None = None, language: str | None = None) -> str:
    """Mask card numbers and security codes in free text (partials, logs, notes).

    ``mask_text("my card is 4111 1111 1111 1111") == "my card is **** **** **** 1111"``.
    Keywords earlier in the same text count ("security code is one two three" ->
    "security code is * * *"). ``aggressive=True`` (see :func:`mask_partial`) also
    masks any run of 6 or more digits, for text that may hold half a card number.
    ``language`` (``en``, ``fr``, ``auto``) picks the number words when no
    ``context`` is given (a context brings its own).
    """
    ctx = context if context is not None else MaskContext(language=language or "en")
    lex = ctx.lexicon
    kw = KeywordTracker()
    spans = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    toks = [text[a:b] for a, b in spans]
    new = list(toks)
    # pseudo-times: one second per word, so the 20/30/60 s windows become word counts
    run: list[int] = []

    def finish() -> None:
        nonlocal run
        cut = len(run)
        while cut > 0 and not _starts_run(items[run[cut - 1]]):  # type: ignore[arg-type]
            cut -= 1
        idx = run[:cut]
        if idx:
            masked = _mask_run([toks[i] for i in idx], [items[i] for i in idx], float(idx[0]), ctx, float(idx[-1]), aggressive)  # type: ignore[misc]
            for i, m in zip(idx, masked):
                new[i] = m
        for i in run[cut:]:
            kw.feed(toks[i], float(i), ctx)
        run = []

    items = [_classify(t, lex) for t in toks]
    for i, it in enumerate(items):
        if it is None or _breaks_run(it, [cast(list[_Item], items[j]) for j in run[-1:]], lex):
            finish()
            kw.feed(toks[i], float(i), ctx)
        elif run or _may_start_run(it):
            run.append(i)
        else:
            kw.feed(toks[i], float(i), ctx)
    finish()
    out = []
    last = 0
    for (a, b), t in zip(spans, new):
        out.append(text[last:a])
        out.append(t)
        last = b
    out.append(text[last:])
    return _mask_loose("".join(out), aggressive)


def mask_partial(text: str, context: MaskContext | None = None, language: str | None = None) -> str:
    """:func:`mask_text` for text that may end in the middle of a card number (a
    streaming partial): any run of 6+ digits is masked too."""
    return mask_text(text, aggressive=True, context=context, language=language)

"""French token normalisation for the French phrase playbook.

The transcript and the patterns of ``playbook_fr.toml`` both go through
:func:`normalize_word_fr`, so the spellings a recogniser (or a person) may choose end
up as the same tokens, and the patterns stay short:

* lower case, accents removed (``désolée`` -> ``desolee``, ``à`` -> ``a``, ``ç`` ->
  ``c``): Whisper drops or misplaces accents, and so do people typing rules;
* **elision** split and restored: ``c'est`` / ``c est`` / ``cest`` -> ``ce est``,
  ``j'ai`` / ``jai`` -> ``je ai``, ``l'ai`` -> ``le ai``, ``qu'il`` -> ``que il``,
  ``d'accord`` -> ``de accord`` (``l'`` is ambiguous, ``le``/``la``: it is always ``le``);
* **the negation particle ``ne`` is dropped**: spoken French mostly omits it, and
  Whisper writes it or not, so ``ce n'est pas`` == ``c'est pas`` == ``ce est pas``
  (the ``pas``/``jamais``/``rien`` that carries the negation stays);
* hyphenated words split (``calmez-vous`` -> ``calmez vous``, ``peut-être``);
  hyphenated number words joined (``quatre-vingt-onze`` -> ``91``);
* number words (``un`` .. ``cent``, ``soixante-dix``, ``quatre-vingts``) become digit
  strings, as in English (``{num}``); ``un``/``une`` stay words (they are articles far
  more often than numbers);
* titles: ``M.`` -> ``monsieur``, ``Mme`` -> ``madame``, ``Mlle`` -> ``mademoiselle``;
* a trailing ``.``/``!``/``?`` is a sentence end (not after ``M.``).
"""

from __future__ import annotations

import re
import unicodedata

from .normalize import CENSORED

__all__ = ["FR_NUMBERS", "fold_fr", "fr_number_value", "normalize_text_fr", "normalize_word_fr"]

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})

#: French number words below 100 that are one word (accents removed).
FR_NUMBERS: dict[str, int] = {
    "zero": 0,
    "deux": 2,
    "trois": 3,
    "quatre": 4,
    "cinq": 5,
    "six": 6,
    "sept": 7,
    "huit": 8,
    "neuf": 9,
    "dix": 10,
    "onze": 11,
    "douze": 12,
    "treize": 13,
    "quatorze": 14,
    "quinze": 15,
    "seize": 16,
    "vingt": 20,
    "vingts": 20,
    "trente": 30,
    "quarante": 40,
    "cinquante": 50,
    "soixante": 60,
    "septante": 70,
    "huitante": 80,
    "octante": 80,
    "nonante": 90,
    "cent": 100,
    "cents": 100,
}
_UN = {"un": 1, "une": 1}

# elided clitics (before an apostrophe, or glued when the recogniser drops it)
_ELIDED = {
    "c": "ce",
    "j": "je",
    "l": "le",
    "d": "de",
    "qu": "que",
    "m": "me",
    "t": "te",
    "s": "se",
    "n": "ne",
    "jusqu": "jusque",
    "lorsqu": "lorsque",
    "puisqu": "puisque",
}
# apostrophe-less spellings of frequent elisions ("cest", "jai", "nest")
_WHOLE: dict[str, str] = {
    "cest": "ce est",
    "jai": "je ai",
    "jsuis": "je suis",
    "chuis": "je suis",
    "nest": "est",
    "sest": "se est",
    "quil": "que il",
    "quelle": "quelle",
    "dac": "de accord",
    "daccord": "de accord",
    "ok": "okay",
    "o.k": "okay",
    "mr": "monsieur",
    "mme": "madame",
    "mmes": "mesdames",
    "mlle": "mademoiselle",
    "mm": "messieurs",
}
_DROP = frozenset({"ne"})
_ABBREVIATIONS = frozenset("m mme mlle mr dr st etc no".split())
_TRAIL_PUNCT = "\"')]}»”’"


def fold_fr(text: str) -> str:
    """Lower case, typographic apostrophes folded to ``'``, accents removed,
    ``œ`` -> ``oe``."""
    text = text.translate(_APOSTROPHES).lower().replace("œ", "oe").replace("æ", "ae")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def fr_number_value(parts: list[str]) -> int | None:
    """Value of a French number written as ``parts`` (the pieces of one hyphenated
    word, or consecutive words): ``["quatre", "vingt", "onze"]`` -> 91,
    ``["soixante", "dix", "sept"]`` -> 77, ``["vingt", "et", "un"]`` -> 21; None if
    ``parts`` is not one number below 1000."""
    total = 0
    cur = 0
    seen = False
    for p in parts:
        if p == "et":
            continue
        v = _UN.get(p, FR_NUMBERS.get(p))
        if v is None:
            return None
        seen = True
        if v == 100:
            cur = (cur or 1) * 100
            total += cur
            cur = 0
        elif v == 20 and cur in (4,):  # quatre-vingt(s)
            cur = 80
        elif cur and v < 20 and (cur % 10 == 0 or cur in (60, 80)):
            cur += v
        elif cur and v >= 20:
            return None
        else:
            if cur:
                return None
            cur = v
    if not seen:
        return None
    return total + cur


def _sentence_end(raw: str) -> str | None:
    s = raw.rstrip().rstrip(_TRAIL_PUNCT).rstrip()
    if not s:
        return None
    if s.endswith("?"):
        return "?"
    if s.endswith("!"):
        return "."
    if s.endswith(".") and not s.endswith(".."):
        core = re.sub(r"[^\w']", "", fold_fr(s))
        if core in _ABBREVIATIONS or len(core) == 1:
            return None
        return "."
    return None


def _expand(piece: str) -> list[str]:
    """One lower-case, accent-free piece (no spaces, no hyphens) -> tokens."""
    if not piece:
        return []
    if piece in _WHOLE:
        return _WHOLE[piece].split()
    if "'" in piece:
        head, _, rest = piece.partition("'")
        if head in _ELIDED:
            return [_ELIDED[head], *_expand(rest)]
        return _expand(head + rest)
    if piece in _ELIDED and len(piece) <= 2:  # "c est": the recogniser dropped the apostrophe
        return [_ELIDED[piece]]
    return [piece]


def normalize_word_fr(raw: str) -> tuple[list[str], bool, str | None]:
    """Normalise one transcribed French word; same contract as
    :func:`calmcall.text.normalize.normalize_word`: ``(tokens, capitalised,
    sentence_end)``."""
    stripped = raw.strip()
    capitalised = bool(stripped) and stripped.lstrip("\"'(«¿¡ ").strip()[:1].isupper()
    end = _sentence_end(stripped)
    text = fold_fr(stripped)
    tokens: list[str] = []
    for chunk in text.split():
        parts = [p for p in re.split(r"[-\u2010-\u2015/]+", chunk) if p]
        cleaned = [re.sub(r"[^\w'*]", "", p).strip("'") for p in parts]
        cleaned = [p for p in cleaned if p]
        if cleaned == ["m"] and stripped[:1] == "M":  # "M." / "M Dupont": monsieur; "m'" is "me"
            tokens.append("monsieur")
            continue
        if len(cleaned) >= 2:
            value = fr_number_value(cleaned)
            if value is not None:
                tokens.append(str(value))
                continue
        for part in cleaned:
            if "*" in part:
                if re.match(r"^[a-z]+\*+[a-z]*$", part):
                    tokens.append(CENSORED)
                    continue
                part = part.replace("*", "")
            for tok in _expand(part):
                if tok in _DROP:
                    continue
                if tok in FR_NUMBERS:
                    tok = str(FR_NUMBERS[tok])
                tokens.append(tok)
    return tokens, capitalised, end


def normalize_text_fr(text: str) -> list[str]:
    """Normalise free French text (a pattern literal, an utterance) into tokens."""
    out: list[str] = []
    for raw in text.split():
        out.extend(normalize_word_fr(raw)[0])
    return out

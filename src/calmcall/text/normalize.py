"""Token normalisation shared by the phrase playbook and its patterns.

Both the transcript and the playbook patterns go through :func:`normalize_word`, so
whatever spelling the speech recogniser chooses ("I'm" / "I am" / "im", "That's" /
"that is", "can't" / "cannot" / "can not", "twenty-one" / "21") ends up as the same
tokens:

* lower case; typographic apostrophes folded to ``'``;
* punctuation stripped (a word's trailing ``.``/``!``/``?`` is reported separately as a
  sentence end, except after abbreviations such as "Mr.");
* contractions expanded: ``n't`` -> ``not`` ("don't" -> "do not", "won't" -> "will not",
  "can't"/"cannot" -> "can not"), ``'m`` -> ``am``, ``'re`` -> ``are``, ``'ve`` ->
  ``have``, ``'ll`` -> ``will``, ``'d`` -> ``would``, ``'s`` -> ``is`` after pronouns
  and a few words ("it's", "that's", "what's", "name's") and dropped elsewhere
  (possessive: "company's" -> "company"); apostrophe-less ASR spellings ("im", "dont",
  "thats", "its") are expanded the same way;
* hyphenated words split ("follow-up" -> "follow up");
* number words become digit strings ("one" -> "1", "twenty-one" -> "21",
  "fifteen" -> "15"), and "1,000" -> "1000";
* a censored profanity as some recognisers print it ("f***ing") becomes the token
  :data:`CENSORED`; card-masking stars ("****") are dropped.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "CENSORED",
    "NUMBER_WORDS",
    "TENS_WORDS",
    "fold",
    "normalize_text",
    "normalize_word",
]

#: Token that stands for a word the recogniser printed with asterisks ("f***").
CENSORED = "%censored"

NUMBER_WORDS: dict[str, int] = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
TENS_WORDS: dict[str, int] = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fourty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})

# whole words (after lower-casing, apostrophes folded) -> replacement text
_WHOLE: dict[str, str] = {
    "won't": "will not",
    "wont": "will not",
    "can't": "can not",
    "cant": "can not",
    "cannot": "can not",
    "shan't": "shall not",
    "ain't": "is not",
    "let's": "let us",
    "y'all": "you all",
    "gonna": "going to",
    "wanna": "want to",
    "gotta": "got to",
    "kinda": "kind of",
    "ok": "okay",
    "o.k": "okay",
    "o.k.": "okay",
    "im": "i am",
    "ive": "i have",
    "dont": "do not",
    "doesnt": "does not",
    "didnt": "did not",
    "isnt": "is not",
    "wasnt": "was not",
    "arent": "are not",
    "werent": "were not",
    "couldnt": "could not",
    "shouldnt": "should not",
    "wouldnt": "would not",
    "havent": "have not",
    "hasnt": "has not",
    "hadnt": "had not",
    "thats": "that is",
    "whats": "what is",
    "theres": "there is",
    "heres": "here is",
    "youre": "you are",
    "youve": "you have",
    "youll": "you will",
    "youd": "you would",
    "theyre": "they are",
    "weve": "we have",
    "its": "it is",
    "mister": "mr",
    "missus": "mrs",
}

# words after which "'s" means "is" (or "has"); elsewhere "'s" is a possessive and dropped
_S_IS = frozenset(
    "it that what there here he she who where how why when this everything nothing "
    "something someone everyone somebody nobody name one".split()
)
_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("n't", " not"),
    ("'m", " am"),
    ("'re", " are"),
    ("'ve", " have"),
    ("'ll", " will"),
    ("'d", " would"),
)
_ABBREVIATIONS = frozenset("mr mrs ms dr st jr sr vs etc no approx dept".split())
_CENSORED_RE = re.compile(r"^[a-z]+\*+[a-z]*$")
_TRAIL_PUNCT = "\"')]}»”’"
_DIGITS_RE = re.compile(r"^\d{1,3}(,\d{3})+$")


def fold(text: str) -> str:
    """Lower-case, fold typographic apostrophes and strip accents' combining marks
    only where the result stays ASCII-compatible (``"café"`` -> ``"cafe"``)."""
    text = text.translate(_APOSTROPHES).lower()
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _sentence_end(raw: str) -> str | None:
    """``"."`` or ``"?"`` if the raw word ends a sentence, else ``None``."""
    s = raw.rstrip().rstrip(_TRAIL_PUNCT)
    if not s:
        return None
    if s.endswith("?"):
        return "?"
    if s.endswith("!"):
        return "."
    if s.endswith(".") and not s.endswith(".."):  # an ellipsis is a hesitation, not an end
        core = re.sub(r"[^\w']", "", s.lower())
        if core in _ABBREVIATIONS or len(core) == 1:  # "Mr." / an initial "J."
            return None
        return "."
    return None


def _expand(piece: str) -> list[str]:
    """Expand one lower-case, apostrophe-folded piece (no spaces, no hyphens)."""
    if piece in _WHOLE:
        return _WHOLE[piece].split()
    for suffix, repl in _SUFFIXES:
        if piece.endswith(suffix) and len(piece) > len(suffix):
            base = piece[: -len(suffix)]
            if suffix == "n't":
                base = {"ca": "can", "wo": "will", "sha": "shall", "ai": "is"}.get(base, base)
            return [*_expand(base), repl.strip()]
    if piece.endswith("'s") and len(piece) > 2:
        base = piece[:-2]
        return [*_expand(base), "is"] if base in _S_IS else _expand(base)
    if piece.endswith("s'") and len(piece) > 2:  # plural possessive "customers'"
        piece = piece[:-1]
    piece = piece.replace("'", "")
    return [piece] if piece else []


def _number(piece: str) -> str:
    if piece in NUMBER_WORDS:
        return str(NUMBER_WORDS[piece])
    if piece in TENS_WORDS:
        return str(TENS_WORDS[piece])
    if _DIGITS_RE.match(piece):
        return piece.replace(",", "")
    return piece


def normalize_word(raw: str) -> tuple[list[str], bool, str | None]:
    """Normalise one transcribed word.

    Returns ``(tokens, capitalised, sentence_end)``: the normalised tokens (possibly
    none, e.g. for "--" or a masked "****"), whether the word was written with a
    leading capital letter, and ``"."``/``"?"`` when the word ends a sentence.
    """
    stripped = raw.strip()
    capitalised = bool(stripped) and stripped.lstrip("\"'(¿¡").strip()[:1].isupper()
    end = _sentence_end(stripped)
    text = fold(stripped)
    tokens: list[str] = []
    for chunk in text.split():
        # hyphenated number words first: "twenty-one" -> 21
        parts = [p for p in re.split(r"[-\u2010-\u2015/]+", chunk) if p]
        cleaned_parts = [re.sub(r"[^\w'*,.]", "", p) for p in parts]
        if (
            len(cleaned_parts) == 2
            and cleaned_parts[0].strip(".,") in TENS_WORDS
            and 0 < NUMBER_WORDS.get(cleaned_parts[1].strip(".,"), 0) < 10
        ):
            tokens.append(str(TENS_WORDS[cleaned_parts[0].strip(".,")] + NUMBER_WORDS[cleaned_parts[1].strip(".,")]))
            continue
        for part in cleaned_parts:
            # keep inner apostrophes/commas/stars, strip the rest at the edges
            part = part.strip(".,'")
            if not part:
                continue
            if "*" in part:
                if _CENSORED_RE.match(part):
                    tokens.append(CENSORED)
                    continue
                part = part.replace("*", "")
                if not part:
                    continue
            if part in _WHOLE or (part + ".") in _WHOLE:
                tokens.extend(_WHOLE.get(part, _WHOLE.get(part + ".", part)).split())
                continue
            if not _DIGITS_RE.match(part):
                part = part.replace(".", "").replace(",", "")
            for tok in _expand(part):
                tok = tok.replace(".", "").replace(",", "")
                if tok:
                    tokens.append(_number(tok))
    return tokens, capitalised, end


def normalize_text(text: str) -> list[str]:
    """Normalise free text (a pattern literal, an utterance) into tokens,
    ignoring sentence ends."""
    out: list[str] = []
    for raw in text.split():
        out.extend(normalize_word(raw)[0])
    return out

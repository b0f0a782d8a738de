"""Syllables of French words from their spelling, for the word pace of a French call.

French is counted the way it is spoken in conversation (standard, not southern or
poetic French): vowel groups, with

* a final mute ``e`` / ``es`` not counted (``porte`` 1, ``portes`` 1, ``idée`` 2), nor
  the verb ending ``ent`` after a consonant (``parlent`` 1; nouns such as ``moment``
  keep it: they end in ``ment`` and are counted 2 when longer than the ending);
* ``é``/``è``/``ê`` + vowel split (``réel`` 2, ``créer`` 2);
* ``ï``/``ü`` (tréma) split (``naïf`` 2);
* ``y`` between vowels splits (``payer`` 2);
* ``qu``/``gu`` + vowel: the ``u`` is no vowel (``politique`` 3);
* ``ia``/``io``/``ie`` one syllable, as in conversation (``question`` 2, ``viande`` 1);
* digits read as French numbers (``80`` = ``quatre-vingts`` 2; long runs digit by
  digit: card and phone numbers);
* card-masking stars one syllable each, as in English.

Measured on a hand-counted list in ``tests/test_french_norms.py``. The count is an
estimate (elision and liaison merge syllables across words in speech, e.g. "il y a"
is often two); the pace cue compares the agent with their own calm pace counted the
same way, so a constant bias cancels.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["fr_number_syllables", "syllables_fr", "text_syllables_fr"]

_VOWELS = "aeiouyàâäéèêëîïôöûùüœæ"
_GROUP = re.compile(f"[{_VOWELS}]+")
_TOKEN = re.compile(r"[a-zàâäéèêëîïôöûùüçœæ']+|\d+|\*+")
_DIGIT_SYL = (2, 1, 1, 1, 1, 1, 1, 1, 1, 1)  # zéro un deux trois quatre cinq six sept huit neuf
_BELOW_20 = (2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 1, 1, 2, 2, 2)  # zéro .. dix-neuf
_TENS_SYL = {2: 1, 3: 1, 4: 2, 5: 2, 6: 2}  # vingt trente quarante cinquante soixante
_WORDS: dict[str, int] = {
    # frequent words the rules miscount (checked by hand)
    "monsieur": 2,
    "messieurs": 2,
    "madame": 2,
    "mesdames": 2,
    "mademoiselle": 4,
    "oui": 1,
    "ouais": 1,
    "aujourd'hui": 3,
    "aujourdhui": 3,
    "pays": 2,
    "ville": 1,
    "fille": 1,
    "famille": 3,
    "travail": 2,
    "conseil": 2,
    "oeil": 1,
    "yeux": 1,
    "voyez": 2,
    "croyez": 2,
    "moment": 2,
    "comment": 2,
    "vraiment": 2,
    "seulement": 3,
    "justement": 3,
    "absolument": 4,
    "client": 2,
    "clients": 2,
    "patient": 2,
    "science": 2,
    "confiance": 2,
    "expérience": 4,
    "vient": 1,
    "viens": 1,
    "bien": 1,
    "rien": 1,
    "chien": 1,
    "combien": 2,
}


def _fold_keep(w: str) -> str:
    """Lower case and typographic apostrophes folded; accents kept (they matter here)."""
    return unicodedata.normalize("NFC", w.lower().replace("\u2019", "'"))


def fr_number_syllables(n: int) -> int:
    """Syllables of ``n`` read as a French cardinal, as spoken ("quatre-vingt-onze" = 3)."""
    if n < 20:
        return _BELOW_20[n]
    if n < 70:
        t, u = divmod(n, 10)
        return _TENS_SYL[t] + ((1 if u == 1 else 0) + _BELOW_20[u] if u else 0)  # "et un"
    if n < 80:  # soixante-dix .. soixante-dix-neuf
        return 2 + (1 if n == 71 else 0) + _BELOW_20[n - 60]
    if n < 100:  # quatre-vingt(s) ..
        return 2 + (_BELOW_20[n - 80] if n > 80 else 0)
    if n < 1000:
        h, r = divmod(n, 100)
        return (0 if h == 1 else _BELOW_20[h]) + 1 + (fr_number_syllables(r) if r else 0)
    if n < 1_000_000:
        k, r = divmod(n, 1000)
        return (0 if k == 1 else fr_number_syllables(k)) + 1 + (fr_number_syllables(r) if r else 0)
    return sum(_DIGIT_SYL[int(d)] for d in str(n))


def _digits(tok: str) -> int:
    if len(tok) > 4 or (len(tok) > 1 and tok.startswith("0")):
        return sum(_DIGIT_SYL[int(d)] for d in tok)
    return fr_number_syllables(int(tok))


def _word(w: str) -> int:
    if "'" in w:  # elision: "c'est", "l'entreprise", "aujourd'hui"
        if w in _WORDS:
            return _WORDS[w]
        return sum(_word(p) for p in w.split("'") if p and _GROUP.search(p))
    if w in _WORDS:
        return _WORDS[w]
    if len(w) <= 1:
        return 1
    core = re.sub(r"qu(?=[aeiouyéèê])", "q", w)  # "politique": the u of qu/gu is no vowel
    core = re.sub(r"gu(?=[eiéèêy])", "g", core)
    if re.search(f"[^{_VOWELS}]ent$", core) and len(core) > 4 and not core.endswith("ment"):
        core = core[:-3]  # "parlent": the verb ending is mute
    elif re.search(f"[^{_VOWELS}]es?$", core) and len(core) > 2:
        core = re.sub(r"es?$", "", core)  # mute final e / es
    elif core.endswith("e") and len(core) > 2 and core[-2] in "éèêiuo" and not core.endswith("ée"):
        core = core[:-1]  # "joie", "vue"
    elif core.endswith("ée") or core.endswith("ées"):
        core = re.sub(r"es?$", "", core)  # "idée" 2: the final e is mute
    n = 0
    for g in _GROUP.findall(core):
        k = 1
        # splits inside a vowel group: é/è/ê + vowel, a tréma, y between vowels
        k += len(re.findall(f"[éèê](?=[{_VOWELS}])", g))
        k += len(re.findall(f"(?<=[{_VOWELS}])[ïü]", g))
        k += len(re.findall(f"(?<=[{_VOWELS}])y(?=[{_VOWELS}])", g))
        n += k
    return max(1, n)


def syllables_fr(word: str) -> int:
    """Syllables of one transcribed French word (0 for lone punctuation); hyphenated
    parts are counted separately ("peut-être" 2, "quatre-vingt-onze" 3)."""
    text = _fold_keep(word).replace(",", "")
    total = 0
    for tok in _TOKEN.findall(text):
        if tok[0] == "*":
            total += len(tok)
        elif tok[0].isdigit():
            total += _digits(tok)
        else:
            tok = tok.strip("'")
            if tok:
                total += _word(tok)
    return total


def text_syllables_fr(text: str) -> int:
    """Syllables of a whitespace-separated French text (sum of :func:`syllables_fr`)."""
    return sum(syllables_fr(w) for w in text.split())

"""Per-language speaking-rate norms: what changes for a French call, and why.

Prosody (pitch and level against the agent's own calm baseline) is language
independent. The word pace is not quite:

* **syllables of the words' text** are counted with the call language's rules
  (:func:`calmcall.pace.syllables` for English, :func:`calmcall.text.syllables_fr.syllables_fr`
  for French). The pace cue compares the agent's syllables per second with their own
  calm rate counted the same way, so the margin (``targets.pace_margin``, 30 %) keeps
  its meaning in both languages;
* **the absolute ceiling** used while no calm word pace is known
  (``targets.pace_ceiling_wpm``): French speakers produce more syllables per second
  than English speakers for the same content (read speech: English 6.19, French
  7.18 syllables/s, Pellegrino, Coupé & Marsico 2011, *Language* 87(3)) with about
  as many syllables per word, so the same effort reads ~16 % more words per minute.
  The English ceiling of 185 wpm becomes 185 x 7.18 / 6.19 = 215 wpm for French;
* the words-per-minute figures of French cues are "mots/min", the same unit (words
  over elapsed time, pauses up to 2 s included).

A ceiling set in the user's config file is kept as written; only the default moves.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["NORMS", "LanguageNorms", "apply_norms", "norms_for", "syllable_counter"]


@dataclass(frozen=True)
class LanguageNorms:
    """Speaking-rate norms of one language (see the module docstring for sources)."""

    language: str
    #: syllables per second of read speech (Pellegrino et al. 2011)
    syllable_rate_syl_s: float
    #: words-per-minute ceiling while no calm pace is known
    pace_ceiling_wpm: float

    @property
    def wpm_factor(self) -> float:
        """Words per minute of this language per English word per minute at equal effort."""
        return self.syllable_rate_syl_s / NORMS["en"].syllable_rate_syl_s


_EN_RATE = 6.19
_FR_RATE = 7.18
NORMS: dict[str, LanguageNorms] = {
    "en": LanguageNorms("en", _EN_RATE, 185.0),
    "fr": LanguageNorms("fr", _FR_RATE, round(185.0 * _FR_RATE / _EN_RATE)),
}


def norms_for(language: str | None) -> LanguageNorms:
    """Norms of ``en``/``fr`` (``auto``/None: English until the call has decided)."""
    return NORMS.get(language or "en", NORMS["en"])


def apply_norms(cfg: Any, language: str) -> Any:
    """``cfg`` with the default ``targets.pace_ceiling_wpm`` replaced by ``language``'s
    (a value the user set, i.e. not the English default, is kept)."""
    from .config import TargetConfig

    norms = norms_for(language)
    default = TargetConfig().pace_ceiling_wpm
    if norms.language == "en" or cfg.targets.pace_ceiling_wpm != default:
        return cfg
    return dataclasses.replace(cfg, targets=dataclasses.replace(cfg.targets, pace_ceiling_wpm=norms.pace_ceiling_wpm))


def syllable_counter(language: str | None) -> Callable[[str], int]:
    """Syllables of one word in ``language``'s spelling rules (``auto``: French for a
    word with French-only letters or a frequent French word, else English)."""
    from .pace import syllables
    from .text.syllables_fr import syllables_fr

    if language == "fr":
        return syllables_fr
    if language == "auto":
        return _auto_syllables
    return syllables


_FR_LETTERS = set("àâçéèêëîïôûùüœ")
_FR_WORDS = frozenset(
    """je tu il elle nous vous ils elles le la les un une des du de est suis sont pas oui non
merci bonjour monsieur madame votre vos notre nos mon ma mes que qui quoi avec pour dans sur mais donc
c'est j'ai n'est d'accord très bien""".split()
)


def _auto_syllables(word: str) -> int:
    from .pace import syllables
    from .text.syllables_fr import syllables_fr

    w = word.lower().strip(".,!?;:\"'()")
    if _FR_LETTERS & set(w) or w in _FR_WORDS:
        return syllables_fr(word)
    return syllables(word)

"""The language of a call: fixed (``en``, ``fr``) or detected once (``auto``).

``--language auto`` needs the multilingual model. Until the call's language is
decided, every decoding pass (either speaker) of at least :data:`MIN_EVIDENCE_S`
of audio first runs faster-whisper's language detection (one extra encoder pass,
~0.2-0.4 s with base here) and decodes in its best guess; the guess is **locked** for
the rest of the call (every later pass of every speaker decodes in it, and the phrase
playbook, the cues and the number masking follow it; :class:`LanguageLock` is shared
by all of them) as soon as

* one pass of at least :data:`CONFIDENT_S` of audio gives one language a probability
  of at least :data:`CONFIDENT_P` (renormalised over English and French), or
* the passes so far add up to :data:`DECIDE_AFTER_S` of audio: then the
  audio-weighted mean probability decides.

Chosen on the development lines (benchmarks/scripted_fr.py ``DEV_SCRIPT`` with the
four French espeak voices, benchmarks/scripted.py's English lines): English speech
reads p(fr) 0.00-0.04 per utterance, espeak French 0.35-0.98 (the synthetic voice is
not native-sounding to Whisper), and 1 s prefixes were right only half of the time
(21/42), which is why one short pass never decides. Measured on the held-out script
in benchmarks/bench_french.py.

Why lock instead of letting Whisper pick per pass: on short utterances base's
detection flips (a French "oui" is often heard as English), and a call does not change
language half-way in a call centre.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from calmcall.constants import SAMPLE_RATE_HZ

__all__ = [
    "CONFIDENT_P",
    "CONFIDENT_S",
    "DECIDE_AFTER_S",
    "LANGUAGES",
    "MIN_EVIDENCE_S",
    "LanguageLock",
    "check_language",
    "detect_language",
]

#: Languages calmcall coaches in (recognition, playbook, masking, cues).
LANGUAGES: tuple[str, ...] = ("en", "fr")
#: Shortest pass (s of audio) whose detection counts as evidence.
MIN_EVIDENCE_S = 1.0
#: A pass this long (s) ...
CONFIDENT_S = 2.5
#: ... whose best language has at least this probability (0-1) locks it at once.
CONFIDENT_P = 0.8
#: Otherwise the audio-weighted mean of the passes decides once they add up to this (s).
DECIDE_AFTER_S = 8.0


def check_language(value: str, *, what: str = "--language", allow_auto: bool = True) -> str:
    """``value`` if it names a supported language (``auto`` too when allowed); else a
    ``ValueError`` saying what is accepted."""
    ok = LANGUAGES + (("auto",) if allow_auto else ())
    if value not in ok:
        raise ValueError(f"{what} must be one of {', '.join(ok)}, not {value!r}")
    return value


def _probabilities(model: Any, audio: np.ndarray, choices: Sequence[str] = LANGUAGES) -> dict[str, float]:
    """Whisper's language probabilities for ``audio``, renormalised over ``choices``."""
    _lang, _p, all_probs = model.detect_language(audio=np.asarray(audio, dtype=np.float32))
    probs = {k: float(v) for k, v in all_probs if k in choices}
    total = sum(probs.values())
    if total <= 0:
        return {c: (1.0 if i == 0 else 0.0) for i, c in enumerate(choices)}
    return {c: probs.get(c, 0.0) / total for c in choices}


def detect_language(model: Any, audio: np.ndarray, choices: Sequence[str] = LANGUAGES) -> tuple[str, float]:
    """``(language, probability)``: the most probable of ``choices`` for ``audio``
    (float32 mono 16 kHz), by Whisper's language token probabilities renormalised over
    ``choices`` (0-1)."""
    probs = _probabilities(model, audio, choices)
    best = max(probs, key=lambda k: probs[k])
    return best, probs[best]


class LanguageLock:
    """The language of one call, shared by its transcribers, phrase coach and cues.

    ``LanguageLock("fr")`` is fixed from the start; ``LanguageLock(None)`` (auto)
    stays undecided until :meth:`resolve` sees an utterance of at least
    :data:`MIN_DETECT_S`. Thread-safe (the decode thread locks, the pipeline reads).
    """

    def __init__(self, language: str | None = None) -> None:
        if language is not None:
            check_language(language, allow_auto=False)
        self._language = language
        self.detected = language is None
        self.probability: float | None = None
        self.detected_at_s: float | None = None
        self._evidence_s = 0.0
        self._weighted: dict[str, float] = {lang: 0.0 for lang in LANGUAGES}
        self._mutex = threading.Lock()

    @property
    def language(self) -> str | None:
        """The locked language, or None while auto detection has not decided."""
        return self._language

    def resolve(self, model: Any, audio: np.ndarray, t_s: float = 0.0) -> str:
        """The language to decode ``audio`` in: the locked one, or (auto, undecided)
        the best guess for ``audio``, which is locked when the evidence suffices
        (see the module docstring)."""
        with self._mutex:
            if self._language is not None:
                return self._language
        probs = _probabilities(model, audio)
        best = max(probs, key=lambda k: probs[k])
        dur_s = len(audio) / SAMPLE_RATE_HZ
        with self._mutex:
            if self._language is not None:
                return self._language
            if dur_s >= MIN_EVIDENCE_S:
                self._evidence_s += dur_s
                for lang, p in probs.items():
                    self._weighted[lang] += p * dur_s
                if dur_s >= CONFIDENT_S and probs[best] >= CONFIDENT_P:
                    self._lock(best, probs[best], t_s)
                elif self._evidence_s >= DECIDE_AFTER_S:
                    mean = {k: v / self._evidence_s for k, v in self._weighted.items()}
                    winner = max(mean, key=lambda k: mean[k])
                    self._lock(winner, mean[winner], t_s)
            return self._language or best

    def _lock(self, language: str, probability: float, t_s: float) -> None:
        self._language = language
        self.probability = round(probability, 3)
        self.detected_at_s = round(t_s, 3)

    def to_dict(self) -> dict[str, Any]:
        return {
            "language": self._language,
            "detected": self.detected,
            "probability": self.probability,
            "detected_at_s": self.detected_at_s,
            "evidence_s": round(self._evidence_s, 2),
        }


#: Repetition-loop guard of the multilingual model (tokens per second of audio a pass
#: may generate, on top of ``DecodeOptions.tokens_floor``); see benchmarks/bench_french.py.
MULTILINGUAL_MAX_TOKENS_PER_S = 12.0


def decode_options(language: str) -> Any:
    """The :class:`~calmcall.asr.stream.DecodeOptions` of a call in ``language``:
    ``en`` is exactly the English default (tiny.en, no token cap); ``fr`` decodes in
    French and ``auto`` leaves the language to the call's :class:`LanguageLock`,
    both with the repetition-loop guard on."""
    from calmcall.asr.stream import DecodeOptions

    check_language(language)
    if language == "en":
        return DecodeOptions()
    return DecodeOptions(language=None if language == "auto" else language, max_tokens_per_s=MULTILINGUAL_MAX_TOKENS_PER_S)


def call_language(language: str) -> tuple[Any, LanguageLock]:
    """``(decode options, language lock)`` for a call in ``language`` (en/fr/auto)."""
    check_language(language)
    return decode_options(language), LanguageLock(None if language == "auto" else language)

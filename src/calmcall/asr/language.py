"""The language of a call: fixed (``en``, ``fr``) or detected once (``auto``).

``--language auto`` needs the multilingual model. The first utterance of the call
(either speaker) that is at least :data:`MIN_DETECT_S` long is run through
faster-whisper's language detection (one extra encoder pass over that utterance,
padded to 30 s: ~0.2-0.4 s with base here, once per call); the more probable of the
supported languages (English, French) is then *locked* for the rest of the call: every
later pass of every speaker decodes in it, and the phrase playbook, the cues and the
number masking follow it (:class:`LanguageLock` is shared by all of them). A shorter
first utterance ("Allô ?") is decoded in its own best guess without locking.

Why lock instead of letting Whisper pick per pass: on short utterances base's
detection flips (a French "oui" is often heard as English), and a call does not change
language half-way in a call centre.
"""

from __future__ import annotations

import threading
from typing import Any, Sequence

import numpy as np

from calmcall.constants import SAMPLE_RATE_HZ

__all__ = ["LANGUAGES", "LanguageLock", "detect_language", "MIN_DETECT_S", "check_language"]

#: Languages calmcall coaches in (recognition, playbook, masking, cues).
LANGUAGES: tuple[str, ...] = ("en", "fr")
#: Shortest utterance (s) whose detected language is locked for the call.
MIN_DETECT_S = 1.0


def check_language(value: str, *, what: str = "--language", allow_auto: bool = True) -> str:
    """``value`` if it names a supported language (``auto`` too when allowed); else a
    ``ValueError`` saying what is accepted."""
    ok = LANGUAGES + (("auto",) if allow_auto else ())
    if value not in ok:
        raise ValueError(f"{what} must be one of {', '.join(ok)}, not {value!r}")
    return value


def detect_language(model: Any, audio: np.ndarray, choices: Sequence[str] = LANGUAGES) -> tuple[str, float]:
    """``(language, probability)``: the most probable of ``choices`` for ``audio``
    (float32 mono 16 kHz), by Whisper's language token probabilities; the probability
    is renormalised over ``choices`` (0-1)."""
    _lang, _p, all_probs = model.detect_language(audio=np.asarray(audio, dtype=np.float32))
    probs = {k: float(v) for k, v in all_probs if k in choices}
    if not probs:
        return choices[0], 0.0
    best = max(probs, key=lambda k: probs[k])
    total = sum(probs.values())
    return best, (probs[best] / total if total > 0 else 0.0)


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
        self._mutex = threading.Lock()

    @property
    def language(self) -> str | None:
        """The locked language, or None while auto detection has not decided."""
        return self._language

    def resolve(self, model: Any, audio: np.ndarray, t_s: float = 0.0) -> str:
        """The language to decode ``audio`` in: the locked one, or (auto, undecided)
        the detected one, locked when ``audio`` is long enough."""
        with self._mutex:
            if self._language is not None:
                return self._language
        lang, prob = detect_language(model, audio)
        with self._mutex:
            if self._language is None and len(audio) >= MIN_DETECT_S * SAMPLE_RATE_HZ:
                self._language = lang
                self.probability = round(prob, 3)
                self.detected_at_s = round(t_s, 3)
            return self._language or lang

    def to_dict(self) -> dict[str, Any]:
        return {"language": self._language, "detected": self.detected, "probability": self.probability,
                "detected_at_s": self.detected_at_s}


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
    return DecodeOptions(language=None if language == "auto" else language,
                         max_tokens_per_s=MULTILINGUAL_MAX_TOKENS_PER_S)


def call_language(language: str) -> tuple[Any, "LanguageLock"]:
    """``(decode options, language lock)`` for a call in ``language`` (en/fr/auto)."""
    check_language(language)
    return decode_options(language), LanguageLock(None if language == "auto" else language)

"""Comparing transcript words: the normal form LocalAgreement and the WER use
(lower case, punctuation dropped, apostrophes kept)."""

from __future__ import annotations

import re

_PUNCT = re.compile(r"[^\w\s']+")


def normalize_transcript(text: str) -> str:
    """Lower-case, drop punctuation (keeping apostrophes), collapse spaces."""
    return " ".join(_PUNCT.sub(" ", text.lower()).replace("'", "'").split())


def _norm_word(text: str) -> str:
    return _PUNCT.sub("", text.lower()).strip()

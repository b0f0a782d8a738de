"""Transcript accuracy: word error rate after normalisation."""

from __future__ import annotations

from calmcall.asr.stream import normalize_text

__all__ = ["word_errors", "wer", "normalize_text"]


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edit distance in words, number of reference words) after
    :func:`normalize_text` (lower case, punctuation removed)."""
    ref = normalize_text(reference).split()
    hyp = normalize_text(hypothesis).split()
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[:], i
        for j, h in enumerate(hyp, 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (r != h))
    return row[-1], len(ref)


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate of ``hypothesis`` against ``reference`` (0.0 = exact)."""
    errors, n = word_errors(reference, hypothesis)
    return errors / max(n, 1)

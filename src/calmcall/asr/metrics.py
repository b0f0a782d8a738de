"""Transcript accuracy: word error rate after normalisation.

Both texts are lower-cased and stripped of punctuation (:func:`~calmcall.asr.words.normalize_transcript`), then
common contractions and spelling variants are written out the same way on both sides
(:data:`EQUIVALENTS`: "that's" → "that is", "alright" → "all right", "okay" → "ok"),
as scoring normalisers for English ASR do, so a transcript is not charged for
writing "that's" where the script says "that is". A real substitution stays an
error: "we'll" for "will" still counts.
"""

from __future__ import annotations

from calmcall.asr.words import normalize_transcript

__all__ = ["EQUIVALENTS", "scoring_words", "wer", "word_errors"]

#: Spelling → the words it stands for, applied to reference and hypothesis alike.
EQUIVALENTS: dict[str, str] = {
    "that's": "that is",
    "it's": "it is",
    "what's": "what is",
    "there's": "there is",
    "here's": "here is",
    "he's": "he is",
    "she's": "she is",
    "let's": "let us",
    "i'm": "i am",
    "you're": "you are",
    "we're": "we are",
    "they're": "they are",
    "i've": "i have",
    "you've": "you have",
    "we've": "we have",
    "they've": "they have",
    "i'll": "i will",
    "you'll": "you will",
    "we'll": "we will",
    "they'll": "they will",
    "it'll": "it will",
    "i'd": "i would",
    "you'd": "you would",
    "we'd": "we would",
    "can't": "cannot",
    "won't": "will not",
    "don't": "do not",
    "doesn't": "does not",
    "didn't": "did not",
    "isn't": "is not",
    "aren't": "are not",
    "wasn't": "was not",
    "weren't": "were not",
    "haven't": "have not",
    "hasn't": "has not",
    "couldn't": "could not",
    "wouldn't": "would not",
    "shouldn't": "should not",
    "alright": "all right",
    "okay": "ok",
    "o.k.": "ok",
}


def scoring_words(text: str) -> list[str]:
    """The words of ``text`` as WER counts them: :func:`~calmcall.asr.words.normalize_transcript`, then
    :data:`EQUIVALENTS` written out."""
    out: list[str] = []
    for w in normalize_transcript(text).split():
        out += EQUIVALENTS.get(w, w).split()
    return out


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edit distance in words, number of reference words) between the
    :func:`scoring_words` of both texts."""
    ref = scoring_words(reference)
    hyp = scoring_words(hypothesis)
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

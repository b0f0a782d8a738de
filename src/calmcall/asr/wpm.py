"""Words per minute of *speech time* from committed words (articulation rate).

This is **not** the pace the cues, the band and the calm baseline use: that is words
(and syllables) over *elapsed* turn time, pauses up to 2 s included
(:mod:`calmcall.pace`), the unit of published norms (~150 wpm conversational). This
articulation rate excludes pauses over 0.5 s and reads ordinary conversation 30-100 %
higher (docs/background.md: Real speech); it is kept for transcript exports and research use.

Method: take the committed words of one speaker that were known by ``now_s``
(``t_s <= now_s``) and started inside the trailing window ``[now_s - window_s,
now_s]``. Their *speech time* is the time from each word's start to its end, plus
each gap between consecutive words that is shorter than ``max_gap_s`` (the natural
gaps inside a phrase); longer gaps are pauses and count nothing. Then

    wpm = 60 * number_of_words / speech_time_s

This is articulation rate in words (pauses excluded), the word-level counterpart of
the acoustic syllable rate over active speech; a speaker who pauses more does not
read as "slower". ``None`` until there are ``min_words`` words and ``min_speech_s``
seconds of speech in the window (a rate settles after ~9 s / ~40 syllables).
"""

from __future__ import annotations

from collections.abc import Iterable

from calmcall.events import Word

__all__ = ["speech_time_s", "wpm"]


def speech_time_s(words: list[Word], *, max_gap_s: float = 0.5) -> float:
    """Speech time of time-ordered ``words``: word durations plus gaps < ``max_gap_s``."""
    total = 0.0
    prev_end: float | None = None
    for w in words:
        total += max(w.end_s - w.start_s, 0.0)
        if prev_end is not None:
            gap = w.start_s - prev_end
            if 0.0 < gap < max_gap_s:
                total += gap
        prev_end = w.end_s if prev_end is None else max(prev_end, w.end_s)
    return total


def wpm(
    words: Iterable[Word],
    now_s: float,
    window_s: float = 20.0,
    *,
    speaker: str | None = None,
    max_gap_s: float = 0.5,
    min_words: int = 5,
    min_speech_s: float = 2.0,
) -> float | None:
    """Words per minute of speech time over the trailing ``window_s`` seconds.

    ``words``: committed words (any order; other speakers are skipped when
    ``speaker`` is given). Only words known by ``now_s`` count, so replaying a call
    gives the same figures as live. Returns ``None`` when there is too little speech.
    """
    if window_s <= 0:
        raise ValueError(f"window_s must be > 0 seconds, got {window_s}")
    t0 = now_s - window_s
    sel = sorted(
        (w for w in words if w.t_s <= now_s and w.start_s >= t0 and (speaker is None or w.speaker == speaker)),
        key=lambda w: w.start_s,
    )
    if len(sel) < min_words:
        return None
    speech = speech_time_s(sel, max_gap_s=max_gap_s)
    if speech < min_speech_s:
        return None
    return 60.0 * len(sel) / speech

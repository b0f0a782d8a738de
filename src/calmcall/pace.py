"""Speaking pace from transcribed words: words (and syllables) over elapsed turn time.

The unit is the one published norms use (conversational English ~150 wpm, sales
reps under pressure ~173-188 wpm; docs/background.md: Numbers): **words over the elapsed time of
a stretch of speech**, pauses up to :data:`MAX_PAUSE_S` (2 s) included. A longer
pause ends the stretch, and the next word starts a new one. Syllables are counted
from the words' spelling (:func:`syllables`), so a line of long words does not read
"faster" than one of short words when the rate is compared with the speaker's own.

For one stretch with committed words ``w_1 .. w_n`` (in time order) in the trailing
window (the words that start at most ``window_s`` before the last word's end), with
``m_i`` the middle of word ``i``::

    elapsed_s = (m_n - m_1) * n / (n - 1)      # the span of n word slots
    wpm       = 60 * n / elapsed_s
    syl_s     = (syllables of w_1 .. w_n) / elapsed_s

The span of the word middles, extended by one average word slot, equals the turn's
elapsed time when words are evenly spread, and does not depend on where the
recogniser puts the first word's start and the last word's end (faster-whisper's edge
timestamps run long: first start minus last end made every set read 7-10 % slow in
``benchmarks/bench_pace.py``).

A reading needs ``min_words`` words and ``min_elapsed_s`` of elapsed time; it is
*settled* once the stretch is longer than the window (or spans ``settle_s``) or has
``settle_syllables`` (40) syllables: the
speaking-rate literature finds a rate stable from about there. Unsettled readings are
still given (a fast stretch must be caught within a few seconds); the pipeline's hold
time then asks the excess to persist.

:class:`WordPace` is incremental and deterministic: it only uses words committed by
the time asked (``Word.t_s <= now_s``), so a replay gives the live figures. It is fed
the speaker's voice activity too (:meth:`WordPace.observe`): after a silence longer
than ``max_pause_s`` a new stretch has begun even before its first word is committed,
and the previous stretch's words no longer describe the speaker's pace.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .events import Word

__all__ = [
    "MAX_PAUSE_S",
    "PLAUSIBLE_WPM",
    "SHORT_MIN_WORDS",
    "SHORT_WINDOW_S",
    "WINDOW_S",
    "PaceReading",
    "WordPace",
    "elapsed_of",
    "plausible_wpm",
    "stretches",
    "syllables",
    "text_syllables",
    "words_over_elapsed",
]

MAX_PAUSE_S = 2.0  #: a pause longer than this ends a stretch of speech (s)
WINDOW_S = 9.0  #: trailing window of elapsed time a reading covers (s)
#: the short window: a fast stretch shows here within a few seconds, before the
#: 9 s window (which still holds the calm words said just before) moves
SHORT_WINDOW_S = 2.5
SHORT_MIN_WORDS = 6  #: the short window's reading needs this many words (fewer read too noisily)
SETTLE_SYLLABLES = 40  #: a window with this many syllables counts as settled
#: a calm pace outside this range (words over elapsed time) is not believed: it comes
#: from a wrong voice-activity decision or a broken transcript, not from a person
PLAUSIBLE_WPM = (90.0, 260.0)


def plausible_wpm(wpm: float | None) -> bool:
    """Whether ``wpm`` (words per minute over elapsed time) is a believable calm pace."""
    return wpm is not None and PLAUSIBLE_WPM[0] <= wpm <= PLAUSIBLE_WPM[1]


# ------------------------------------------------------------------ syllables

# Spelling heuristics after Lingua::EN::Syllable (vowel groups, then patterns that
# take one away or add one), with a small table of words they get wrong that are
# common on calls. Measured in tests/test_pace.py on a hand-counted word list.
_SUB = [
    re.compile(p)
    for p in (
        r"cial",
        r"tia",
        r"cius",
        r"cious",
        r"giu",
        r"ion",
        r"iou",
        r"sia$",
        r".ely$",
        r"[^td]ed$",
        r"[^aeiouy]es$(?<![cgsxz]es)(?<![^aeiouy]les)",
        r"[^aeiouy]ement$",
        r"[^aeiouy]eful",
    )
]
_ADD = [
    re.compile(p)
    for p in (
        r"ia",
        r"riet",
        r"dien",
        r"iu",
        r"io",
        r"ii",
        r"[aeiouym]bl$",
        r"[aeiou]{3}",
        r"^mc",
        r"ism$",
        r"([^aeiouy])\1l$",
        r"[^l]lien",
        r"^coa[dglx].",
        r"[^gq]ua[^auieo]",
        r"dnt$",
        r"eo(?!u)",
        r"ying$",
    )
]
_VOWEL_GROUPS = re.compile(r"[aeiouy]+")
_EXCEPTIONS: dict[str, int] = {
    # words the patterns miscount (checked by hand)
    "the": 1,
    "are": 1,
    "were": 1,
    "where": 1,
    "there": 1,
    "here": 1,
    "one": 1,
    "once": 1,
    "someone": 2,
    "anyone": 3,
    "everyone": 3,
    "done": 1,
    "gone": 1,
    "none": 1,
    "come": 1,
    "some": 1,
    "sometimes": 2,
    "somewhere": 2,
    "something": 2,
    "give": 1,
    "have": 1,
    "live": 1,
    "love": 1,
    "move": 1,
    "above": 2,
    "whole": 1,
    "people": 2,
    "business": 2,
    "every": 3,
    "everything": 4,
    "everybody": 4,
    "evening": 2,
    "different": 3,
    "interest": 3,
    "interesting": 4,
    "family": 3,
    "actually": 4,
    "usually": 4,
    "really": 2,
    "area": 3,
    "idea": 3,
    "being": 2,
    "seeing": 2,
    "doing": 2,
    "going": 2,
    "lion": 2,
    "quiet": 2,
    "science": 2,
    "create": 2,
    "created": 3,
    "poem": 2,
    "cruel": 2,
    "fuel": 2,
    "real": 1,
    "sure": 1,
    "wednesday": 2,
    "business's": 3,
    "hour": 1,
    "hours": 1,
    "our": 1,
    "fire": 1,
    "tired": 1,
    "prior": 2,
    "via": 2,
    "ok": 2,
    "okay": 2,
    "email": 2,
    "emails": 2,
    "online": 2,
    "ensure": 2,
    "insurance": 3,
    "naive": 2,
    "maybe": 2,
    "simile": 3,
    "recipe": 3,
    "apostrophe": 4,
    "minute": 2,
    "minutes": 2,
    "piece": 1,
    "nice": 1,
    "twice": 1,
    "since": 1,
    "wanted": 2,
    "needed": 2,
    "refund": 2,
    "refunded": 3,
    "charged": 1,
    "changed": 1,
    "called": 1,
    "asked": 1,
    "looked": 1,
    "used": 1,
    "closed": 1,
    "received": 2,
    "arrived": 2,
    "promised": 2,
    "placed": 1,
    "fixed": 1,
    "passed": 1,
    "sorry": 2,
    "theirs": 1,
    "yours": 1,
    "mr": 2,
    "mrs": 2,
    "ms": 1,
    "dr": 2,
    "etc": 4,
    "whose": 1,
    "those": 1,
    "these": 1,
    "please": 1,
    "because": 2,
    "course": 1,
    "house": 1,
    "mouse": 1,
    "else": 1,
    "iPhone": 2,
    "iphone": 2,
    "ive": 1,
    "youre": 1,
    "theyre": 1,
    "were'nt": 2,
    "towards": 2,
    "toward": 2,
    "forward": 2,
    "answered": 2,
    "covered": 2,
    "delivered": 3,
    "ordered": 2,
    "offered": 2,
    "considered": 3,
    "registered": 3,
    "bothered": 2,
    "every's": 3,
    "evenings": 2,
    "realize": 3,
    "realise": 3,
    "reality": 4,
    "area's": 3,
    "being's": 2,
    "create's": 2,
    "wizard": 2,
    "curtain": 2,
    "horizon": 3,
    "extremely": 3,
    "vanished": 2,
    "americans": 4,
    "american": 4,
    "country": 2,
    "fellow": 2,
}
_ONES = (2, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 3, 1, 2, 2, 2, 2, 3, 2, 2)  # zero .. nineteen
_TENS = (0, 0, 2, 2, 2, 2, 2, 3, 2, 2)  # twenty .. ninety


def _number_syllables(n: int) -> int:
    """Syllables of ``n`` read as an English cardinal ("one hundred and five")."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + (_ONES[n % 10] if n % 10 else 0)
    if n < 1000:
        return _ONES[n // 100] + 2 + (1 + _number_syllables(n % 100) if n % 100 else 0)
    for size, name_syl in ((10**9, 2), (10**6, 2), (10**3, 2)):  # billion, million, thousand
        if n >= size:
            rest = n % size
            return _number_syllables(n // size) + name_syl + (_number_syllables(rest) if rest else 0)
    return 1  # pragma: no cover (unreachable)


def _digits_syllables(tok: str) -> int:
    """A run of digits: up to 4 digits read as a number (years, amounts), longer runs
    (card, phone and order numbers) digit by digit."""
    if len(tok) > 4 or (len(tok) > 1 and tok.startswith("0")):
        return sum(_ONES[int(d)] for d in tok)
    return _number_syllables(int(tok))


def _word_syllables(w: str) -> int:
    if w in _EXCEPTIONS:
        return _EXCEPTIONS[w]
    if w.endswith("'s") or w.endswith("s'"):
        return _word_syllables(w[:-2]) + (1 if re.search(r"(s|x|z|ch|sh|ce|ge)$", w[:-2]) else 0)
    w = w.replace("'", "")
    if w in _EXCEPTIONS:
        return _EXCEPTIONS[w]
    if len(w) <= 1:
        return 1  # "a", "I", a spelled letter
    if w.startswith("some") and len(w) > 5:
        return 1 + _word_syllables(w[4:])  # somebody, sometimes, somewhere
    # a final "e" is silent ("make"), except in "-ee" and consonant + "-le" ("table")
    silent_e = w.endswith("e") and not w.endswith("ee") and not re.search(r"[^aeiouy]le$", w)
    n = len(_VOWEL_GROUPS.findall(w[:-1] if silent_e else w))
    for p in _SUB:
        if p.search(w):
            n -= 1
    for p in _ADD:
        if p.search(w):
            n += 1
    return max(1, n)


_TOKEN = re.compile(r"[a-z']+|\d+|\*+")


def syllables(word: str) -> int:
    """Syllables of one transcribed word, from its spelling (English).

    Punctuation is ignored; hyphenated parts are counted separately; digits are read
    as numbers ("80" = 2, "2026" = 4) and long digit runs digit by digit; card-masking
    stars count one per star (a masked digit). ``0`` for a token with no letters or
    digits (a lone punctuation mark)."""
    text = word.lower().replace("\u2019", "'").replace(",", "")
    total = 0
    for tok in _TOKEN.findall(text):
        if tok[0] == "*":
            total += len(tok)
        elif tok[0].isdigit():
            total += _digits_syllables(tok)
        else:
            tok = tok.strip("'")
            if tok:
                total += _word_syllables(tok)
    return total


def text_syllables(text: str) -> int:
    """Syllables of a whitespace-separated text (sum of :func:`syllables`)."""
    return sum(syllables(w) for w in text.split())


# ------------------------------------------------------------------ the measure


@dataclass(frozen=True)
class PaceReading:
    """One pace reading over the words of the current stretch.

    ``wpm``: words per minute over elapsed time; ``syl_s``: syllables (from the
    words' text) per second over the same time; ``words``/``syllables``: counts in the
    window; ``start_s``/``end_s``: first word's start and last word's end (s);
    ``elapsed_s``: the elapsed time the rates use (:func:`elapsed_of`);
    ``settled``: the window is full or has ``settle_syllables``."""

    wpm: float
    syl_s: float
    words: int
    syllables: int
    start_s: float
    end_s: float
    settled: bool
    elapsed_s: float


def elapsed_of(words: list[Word]) -> float:
    """Elapsed time of ``n >= 2`` time-ordered words as one stretch: the span of their
    middles times ``n / (n - 1)`` (see the module doc); 0 for fewer words."""
    n = len(words)
    if n < 2:
        return 0.0
    mid = [(w.start_s + w.end_s) / 2 for w in words]
    return (max(mid) - mid[0]) * n / (n - 1)


def words_over_elapsed(
    words: list[Word], syllable_fn: Callable[[str], int] | None = None
) -> tuple[float, float, int, int, float] | None:
    """``(wpm, syl_s, words, syllables, elapsed_s)`` of time-ordered ``words`` taken
    as one stretch; ``None`` when their elapsed time is not positive (under 2 words).
    ``syllable_fn``: syllables of one word (default English :func:`syllables`)."""
    elapsed = elapsed_of(words)
    if elapsed <= 0:
        return None
    count = syllable_fn or syllables
    n_syl = sum(count(w.text) for w in words)
    return 60.0 * len(words) / elapsed, n_syl / elapsed, len(words), n_syl, elapsed


def stretches(words: Iterable[Word], *, max_pause_s: float = MAX_PAUSE_S) -> list[list[Word]]:
    """Split one speaker's words into stretches at pauses longer than ``max_pause_s``."""
    out: list[list[Word]] = []
    last_end = -1e9
    for w in sorted(words, key=lambda w: w.start_s):
        if not out or w.start_s - last_end > max_pause_s:
            out.append([])
        out[-1].append(w)
        last_end = max(last_end, w.end_s) if len(out[-1]) > 1 else w.end_s
    return out


class WordPace:
    """Incremental words-over-elapsed-time pace of one speaker (see the module doc).

    ``add(word)`` for each committed word of the speaker (in commit order);
    ``observe(t_s, active)`` with the speaker's voice activity on the pipeline's
    evaluation grid (optional: without it only word gaps end a stretch);
    ``reading(now_s)`` the current :class:`PaceReading` or ``None`` (no committed
    word of the current stretch yet, or too few).
    """

    def __init__(
        self,
        *,
        window_s: float = WINDOW_S,
        max_pause_s: float = MAX_PAUSE_S,
        min_words: int = 4,
        min_elapsed_s: float = 1.2,
        settle_s: float = WINDOW_S,
        settle_syllables: int = SETTLE_SYLLABLES,
        syllable_fn: Callable[[str], int] | None = None,
    ) -> None:
        if window_s <= 0 or max_pause_s <= 0:
            raise ValueError(f"window_s and max_pause_s must be > 0 s, got {window_s}, {max_pause_s}")
        self.window_s = window_s
        self.max_pause_s = max_pause_s
        self.min_words = min_words
        self.min_elapsed_s = min_elapsed_s
        self.settle_s = settle_s
        self.settle_syllables = settle_syllables
        #: syllables of one word (default English :func:`syllables`; a French call passes
        #: :func:`calmcall.text.syllables_fr.syllables_fr`, see :mod:`calmcall.norms`)
        self.syllable_fn = syllable_fn or syllables
        self._words: deque[tuple[Word, int]] = deque()  # (word, syllables), by start time
        self._last_active_s: float | None = None
        self._stretch_start_s = -1e9  # speech resumed here after a pause > max_pause_s
        self._cache: dict[tuple[float, int, float, int], PaceReading | None] | None = None

    def add(self, word: Word) -> None:
        item = (word, self.syllable_fn(word.text))
        if self._words and word.start_s < self._words[-1][0].start_s:
            items = sorted([*self._words, item], key=lambda x: x[0].start_s)
            self._words = deque(items)
        else:
            self._words.append(item)
        self._cache = None

    def observe(self, t_s: float, active: bool) -> None:
        """The speaker's voice activity at ``t_s`` (called in time order)."""
        if not active:
            return
        if self._last_active_s is None or t_s - self._last_active_s > self.max_pause_s:
            self._stretch_start_s = t_s
            self._cache = None
        self._last_active_s = t_s

    def reading(self, now_s: float, window_s: float | None = None, min_words: int | None = None) -> PaceReading | None:
        """The pace over the current stretch's words committed by ``now_s``, over
        the trailing ``window_s`` (default: the pace's own window), with at least
        ``min_words`` words (default: the pace's own minimum)."""
        w = self.window_s if window_s is None else window_s
        n_min = self.min_words if min_words is None else min_words
        key = (now_s, len(self._words), w, n_min)
        cached = self._cache.get(key) if self._cache else None
        if cached is not None or (self._cache and key in self._cache):
            return cached
        res = self._reading(now_s, w, n_min)
        self._cache = {k: v for k, v in (self._cache or {}).items() if k[:2] == key[:2]}
        self._cache[key] = res
        return res

    def _reading(self, now_s: float, window_s: float, min_words: int) -> PaceReading | None:
        # drop words far behind any window still to be asked for
        horizon = now_s - max(self.window_s, window_s) - 30.0
        while self._words and self._words[0][0].end_s < horizon:
            self._words.popleft()
        known = [(w, s) for w, s in self._words if w.t_s <= now_s + 1e-9]
        if not known:
            return None
        # the current stretch: back from the latest word while gaps <= max_pause_s,
        # and not before the speech that resumed after the last long silence
        # (a word's timestamps may start up to 0.3 s before the activity onset)
        floor = self._stretch_start_s - 0.3
        last_w = known[-1][0]
        if last_w.start_s < floor:
            return None  # speech resumed after a long pause: no word of it committed yet
        end = max(w.end_s for w, _ in known)
        sel: list[tuple[Word, int]] = []
        prev_start = None
        cut = False  # the stretch goes on before the window: the window is full
        for w, s in reversed(known):
            if w.start_s < floor or (prev_start is not None and prev_start - w.end_s > self.max_pause_s):
                break
            if w.start_s < end - window_s:
                cut = True
                break
            sel.append((w, s))
            prev_start = w.start_s if prev_start is None else min(prev_start, w.start_s)
        sel.reverse()
        if len(sel) < min_words:
            return None
        start = sel[0][0].start_s
        if end - start < self.min_elapsed_s:
            return None
        elapsed = elapsed_of([w for w, _ in sel])
        if elapsed <= 0:
            return None
        n_syl = sum(s for _, s in sel)
        span = end - start
        # a full window is settled only if the window itself is settle_s long (a short
        # window cut from a longer stretch is not)
        settled = (cut and window_s >= self.settle_s) or span >= self.settle_s - 1e-9 or n_syl >= self.settle_syllables
        return PaceReading(
            wpm=60.0 * len(sel) / elapsed,
            syl_s=n_syl / elapsed,
            words=len(sel),
            syllables=n_syl,
            start_s=start,
            end_s=end,
            settled=settled,
            elapsed_s=elapsed,
        )

    def wpm(self, now_s: float) -> float | None:
        r = self.reading(now_s)
        return r.wpm if r is not None else None

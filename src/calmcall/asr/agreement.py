"""The streaming commit policy (LocalAgreement-2 over timed words), pure and synchronous.

:class:`LocalAgreement` is told what each decode pass of one speaker's channel found
(its hypothesis: words with absolute timestamps in seconds, see :class:`HypWord`) and
which audio the pass covered (:class:`DecodedPass`); it answers with the words to
commit (:class:`~calmcall.events.Word`), the interim text to show
(:class:`~calmcall.events.Partial`) and whether the utterance's decoding window may move
on. It runs no model, starts no thread and reads no clock: the time stamped on its
events (``t_s``) is given by the caller. :class:`calmcall.asr.stream.StreamingTranscriber`
is the adapter that runs the VAD and the model and feeds it.

Policy
------
* **New words.** A hypothesis word is new when its midpoint lies after both the start
  of the pass's window and the end of the last committed word, less
  :data:`TIME_TOLERANCE_S` (the same word's timestamps jitter by ~0.1 s from pass to
  pass, and the first word of a window often absorbs leading silence, so its start is
  unreliable). A hypothesis that begins by repeating the last committed words (up to
  :data:`REPEAT_TAIL_MAX_WORDS`, compared in normal form) right after them (first word
  starting less than :data:`REPEAT_TAIL_GAP_S` after the committed end) has those
  words dropped.
* **Final pass** (end of an utterance): every new word is committed; the partial is
  cleared.
* **Interim pass** (inside a long utterance): the new words are compared with the
  previous interim pass's uncommitted words of the same utterance, in normal form
  (lower case, punctuation dropped); their common prefix is committed
  (LocalAgreement-2). When the whole hypothesis agrees, its last word is held back if
  it ends within :data:`CUT_OFF_GUARD_S` of the window's end (it may be cut off). The
  rest is the partial.
* **Window trimming.** After an interim pass committed words, when the utterance's
  decoding window is longer than ``trim_after_s``, its start may move to the end of the
  last committed word (:attr:`Update.trim_to_s`).
* **Prompt.** :meth:`LocalAgreement.prompt` gives the committed words that end before
  a window, for ``initial_prompt``.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from calmcall.asr.words import _norm_word
from calmcall.events import Partial, Speaker, Word

#: timestamp tolerance (s) when deciding whether a word lies after committed time
TIME_TOLERANCE_S = 0.05
#: longest committed tail (words) looked for again at the start of a hypothesis
REPEAT_TAIL_MAX_WORDS = 5
#: a repeated committed tail is dropped only when it starts within this many seconds
#: of the committed end (later, it is the speaker saying the words again)
REPEAT_TAIL_GAP_S = 0.3
#: an interim hypothesis' last word ending this close (s) to the window's end is not
#: committed even when it agrees: it may be cut off
CUT_OFF_GUARD_S = 0.25
#: committed words remembered for the repeated-tail check and the prompt
RECENT_WORDS = 64


@dataclass(slots=True)
class HypWord:
    """One word of a decode pass' hypothesis: absolute ``start_s``/``end_s`` (seconds
    since the call started), its text as decoded, its normal form ``norm`` (see
    :func:`calmcall.asr.words._norm_word`) and the decoder's probability ``prob`` (0-1)."""

    start_s: float
    end_s: float
    text: str
    norm: str
    prob: float


@dataclass(frozen=True, slots=True)
class DecodedPass:
    """The audio one decode pass covered (absolute seconds).

    ``final``: the utterance has ended (commit everything new). ``utt_id``: the
    utterance it belongs to. ``a0_s``/``a1_s``: start and end of the window whose words
    count (left context decoded before ``a0_s`` is excluded). ``window_start_s``: for
    an interim pass, where the utterance's decoding window starts now (the adapter may
    have trimmed it since the pass began); ``None`` when not known (no trimming).
    """

    final: bool
    utt_id: int
    a0_s: float
    a1_s: float
    window_start_s: float | None = None


@dataclass(slots=True)
class Update:
    """What one pass changed: ``events`` (committed words, then at most one partial,
    all stamped with the pass' ``t_s``) and ``trim_to_s``, the new start (s) of the
    utterance's decoding window, or None to keep it."""

    events: list[Word | Partial] = field(default_factory=list)
    trim_to_s: float | None = None

    @property
    def words(self) -> list[Word]:
        return [e for e in self.events if isinstance(e, Word)]


class LocalAgreement:
    """The commit policy of one speaker's channel (see the module docstring).

    ``speaker`` is stamped on every event; ``trim_after_s``: a decoding window longer
    than this (s) may move its start to the last committed word after an interim pass
    committed words.
    """

    def __init__(self, speaker: Speaker, *, trim_after_s: float = 8.0) -> None:
        self.speaker: Speaker = speaker
        self.trim_after_s = trim_after_s
        self._committed_end_s = -math.inf
        self._recent: collections.deque[Word] = collections.deque(maxlen=RECENT_WORDS)
        self._prev_hyp: list[HypWord] = []
        self._prev_hyp_utt = -1
        self._partial_shown = False

    @property
    def committed_end_s(self) -> float:
        """End (s) of the last committed word; ``-inf`` before the first."""
        return self._committed_end_s

    @property
    def partial_shown(self) -> bool:
        """True while the last partial emitted is not empty."""
        return self._partial_shown

    def prompt(self, before_s: float, n_words: int) -> str | None:
        """The last ``n_words`` committed words ending before ``before_s`` (+ the
        tolerance), space-joined; None when there are none or ``n_words <= 0``."""
        if n_words <= 0 or not self._recent:
            return None
        words = [w.text for w in self._recent if w.end_s <= before_s + TIME_TOLERANCE_S][-n_words:]
        return " ".join(words) or None

    def new_words(self, hyp: Sequence[HypWord], a0_s: float) -> list[HypWord]:
        """The words of ``hyp`` not yet committed: midpoint after the window start
        ``a0_s`` and the last committed word (less the tolerance), minus a committed
        tail the hypothesis repeats right after it."""
        t0 = max(self._committed_end_s, a0_s) - TIME_TOLERANCE_S
        words = [w for w in hyp if (w.start_s + w.end_s) / 2 >= t0]
        if words and self._recent:
            tail = [_norm_word(w.text) for w in self._recent]
            for k in range(min(REPEAT_TAIL_MAX_WORDS, len(words), len(tail)), 0, -1):
                if [w.norm for w in words[:k]] == tail[-k:]:
                    if words[0].start_s < self._committed_end_s + REPEAT_TAIL_GAP_S:
                        words = words[k:]
                    break
        return words

    def apply(self, hyp: Sequence[HypWord], p: DecodedPass, t_s: float) -> Update:
        """Take one pass' hypothesis (its words in time order) that became available
        at audio time ``t_s``; return what to emit. A stale interim pass (of an
        utterance that has ended) must not be given: its final pass covers it."""
        new = self.new_words(hyp, p.a0_s)
        if p.final:
            out = Update(list(self._commit(new, t_s)))
            if self._prev_hyp_utt == p.utt_id:
                self._prev_hyp = []
                if self._partial_shown:
                    out.events.append(Partial(t_s, self.speaker, ""))
                    self._partial_shown = False
            return out
        prev = self._prev_hyp if self._prev_hyp_utt == p.utt_id else []
        # previous hypothesis words that are now committed are gone from `prev`
        prev = [w for w in prev if (w.start_s + w.end_s) / 2 >= self._committed_end_s - TIME_TOLERANCE_S]
        agree = 0
        for a, b in zip(prev, new):
            if a.norm != b.norm:
                break
            agree += 1
        if agree == len(new) and agree > 0 and new[-1].end_s > p.a1_s - CUT_OFF_GUARD_S:
            agree -= 1
        committed = self._commit(new[:agree], t_s)
        out = Update(list(committed))
        self._prev_hyp = new[agree:]
        self._prev_hyp_utt = p.utt_id
        if (
            committed
            and p.window_start_s is not None
            and p.a1_s - p.window_start_s > self.trim_after_s
            and p.window_start_s < self._committed_end_s < p.a1_s
        ):
            out.trim_to_s = self._committed_end_s
        text = " ".join(w.text for w in self._prev_hyp)
        if text or self._partial_shown:
            out.events.append(Partial(t_s, self.speaker, text))
            self._partial_shown = bool(text)
        return out

    def _commit(self, words: Sequence[HypWord], t_s: float) -> list[Word]:
        out = []
        for w in words:
            floor_s = self._committed_end_s if self._committed_end_s > -math.inf else 0.0
            start_s = min(max(w.start_s, floor_s), w.end_s)
            word = Word(
                t_s=max(t_s, w.end_s),
                start_s=start_s,
                end_s=w.end_s,
                text=w.text,
                speaker=self.speaker,
                confidence=round(w.prob, 4),
            )
            out.append(word)
            self._recent.append(word)
            self._committed_end_s = max(self._committed_end_s, w.end_s)
        return out

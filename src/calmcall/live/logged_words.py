"""A session's logged transcript, re-delivered at the audio times the live call got it.

``calmcall replay SESSION`` of a session with recorded audio plays that audio through
the live path again. The prompts then depend on *when* each word reached the
pipeline, and in the live call that was set by the real-time transcriber's wall-clock
speed (on a loaded machine a stretch's words come later, so a pace or phrase prompt
takes another moment, and the prompt after it moves). Transcribing again cannot
reproduce that; handing the pipeline the logged words at their logged ``t_s`` (the
audio time each word was released, after card masking) does: same audio, same words
at the same audio times, same prompts.

:class:`LoggedWords` is a stand-in for :class:`calmcall.runner.Transcribers`
(``feed`` / ``finish`` / ``close``): after each block it returns the logged words and
partials whose ``t_s`` the audio fed so far has reached.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..events import Partial, Word
from .capture import TARGET_RATE_HZ

__all__ = ["LoggedLanguage", "LoggedWords", "logged_transcript"]

#: Logged ``t_s`` are rounded to 10 ms; a word is due once the fed audio is within half of that.
_T_TOL_S = 0.005


def logged_transcript(records: Iterable[dict[str, Any]]) -> list[Word | Partial]:
    """The ``word`` and ``partial`` records of a session log as events, in log order.

    A record without a finite ``t_s`` or a known speaker is skipped (a damaged log loses
    that word, nothing else)."""
    out: list[Word | Partial] = []
    for r in records:
        kind = r.get("type")
        if kind not in ("word", "partial") or r.get("speaker") not in ("agent", "customer"):
            continue
        try:
            t_s = float(r["t_s"])
            if not math.isfinite(t_s):
                continue
            if kind == "partial":
                out.append(Partial(t_s=t_s, speaker=r["speaker"], text=str(r.get("text", ""))))
            else:
                start_s, end_s = float(r["start_s"]), float(r["end_s"])
                if not (math.isfinite(start_s) and math.isfinite(end_s)):
                    continue
                out.append(
                    Word(
                        t_s=t_s,
                        start_s=start_s,
                        end_s=end_s,
                        text=str(r.get("text", "")),
                        speaker=r["speaker"],
                        confidence=float(r.get("confidence", 1.0)),
                    )
                )
        except (KeyError, TypeError, ValueError):
            continue
    return out


class LoggedLanguage:
    """The language an ``auto`` call settled on, as its session log recorded it (a
    ``language`` record, :meth:`calmcall.qa.sessionlog.SessionLog.language`), standing
    in for the call's :class:`calmcall.asr.language.LanguageLock` in a replay: undecided
    (``language`` None: English cues, the English playbook, as the live call had)
    until the replay reaches the audio time ``at_s`` at which the live session first saw
    the decision, then ``language``. :meth:`advance` moves the replay's audio time (s)."""

    def __init__(self, record: dict[str, Any]) -> None:
        self._value = str(record["language"])
        self.at_s = float(record.get("t_s") or 0.0)
        self.detected = True
        self.probability = record.get("probability")
        self.detected_at_s = record.get("detected_at_s")
        self._evidence_s = record.get("evidence_s")
        self._now_s = -math.inf

    @property
    def language(self) -> str | None:
        """The logged language once the replay reached ``at_s``; None before."""
        return self._value if self._now_s + _T_TOL_S >= self.at_s else None

    def advance(self, t_s: float) -> None:
        """The replay has reached audio time ``t_s`` (s)."""
        self._now_s = max(self._now_s, float(t_s))

    def to_dict(self) -> dict[str, Any]:
        """As :meth:`calmcall.asr.language.LanguageLock.to_dict`."""
        return {
            "language": self.language,
            "detected": True,
            "probability": self.probability,
            "detected_at_s": self.detected_at_s,
            "evidence_s": self._evidence_s,
        }


class LoggedWords:
    """Re-delivers ``items`` (words and partials, each with its logged ``t_s`` in audio
    seconds) as the audio is fed: :meth:`feed` returns those due by the end of the
    block, in log order (stable for equal ``t_s``); :meth:`finish` returns the rest."""

    def __init__(
        self, items: Iterable[Word | Partial], *, rate_hz: int = TARGET_RATE_HZ, language_lock: LoggedLanguage | None = None
    ) -> None:
        #: the logged language of an ``auto`` call (None: the call's language was fixed, or not logged)
        self.language_lock = language_lock
        indexed = sorted(enumerate(items), key=lambda k: (k[1].t_s, k[0]))
        self._items = [item for _, item in indexed]
        self._next = 0
        self._fed_n = 0
        self._rate_hz = rate_hz

    @property
    def t_s(self) -> float:
        """Audio fed so far (s)."""
        return self._fed_n / self._rate_hz

    def feed(self, blocks: dict[str, np.ndarray]) -> list[Word | Partial]:
        """One block per role (equal lengths, samples at ``rate_hz``) → the items now due."""
        self._fed_n += max((len(x) for x in blocks.values()), default=0)
        due_s = self.t_s + _T_TOL_S
        if self.language_lock is not None:  # decided before the words it routed are due
            self.language_lock.advance(self.t_s)
        start = self._next
        while self._next < len(self._items) and self._items[self._next].t_s <= due_s:
            self._next += 1
        return self._items[start : self._next]

    def finish(self) -> list[Word | Partial]:
        """Everything not yet delivered (words the live call got after its last block)."""
        rest, self._next = self._items[self._next :], len(self._items)
        if self.language_lock is not None and rest:
            self.language_lock.advance(max(it.t_s for it in rest))
        return rest

    def close(self) -> None:
        """Nothing to release (no model, no thread)."""

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

__all__ = ["LoggedWords", "logged_transcript"]

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


class LoggedWords:
    """Re-delivers ``items`` (words and partials, each with its logged ``t_s`` in audio
    seconds) as the audio is fed: :meth:`feed` returns those due by the end of the
    block, in log order (stable for equal ``t_s``); :meth:`finish` returns the rest."""

    def __init__(self, items: Iterable[Word | Partial], *, rate_hz: int = TARGET_RATE_HZ) -> None:
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
        start = self._next
        while self._next < len(self._items) and self._items[self._next].t_s <= due_s:
            self._next += 1
        return self._items[start : self._next]

    def finish(self) -> list[Word | Partial]:
        """Everything not yet delivered (words the live call got after its last block)."""
        rest, self._next = self._items[self._next :], len(self._items)
        return rest

    def close(self) -> None:
        """Nothing to release (no model, no thread)."""

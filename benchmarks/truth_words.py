"""A simulated transcript from a scripted call's truth: the words of every turn, timed
and committed the way the streaming transcriber commits them.

Used by tests and benchmarks that need the word-based pace without running Whisper.
Each turn's words are laid out across the turn's rendered speech in proportion to
their syllables plus a little per letter (a stand-in for their spoken length: speech
is roughly syllable-timed; the turn's edges are exact), and
committed ``latency_s`` after their end, rounded up to the transcriber's
``pass_s`` grid (the streaming pass runs about every 0.5 s; its measured commit
latency is 1.3-2.6 s, README "Benchmarks").
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from calmcall.events import Word


def turn_words(turn: dict[str, Any], *, latency_s: float = 1.4, pass_s: float = 0.5) -> list[Word]:
    """The words of one truth turn (``speaker``, ``start_s``, ``end_s``, ``text``)."""
    texts = turn["text"].split()
    from calmcall.pace import syllables

    weights = np.array([max(1, syllables(w)) + 0.1 * sum(ch.isalnum() for ch in w) for w in texts], dtype=float)
    edges = turn["start_s"] + np.concatenate([[0.0], np.cumsum(weights)]) / weights.sum() * (turn["end_s"] - turn["start_s"])
    out = []
    for w, a, b in zip(texts, edges[:-1], edges[1:]):
        end = float(b) - 0.02 * (b - a)  # a little gap between words
        t = math.ceil((end + latency_s) / pass_s - 1e-9) * pass_s
        out.append(
            Word(
                t_s=round(t, 3), start_s=round(float(a), 3), end_s=round(end, 3), text=w, speaker=turn["speaker"], confidence=1.0
            )
        )
    return out


def truth_words(
    truth: dict[str, Any], *, latency_s: float = 1.4, pass_s: float = 0.5, speakers: Iterable[str] = ("agent", "customer")
) -> list[Word]:
    """All words of a rendered call's truth, ordered by commit time."""
    keep = set(speakers)
    words = [w for t in truth["turns"] if t["speaker"] in keep for w in turn_words(t, latency_s=latency_s, pass_s=pass_s)]
    return sorted(words, key=lambda w: (w.t_s, w.start_s))


def run_with_words(
    call: Any,
    words: list[Word],
    *,
    config: Any,
    block_s: float = 0.1,
    phrase_coach: Any | None = None,
    profile: Any | None = None,
) -> tuple[list[Any], Any]:
    """Feed ``call`` through a Pipeline in ``block_s`` blocks, handing each word over
    in the first block that ends at or after its commit time. Returns (events, pipe)."""
    from calmcall.audio_io import iter_blocks
    from calmcall.pipeline import Pipeline

    pipe = Pipeline(config, has_customer=call.customer is not None, agent_baseline=profile, phrase_coach=phrase_coach)
    events: list[Any] = []
    i = 0
    for _t, blocks in iter_blocks(call, block_s=block_s):
        events += pipe.feed(blocks)
        due = []
        while i < len(words) and words[i].t_s <= pipe.t_s + 1e-9:
            due.append(words[i])
            i += 1
        if due:
            events += pipe.feed_words(due)
    if i < len(words):
        events += pipe.feed_words(words[i:])
    events += pipe.finish()
    return events, pipe

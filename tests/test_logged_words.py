"""calmcall.live.logged_words: a session's logged words re-delivered by audio time."""

from __future__ import annotations

import numpy as np

from calmcall.events import Partial, Word
from calmcall.live.logged_words import LoggedWords, logged_transcript


def _blk(n: int) -> dict[str, np.ndarray]:
    return {"agent": np.zeros(n, np.float32), "customer": np.zeros(n, np.float32)}


def test_records_become_events_and_damaged_ones_are_skipped() -> None:
    recs = [
        {"type": "word", "t_s": 1.2, "start_s": 0.1, "end_s": 0.5, "text": "hello", "speaker": "agent", "confidence": 0.9},
        {"type": "partial", "t_s": 1.0, "speaker": "customer", "text": "hi th"},
        {"type": "word", "t_s": "x", "start_s": 0.1, "end_s": 0.5, "text": "bad", "speaker": "agent"},
        {"type": "word", "t_s": float("nan"), "start_s": 0.1, "end_s": 0.5, "text": "nan", "speaker": "agent"},
        {"type": "word", "t_s": 2.0, "start_s": 0.1, "text": "no end", "speaker": "agent"},
        {"type": "word", "t_s": 2.0, "start_s": 0.1, "end_s": 0.5, "text": "who", "speaker": "caller"},
        {"type": "prompt", "t_s": 2.0, "kind": "pace"},
    ]
    assert logged_transcript(recs) == [
        Word(t_s=1.2, start_s=0.1, end_s=0.5, text="hello", speaker="agent", confidence=0.9),
        Partial(t_s=1.0, speaker="customer", text="hi th"),
    ]


def test_items_are_due_when_the_fed_audio_reaches_their_t_s() -> None:
    w = [Word(t_s=t, start_s=0.0, end_s=0.1, text=str(t), speaker="agent", confidence=1.0) for t in (0.3, 0.1, 0.2, 0.2)]
    lw = LoggedWords(w)
    assert lw.feed(_blk(800)) == []  # 0.05 s
    assert [x.text for x in lw.feed(_blk(800))] == ["0.1"]  # 0.1 s: logged t_s are rounded to 10 ms
    assert [x.text for x in lw.feed(_blk(1600))] == ["0.2", "0.2"]  # equal t_s keep their log order
    assert lw.feed(_blk(1)) == []
    assert [x.text for x in lw.finish()] == ["0.3"]
    assert lw.finish() == [] and lw.feed(_blk(16000)) == []

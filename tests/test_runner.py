"""One per-call runner: analyze and live give the same events for the same audio and
the same decode results (calmcall.runner.CallRunner behind both).

Real components: the bundled sample call (espeak-ng speech), the real pipeline with the
built-in playbook and card masking, the live path's real-clock FileSource and Session.
The decode results are a fixed transcript (the call's script laid out over its turns,
released 1.4 s after each word) re-delivered by LoggedWords on both paths, so the test
compares the plumbing, not two runs of a speech model.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from calmcall.analysis import make_phrase_coach, run_call
from calmcall.audio_io import load_call
from calmcall.config import load_config
from calmcall.events import Event, Partial, Word, to_dict
from calmcall.live.logged_words import LoggedWords
from calmcall.live.session import BLOCK_N, FileSource, Session
from calmcall.pipeline import Pipeline
from calmcall.runner import CallRunner

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "sample_call.wav"
TRUTH = ROOT / "samples" / "sample_call.truth.json"

pytestmark = pytest.mark.skipif(not SAMPLE.exists(), reason="samples/sample_call.wav missing")


def script_words(latency_s: float = 1.4) -> list[Word | Partial]:
    """Each turn's words spread evenly over the turn, released ``latency_s`` after their
    end, in 10 ms steps (as a session log stores them); a partial before each word."""
    out: list[Word | Partial] = []
    for turn in json.loads(TRUTH.read_text())["turns"]:
        texts = turn["text"].split()
        edges = np.linspace(turn["start_s"], turn["end_s"], len(texts) + 1)
        for text, a, b in zip(texts, edges[:-1], edges[1:], strict=True):
            t = round(float(b) + latency_s, 2)
            out.append(Partial(t_s=round(t - 0.3, 2), speaker=turn["speaker"], text=text[:3]))
            out.append(
                Word(
                    t_s=t,
                    start_s=round(float(a), 3),
                    end_s=round(float(b), 3),
                    text=text,
                    speaker=turn["speaker"],
                    confidence=1.0,
                )
            )
    return out


def _key(events: list[Event]) -> list[dict]:
    """Everything but the live status (wall-clock facts) and measures' throttling."""
    return [to_dict(e) for e in events if e.type != "status"]


def test_analyze_and_live_give_identical_events_for_the_same_decode_results() -> None:
    call = load_call(SAMPLE)
    cfg = load_config(None)
    words = script_words()
    offline, _pipe = run_call(call, config=cfg, transcriber=LoggedWords(words))

    seen: list[Event] = []
    src = FileSource(call, name="sample", speed=8.0, first_block_n=BLOCK_N)  # analyze's 0.1 s grid
    pipe = Pipeline(cfg, has_customer=True, phrase_coach=make_phrase_coach(None))
    sess = Session(
        src, pipe, config=cfg, publish=lambda t, d: None, transcriber=LoggedWords(words), on_event=seen.append, mode="replay"
    )
    sess.run()

    a, b = _key(offline), _key(seen)
    kinds = {e["type"] for e in a}
    assert {"prompt", "word", "partial", "measures", "baseline"} <= kinds  # the comparison covers them all
    # the words reached the pipeline: the pace prompt is measured in words per minute
    assert any(e["type"] == "prompt" and e["kind"] == "pace" and "wpm" in e["detail"] for e in a)
    assert a == b


def test_words_of_both_speakers_reach_the_pipeline_in_release_order() -> None:
    """Within one block the agent's and the customer's words are merged by release time
    (analyze used to feed them speaker by speaker)."""
    order: list[tuple[float, str]] = []

    class Spy(Pipeline):
        def feed_words(self, items):  # type: ignore[override]
            order.extend((w.t_s, w.speaker) for w in items)
            return super().feed_words(items)

    cfg = load_config(None)
    w = [
        Word(t_s=0.12, start_s=0.0, end_s=0.1, text="b", speaker="customer", confidence=1.0),
        Word(t_s=0.15, start_s=0.0, end_s=0.1, text="c", speaker="agent", confidence=1.0),
        Word(t_s=0.11, start_s=0.0, end_s=0.1, text="a", speaker="agent", confidence=1.0),
    ]
    runner = CallRunner(Spy(cfg, has_customer=True), LoggedWords(w))
    z = np.zeros(BLOCK_N * 2, np.float32)
    runner.feed({"agent": z, "customer": z})
    runner.finish()
    assert order == [(0.11, "agent"), (0.12, "customer"), (0.15, "agent")]


def test_a_failing_transcriber_is_dropped_and_coaching_goes_on(caplog) -> None:
    class Broken:
        def feed(self, blocks):
            raise RuntimeError("decoder crashed")

        def finish(self):
            return []

        def close(self):
            pass

    told: list[BaseException] = []
    cfg = load_config(None)
    runner = CallRunner(Pipeline(cfg, has_customer=True), Broken(), on_transcriber_failed=told.append)
    z = np.zeros(BLOCK_N, np.float32)
    assert isinstance(runner.feed({"agent": z, "customer": z}), list)
    assert runner.transcriber is None and len(told) == 1
    assert "transcription off" in caplog.text
    runner.feed({"agent": z, "customer": z})  # no second failure
    assert len(told) == 1

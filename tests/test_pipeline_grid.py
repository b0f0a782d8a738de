"""The core gives the same events whatever block size the audio arrives in.

Decisions happen every 0.1 s of audio and each decision sees only the frames up to
its own time (the windowed statistics advance frame by frame), so a live capture
delivering 23 ms blocks, a replay on a shifted grid and ``analyze`` agree to the
sample. The sample call has every kind of prosody prompt, an escalation and overtalk
(here without transcribed words, so with the acoustic pace band narrowed to 1.3x and a
0.75 s hold, so that the acoustic pace path gives its prompt too).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from calmcall.audio_io import load_call
from calmcall.config import config_from_dict
from calmcall.events import to_dict
from calmcall.pipeline import Pipeline

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "sample_call.wav"


def _events(first_n: int, n: int) -> list[dict]:
    call = load_call(SAMPLE)
    cfg = config_from_dict({"targets": {"acoustic_pace_margin": 0.3, "acoustic_pace_hold_s": 0.75}})
    pipe = Pipeline(cfg, has_customer=True)
    edges = [0, first_n, *range(first_n + n, len(call.agent), n), len(call.agent)]
    out = []
    for a, b in itertools.pairwise(edges):
        out += pipe.feed({"agent": call.agent[a:b], "customer": call.customer[a:b]})
    out += pipe.finish()
    return [to_dict(e) for e in out]


@pytest.fixture(scope="module")
def reference() -> list[dict]:
    return _events(1600, 1600)  # the 0.1 s grid from t=0 that analyze uses


@pytest.mark.parametrize(
    "first_n, n",
    [(480, 1600), (368, 368), (4000, 4000), (1, 1600)],
    ids=["aligned-grid", "23ms-blocks", "250ms-blocks", "1-sample-then-0.1s"],
)
def test_block_size_does_not_change_events(reference: list[dict], first_n: int, n: int) -> None:
    kinds = {e.get("kind") for e in reference if e["type"] == "prompt"}
    assert {"pace", "pitch", "volume", "overtalk", "customer_escalation"} <= kinds
    assert _events(first_n, n) == reference

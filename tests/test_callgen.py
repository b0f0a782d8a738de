"""The randomized call generator is deterministic and its splits are disjoint."""

from __future__ import annotations

import shutil

import callgen
import pytest


def test_splits_share_no_voice_and_no_line() -> None:
    assert not set(callgen.VOICES["dev"]) & set(callgen.VOICES["held"])
    dev, held = callgen.phrase_bank("dev"), callgen.phrase_bank("held")
    for role in dev:
        assert dev[role] and held[role] and not set(dev[role]) & set(held[role]), role
    with pytest.raises(ValueError, match="split must be one of"):
        callgen.phrase_bank("test")


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")
def test_same_seed_same_truth_and_other_seeds_differ() -> None:
    a = callgen.truth_of(callgen.layout("dev", 1003))
    b = callgen.truth_of(callgen.layout("dev", 1003))
    assert a == b
    c = callgen.truth_of(callgen.layout("dev", 1004))
    assert c["turns"] != a["turns"]
    h = callgen.truth_of(callgen.layout("held", 5003))
    assert h["agent"]["voice"] in callgen.VOICES["held"] and h["customer"]["voice"] in callgen.VOICES["held"]
    # the ground truth is consistent with the layout: every cut-in is a real overtalk, no backchannel is
    ot = {v["start_s"] for v in a["violations"] + c["violations"] + h["violations"] if v["kind"] == "overtalk"}
    for t in a["turns"] + c["turns"] + h["turns"]:
        if t["speaker"] == "agent" and t["role"] == "backchannel":
            assert t["start_s"] not in ot
    assert a["calm_agent_s"] > 0 and a["duration_s"] >= max(t["end_s"] for t in a["turns"])

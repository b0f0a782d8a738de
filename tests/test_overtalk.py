"""Overtalk with turn-taking rules, on two-channel espeak-ng fixtures fed through
the pipeline (its voice-activity decision and hangover included), and the
ground-truth definition the benchmarks use (callgen.real_overtalks).

Fixtures (docs/background.md: Real speech "Turn-taking", "Echo and bleed"): an agent who answers
right after the caller stops; an agent backchannel inside the caller's turn; an
agent who starts while the caller talks on (the one real overtalk); a caller who
interrupts the agent; the caller's voice leaking into the agent channel at -25 dB.
"""

from __future__ import annotations

import shutil

import callgen
import numpy as np
import pytest

from calmcall.config import Config
from calmcall.events import Prompt
from calmcall.pipeline import Pipeline

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng not installed (the README test command installs it)"
)

SR = 16000
AGENT = ("en-us+m3", 140, 40)
CALLER = ("en-gb-x-rp+f2", 140, 45)
CALLER_LONG = (
    "Well the thing is, I set up the direct debit back in January, and every month since then you have taken the money twice."
)
AGENT_LINE = "Okay, I can see that on the account, let me check it for you."


def _say(who: tuple[str, int, int], text: str) -> np.ndarray:
    return callgen.synth(who[0], who[1], who[2], text) * 10 ** (-4 / 20)  # -34 dBFS speech


def _mix(
    parts: list[tuple[str, float, np.ndarray]], dur_s: float, *, echo_db: float | None = None, seed: int = 0
) -> dict[str, np.ndarray]:
    n = int(dur_s * SR)
    ch = {"agent": np.zeros(n), "customer": np.zeros(n)}
    for role, t0, x in parts:
        s = int(t0 * SR)
        ch[role][s : s + len(x)] += x[: n - s]
    if echo_db is not None:
        d = int(0.04 * SR)  # 40 ms late, as a headset's echo path
        ch["agent"] += np.concatenate([np.zeros(d), ch["customer"][: n - d]]) * 10 ** (echo_db / 20)
    rng = np.random.default_rng(seed)
    return {k: (v + rng.standard_normal(n) * 10 ** (-70 / 20)).astype(np.float32) for k, v in ch.items()}


def _run(audio: dict[str, np.ndarray]) -> tuple[Pipeline, list[Prompt]]:
    pipe = Pipeline(Config(), has_customer=True)
    out = []
    step = 1600
    for i in range(0, len(audio["agent"]), step):
        out += pipe.feed({k: v[i : i + step] for k, v in audio.items()})
    return pipe, [e for e in out if isinstance(e, Prompt) and e.kind == "overtalk"]


def _caller_end_s(t0: float) -> float:
    return t0 + len(_say(CALLER, CALLER_LONG)) / SR


@needs_espeak
@pytest.mark.parametrize("gap_s", [0.0, 0.1, 0.2])
def test_agent_answering_right_after_the_caller_stops_is_not_overtalk(gap_s: float) -> None:
    end = _caller_end_s(0.5)
    audio = _mix([("customer", 0.5, _say(CALLER, CALLER_LONG)), ("agent", end + gap_s, _say(AGENT, AGENT_LINE))], end + 5.0)
    pipe, prompts = _run(audio)
    assert pipe.overtalk.count == 0 and not prompts, prompts


@needs_espeak
@pytest.mark.parametrize("word", ["Yeah.", "Right.", "Okay."])
def test_agent_backchannel_inside_the_callers_turn_is_not_overtalk(word: str) -> None:
    bc = callgen.synth(AGENT[0], int(AGENT[1] * 1.3), AGENT[2], word) * 10 ** (-4 / 20)
    assert len(bc) / SR < 0.6  # the fixture is a short backchannel
    end = _caller_end_s(0.5)
    audio = _mix(
        [("customer", 0.5, _say(CALLER, CALLER_LONG)), ("agent", 2.5, bc), ("agent", end + 0.5, _say(AGENT, AGENT_LINE))],
        end + 5.0,
    )
    pipe, prompts = _run(audio)
    assert pipe.overtalk.count == 0 and not prompts, prompts


@needs_espeak
def test_agent_starting_while_the_caller_talks_on_is_overtalk() -> None:
    end = _caller_end_s(0.5)
    onset = end - 2.5  # the caller talks on for 2.5 s after the agent starts
    audio = _mix([("customer", 0.5, _say(CALLER, CALLER_LONG)), ("agent", onset, _say(AGENT, AGENT_LINE))], end + 5.0)
    pipe, prompts = _run(audio)
    assert pipe.overtalk.count == 1 and len(prompts) == 1
    p = prompts[0]
    assert abs(p.evidence["agent_onset_s"] - onset) <= 0.1
    cfg = Config()
    # confirmed once both kept talking overlap_s of real speech (plus the VAD hangover), not later
    assert onset + cfg.overtalk.overlap_s <= p.t_s <= onset + cfg.overtalk.overlap_s + pipe.overtalk.release_s + 0.15
    assert p.evidence["customer_talking_s"] >= cfg.overtalk.customer_min_s


@needs_espeak
def test_caller_interrupting_the_agent_is_not_agent_overtalk() -> None:
    a = _say(AGENT, "So the first charge is the monthly plan, and the second one is a roaming fee from June.")
    a_end = 0.5 + len(a) / SR
    audio = _mix([("agent", 0.5, a), ("customer", a_end - 1.5, _say(CALLER, CALLER_LONG))], a_end + 8.0)
    pipe, prompts = _run(audio)
    assert pipe.overtalk.count == 0 and not prompts, prompts


@needs_espeak
def test_echo_of_the_caller_on_the_agent_channel_is_not_overtalk() -> None:
    """The caller's voice at -25 dB in the agent's mic is not the agent speaking."""
    end = _caller_end_s(0.5)
    audio = _mix(
        [
            ("customer", 0.5, _say(CALLER, CALLER_LONG)),
            ("agent", end + 0.6, _say(AGENT, AGENT_LINE)),
            ("customer", end + 4.5, _say(CALLER, CALLER_LONG)),
        ],
        end + 12.0,
        echo_db=-25.0,
    )
    pipe, prompts = _run(audio)
    assert pipe.overtalk.count == 0 and not prompts, prompts


# ------------------------------------------------------------------ ground truth


def test_real_overtalk_definition() -> None:
    long_c = [(1.0, 8.0)]
    assert callgen.real_overtalks([(8.1, 10.0)], long_c) == []  # answer 0.1 s after the caller stops
    assert callgen.real_overtalks([(7.7, 10.0)], long_c) == []  # the caller stops 0.3 s after the onset
    assert callgen.real_overtalks([(3.0, 3.4)], long_c) == []  # a 0.4 s backchannel
    assert callgen.real_overtalks([(1.2, 4.0)], long_c) == []  # the caller had not held the floor 0.5 s
    assert callgen.real_overtalks([(0.0, 2.0)], long_c) == []  # the caller interrupted the agent
    # the agent stopped at 2.0 after the caller's interruption; the caller then held the floor 2 s alone
    assert callgen.real_overtalks([(0.0, 2.0), (4.0, 6.0)], long_c) == [{"start_s": 4.0, "end_s": 6.0, "floor_s": 2.0}]
    assert callgen.real_overtalks([(6.0, 9.0)], long_c) == [{"start_s": 6.0, "end_s": 8.0, "floor_s": 5.0}]


@needs_espeak
def test_answering_after_the_caller_on_a_telephone_channel_is_not_overtalk(tmp_path, monkeypatch) -> None:
    """Generated call dev-1033 (telephone channel: G.711, comfort noise at -60 dBFS
    between words): the agent answers 0.43 s after the caller stops at 7.53 s. The
    caller's activity decision stays on in the comfort noise for 1.5 s; that is not the
    caller talking (calmcall.overtalk: speech within SPEECH_DROP_DB of the channel's
    level). The call's one real overtalk is still found."""
    import soundfile as sf

    import calmcall.overtalk as ot

    wav, truth = callgen.render(callgen.layout("dev", 1033), tmp_path)
    assert truth["condition"] == "phone"
    x, _ = sf.read(wav, dtype="float32", always_2d=True)

    def onsets() -> list[float]:
        pipe, _ = _run({"agent": x[:, 0], "customer": x[:, 1]})
        return [e.onset_s for e in pipe.overtalk.episodes]

    true = [v["start_s"] for v in truth["violations"] if v["kind"] == "overtalk"]
    found = onsets()
    assert not [t for t in found if 7.5 <= t <= 8.5], found
    assert len(found) == len(true) and all(abs(f - t) <= 0.5 for f, t in zip(found, true)), (found, true)
    monkeypatch.setattr(ot, "SPEECH_DROP_DB", 1e3)  # every active frame speech: the fixture is the hard case
    assert [t for t in onsets() if 7.5 <= t <= 8.5]

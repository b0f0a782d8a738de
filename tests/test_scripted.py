"""Tests of the scripted-call renderer (benchmarks/scripted.py) and the bundled sample call."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import scripted  # noqa: E402
from benchmarks.make_sample_call import check_timeline  # noqa: E402
from benchmarks.scripted import Turn, render_call, scenario  # noqa: E402

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")
SR = 16000


def _active_rms_db(x: np.ndarray, sr: int = SR) -> float:
    """RMS over 20 ms frames within 30 dB of the loudest frame (independent of the module's)."""
    frame = sr // 50
    n = len(x) // frame
    ms = (x[: n * frame].reshape(n, frame) ** 2).mean(axis=1)
    return float(10 * np.log10(ms[ms >= ms.max() / 1000].mean()))


def _median_f0_hz(x: np.ndarray, sr: int = SR) -> float:
    import librosa

    f0 = librosa.yin(x.astype(np.float32), fmin=60, fmax=500, sr=sr, frame_length=1024, hop_length=256)
    e = librosa.feature.rms(y=x.astype(np.float32), frame_length=1024, hop_length=256)[0]
    m = min(len(f0), len(e))
    return float(np.median(f0[:m][e[:m] > 0.1 * e.max()]))


def _segment(audio: np.ndarray, turn: dict, sr: int = SR) -> np.ndarray:
    ch = 0 if turn["speaker"] == "agent" else 1
    return audio[int(round(turn["start_s"] * sr)) : int(round(turn["end_s"] * sr)), ch]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory):
    """Render a few scenarios once per module: name -> (truth, audio, path)."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng not installed")
    d = tmp_path_factory.mktemp("calls")
    out = {}
    for name in ("volume", "pitch", "pace", "overtalk", "customer_interrupts", "customer_escalation"):
        path = d / f"{name}.wav"
        truth = render_call(scenario(name), path)
        audio, sr = sf.read(path, dtype="float64")
        assert sr == SR
        out[name] = (truth, audio, path)
    return out


def _calm_agent_turns(truth: dict) -> list[dict]:
    return [t for t in truth["turns"] if t["speaker"] == "agent" and t["label"] == "calm"]


def _only(truth: dict, label: str) -> dict:
    (turn,) = [t for t in truth["turns"] if t["label"] == label]
    return turn


def test_file_format_channels_and_duration(rendered) -> None:
    truth, audio, path = rendered["volume"]
    info = sf.info(path)
    assert (info.channels, info.samplerate, info.subtype) == (2, SR, "PCM_16")
    assert info.frames == round(truth["duration_s"] * SR)
    assert truth["sample_rate_hz"] == SR and truth["channels"] == {"agent": 0, "customer": 1}
    assert truth["turns"][-1]["end_s"] < truth["duration_s"] <= truth["turns"][-1]["end_s"] + 1.1
    # Each channel carries only its own speaker: silence outside that speaker's turns.
    for ch, spk in ((0, "agent"), (1, "customer")):
        mask = np.ones(len(audio), dtype=bool)
        for t in truth["turns"]:
            if t["speaker"] == spk:
                # times are rounded to 1 ms: allow 1 ms either side
                mask[int(t["start_s"] * SR) - 16 : int(np.ceil(t["end_s"] * SR)) + 16] = False
        assert np.max(np.abs(audio[mask, ch])) == 0.0
        # ...and speech at both ends of every turn of that speaker.
        for t in truth["turns"]:
            if t["speaker"] == spk:
                seg = _segment(audio, t)
                assert np.max(np.abs(seg[:160])) > 0 and np.max(np.abs(seg[-160:])) > 0


def test_single_violation_scenarios_open_calm(rendered) -> None:
    for name in ("volume", "pitch", "pace"):
        truth = rendered[name][0]
        (v,) = truth["violations"]
        assert v["kind"] == name and v["speaker"] == "agent"
        assert 25.0 <= v["start_s"] <= 35.0
        assert v["end_s"] - v["start_s"] >= 5.0
        calm_before = sum(e - s for s, e in truth["calm_agent_spans"] if e <= v["start_s"])
        assert calm_before >= 12.0
        assert any(s > v["end_s"] for s, _ in truth["calm_agent_spans"])
        gaps = [b["start_s"] - a["end_s"] for a, b in zip(truth["turns"], truth["turns"][1:])]
        assert all(0.35 <= g <= 0.85 for g in gaps), gaps


def test_volume_turn_is_louder(rendered) -> None:
    truth, audio, _ = rendered["volume"]
    loud = _active_rms_db(_segment(audio, _only(truth, "volume")))
    calm = [_active_rms_db(_segment(audio, t)) for t in _calm_agent_turns(truth)]
    assert loud - max(calm) >= 6.0
    assert 8.0 <= loud - float(np.mean(calm)) <= 12.0
    assert np.max(np.abs(audio)) < 0.95  # no clipping


def test_pitch_turn_is_higher(rendered) -> None:
    truth, audio, _ = rendered["pitch"]
    high = _median_f0_hz(_segment(audio, _only(truth, "pitch")))
    calm = float(np.median([_median_f0_hz(_segment(audio, t)) for t in _calm_agent_turns(truth)]))
    assert 12 * np.log2(high / calm) >= 4.0


def test_pace_turn_is_faster(rendered) -> None:
    truth = rendered["pace"][0]
    fast = _only(truth, "pace")
    calm = _calm_agent_turns(truth)
    for t in calm + [fast]:
        assert abs(t["speech_wpm"] / t["wpm"] - 1) <= 0.03  # rendered rate is the declared rate
        assert t["speech_wpm"] == pytest.approx(t["words"] / (t["end_s"] - t["start_s"]) * 60, abs=0.1)
    assert fast["speech_wpm"] >= 230
    assert all(130 <= t["speech_wpm"] <= 165 for t in calm)


def test_truth_json_matches_return_and_turns(rendered) -> None:
    for name, (truth, _, path) in rendered.items():
        assert json.loads(path.with_suffix(".truth.json").read_text()) == truth
        turns = scenario(name)
        assert [(t["speaker"], t["text"], t["label"], t["wpm"], t["pitch"]) for t in truth["turns"]] == [
            (t.speaker, t.text, t.label, t.wpm, t.pitch) for t in turns
        ]
        for t, src in zip(truth["turns"], turns):
            assert t["start_s"] == pytest.approx(src.start_s, abs=1e-3)
            assert t["voice"] == scripted.DEFAULT_VOICES[t["speaker"]]
            assert t["end_s"] > t["start_s"]
        assert truth["calm_agent_spans"] == [[t["start_s"], t["end_s"]] for t in _calm_agent_turns(truth)]


def test_overtalk_truth(rendered) -> None:
    truth = rendered["overtalk"][0]
    (v,) = truth["violations"]
    agent = _only(truth, "overtalk")
    (cust,) = [t for t in truth["turns"] if t["speaker"] == "customer" and t["start_s"] <= agent["start_s"] < t["end_s"]]
    assert v == {"kind": "overtalk", "start_s": agent["start_s"], "end_s": cust["end_s"], "speaker": "agent"}
    assert cust["end_s"] - agent["start_s"] >= 1.5


def test_customer_interrupts_is_not_agent_overtalk(rendered) -> None:
    truth = rendered["customer_interrupts"][0]
    assert truth["violations"] == []
    cust_starts = [t["start_s"] for t in truth["turns"] if t["speaker"] == "customer"]
    # some customer turn starts while the agent is speaking
    assert any(a["start_s"] < c < a["end_s"] for c in cust_starts for a in truth["turns"] if a["speaker"] == "agent")


def test_customer_escalation(rendered) -> None:
    truth, audio, _ = rendered["customer_escalation"]
    (v,) = truth["violations"]
    esc = _only(truth, "escalated")
    assert v == {"kind": "customer_escalation", "start_s": esc["start_s"], "end_s": esc["end_s"], "speaker": "customer"}
    calm = [t for t in truth["turns"] if t["speaker"] == "customer" and t["label"] == "calm"]
    calm_db = np.mean([_active_rms_db(_segment(audio, t)) for t in calm])
    assert _active_rms_db(_segment(audio, esc)) - calm_db >= 6.0
    assert esc["speech_wpm"] >= 200


@needs_espeak
def test_render_is_reproducible_and_noise_is_seeded(tmp_path: Path) -> None:
    turns = [Turn("agent", 0.3, "Thank you for calling."), Turn("customer", 1.9, "Hello there.")]
    a = render_call(turns, tmp_path / "a.wav", noise_db=-60.0, seed=3)
    b = render_call(turns, tmp_path / "b.wav", noise_db=-60.0, seed=3)
    assert a == b
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()
    audio, _ = sf.read(tmp_path / "a.wav")
    quiet = audio[: int(0.25 * SR)]
    assert 20 * np.log10(np.sqrt(np.mean(quiet**2))) == pytest.approx(-60.0, abs=1.0)
    render_call(turns, tmp_path / "c.wav", noise_db=-60.0, seed=4)
    assert (tmp_path / "c.wav").read_bytes() != (tmp_path / "a.wav").read_bytes()


@needs_espeak
def test_script_contradictions_are_rejected(tmp_path: Path) -> None:
    out = tmp_path / "x.wav"
    with pytest.raises(ValueError, match="overtalk"):  # overtalk with nobody to talk over
        render_call([Turn("agent", 0.2, "Hello.", label="overtalk")], out)
    with pytest.raises(ValueError, match="inside customer speech"):  # unlabelled overtalk
        render_call([Turn("customer", 0.0, "I have been waiting for an hour on this line."), Turn("agent", 0.5, "Hello.")], out)
    with pytest.raises(ValueError, match="overlap"):
        render_call([Turn("agent", 0.0, "Thank you for calling."), Turn("agent", 0.3, "Hello.")], out)
    with pytest.raises(ValueError, match="not valid"):
        render_call([Turn("customer", 0.0, "Hello.", label="pace")], out)
    with pytest.raises(ValueError, match="clips"):
        render_call([Turn("agent", 0.0, "Hello there.", gain_db=30.0)], out)
    with pytest.raises(ValueError, match="cuts off"):
        render_call([Turn("agent", 0.0, "Hello there.")], out, duration_s=0.2)
    with pytest.raises(ValueError, match="unknown scenario"):
        scenario("nope")


def test_bundled_sample_call_is_as_documented() -> None:
    wav = ROOT / "samples" / "sample_call.wav"
    truth = json.loads(wav.with_suffix(".truth.json").read_text())
    info = sf.info(wav)
    assert (info.channels, info.samplerate, info.subtype) == (2, SR, "PCM_16")
    assert info.frames == round(truth["duration_s"] * SR)
    assert check_timeline(truth) == []


@needs_espeak
@pytest.mark.skipif(shutil.which("sox") is None, reason="sox not installed")
def test_to_telephone(tmp_path: Path) -> None:
    render_call([Turn("agent", 0.2, "Thank you for calling.")], tmp_path / "c.wav")
    out = scripted.to_telephone(tmp_path / "c.wav", tmp_path / "c8k.wav")
    info = sf.info(out)
    assert (info.channels, info.samplerate, info.subtype) == (2, 8000, "ULAW")

"""End to end through the CLI with the real model: analyze, calibrate/profile, card masking."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "sample_call.wav"


def _cli(*args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "calmcall.cli", *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def sample_doc(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path, str]:
    tmp = tmp_path_factory.mktemp("analyze")
    out = tmp / "a.json"
    proc = _cli("analyze", str(SAMPLE), "--json", str(out), "--vtt", str(tmp / "a.vtt"), "--srt", str(tmp / "a.srt"))
    assert proc.returncode == 0, proc.stderr
    return json.loads(out.read_text()), tmp, proc.stdout


def test_analyze_with_transcription(sample_doc: tuple[dict, Path, str]) -> None:
    doc, tmp, stdout = sample_doc
    kinds = sorted(p["kind"] for p in doc["prompts"] if p["kind"] != "phrase")
    assert kinds == sorted(["customer_escalation", "overtalk", "pace", "volume", "pitch"])
    words = doc["words"]
    assert len(words) > 100
    assert {w["speaker"] for w in words} == {"agent", "customer"}
    for w in words:
        assert set(w) >= {"start_s", "end_s", "text", "speaker", "confidence"}
        assert w["t_s"] >= w["end_s"] - 1e-6
    agent_text = " ".join(w["text"] for w in words if w["speaker"] == "agent").lower()
    assert "thank you for calling" in agent_text
    assert "Prompts (" in stdout and "inside the target band" in stdout
    vtt = (tmp / "a.vtt").read_text()
    assert vtt.startswith("WEBVTT") and "-->" in vtt
    assert "-->" in (tmp / "a.srt").read_text()


def test_transcript_gives_the_calm_baseline_its_wpm(sample_doc: tuple[dict, Path, str]) -> None:
    """The learned baseline gets words per minute from the words spoken while it was
    learned, and the pace prompt quotes it: the sample's first two agent turns are
    151 and 145 wpm over the whole turn (truth JSON); the calm pace is their words over
    elapsed time (calmcall.pace; measured 141 with a fixed decode cost); the syllable
    estimate with the default 1.3 nuclei per word said 125."""
    doc, _, _ = sample_doc
    truth = json.loads((ROOT / "samples" / "sample_call.truth.json").read_text())
    calm = [t["speech_wpm"] for t in truth["turns"] if t["speaker"] == "agent"][:2]
    wpm = doc["baselines"]["agent"]["wpm"]
    assert wpm is not None and 0.9 * min(calm) <= wpm <= 1.1 * max(calm), (wpm, calm)  # measured 135
    pace = [p for p in doc["prompts"] if p["kind"] == "pace"][0]
    assert f"your calm pace is {wpm:.0f}" in pace["detail"]
    fast = [t["speech_wpm"] for t in truth["turns"] if t["label"] == "pace"][0]  # 240
    assert 0.85 * fast <= pace["evidence"]["wpm"] <= 1.2 * fast, (pace["evidence"], fast)


def test_calibrate_then_profile(tmp_path: Path) -> None:
    import soundfile as sf

    x, sr = sf.read(SAMPLE, dtype="float32")
    sf.write(tmp_path / "calm.wav", x[: 16 * sr, 0], sr)  # the first 16 s: calm agent speech
    prof = tmp_path / "agent.toml"
    proc = _cli("calibrate", str(tmp_path / "calm.wav"), "--out", str(prof))
    assert proc.returncode == 0, proc.stderr
    text = prof.read_text()
    f0 = float(re.search(r"f0_hz = ([0-9.]+)", text).group(1))
    assert 80 < f0 < 100  # espeak en-us agent voice: ~90 Hz
    out = tmp_path / "p.json"
    proc = _cli("analyze", str(SAMPLE), "--no-transcribe", "--profile", str(prof), "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    assert doc["baselines"]["agent"]["source"] == "profile"
    assert {"volume", "pitch"} <= {p["kind"] for p in doc["prompts"]}
    bad = tmp_path / "bad.toml"
    bad.write_text("[baseline]\nf0_hz = 'low'\n")
    proc = _cli("analyze", str(SAMPLE), "--no-transcribe", "--profile", str(bad))
    assert proc.returncode == 2 and "baseline.f0_hz" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")
def test_spoken_card_number_is_masked_everywhere(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import scripted

    turns = [
        scripted.Turn("agent", 0.5, "Thank you. Could you read me the card number, please?"),
        scripted.Turn(
            "customer", 4.5, "Yes. It is four one one one, one one one one, one one one one, one one one one.", wpm=130
        ),
        scripted.Turn("agent", 17.0, "Thank you, and the security code on the back?"),
        scripted.Turn("customer", 20.5, "The security code is seven three nine.", wpm=130),
    ]
    wav = tmp_path / "card.wav"
    scripted.render_call(turns, wav, duration_s=27.0)
    out = tmp_path / "c.json"
    proc = _cli("analyze", str(wav), "--json", str(out), "--vtt", str(tmp_path / "c.vtt"))
    assert proc.returncode == 0, proc.stderr
    doc_text = out.read_text()
    everything = doc_text + (tmp_path / "c.vtt").read_text() + proc.stdout + proc.stderr
    # the text of what was said, wherever it is written: the JSON's words, the VTT's cue lines
    # (not its timestamp lines), the printed output (its times and measures are numbers of ours;
    # the digits of all of them run together once matched "739" by chance, via t_s values)
    said = [w["text"] for w in json.loads(doc_text)["words"]]
    said += [ln for ln in (tmp_path / "c.vtt").read_text().splitlines() if "-->" not in ln and not ln.startswith("WEBVTT")]
    said_digits = re.sub(r"[^0-9]", "", " ".join(said))
    assert "411111111111" not in said_digits
    assert not re.search(r"\b(four|one)\b.*\b(one)\b.*\b(one)\b.*\b(one)\b.*\b(one)\b", everything.lower())
    assert "739" not in said_digits
    assert not re.search(r"\bseven\b\W+\bthree\b\W+\bnine\b", everything.lower())

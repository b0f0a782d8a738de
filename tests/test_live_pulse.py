"""The real microphone path: a PulseAudio null sink as a virtual microphone.

The fixture starts a private PulseAudio daemon (benchmarks/pulse_sink.py: its own
runtime dir and socket, so it never touches a desktop's sound server) with a null
sink ``vsink`` whose monitor is the default source; the scripted call is played into
the sink with ``paplay``, and ``calmcall live`` captures it through PortAudio (ALSA
``pulse`` device, 44.1 kHz native, resampled) exactly as it would a headset. The
daemon is stopped afterwards.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
import soundfile as sf
from websockets.sync.client import connect

from pulse_sink import running_pulse  # benchmarks/pulse_sink.py (on sys.path via conftest.py)

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "sample_call.wav"

pytestmark = [
    pytest.mark.skipif(shutil.which("pulseaudio") is None or shutil.which("paplay") is None,
                       reason="pulseaudio / pulseaudio-utils not installed"),
    pytest.mark.skipif(not SAMPLE.exists(), reason="samples/sample_call.wav missing"),
]


@pytest.fixture(scope="module")
def pulse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with running_pulse(tmp_path_factory.mktemp("pulse")) as env:
        yield env


def agent_test_call(path: Path) -> float:
    """Agent channel of the sample call: the calm opening (baseline) spliced to the
    loud turn (+10 dB, 'volume' violation at 60.34 s in the sample)."""
    x, sr = sf.read(SAMPLE, dtype="float32")
    agent = x[:, 0]
    clip = np.concatenate([agent[: int(16.5 * sr)], agent[int(60.0 * sr): int(64.8 * sr)]])
    sf.write(path, clip, sr, subtype="PCM_16")
    return 16.5 + 0.34  # where the loud speech starts in the clip


def start_live(env: dict[str, str], *extra: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "calmcall.cli", "live", "--port", "0", "--device", "pulse", *extra],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if "http://127.0.0.1:" in line:
            url = line.split("overlay at ", 1)[1].strip()
            return proc, url
        if not line and proc.poll() is not None:
            raise AssertionError("calmcall live exited: " + proc.stderr.read()[-2000:])
    proc.kill()
    raise AssertionError("no overlay URL printed")


def ws_of(url: str) -> tuple[str, str]:
    origin, _, frag = url.partition("/#token=")
    return origin.replace("http://", "ws://") + "/ws?token=" + frag, origin


def test_live_captures_the_virtual_microphone_and_prompts(pulse, tmp_path):
    wav = tmp_path / "agent.wav"
    loud_at = agent_test_call(wav)
    proc, url = start_live(pulse, "--sessions-dir", str(tmp_path / "sessions"))
    messages: list[dict] = []
    try:
        uri, origin = ws_of(url)
        with connect(uri, origin=origin) as ws:
            hello = json.loads(ws.recv(timeout=10))
            assert hello["type"] == "hello" and hello["data"]["mode"] == "live"
            player = subprocess.Popen(["paplay", "--device=vsink", str(wav)], env=pulse)
            deadline = time.monotonic() + loud_at + 20
            while time.monotonic() < deadline:
                try:
                    msg = json.loads(ws.recv(timeout=1))
                except TimeoutError:
                    continue
                messages.append(msg)
                if msg["type"] == "prompt" and msg["data"]["kind"] == "volume":
                    break
            player.wait(30)
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err[-2000:]
    types = [m["type"] for m in messages]
    prompts = [m["data"] for m in messages if m["type"] == "prompt"]
    assert [p["kind"] for p in prompts][-1:] == ["volume"], prompts
    assert prompts[-1]["headline"] == "Lower voice"
    assert "baseline" in types and "measures" in types
    statuses = [m["data"]["info"] for m in messages if m["type"] == "status"]
    dev = statuses[-1]["devices"][0]
    assert dev["name"] == "pulse" and dev["state"] == "ok" and dev["rate_hz"] == 44100.0
    assert statuses[-1]["lag_ms"] < 500
    words = [m["data"]["text"] for m in messages if m["type"] == "word"]
    assert len(words) >= 10  # the transcript came through too (tiny.en, real time)
    assert "session ended" in out
    logs = list((tmp_path / "sessions").glob("*.jsonl"))
    assert len(logs) == 1
    records = [json.loads(line) for line in logs[0].read_text().splitlines()]
    assert records[0]["type"] == "session_start" and records[0]["meta"]["source"] == "live"
    assert any(r["type"] == "prompt" and r["kind"] == "volume" for r in records)
    assert records[-1]["type"] == "session_end"


def test_live_with_an_unknown_device_lists_what_is_available(pulse):
    proc = subprocess.run(
        [sys.executable, "-m", "calmcall.cli", "live", "--port", "0", "--no-transcribe", "--no-log",
         "--device", "Plantronics Blackwire"],
        env=pulse, capture_output=True, text=True, cwd=ROOT, timeout=60,
    )
    assert proc.returncode == 2
    assert "no input device named 'Plantronics Blackwire'" in proc.stderr
    assert "pulse" in proc.stderr and "default" in proc.stderr


def test_devices_lists_the_virtual_microphone(pulse):
    proc = subprocess.run([sys.executable, "-m", "calmcall.cli", "devices", "--json"],
                          env=pulse, capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    names = [d["name"] for d in json.loads(proc.stdout)]
    assert "pulse" in names

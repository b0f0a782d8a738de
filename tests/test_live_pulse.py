"""The real microphone path: PulseAudio null sinks as virtual microphones.

The fixture starts a private PulseAudio daemon (benchmarks/pulse_sink.py: its own
runtime dir and socket, so it never touches a desktop's sound server) with a null
sink ``vsink`` whose monitor is the default source; the scripted call is played into
the sink with ``paplay``, and ``calmcall live`` captures it through PortAudio (ALSA
``pulse`` device, 44.1 kHz native, resampled) exactly as it would a headset. For the
two-party test a stereo sink ``callsink`` is split into two sources (left = agent,
right = customer), reached by PortAudio as the ALSA devices ``vmic_agent`` and
``vmic_customer``: ``calmcall live --device vmic_agent --customer-device
vmic_customer`` captures the two sides of the sample call from two real inputs. The
daemon is stopped afterwards.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from pulse_sink import AGENT_INPUT, CALL_SINK, CUSTOMER_INPUT, running_pulse  # benchmarks/ (conftest.py)
from websockets.sync.client import connect

from calmcall.qa.sessionlog import read_session

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "sample_call.wav"
TRUTH = ROOT / "samples" / "sample_call.truth.json"

pytestmark = [
    pytest.mark.skipif(
        shutil.which("pulseaudio") is None or shutil.which("paplay") is None, reason="pulseaudio / pulseaudio-utils not installed"
    ),
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
    clip = np.concatenate([agent[: int(16.5 * sr)], agent[int(60.0 * sr) : int(64.8 * sr)]])
    sf.write(path, clip, sr, subtype="PCM_16")
    return 16.5 + 0.34  # where the loud speech starts in the clip


def start_live(env: dict[str, str], *extra: str, device: str = "pulse") -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "calmcall.cli", "live", "--port", "0", "--device", device, *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
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
        [
            sys.executable,
            "-m",
            "calmcall.cli",
            "live",
            "--port",
            "0",
            "--no-transcribe",
            "--no-log",
            "--device",
            "Plantronics Blackwire",
        ],
        env=pulse,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "no input device named 'Plantronics Blackwire'" in proc.stderr
    assert "pulse" in proc.stderr and "default" in proc.stderr


def test_devices_lists_the_virtual_microphone(pulse):
    proc = subprocess.run(
        [sys.executable, "-m", "calmcall.cli", "devices", "--json"],
        env=pulse,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    names = [d["name"] for d in json.loads(proc.stdout)]
    assert "pulse" in names


def wait_for_audio(sessions: Path, proc: subprocess.Popen, timeout_s: float = 30.0) -> None:
    """Wait until the live session logs its first measures (the capture is running)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for log in sessions.glob("*.jsonl"):
            if '"type":"measures"' in log.read_text(errors="replace"):
                return
        if proc.poll() is not None:
            raise AssertionError("calmcall live exited: " + proc.stderr.read()[-2000:])
        time.sleep(0.1)
    raise AssertionError(f"no audio captured within {timeout_s:.0f} s")


def test_live_captures_the_customer_from_a_second_input(pulse, tmp_path):
    """Agent and customer on two real inputs: only a working customer channel gives
    the customer's escalation and the agent's overtalk, at the sample call's times."""
    truth = json.loads(TRUTH.read_text())
    start = {v["kind"]: v["start_s"] for v in truth["violations"]}
    x, sr = sf.read(SAMPLE, dtype="float32")
    clip = tmp_path / "call.wav"  # both sides, first 32 s: the escalation and the overtalk
    sf.write(clip, x[: int(32.0 * sr)], sr, subtype="PCM_16")
    sessions = tmp_path / "sessions"
    # stopped with Ctrl-C, not --duration: a --duration timer outlives an earlier stop
    # and keeps the process alive until it runs out
    proc, _url = start_live(
        pulse, "--customer-device", CUSTOMER_INPUT, "--no-transcribe", "--sessions-dir", str(sessions), device=AGENT_INPUT
    )
    try:
        wait_for_audio(sessions, proc)
        play_unix = time.time()
        subprocess.run(["paplay", f"--device={CALL_SINK}", str(clip)], env=pulse, check=True, timeout=60)
        time.sleep(1.5)  # the last blocks reach the pipeline
    finally:
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err[-2000:]
    logs = list(sessions.glob("*.jsonl"))
    assert len(logs) == 1
    session = read_session(logs[0])
    assert session.header["meta"]["devices"] == {"agent": AGENT_INPUT, "customer": CUSTOMER_INPUT}
    cfg = session.header["meta"]["config"]
    events = session.events
    status = [e["info"] for e in events if e["type"] == "status"][-1]
    devices = {d["role"]: d for d in status["devices"]}
    assert devices["agent"]["name"] == AGENT_INPUT and devices["customer"]["name"] == CUSTOMER_INPUT
    assert all(d["state"] == "ok" and d["rate_hz"] == 44100.0 for d in devices.values()), devices
    faults = [
        e["info"]["event"]
        for e in events
        if e["type"] == "status" and "event" in e["info"] and e["info"]["event"]["kind"] != "open"
    ]
    # a sound server may take 1-2 s to deliver a new stream's first block: that is no
    # fault (a reopen at start would also put silence before the first sample)
    assert not faults, faults
    # where the call sits on the session's audio clock: the wall clock of audio t=0
    offset = play_unix - status["origin_unix_ms"] / 1000.0

    escalated = [e for e in events if e["type"] == "customer_state" and e["state"] == "escalated"]
    prompts = [e for e in events if e["type"] == "prompt"]
    kinds = [p["kind"] for p in prompts]
    assert kinds.count("customer_escalation") == 1 and kinds.count("overtalk") == 1, kinds
    esc = prompts[kinds.index("customer_escalation")]
    over = prompts[kinds.index("overtalk")]
    assert escalated and escalated[0]["t_s"] <= esc["t_s"] < over["t_s"]
    # each one where the call puts it: the violation starts, plus the detector's hold
    # (analyze on the file: escalation 18.83 s, overtalk 26.85 s), within 3 s
    expect_esc = start["customer_escalation"] + cfg["customer"]["hold_s"]
    expect_over = start["overtalk"] + cfg["overtalk"]["overlap_s"]
    seen = {
        "escalated": escalated[0]["t_s"] - offset,
        "customer_escalation": esc["t_s"] - offset,
        "overtalk": over["t_s"] - offset,
    }
    assert abs(seen["escalated"] - expect_esc) <= 3.0, (seen, offset)
    assert abs(seen["customer_escalation"] - expect_esc) <= 3.0, (seen, offset)
    assert abs(seen["overtalk"] - expect_over) <= 3.0, (seen, offset)
    # The audio clock matches the wall clock: the agent's cut-in is heard where it was
    # played (plus the sound system's latency), so audio t=0 is the first captured sample.
    agent_lag = over["evidence"]["agent_onset_s"] - start["overtalk"] - offset
    assert -0.25 < agent_lag < 0.75, (agent_lag, faults)
    # The two inputs are aligned: the customer had held the floor for as long as in the
    # file (10.0 s) when the agent cut in, within the 0.5 s the alignment allows.
    customer_lag = (start["overtalk"] - start["customer_escalation"]) - over["evidence"]["customer_talking_s"]
    assert abs(customer_lag) < 0.5, customer_lag
    print(
        f"\ntwo-input live: playback at audio t={offset:.3f} s; escalated {seen['escalated']:.2f} s, "
        f"escalation prompt {seen['customer_escalation']:.2f} s, overtalk {seen['overtalk']:.2f} s "
        f"(call time); agent heard {agent_lag * 1000:.0f} ms after playback, customer "
        f"{customer_lag * 1000:+.0f} ms vs agent; underruns {status['customer_underruns']}, "
        f"trimmed {status['customer_trimmed_s']} s, lag {status['lag_ms']} ms, "
        f"device latency {[d['device_latency_ms'] for d in devices.values()]} ms, faults {faults}"
    )

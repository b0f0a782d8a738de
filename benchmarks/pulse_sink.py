"""A private PulseAudio daemon whose null sink ``vsink`` is a virtual microphone.

Shared by ``tests/test_live_pulse.py`` and ``benchmarks/bench_live.py``. The daemon
has its own runtime folder, socket and cookie under the folder it is given, so it
never touches a desktop's sound server; the monitor of ``vsink`` is the default
source, so audio played into the sink (``paplay --device=vsink``) is what a
program recording from PulseAudio hears. Its log goes to ``pulse.log`` in that
folder (a file, not a pipe, so a long run can never block on a full pipe).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from pathlib import Path
from typing import Iterator

SINK = "vsink"
START_TIMEOUT_S = 15.0


def start_pulse(tmp: Path) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    """Start a private PulseAudio daemon with a null sink; return it and the env to use it."""
    rt = tmp / "pulse-rt"
    rt.mkdir(parents=True, exist_ok=True)
    sock = tmp / "pulse-native"
    log_path = tmp / "pulse.log"
    env = dict(os.environ, PULSE_RUNTIME_PATH=str(rt), PULSE_SERVER=f"unix:{sock}",
               PULSE_STATE_PATH=str(rt), PULSE_COOKIE=str(tmp / "pulse-cookie"))
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            ["pulseaudio", "--daemonize=no", "-n", "--exit-idle-time=-1", "--use-pid-file=no",
             "--disable-shm=yes", "--log-target=stderr",
             f"--load=module-null-sink sink_name={SINK}",
             f"--load=module-native-protocol-unix auth-anonymous=1 socket={sock}",
             "--load=module-always-sink"],
            env=env, stdout=subprocess.DEVNULL, stderr=log,
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_bytes().decode(errors="replace")[-800:]
            raise RuntimeError("pulseaudio exited: " + tail)
        ok = subprocess.run(["pactl", "set-default-source", f"{SINK}.monitor"], env=env,
                            capture_output=True).returncode == 0
        if ok:
            return proc, env
        time.sleep(0.2)
    stop_pulse(proc)
    raise RuntimeError("pulseaudio did not come up")


def stop_pulse(proc: subprocess.Popen[bytes]) -> None:
    """Stop the daemon: SIGTERM, then SIGKILL if it has not gone within 5 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@contextlib.contextmanager
def running_pulse(tmp: Path) -> Iterator[dict[str, str]]:
    """Run the daemon for the duration of the block; yield the env that reaches it."""
    proc, env = start_pulse(tmp)
    try:
        yield env
    finally:
        stop_pulse(proc)

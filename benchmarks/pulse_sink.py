"""A private PulseAudio daemon with virtual microphones.

Shared by ``tests/test_live_pulse.py`` and ``benchmarks/bench_live.py``. The daemon
has its own runtime folder, socket and cookie under the folder it is given, so it
never touches a desktop's sound server. Its log goes to ``pulse.log`` in that folder
(a file, not a pipe, so a long run can never block on a full pipe).

* ``vsink``: a null sink whose monitor is the default source, so audio played into
  it (``paplay --device=vsink``) is what a program recording from PulseAudio's
  default input (PortAudio's ``pulse`` / ``default`` devices) hears.
* ``callsink``: a stereo null sink for a two-party call. Two remapped sources split
  its monitor: ``agent_mic`` carries the left channel (channel 0) and
  ``customer_mic`` the right (channel 1). A stereo call file played into it with one
  ``paplay --device=callsink`` feeds both, sample-synchronous. PortAudio reaches them
  as the ALSA devices :data:`AGENT_INPUT` and :data:`CUSTOMER_INPUT`: ALSA ``pulse``
  PCMs defined in ``alsa.conf`` in the daemon's folder, which the returned env adds
  to ``ALSA_CONFIG_PATH`` (after the system's own configuration).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

SINK = "vsink"
CALL_SINK = "callsink"
AGENT_SOURCE = "agent_mic"
CUSTOMER_SOURCE = "customer_mic"
#: the PortAudio (ALSA) device names of the two call inputs
AGENT_INPUT = "vmic_agent"
CUSTOMER_INPUT = "vmic_customer"
SYSTEM_ALSA_CONF = "/usr/share/alsa/alsa.conf"
START_TIMEOUT_S = 15.0

_ALSA_CONF = """\
# written by benchmarks/pulse_sink.py: PulseAudio sources as ALSA (PortAudio) inputs
pcm.{agent_input} {{
    type pulse
    device "{agent_source}"
}}
pcm.{customer_input} {{
    type pulse
    device "{customer_source}"
}}
"""


def _alsa_config_path(tmp: Path) -> dict[str, str]:
    """``ALSA_CONFIG_PATH``: the system configuration, then the call inputs (nothing
    where the system's configuration is not where Debian keeps it: then the call
    inputs are missing from the device list, and everything else works as before)."""
    base = os.environ.get("ALSA_CONFIG_PATH") or SYSTEM_ALSA_CONF
    if not os.environ.get("ALSA_CONFIG_PATH") and not Path(base).is_file():
        return {}
    conf = tmp / "alsa.conf"
    conf.write_text(
        _ALSA_CONF.format(
            agent_input=AGENT_INPUT, agent_source=AGENT_SOURCE, customer_input=CUSTOMER_INPUT, customer_source=CUSTOMER_SOURCE
        )
    )
    return {"ALSA_CONFIG_PATH": f"{base}:{conf}"}


def start_pulse(tmp: Path) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    """Start a private PulseAudio daemon with the virtual microphones; return it and the
    env to use it."""
    rt = tmp / "pulse-rt"
    rt.mkdir(parents=True, exist_ok=True)
    sock = tmp / "pulse-native"
    log_path = tmp / "pulse.log"
    env = dict(
        os.environ,
        PULSE_RUNTIME_PATH=str(rt),
        PULSE_SERVER=f"unix:{sock}",
        PULSE_STATE_PATH=str(rt),
        PULSE_COOKIE=str(tmp / "pulse-cookie"),
        **_alsa_config_path(tmp),
    )
    remap = (
        "module-remap-source master={sink}.monitor source_name={name} channels=1 "
        "master_channel_map={side} channel_map=mono remix=no"
    )
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                "pulseaudio",
                "--daemonize=no",
                "-n",
                "--exit-idle-time=-1",
                "--use-pid-file=no",
                "--disable-shm=yes",
                "--log-target=stderr",
                f"--load=module-null-sink sink_name={SINK}",
                f"--load=module-null-sink sink_name={CALL_SINK} channels=2 channel_map=front-left,front-right",
                "--load=" + remap.format(sink=CALL_SINK, name=AGENT_SOURCE, side="front-left"),
                "--load=" + remap.format(sink=CALL_SINK, name=CUSTOMER_SOURCE, side="front-right"),
                f"--load=module-native-protocol-unix auth-anonymous=1 socket={sock}",
                "--load=module-always-sink",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_bytes().decode(errors="replace")[-800:]
            raise RuntimeError("pulseaudio exited: " + tail)
        ok = subprocess.run(["pactl", "set-default-source", f"{SINK}.monitor"], env=env, capture_output=True).returncode == 0
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

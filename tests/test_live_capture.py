"""Capture: resampling, device lookup, and the watchdog under injected device faults.

The fault tests drive :class:`DeviceCapture` with a stand-in PortAudio backend whose
streams deliver a tone from a thread at the real pace, and can be told to stop
delivering, fail to open, raise overflow flags, stop by themselves, or vanish from the
device list and come back under a new index (a replugged headset).
"""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest

from calmcall.live.capture import DeviceCapture, StreamingResampler
from calmcall.live.devices import DeviceError, InputDevice, find_device, format_devices
from calmcall.live.session import BLOCK_N, CaptureSource


# ---------------------------------------------------------------- resampler
@pytest.mark.parametrize("rate", [48000, 44100, 32000, 22050, 8000, 16000])
def test_streaming_resampler_equals_one_shot_and_keeps_a_tone(rate):
    t = np.arange(rate * 2) / rate
    x = 0.5 * np.sin(2 * np.pi * 440.0 * t)
    one = StreamingResampler(rate).process(x)
    rs = StreamingResampler(rate)
    rng = np.random.default_rng(0)
    parts, pos = [], 0
    while pos < len(x):
        n = int(rng.integers(1, 2000))
        parts.append(rs.process(x[pos : pos + n]))
        pos += n
    chunked = np.concatenate(parts)
    assert len(chunked) == len(one)
    np.testing.assert_allclose(chunked, one, atol=1e-6)
    assert abs(len(one) - 2 * 16000) <= 1
    mid = one[4000:-4000]
    assert abs(np.sqrt(np.mean(mid**2)) * np.sqrt(2) - 0.5) < 0.01  # passband gain ~1
    spec = np.abs(np.fft.rfft(mid * np.hanning(len(mid))))
    peak_hz = np.argmax(spec) * 16000 / len(mid)
    assert abs(peak_hz - 440.0) < 2.0


@pytest.mark.parametrize("rate", [48000, 44100])
def test_resampler_rejects_what_would_alias(rate):
    t = np.arange(rate) / rate
    x = np.sin(2 * np.pi * 11000.0 * t)  # above the 8 kHz output Nyquist
    y = StreamingResampler(rate).process(x)[2000:-2000]
    assert 20 * np.log10(np.sqrt(np.mean(y**2)) / np.sqrt(0.5)) < -40


# ---------------------------------------------------------------- device lookup
DEVS = [
    InputDevice(0, "HDA Intel PCH: ALC257 Analog (hw:0,0)", "ALSA", 2, 48000.0),
    InputDevice(3, "Jabra EVOLVE 20 MS: USB Audio (hw:2,0)", "ALSA", 1, 16000.0),
    InputDevice(5, "pulse", "ALSA", 32, 44100.0),
    InputDevice(6, "default", "ALSA", 32, 44100.0, is_default=True),
]


def test_find_device_by_name():
    assert find_device(DEVS, None).name == "default"
    assert find_device(DEVS, "jabra").index == 3
    assert find_device(DEVS, "PULSE").index == 5
    with pytest.raises(DeviceError, match="ambiguous"):
        find_device(DEVS, "hw:")
    with pytest.raises(DeviceError) as info:
        find_device(DEVS, "Plantronics")
    assert "Jabra EVOLVE 20" in str(info.value) and "available" in str(info.value)
    with pytest.raises(DeviceError, match="no input device"):
        find_device([], None)
    assert "44100" in format_devices(DEVS)


# ---------------------------------------------------------------- fake backend
class FakeStream:
    def __init__(self, backend, device, rate, blocksize, callback):
        self.backend, self.device, self.rate = backend, device, rate
        self.blocksize, self.callback = blocksize, callback
        self.active = False
        self._stop = threading.Event()
        self.chunks = 0
        self.silent = False  # opened fine but never calls back (a source that never starts)

    def start(self):
        self.active = True
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        n = self.blocksize
        phase = 0
        due: float | None = None
        time.sleep(self.backend.first_callback_delay_s)
        while not self._stop.is_set():
            if self.silent:
                time.sleep(0.01)
                continue
            if self.backend.stall_after is not None and self.chunks >= self.backend.stall_after:
                time.sleep(0.01)  # a pulled headset: no callbacks, no error
                continue
            if self.backend.stop_after is not None and self.chunks >= self.backend.stop_after:
                self.active = False  # the stream ended by itself
                return
            t = (np.arange(n) + phase) / self.rate
            block = (0.3 * np.sin(2 * np.pi * 300 * t)).astype(np.float32)[:, None]
            phase += n
            over = self.backend.overflow_every and self.chunks % self.backend.overflow_every == 0
            # on an absolute schedule (a sound card's clock does not drift with load);
            # delivery jitter: every late_every-th chunk comes late_s late, the next on time
            late_s = self.backend.late_s if self.backend.late_every and self.chunks % self.backend.late_every == 1 else 0.0
            if due is None:
                due = time.monotonic()
            time.sleep(max(0.0, due + late_s - time.monotonic()))
            self.callback(block, n, None, SimpleNamespace(input_overflow=bool(over)))
            self.chunks += 1
            due += n / self.rate
            time.sleep(max(0.0, due - time.monotonic()))

    def close(self):
        self._stop.set()
        self.active = False
        self.backend.closed += 1


class FakeBackend:
    def __init__(self, devices=None):
        self.devices = list(devices or [InputDevice(1, "USB Headset Mic", "ALSA", 1, 48000.0, is_default=True)])
        self.visible = self.devices
        self.fail_opens = 0
        self.stall_after = None
        self.stop_after = None
        self.overflow_every = 0
        self.opened = []
        self.closed = 0
        self.refreshes = 0
        self.hidden_until_refresh = None
        self.silent_opens = 0
        self.first_callback_delay_s = 0.0
        self.late_every = 0
        self.late_s = 0.0

    def input_devices(self):
        return list(self.visible)

    def open_input(self, device, *, rate_hz, blocksize, callback):
        if self.fail_opens > 0:
            self.fail_opens -= 1
            raise OSError("Error opening InputStream: Device unavailable [PaErrorCode -9985]")
        self.stall_after = None
        self.stop_after = None
        st = FakeStream(self, device, rate_hz, blocksize, callback)
        if self.silent_opens > 0:
            self.silent_opens -= 1
            st.silent = True
        self.opened.append(st)
        return st

    def refresh(self):
        self.refreshes += 1
        if self.hidden_until_refresh is not None:
            self.visible = self.hidden_until_refresh
            self.hidden_until_refresh = None


def make(backend, **kw):
    kw.setdefault("stall_s", 0.3)
    kw.setdefault("backoff_s", (0.05, 0.1, 0.2))
    kw.setdefault("poll_s", 0.02)
    return DeviceCapture("agent", kw.pop("name", None), backend=backend, **kw)


def wait_for(cond, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.01)
    return False


def drain(cap, seconds):
    got = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        cap.wait(0.05)
        got += len(cap.read())
    return got


def test_capture_opens_at_native_rate_and_resamples():
    be = FakeBackend()
    cap = make(be)
    cap.open()
    cap.start_watchdog()
    try:
        assert cap.rate_hz == 48000.0 and be.opened[0].rate == 48000.0
        got = drain(cap, 1.0)
        assert 13000 < got < 17500  # ~1 s of 16 kHz audio
        assert cap.status()["state"] == "ok"
    finally:
        cap.close()
    assert be.closed == 1


def test_watchdog_recovers_a_stream_that_stops_delivering():
    be = FakeBackend()
    cap = make(be)
    cap.open()
    cap.start_watchdog()
    try:
        drain(cap, 0.2)
        be.stall_after = be.opened[0].chunks  # headset pulled: callbacks just stop
        assert wait_for(lambda: cap.reopens == 1)
        kinds = [e["kind"] for e in cap.events]
        assert kinds[:1] == ["open"] and "fault" in kinds and kinds[-1] == "recovered"
        assert any("no audio" in e["text"] for e in cap.events)
        assert cap.state == "ok" and len(be.opened) == 2
        assert drain(cap, 0.5) > 5000  # audio flows again
    finally:
        cap.close()


def test_watchdog_retries_failed_opens_with_backoff():
    be = FakeBackend()
    cap = make(be)
    cap.open()
    cap.start_watchdog()
    try:
        be.fail_opens = 3
        be.stall_after = be.opened[0].chunks
        t0 = time.monotonic()
        assert wait_for(lambda: cap.reopens == 1)
        took = time.monotonic() - t0
        assert cap.failed_opens == 3
        retries = [e for e in cap.events if e["kind"] == "retry"]
        assert len(retries) == 3 and "Device unavailable" in retries[0]["text"]
        assert took >= 0.3 + 0.05 + 0.1 + 0.2 - 0.05  # stall + backoff 0.05, 0.1, 0.2
        assert cap.status()["last_error"].startswith("Error opening")
    finally:
        cap.close()


def test_watchdog_recovers_a_stream_that_stopped_by_itself():
    be = FakeBackend()
    cap = make(be, stall_s=5.0)  # the 'inactive' check, not the stall timer
    cap.open()
    cap.start_watchdog()
    try:
        be.stop_after = be.opened[0].chunks + 2
        assert wait_for(lambda: cap.reopens == 1, timeout=2.0)
        assert any("stream stopped" in e["text"] for e in cap.events)
    finally:
        cap.close()


def test_overflow_flags_are_counted_not_fatal():
    be = FakeBackend()
    be.overflow_every = 5
    cap = make(be)
    cap.open()
    cap.start_watchdog()
    try:
        got = drain(cap, 0.6)
        assert cap.overflows >= 4
        assert cap.status()["overflows"] == cap.overflows
        assert cap.state == "ok" and cap.reopens == 0 and got > 7000
    finally:
        cap.close()


def test_replugged_device_is_found_again_by_name_under_a_new_index():
    be = FakeBackend([InputDevice(2, "Jabra EVOLVE 20 (hw:2,0)", "ALSA", 1, 16000.0)])
    cap = make(be, name="jabra")
    cap.open()
    cap.start_watchdog()
    try:
        be.visible = []  # unplugged: gone from the list
        be.hidden_until_refresh = [InputDevice(7, "Jabra EVOLVE 20 (hw:3,0)", "ALSA", 1, 16000.0)]
        be.stall_after = be.opened[0].chunks
        assert wait_for(lambda: cap.reopens == 1)
        assert be.refreshes >= 1  # PortAudio's list re-read (no other stream open)
        assert be.opened[-1].device.index == 7 and cap.status()["name"].endswith("(hw:3,0)")
    finally:
        cap.close()


def test_no_usable_device_is_a_clear_error_listing_devices():
    be = FakeBackend()
    be.fail_opens = 1
    cap = make(be)
    with pytest.raises(DeviceError) as info:
        cap.open()
    msg = str(info.value)
    assert "cannot open the agent input" in msg and "USB Headset Mic" in msg and "-9985" in msg
    with pytest.raises(DeviceError, match="no input device named 'Plantronics'"):
        make(FakeBackend(), name="Plantronics").open()


def test_a_full_queue_drops_and_counts_instead_of_blocking():
    be = FakeBackend()
    cap = make(be, queue_s=0.1)  # 5 chunks
    cap.open()
    try:
        time.sleep(0.5)  # nobody reads
        assert cap.dropped_chunks > 5
        assert cap._queue.qsize() <= 5
    finally:
        cap.close()


def test_capture_source_keeps_time_while_the_mic_is_down_and_aligns_the_customer():
    be = FakeBackend()
    agent = make(be)
    cust_be = FakeBackend([InputDevice(4, "Monitor of call", "ALSA", 2, 44100.0, is_default=True)])
    customer = DeviceCapture("customer", None, backend=cust_be, stall_s=0.3, poll_s=0.02)
    src = CaptureSource(agent, customer)
    src.start()
    try:
        blocks = []
        end = time.monotonic() + 0.5
        while time.monotonic() < end:
            blocks += src.next_blocks(0.05)
        be.fail_opens = 100  # the headset stays away
        be.stall_after = be.opened[0].chunks
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            blocks += src.next_blocks(0.05)
        assert agent.state == "reopening"
        total_s = sum(len(b["agent"]) for b in blocks) / 16000
        assert 1.5 < total_s < 2.2  # the session clock went on at wall pace
        assert src.padded_s > 0.5
        assert all(set(b) == {"agent", "customer"} and len(b["customer"]) == len(b["agent"]) for b in blocks)
        assert all(len(b["agent"]) == BLOCK_N for b in blocks[1:])
        st = src.status()
        assert [d["state"] for d in st["devices"]] == ["reopening", "ok"]
        evs = src.device_events()
        assert any(e["kind"] == "fault" for e in evs)
    finally:
        src.close()


def test_silence_supplied_before_the_first_sample_counts_in_the_audio_clock():
    """The agent's stream opens but never delivers; while the watchdog reopens it the
    session gets silence at wall pace. When audio finally comes, audio t=0 must stay
    where the silence began, so audio time and the wall clock still agree (status
    lag, latency figures and the overlay's clock depend on it)."""
    be = FakeBackend()
    be.silent_opens = 1
    agent = make(be, start_s=0.3)
    src = CaptureSource(agent)
    src.start()
    be.fail_opens = 3  # and the reopen takes a few tries (~0.35 s of backoff)
    try:
        n = 0
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            n += sum(len(b["agent"]) for b in src.next_blocks(0.05))
        assert agent.reopens >= 1 and src.padded_s > 0.1
        assert len(be.opened) >= 2 and be.opened[-1].chunks > 0  # real audio after the reopen
        audio_s = (n + len(src._abuf)) / 16000
        wall_s = time.time() - src.origin_unix
        assert abs(audio_s - wall_s) < 0.15, (audio_s, wall_s, src.padded_s)
    finally:
        src.close()


def test_a_stream_slow_to_deliver_its_first_block_is_not_reopened():
    """A fresh PulseAudio source takes 1-2 s to deliver its first block: the stall
    limit (here 0.3 s) applies only after the first callback; before it the stream
    gets ``start_s`` (here 1.5 s)."""
    be = FakeBackend()
    be.first_callback_delay_s = 0.8
    cap = make(be, start_s=1.5)
    cap.open()
    cap.start_watchdog()
    try:
        got = drain(cap, 1.6)
        assert cap.reopens == 0 and cap.state == "ok" and got > 0
    finally:
        cap.close()


def test_a_late_customer_chunk_is_waited_for_not_padded():
    """The two fake inputs start within milliseconds of each other, and the
    customer's chunks come with delivery jitter (one 80 ms late every 7). Waiting up
    to 0.1 s of agent audio for them means no silence is ever padded into the
    customer's audio (padding would shift it against the agent's for good: the late
    samples then sit in a backlog behind the silence)."""
    be = FakeBackend()
    agent = make(be)
    cust_be = FakeBackend([InputDevice(4, "Monitor of call", "ALSA", 1, 48000.0, is_default=True)])
    cust_be.late_every, cust_be.late_s = 7, 0.08
    customer = DeviceCapture("customer", None, backend=cust_be, stall_s=0.3, start_s=1.0, poll_s=0.02)
    src = CaptureSource(agent, customer)
    src.start()
    try:
        blocks = []
        end = time.monotonic() + 2.5
        while time.monotonic() < end:
            blocks += src.next_blocks(0.05)
        assert len(blocks) >= 18 and cust_be.opened[0].chunks // 7 >= 10  # >= 10 late chunks
        assert src.customer_underruns == 0 and src.customer_trimmed_s == 0.0
        assert all(len(b["customer"]) == len(b["agent"]) for b in blocks)
    finally:
        src.close()


def test_live_with_a_missing_device_is_one_line_and_leaves_nothing_behind(tmp_path):
    """Before any server, model or session log: no overlay URL printed for a session
    that cannot start, and no empty session log left in the list."""
    import subprocess
    import sys

    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "calmcall.cli",
            "live",
            "--device",
            "No Such Mic 12345",
            "--port",
            "0",
            "--no-transcribe",
            "--sessions-dir",
            str(tmp_path / "sessions"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("calmcall: error: ") and "device" in lines[0], proc.stderr
    assert not (tmp_path / "sessions").exists() or not list((tmp_path / "sessions").iterdir())

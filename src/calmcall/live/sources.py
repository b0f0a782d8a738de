"""Where a session's audio comes from: a file played on the real clock
(:class:`FileSource`) or the headset and the customer's input (:class:`CaptureSource`),
both as aligned 0.1 s blocks of 16 kHz float32 per role."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from .capture import TARGET_RATE_HZ, DeviceCapture

BLOCK_S = 0.1
BLOCK_N = int(round(BLOCK_S * TARGET_RATE_HZ))
#: How far the agent's audio may run ahead while a live customer chunk is late (samples, 0.1 s).
CUSTOMER_WAIT_N = BLOCK_N


def aligned_first_block_n() -> int:
    """Length of a first block after which every 0.1 s block ends exactly where the
    pipeline evaluates its conditions (every EVAL_FRAMES frames; a frame is known at
    its end). A prompt then goes out the moment its last sample arrives instead of
    waiting up to 70 ms for the rest of a 0.1 s block. The pipeline gives the same
    events on any block grid, so this changes when prompts are sent, not what or
    their ``t_s``."""
    from ..pipeline import EVAL_FRAMES
    from ..prosody import FRAME, HOP

    if EVAL_FRAMES * HOP != BLOCK_N:
        return BLOCK_N
    return (FRAME - HOP) % BLOCK_N or BLOCK_N


#: First block length: the aligned grid (prompts go out as their last sample arrives).
FIRST_BLOCK_N = aligned_first_block_n()


class Source(Protocol):
    roles: tuple[str, ...]
    origin_unix: float
    finished: bool
    speed: float

    def start(self) -> None: ...
    def next_blocks(self, timeout_s: float) -> list[dict[str, np.ndarray]]: ...
    def status(self) -> dict[str, Any]: ...
    def close(self) -> None: ...


class FileSource:
    """Plays a loaded call on the real clock (``speed`` times real time)."""

    def __init__(
        self,
        call: Any,
        *,
        name: str = "",
        speed: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        first_block_n: int = FIRST_BLOCK_N,
    ) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self.call = call
        self.name = name
        self.speed = speed
        self.clock = clock
        self.roles = ("agent", "customer") if call.customer is not None else ("agent",)
        self.origin_unix = 0.0
        self.finished = False
        self._t0 = 0.0
        self._pos = 0
        self._n = len(call.agent)
        self._first_n = first_block_n

    def start(self) -> None:
        self._t0 = self.clock()
        self.origin_unix = time.time()

    def next_blocks(self, timeout_s: float) -> list[dict[str, np.ndarray]]:
        if self._pos >= self._n:
            self.finished = True
            return []
        elapsed_audio = (self.clock() - self._t0) * self.speed
        due_end = int(elapsed_audio * TARGET_RATE_HZ)
        next_end = min(self._pos + (self._first_n if self._pos == 0 else BLOCK_N), self._n)
        if due_end < next_end:
            wait = (next_end - due_end) / TARGET_RATE_HZ / self.speed
            time.sleep(min(timeout_s, max(0.0, wait)))
            elapsed_audio = (self.clock() - self._t0) * self.speed
            due_end = int(elapsed_audio * TARGET_RATE_HZ)
        out = []
        while self._pos < self._n:
            end = min(self._pos + (self._first_n if self._pos == 0 else BLOCK_N), self._n)
            if end > due_end:
                break
            blk = {"agent": np.asarray(self.call.agent[self._pos : end], dtype=np.float32)}
            if self.call.customer is not None:
                blk["customer"] = np.asarray(self.call.customer[self._pos : end], dtype=np.float32)
            out.append(blk)
            self._pos = end
        return out

    def status(self) -> dict[str, Any]:
        return {
            "source": "replay",
            "file": self.name,
            "speed": self.speed,
            "position_s": round(self._pos / TARGET_RATE_HZ, 2),
            "duration_s": round(self._n / TARGET_RATE_HZ, 2),
            "devices": [],
        }

    def close(self) -> None:
        pass


class CaptureSource:
    """Microphone (and optional customer input) as aligned 0.1 s blocks.

    The agent's device is the clock. While it is down (the watchdog is reopening it)
    silence is supplied at wall-clock pace so the session, the customer side and the
    overlay go on. The customer's device is aligned to the agent's: a block waits up to
    ``CUSTOMER_WAIT_N`` samples (0.1 s) of agent audio for a late customer chunk
    (delivery jitter must not shift the customer's audio), then a short supply is
    padded with silence; a backlog over 0.5 s (clock drift) is trimmed."""

    def __init__(
        self,
        agent: DeviceCapture,
        customer: DeviceCapture | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        first_block_n: int = FIRST_BLOCK_N,
    ) -> None:
        self.agent = agent
        self.customer = customer
        self.roles = ("agent", "customer") if customer is not None else ("agent",)
        self.clock = clock
        self.speed = 1.0
        self.origin_unix = 0.0
        self.finished = False
        self._abuf = np.zeros(0, dtype=np.float32)
        self._cbuf = np.zeros(0, dtype=np.float32)
        self._t0 = 0.0
        self._produced = 0  # agent samples handed out or buffered, incl. silence
        self.padded_s = 0.0
        self.customer_underruns = 0
        self.customer_trimmed_s = 0.0
        self._origin_fixed = False
        self._blocks_out = 0
        self._first_n = first_block_n

    def start(self) -> None:
        """Open the devices (raises DeviceError) and start their watchdogs."""
        self.agent.open()
        if self.customer is not None:
            try:
                self.customer.open()
            except Exception:
                self.agent.close()
                raise
        self._t0 = self.clock()
        self.origin_unix = time.time()
        self.agent.start_watchdog()
        if self.customer is not None:
            self.customer.start_watchdog()

    def next_blocks(self, timeout_s: float) -> list[dict[str, np.ndarray]]:
        self.agent.wait(timeout_s)
        a = self.agent.read()
        if not self._origin_fixed and self.agent.first_callback is not None:
            # audio t=0 is the first captured sample, delivered one chunk before the
            # first callback returned. The device's own input latency (PortAudio's
            # estimate, in the status as device_latency_ms) comes on top and is not
            # counted here: host APIs report it unreliably.
            wall, chunk_s, _adc_lag_s = self.agent.first_callback
            # silence supplied while the device was still (re)opening is audio before it
            pre_s = self._produced / TARGET_RATE_HZ
            self.origin_unix = wall - chunk_s - pre_s
            self._t0 = self.clock() - (time.time() - self.origin_unix)
            self._origin_fixed = True
        self._produced += len(a)
        if self.agent.state != "ok":
            expected = int((self.clock() - self._t0) * TARGET_RATE_HZ)
            missing = expected - self._produced
            if missing > BLOCK_N:
                a = np.concatenate([a, np.zeros(missing, dtype=np.float32)])
                self._produced += missing
                self.padded_s += missing / TARGET_RATE_HZ
        if len(a):
            self._abuf = np.concatenate([self._abuf, a])
        if self.customer is not None:
            c = self.customer.read()
            if len(c):
                self._cbuf = np.concatenate([self._cbuf, c])
        out = []
        while len(self._abuf) >= (n := BLOCK_N if self._blocks_out else self._first_n):
            if (
                self.customer is not None
                and len(self._cbuf) < n
                and self.customer.state == "ok"
                and len(self._abuf) - n < CUSTOMER_WAIT_N
            ):
                break  # the customer's next chunk is probably only late (jitter): wait for it
            blk = {"agent": self._abuf[:n]}
            self._abuf = self._abuf[n:]
            if self.customer is not None:
                c = self._cbuf[:n]
                self._cbuf = self._cbuf[n:]
                if len(c) < n:
                    if self.customer.state == "ok":
                        self.customer_underruns += 1
                    c = np.concatenate([c, np.zeros(n - len(c), dtype=np.float32)])
                blk["customer"] = c
            out.append(blk)
            self._blocks_out += 1
        if self.customer is not None and len(self._cbuf) > 5 * BLOCK_N:
            drop = len(self._cbuf) - BLOCK_N
            self._cbuf = self._cbuf[drop:]
            self.customer_trimmed_s += drop / TARGET_RATE_HZ
        return out

    def status(self) -> dict[str, Any]:
        devs = [self.agent.status()]
        if self.customer is not None:
            devs.append(self.customer.status())
        return {
            "source": "live",
            "devices": devs,
            "padded_s": round(self.padded_s, 2),
            "customer_underruns": self.customer_underruns,
            "customer_trimmed_s": round(self.customer_trimmed_s, 2),
        }

    def device_events(self) -> list[dict[str, Any]]:
        out = []
        for cap in (self.agent, self.customer):
            if cap is None:
                continue
            while cap.events:
                out.append(cap.events.popleft())
        return out

    def close(self) -> None:
        self.agent.close()
        if self.customer is not None:
            self.customer.close()

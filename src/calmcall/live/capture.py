"""Microphone capture: native-rate input, a bounded queue, resampling, and a watchdog.

docs/background.md: Microphones: the PortAudio callback runs on a real-time thread, so it only copies
the block into a bounded queue and returns (a full queue drops the block and counts
it). Overflow flags are counted, never fatal. A watchdog thread notices a stream that
stopped delivering (a pulled headset often raises nothing) or stopped by itself, closes
it and reopens the device *by name* with backoff, while the session goes on.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
import time
from collections.abc import Callable
from math import gcd
from typing import Any

import numpy as np
from scipy.signal import firwin

from .devices import Backend, DeviceError, InputDevice, InputStreamLike, find_device, format_devices

log = logging.getLogger(__name__)

TARGET_RATE_HZ = 16_000

# Streams open in this process, so that PortAudio's device list is only re-read
# (which needs all streams closed) when that is safe.
_open_lock = threading.Lock()
_open_streams = 0


class StreamingResampler:
    """Stateful polyphase FIR resampler from ``from_hz`` to ``to_hz`` (rational ratio).

    Feed consecutive chunks of any length to :meth:`process`; the output is the same
    as resampling the concatenation at once (no seams), delayed by about
    ``taps_per_phase / 2`` input samples (0.3 ms at 48 kHz).
    """

    def __init__(self, from_hz: float, to_hz: int = TARGET_RATE_HZ, *, taps_per_phase: int = 32) -> None:
        if from_hz <= 0 or int(from_hz) != from_hz:
            raise ValueError(f"from_hz must be a positive whole number of Hz, got {from_hz}")
        f, t = int(from_hz), int(to_hz)
        g = gcd(f, t)
        self.from_hz, self.to_hz = f, t
        self.up, self.down = t // g, f // g
        self.passthrough = self.up == self.down
        taps = taps_per_phase
        self._taps = taps
        if not self.passthrough:
            n = taps * self.up
            h = firwin(n, 0.9 / max(self.up, self.down), window=("kaiser", 8.0)) * self.up
            # phase p, tap j -> h[j*up + p]
            self._h = np.ascontiguousarray(h.reshape(taps, self.up).T.astype(np.float64))
        self._hist = np.zeros(taps - 1, dtype=np.float64)
        self._n_in = 0  # input samples consumed so far
        self._m = 0  # upsampled-domain index of the next output sample
        self._j = np.arange(taps)

    def process(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        if self.passthrough:
            return x.astype(np.float32)
        buf = np.concatenate([self._hist, x])
        start = self._n_in - (self._taps - 1)  # input index of buf[0]
        self._n_in += len(x)
        limit = self._n_in * self.up
        if self._m >= limit:
            self._hist = buf[-(self._taps - 1) :]
            return np.zeros(0, dtype=np.float32)
        count = (limit - self._m + self.down - 1) // self.down
        ms = self._m + self.down * np.arange(count, dtype=np.int64)
        i = ms // self.up
        p = ms % self.up
        idx = (i - start)[:, None] - self._j[None, :]
        y = np.einsum("kj,kj->k", self._h[p], buf[idx])
        self._m = int(ms[-1]) + self.down
        self._hist = buf[-(self._taps - 1) :]
        return y.astype(np.float32)


class DeviceCapture:
    """One input device for one role ("agent" or "customer").

    ``open()`` opens it at its native rate (raising :class:`DeviceError` with the list
    of devices if it cannot); ``read()`` drains the queue and returns 16 kHz float32
    samples; a watchdog thread reopens it by name after a stall, an error or a stop.

    A stream that has delivered audio is stalled after ``stall_s`` without a callback;
    a freshly opened one gets ``start_s`` for its first callback (a sound server may
    take well over a second to start a source: a private PulseAudio daemon's null-sink
    monitors took 1.0-2.0 s, so a 1 s limit reopened every such device at start).
    """

    def __init__(
        self,
        role: str,
        name: str | None,
        *,
        backend: Backend,
        stall_s: float = 1.0,
        start_s: float = 4.0,
        backoff_s: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0),
        queue_s: float = 2.0,
        chunk_s: float = 0.02,
        poll_s: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.role = role
        self.requested = name
        self.backend = backend
        self.stall_s = stall_s
        self.start_s = start_s
        self.backoff_s = backoff_s
        self.chunk_s = chunk_s
        self.poll_s = poll_s
        self.clock = clock
        self._queue: queue.Queue[tuple[int, float, np.ndarray]] = queue.Queue(maxsize=max(4, int(round(queue_s / chunk_s))))
        self.device: InputDevice | None = None
        self.rate_hz: float | None = None
        self._stream: InputStreamLike | None = None
        self._gen = 0
        self._last_cb = 0.0
        self._delivered_gen = 0  # the newest stream generation that has called back
        self._resampler: StreamingResampler | None = None
        self._resampler_gen = -1
        self.state = "closed"
        self.overflows = 0
        self.dropped_chunks = 0
        self.reopens = 0
        self.failed_opens = 0
        self.last_error: str | None = None
        #: (unix time, chunk duration s, PortAudio's input latency s) of the first callback
        self.first_callback: tuple[float, float, float] | None = None
        self.reported_latency_s = 0.0
        self.events: collections.deque[dict[str, Any]] = collections.deque(maxlen=100)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ callback
    def _make_callback(self, gen: int, rate_hz: float) -> Callable[..., None]:
        q = self._queue

        def callback(indata: Any, frames: int, time_info: Any, status: Any) -> None:
            # Real-time thread: copy, enqueue, return. Never block, log or raise.
            try:
                if status and getattr(status, "input_overflow", False):
                    self.overflows += 1
                self._last_cb = self.clock()
                self._delivered_gen = gen
                if self.first_callback is None:
                    adc_lag = 0.0
                    try:
                        adc_lag = float(time_info.currentTime - time_info.inputBufferAdcTime)
                    except Exception:
                        pass
                    if not 0.0 <= adc_lag < 2.0:
                        adc_lag = 0.0
                    self.first_callback = (time.time(), frames / rate_hz, adc_lag)
                try:
                    q.put_nowait((gen, rate_hz, np.array(indata[:, 0], dtype=np.float32)))
                except queue.Full:
                    self.dropped_chunks += 1
            except Exception:  # pragma: no cover - must never escape into PortAudio
                pass

        return callback

    # ------------------------------------------------------------------ open/close
    def _event(self, kind: str, text: str) -> None:
        self.events.append({"role": self.role, "kind": kind, "text": text, "wall": time.time()})
        log.info("%s device: %s", self.role, text)

    def _find(self) -> InputDevice:
        devices = self.backend.input_devices()
        try:
            return find_device(devices, self.requested)
        except DeviceError:
            with _open_lock:
                safe = _open_streams == 0
            if not safe:
                raise
            self.backend.refresh()  # a replugged device appears only after a re-read
            return find_device(self.backend.input_devices(), self.requested)

    def _open_once(self) -> None:
        global _open_streams
        device = self._find()
        rate = float(device.default_rate_hz) or 48000.0
        self._gen += 1
        gen = self._gen
        stream = self.backend.open_input(
            device,
            rate_hz=rate,
            blocksize=max(1, int(round(rate * self.chunk_s))),
            callback=self._make_callback(gen, rate),
        )
        try:
            self._last_cb = self.clock()
            stream.start()
        except Exception:
            stream.close()
            raise
        with _open_lock:
            _open_streams += 1
        self._stream = stream
        self.device = device
        self.rate_hz = rate
        try:
            self.reported_latency_s = float(getattr(stream, "latency", 0.0) or 0.0)
        except (TypeError, ValueError):
            self.reported_latency_s = 0.0

    def _close_stream(self) -> None:
        global _open_streams
        stream, self._stream = self._stream, None
        if stream is None:
            return
        with _open_lock:
            _open_streams -= 1
        try:
            stream.close()
        except Exception as exc:  # a dead device may fail to close; it is gone anyway
            self.last_error = f"close failed: {exc}"

    def open(self) -> None:
        """First open; raises :class:`DeviceError` naming what is available."""
        try:
            with self._lock:
                self._open_once()
        except DeviceError:
            raise
        except Exception as exc:
            try:
                listing = format_devices(self.backend.input_devices())
            except Exception:
                listing = "  (could not list devices)"
            raise DeviceError(
                f"cannot open the {self.role} input {self.requested or '(default)'!r}: {exc}\navailable input devices:\n{listing}"
            ) from exc
        self.state = "ok"
        assert self.device is not None
        self._event("open", f"opened {self.device.name!r} at {self.rate_hz:.0f} Hz")

    def start_watchdog(self) -> None:
        self._thread = threading.Thread(target=self._watchdog, name=f"calmcall-watchdog-{self.role}", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
        with self._lock:
            self._close_stream()
        self.state = "closed"

    # ------------------------------------------------------------------ watchdog
    def _watchdog(self) -> None:
        attempt = 0
        next_try = 0.0
        while not self._stop.wait(self.poll_s):
            now = self.clock()
            if self.state == "ok":
                why = None
                stream = self._stream
                if stream is not None and not getattr(stream, "active", True):
                    why = "the stream stopped"
                elif now - self._last_cb > (
                    self.stall_s if self._delivered_gen == self._gen else max(self.stall_s, self.start_s)
                ):
                    why = f"no audio for {now - self._last_cb:.1f} s"
                if why is None:
                    continue
                self._event("fault", why + "; reopening")
                with self._lock:
                    self._close_stream()
                self.state = "reopening"
                attempt = 0
                next_try = now
            if self.state == "reopening" and now >= next_try:
                attempt += 1
                try:
                    with self._lock:
                        self._open_once()
                except Exception as exc:
                    self.failed_opens += 1
                    self.last_error = str(exc).splitlines()[0]
                    wait = self.backoff_s[min(attempt - 1, len(self.backoff_s) - 1)]
                    next_try = self.clock() + wait
                    self._event("retry", f"reopen attempt {attempt} failed ({self.last_error}); next in {wait:g} s")
                    continue
                self.reopens += 1
                self.state = "ok"
                assert self.device is not None
                self._event("recovered", f"recovered: reopened {self.device.name!r} after {attempt} attempt(s)")

    # ------------------------------------------------------------------ reading
    def wait(self, timeout_s: float) -> bool:
        """Block up to ``timeout_s`` until audio is queued; True if there is some."""
        if not self._queue.empty():
            return True
        try:
            item = self._queue.get(timeout=timeout_s)
        except queue.Empty:
            return False
        self._pending = item
        return True

    _pending: tuple[int, float, np.ndarray] | None = None

    def read(self) -> np.ndarray:
        """Drain everything queued; return it resampled to 16 kHz float32."""
        items = []
        if self._pending is not None:
            items.append(self._pending)
            self._pending = None
        while True:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                break
        out = []
        for gen, rate, chunk in items:
            if self._resampler is None or gen != self._resampler_gen:
                if self._resampler is None or self._resampler.from_hz != int(rate):
                    self._resampler = StreamingResampler(rate)
                self._resampler_gen = gen
            out.append(self._resampler.process(chunk))
        if not out:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(out)

    def status(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "name": self.device.name if self.device else (self.requested or "default"),
            "requested": self.requested,
            "state": self.state,
            "rate_hz": self.rate_hz,
            "overflows": self.overflows,
            "dropped_chunks": self.dropped_chunks,
            "reopens": self.reopens,
            "last_error": self.last_error,
            "device_latency_ms": round(self.first_callback[2] * 1000.0, 1) if self.first_callback else None,
            "reported_latency_ms": round(self.reported_latency_s * 1000.0, 1) if self.reported_latency_s else None,
        }

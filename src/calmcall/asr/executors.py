"""Where decode passes run: inline under a :class:`SimulatedClock` (analyze, batch,
tests: words arrive at the audio time a live call on this machine would have had them)
or on one real-time :class:`DecodeWorker` thread (live: ``feed`` never waits)."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any


class SimulatedClock:
    """The one decode thread of a session, in simulated (audio) time.

    Share one instance between the transcribers of a call so that they queue for the
    decoder like they would live. ``charge="wall"`` (default) charges each pass its
    measured wall-clock time, what a live session would wait on this machine;
    ``charge="cpu"`` its process CPU time, i.e. what a machine with a core free for
    decoding would wait (robust when the machine is shared or oversubscribed).
    ``fixed_cost_s`` charges a constant per pass (fully deterministic runs).
    """

    def __init__(self, *, fixed_cost_s: float | None = None, charge: str = "wall") -> None:
        if charge not in ("wall", "cpu"):
            raise ValueError(f"charge must be 'wall' or 'cpu', got {charge!r}")
        self.fixed_cost_s = fixed_cost_s
        self.charge = charge
        self.busy_until_s = 0.0
        self.passes = 0
        self.compute_s = 0.0  # measured wall-clock compute of all passes
        self.cpu_s = 0.0  # measured process CPU time of all passes

    def run(self, start_s: float, fn: Callable[[], Any]) -> tuple[Any, float]:
        """Run ``fn`` now; return its result and the audio time it becomes available."""
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        cost = time.perf_counter() - t0
        cpu = time.process_time() - c0
        self.passes += 1
        self.compute_s += cost
        self.cpu_s += cpu
        if self.fixed_cost_s is not None:
            charged = self.fixed_cost_s
        else:
            charged = cost if self.charge == "wall" else cpu
        done_s = max(start_s, self.busy_until_s) + charged
        self.busy_until_s = done_s
        return result, done_s


class DecodeWorker:
    """One background decoding thread shared by all transcribers of a process.

    Jobs are served first come, first served; each transcriber has at most one job
    queued or running, so two channels alternate. Use as a context manager or call
    :meth:`close`.
    """

    def __init__(self, *, name: str = "calmcall-asr") -> None:
        self._jobs: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()
        self.passes = 0
        self.compute_s = 0.0
        self.errors = 0
        self.last_error: BaseException | None = None

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            t0 = time.perf_counter()
            try:
                job()
            except BaseException as exc:  # keep serving; the transcriber sees no result
                self.errors += 1
                self.last_error = exc
            self.passes += 1
            self.compute_s += time.perf_counter() - t0

    def submit(self, job: Callable[[], None]) -> None:
        self._jobs.put(job)

    def close(self, timeout_s: float | None = 5.0) -> None:
        self._jobs.put(None)
        self._thread.join(timeout_s)

    def __enter__(self) -> DecodeWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ----------------------------------------------------------------- the transcriber

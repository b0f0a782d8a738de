"""Streaming Silero VAD (v6, the ONNX model shipped inside faster-whisper).

faster-whisper's ``SileroVADModel.__call__`` runs a whole file at once with fresh
state; here the same ONNX session is driven incrementally: 512-sample frames (32 ms at
16 kHz), each prefixed with the previous frame's last 64 samples, the LSTM state
``(h, c)`` carried from call to call. Frame-by-frame output is bit-identical to the
batched call (checked on JFK) and costs ~0.1 ms per frame.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import numpy as np

FRAME_N = 512
CONTEXT = 64


@functools.lru_cache(maxsize=1)
def _session() -> Any:  # an onnxruntime.InferenceSession
    import onnxruntime
    from faster_whisper.utils import get_assets_path

    opts = onnxruntime.SessionOptions()
    opts.inter_op_num_threads = 1
    opts.intra_op_num_threads = 1
    opts.enable_cpu_mem_arena = False
    opts.log_severity_level = 4
    return onnxruntime.InferenceSession(
        os.path.join(get_assets_path(), "silero_vad_v6.onnx"),
        providers=["CPUExecutionProvider"],
        sess_options=opts,
    )


class SileroStream:
    """Speech probability per 32 ms frame, fed arbitrary-length 16 kHz blocks.

    ``feed(block)`` returns the probabilities of the frames completed by ``block``
    (float32 array, possibly empty); frame ``k`` covers samples
    ``[k*512, (k+1)*512)`` of the stream.

    ``restart_after_quiet_frames`` (None: off): a second copy of the recurrent state is
    restarted from zeros once that many consecutive frames after a frame with
    probability >= ``quiet_below`` have all stayed below it (once per quiet stretch),
    and each frame's probability is the larger of the two states' (the one carried
    from the start of the stream, and the one restarted at the last long pause). Why:
    the state carried through a pause remembers the previous turn, and on
    telephone-band speech (8 kHz, 300-3400 Hz, mu-law) it lowers the next turn's
    probabilities from around 0.5-0.8 to 0.2-0.45 (JFK after the turns before it in
    ``benchmarks/bench_pace.py``: 29 % of its frames >= 0.5 with the state carried,
    62 % with a fresh state), so whole phrases never reached the threshold; a state
    restarted shortly before an onset, on the other hand, has had little audio to warm
    up on and reads some onsets lower than the carried one (JFK's "ask not", clean).
    The frames after a restart are computed in the same batched call pattern, so the
    output still does not depend on the block sizes. Costs a second session run per
    block after the first restart.
    """

    def __init__(self, *, restart_after_quiet_frames: int | None = None, quiet_below: float = 0.35) -> None:
        if restart_after_quiet_frames is not None and restart_after_quiet_frames < 1:
            raise ValueError(f"restart_after_quiet_frames must be >= 1 or None, got {restart_after_quiet_frames}")
        self._session = _session()
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(CONTEXT, dtype=np.float32)
        self._rest = np.zeros(0, dtype=np.float32)
        self.frames = 0
        self._restart_after = restart_after_quiet_frames
        self._quiet_below = float(quiet_below)
        self._quiet = 0  # consecutive frames below quiet_below
        self._armed = False  # a frame >= quiet_below since the last restart (or the start)
        self._h2: np.ndarray | None = None  # the restarted state (None: none yet, same as (h, c))
        self._c2: np.ndarray | None = None
        self.restarts = 0  #: times the second state was restarted

    def feed(self, block: np.ndarray) -> np.ndarray:
        audio = np.concatenate([self._rest, np.asarray(block, dtype=np.float32).ravel()])
        n = len(audio) // FRAME_N
        self._rest = audio[n * FRAME_N :]
        if n == 0:
            return np.zeros(0, dtype=np.float32)
        frames = audio[: n * FRAME_N].reshape(n, FRAME_N)
        contexts = np.empty((n, CONTEXT), dtype=np.float32)
        contexts[0] = self._context
        if n > 1:
            contexts[1:] = frames[:-1, -CONTEXT:]
        self._context = frames[-1, -CONTEXT:].copy()
        batch = np.concatenate([contexts, frames], axis=1)
        self.frames += n
        # The v6 graph treats the batch axis as time and carries (h, c) across it.
        probs, h1, c1 = self._session.run(None, {"input": batch, "h": self._h, "c": self._c})
        p1 = np.asarray(probs, dtype=np.float32).ravel()
        if self._restart_after is None:
            self._h, self._c = h1, c1
            return p1
        out = p1.copy()
        i0 = 0
        while i0 < n:
            if self._h2 is None or self._c2 is None:
                p2, h2, c2 = p1[i0:], h1, c1  # not restarted yet: the same state
            else:
                probs, h2, c2 = self._session.run(None, {"input": batch[i0:], "h": self._h2, "c": self._c2})
                p2 = np.asarray(probs, dtype=np.float32).ravel()
            out[i0:] = np.maximum(p1[i0:], p2)
            cut = self._restart_point(out[i0:])
            if cut is None:
                if self._h2 is not None:
                    self._h2, self._c2 = h2, c2
                break
            self._h2 = np.zeros_like(self._h)
            self._c2 = np.zeros_like(self._c)
            self.restarts += 1
            i0 += cut + 1
        self._h, self._c = h1, c1
        return out

    def _restart_point(self, p: np.ndarray) -> int | None:
        """Advance the quiet counter over ``p``; the index of the frame after which the
        second state restarts, or None (then the counter has taken in all of ``p``)."""
        assert self._restart_after is not None
        for i, x in enumerate(p.tolist()):
            if x >= self._quiet_below:
                self._quiet = 0
                self._armed = True
                continue
            self._quiet += 1
            if self._armed and self._quiet >= self._restart_after:
                self._armed = False
                self._quiet = 0
                return i
        return None


class GatedSilero:
    """Silero speech probabilities only where the energy gate is open, to save CPU.

    The caller :meth:`feed` s the audio (16 kHz, any block length) and then asks, per
    10 ms frame, for the probability of the latest Silero frame that has ended
    (:meth:`probs`: Silero frame indices ``k``, non-decreasing from call to call, and
    which of them are ``needed``). Silero runs, in stream order, only on the frames
    some needed 10 ms frame points to; an unneeded 10 ms frame gets 0.

    Recurrent state: the LSTM ``(h, c)`` is carried from the last frame run. Before a
    needed frame, the up to ``warmup_frames`` frames just before it that were not run
    are run first (outputs discarded), so a gap of at most ``warmup_frames`` frames is
    filled exactly as the ungated :class:`SileroStream` would, and after a longer gap
    the model has heard the last ``warmup_frames`` frames of the quiet before an onset
    (16 frames, 0.5 s: with 8, 3-5 % of the frames of AMI development clips were
    decided differently from the ungated stream; with 16, 0.3-3.3 %, nearly all of them
    extra speech within 0.5 s of an onset; resetting the state after a gap did worse).
    Which frames run depends only on ``k`` and ``needed`` per 10 ms frame, never on
    the block sizes, and a run of consecutive frames gives the same output batched or
    frame by frame, so the probabilities do not depend on the block size either.
    """

    def __init__(self, *, warmup_frames: int = 16) -> None:
        if warmup_frames < 0:
            raise ValueError(f"warmup_frames must be >= 0, got {warmup_frames}")
        self._session = _session()
        self._warm = int(warmup_frames)
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._audio = np.zeros(0, dtype=np.float32)  # stream samples [_a0, _a0 + len)
        self._a0 = 0
        self._last = -1  # the last Silero frame run
        self._last_p = 0.0  # its probability
        self.frames_run = 0  #: Silero frames run so far (warm-up included)

    def feed(self, block: np.ndarray) -> None:
        """Append the next block of 16 kHz float audio (shape (n,))."""
        self._audio = np.concatenate([self._audio, np.asarray(block, dtype=np.float32).ravel()])

    def probs(self, k: np.ndarray, needed: np.ndarray) -> np.ndarray:
        """Probability per 10 ms frame: Silero frame ``k[i]``'s when ``needed[i]`` and
        ``k[i] >= 0``, else 0. ``k``: int array (n,), non-decreasing, every frame ended
        within the audio fed; ``needed``: bool (n,). Returns float64 (n,)."""
        k = np.asarray(k, dtype=np.int64)
        needed = np.asarray(needed, dtype=bool) & (k >= 0)
        out = np.zeros(len(k), dtype=np.float64)
        want = np.unique(k[needed])
        want = want[want > self._last]
        got: dict[int, float] = {}
        if self._last >= 0:
            got[self._last] = self._last_p
        # one batched run per group of wanted frames whose gaps the warm-up fills anyway
        # (a session call per frame cost more than the frames saved)
        wl = want.tolist()
        i = 0
        while i < len(wl):
            j = i
            while j + 1 < len(wl) and wl[j + 1] - wl[j] <= self._warm + 1:
                j += 1
            first = max(self._last + 1, wl[i] - self._warm)
            p = self._run(first, wl[j])
            for kk in wl[i : j + 1]:
                got[kk] = float(p[kk - first])
            i = j + 1
        if needed.any():
            out[needed] = [got[kk] for kk in k[needed].tolist()]
        # audio still needed later: from the warm-up start of the next possible frame, with context
        nxt = max(int(k[-1]) if len(k) else 0, self._last + 1)
        keep_from = max(0, max(self._last + 1, nxt - self._warm) * FRAME_N - CONTEXT, self._a0)
        self._audio = self._audio[keep_from - self._a0 :]
        self._a0 = keep_from
        return out

    def _run(self, first: int, last: int) -> np.ndarray:
        """Run Silero frames ``first..last`` (consecutive) with the carried state."""
        s0 = first * FRAME_N
        c0 = s0 - CONTEXT - self._a0  # where frame ``first``'s context starts in the buffer
        if first > 0 and c0 < 0:
            raise RuntimeError(f"GatedSilero: the audio before Silero frame {first} was dropped (a bug)")
        frames = self._audio[s0 - self._a0 : (last + 1) * FRAME_N - self._a0]
        n = last - first + 1
        if len(frames) != n * FRAME_N:
            raise ValueError(f"Silero frame {last} has not ended in the audio fed (feed before asking)")
        frames = frames.reshape(n, FRAME_N)
        contexts = np.empty((n, CONTEXT), dtype=np.float32)
        contexts[0] = self._audio[c0 : c0 + CONTEXT] if first > 0 else 0.0
        if n > 1:
            contexts[1:] = frames[:-1, -CONTEXT:]
        batch = np.concatenate([contexts, frames], axis=1)
        probs, self._h, self._c = self._session.run(None, {"input": batch, "h": self._h, "c": self._c})
        self._last, self.frames_run = last, self.frames_run + n
        p = np.asarray(probs, dtype=np.float64).ravel()
        self._last_p = float(p[-1])
        return p

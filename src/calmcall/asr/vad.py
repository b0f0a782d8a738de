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

import numpy as np

FRAME = 512
CONTEXT = 64


@functools.lru_cache(maxsize=1)
def _session():  # type: ignore[no-untyped-def]
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
    """

    def __init__(self) -> None:
        self._session = _session()
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(CONTEXT, dtype=np.float32)
        self._rest = np.zeros(0, dtype=np.float32)
        self.frames = 0

    def feed(self, block: np.ndarray) -> np.ndarray:
        audio = np.concatenate([self._rest, np.asarray(block, dtype=np.float32).ravel()])
        n = len(audio) // FRAME
        self._rest = audio[n * FRAME :]
        if n == 0:
            return np.zeros(0, dtype=np.float32)
        frames = audio[: n * FRAME].reshape(n, FRAME)
        contexts = np.empty((n, CONTEXT), dtype=np.float32)
        contexts[0] = self._context
        if n > 1:
            contexts[1:] = frames[:-1, -CONTEXT:]
        self._context = frames[-1, -CONTEXT:].copy()
        batch = np.concatenate([contexts, frames], axis=1)
        # The v6 graph treats the batch axis as time and carries (h, c) across it.
        probs, self._h, self._c = self._session.run(
            None, {"input": batch, "h": self._h, "c": self._c}
        )
        self.frames += n
        return np.asarray(probs, dtype=np.float32).ravel()

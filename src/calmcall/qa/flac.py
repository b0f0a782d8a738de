"""The recording's file format: one channel's int16 samples to a FLAC file that stays
readable after a crash (STREAMINFO length patched at every flush, then ``fsync``), and
reading such a file back, also one whose header says "length unknown"."""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Protocol

import numpy as np

from calmcall.constants import SAMPLE_RATE_HZ


class Sink(Protocol):
    """Where one channel's int16 samples go."""

    def write(self, samples: np.ndarray) -> None: ...
    def flush(self) -> None: ...
    def close(self) -> None: ...


def to_pcm16(x: np.ndarray) -> np.ndarray:
    """float samples in [-1, 1] (shape (n,)) → int16 (x * 32768, rounded, clipped), the
    inverse of reading PCM_16 as float, so a 16-bit source is stored bit-exact."""
    y = np.round(np.asarray(x, dtype=np.float64) * 32768.0)
    return np.clip(y, -32768, 32767).astype(np.int16)


class FlacSink:
    """One channel as a 16 kHz mono PCM_16 FLAC file, created with mode 0600 (never
    overwriting an existing file). ``flush()`` makes the samples in complete FLAC frames
    readable after a crash (header length patched, fsync)."""

    def __init__(self, path: str | os.PathLike[str], *, sample_rate_hz: int = SAMPLE_RATE_HZ) -> None:
        import soundfile as sf

        self.path = Path(path)
        flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        self._fd = os.open(self.path, flags, 0o600)
        try:
            os.fchmod(self._fd, 0o600)
            self._sf = sf.SoundFile(
                self._fd, "w", samplerate=sample_rate_hz, channels=1, format="FLAC", subtype="PCM_16", closefd=False
            )
        except BaseException:
            os.close(self._fd)
            self.path.unlink(missing_ok=True)
            raise
        self.samples = 0
        self._closed = False

    def write(self, samples: np.ndarray) -> None:
        """Append int16 samples, shape (n,)."""
        self._sf.write(np.ascontiguousarray(samples, dtype=np.int16))
        self.samples += len(samples)

    def flush(self) -> None:
        self._sf.flush()
        self._patch_length()
        os.fsync(self._fd)

    def _patch_length(self) -> None:
        """Write the samples of the complete FLAC frames on disk into STREAMINFO's
        ``total_samples`` (libFLAC writes 0 = unknown until it closes the file, and
        libsndfile then refuses to read the file in one go). libFLAC encodes a block
        once it holds ``blocksize + 1`` samples, so ``(n - 1) // blocksize`` blocks are
        on disk. The final close rewrites STREAMINFO with the exact values."""
        head = os.pread(self._fd, 26, 0)
        if len(head) < 26 or head[:4] != b"fLaC" or head[4] & 0x7F != 0:
            return  # header not written yet, or not the layout we know
        min_block, max_block = struct.unpack(">HH", head[8:12])
        if min_block != max_block or min_block == 0 or self.samples == 0:
            return
        on_disk = (self.samples - 1) // max_block * max_block
        word = struct.unpack(">Q", head[18:26])[0]
        word = (word & ~((1 << 36) - 1)) | on_disk
        os.pwrite(self._fd, struct.pack(">Q", word), 18)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._sf.close()
            os.fsync(self._fd)
        finally:
            os.close(self._fd)


def read_recording(path: str | os.PathLike[str]) -> tuple[np.ndarray, int]:
    """Read a recorded FLAC as float32 samples, shape (n,), and its rate in Hz. Also
    reads a file cut short by a crash: a header that says "length unknown" or promises
    more than the file holds gives the samples up to the first unreadable frame."""
    import soundfile as sf

    from ..audio_io import read_into

    out: list[np.ndarray] = []
    with sf.SoundFile(str(path)) as f:
        rate = int(f.samplerate)
        known = 0 < f.frames < (1 << 40)
        chunk = max(1, min(int(f.frames), 1 << 22)) if known else rate * 10
        buf = np.empty((chunk, f.channels), dtype=np.float32)
        while True:
            try:
                n = read_into(f, buf, known)  # unknown length: soundfile's read would stop early
            except (sf.LibsndfileError, RuntimeError):
                break  # a torn last frame
            if n:
                out.append(buf[:n, 0].copy())
            if n < chunk:
                break
    return (np.concatenate(out) if out else np.zeros(0, dtype=np.float32)), rate

"""Reading call recordings: the file edge of the pipeline.

``load_call`` reads WAV (PCM, float, mu-law, A-law), FLAC, OGG and MP3 through
libsndfile, picks the agent's and the customer's channels, and resamples to
16 kHz float32. ``iter_blocks`` then cuts the call into equally long blocks, in
order, as a live capture would deliver them.
"""

from __future__ import annotations

import errno
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from math import gcd
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from .constants import SAMPLE_RATE_HZ
from .errors import InputError
from .safeio import explain, number_arg

MIN_SOURCE_RATE_HZ = 8_000
#: Highest source rate read (studio gear goes to 384 kHz; anything above is a corrupt header).
MAX_SOURCE_RATE_HZ = 384_000
#: Most channels a call file may have (a multi-track recorder; more is a corrupt header).
MAX_CHANNELS = 64
#: argparse ``type=`` of ``--agent-channel`` / ``--customer-channel``.
CHANNEL = number_arg(0, MAX_CHANNELS - 1, integer=True)
#: Longest call read (s). Longer files are refused before they fill the memory.
MAX_CALL_S = 6 * 3600
#: Frames decoded per read: memory grows with the audio really in the file, never
#: with what its header claims.
_CHUNK_FRAMES = 1 << 16
#: libsndfile's "length unknown" (a streamed FLAC whose header says 0 total samples).
_UNKNOWN_FRAMES = (1 << 63) - 1


class CallFileError(InputError):
    """A call recording cannot be used. The message is one line naming the file."""


@dataclass(frozen=True)
class Call:
    """A call resampled to 16 kHz.

    ``agent``/``customer``: float32 arrays of shape (n_samples,) in [-1, 1];
    ``customer`` is ``None`` for a mono (agent-only) call.
    ``channels``: the source channel index of each role (customer ``None`` if absent).
    """

    path: str
    agent: np.ndarray
    customer: np.ndarray | None
    channels: dict[str, int | None]
    source_rate_hz: int
    source_channels: int
    source_format: str

    @property
    def duration_s(self) -> float:
        return len(self.agent) / SAMPLE_RATE_HZ


def resample_to_16k(x: np.ndarray, rate_hz: int) -> np.ndarray:
    """Resample ``x`` (shape (n,) or (n, channels)) from ``rate_hz`` to 16 kHz."""
    if rate_hz == SAMPLE_RATE_HZ:
        return x.astype(np.float32, copy=False)
    g = gcd(SAMPLE_RATE_HZ, rate_hz)
    y = resample_poly(x, SAMPLE_RATE_HZ // g, rate_hz // g, axis=0)
    return y.astype(np.float32, copy=False)


def _fail(path: Path, what: str) -> CallFileError:
    return CallFileError(f"{path}: {what}")


def load_call(
    path: str | Path,
    *,
    agent_channel: int | None = None,
    customer_channel: int | None = None,
) -> Call:
    """Read a call recording.

    A stereo (or wider) file has the agent on channel 0 and the customer on
    channel 1 unless ``agent_channel``/``customer_channel`` say otherwise; a mono
    file is agent-only. Raises :class:`CallFileError` with a one-line message for
    every kind of bad input.
    """
    p = Path(path)
    try:
        st = p.stat()
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            raise _fail(p, "no such file") from None
        raise _fail(p, f"cannot read: {explain(exc)}") from None
    if stat.S_ISDIR(st.st_mode):
        raise _fail(p, "is a directory, not an audio file")
    if not stat.S_ISREG(st.st_mode):  # a FIFO or a device would block or never end
        raise _fail(p, "not a regular file (give an audio file)")
    if st.st_size == 0:
        raise _fail(p, "is empty (0 bytes)")
    try:
        with p.open("rb"):  # a permission problem in words, not as libsndfile's "System error"
            pass
    except OSError as exc:
        raise _fail(p, f"cannot read: {explain(exc)}") from None
    try:
        info = sf.info(str(p))
    except (sf.LibsndfileError, RuntimeError, TypeError, OSError) as exc:
        raise _fail(p, f"not a readable audio file (unknown format or corrupt header: {_short(exc)})") from None
    rate_hz = int(info.samplerate)
    if rate_hz < MIN_SOURCE_RATE_HZ:
        raise _fail(p, f"sample rate {rate_hz} Hz is below the {MIN_SOURCE_RATE_HZ} Hz minimum")
    if rate_hz > MAX_SOURCE_RATE_HZ:
        raise _fail(
            p,
            f"sample rate {rate_hz} Hz is above the {MAX_SOURCE_RATE_HZ} Hz maximum "
            "(a corrupt header, or convert the file to 16-48 kHz)",
        )
    n_ch = int(info.channels)
    if not 1 <= n_ch <= MAX_CHANNELS:
        raise _fail(p, f"header claims {n_ch} channels; calmcall reads 1 to {MAX_CHANNELS} (a corrupt header?)")
    if agent_channel is None:
        agent_channel = 0
    if customer_channel is None and n_ch >= 2:
        customer_channel = 1 if agent_channel != 1 else 0
    for role, ch in (("agent", agent_channel), ("customer", customer_channel)):
        if ch is not None and not 0 <= ch < n_ch:
            raise _fail(p, f"has {n_ch} channel(s) (0..{n_ch - 1}); there is no {role} channel {ch}")
    if customer_channel is not None and customer_channel == agent_channel:
        raise _fail(p, f"agent and customer cannot both be channel {agent_channel}")
    missing = _wav_missing_bytes(p)
    if missing > 0:  # checked before reading: the header's length is not allocated blindly
        raise _fail(p, f"is truncated: its header promises {missing} more bytes of audio than the file holds")
    picked = [agent_channel] + ([customer_channel] if customer_channel is not None else [])
    chans = _decode(p, info, picked)
    if len(chans[0]) == 0:
        raise _fail(p, "contains no audio samples")
    if not all(np.all(np.isfinite(x)) for x in chans):
        raise _fail(p, "contains NaN or infinite samples")
    rate = rate_hz
    # one channel at a time, each source channel freed once resampled: the peak is the
    # 16 kHz call plus one source channel (load_call of a 3 h stereo 8 kHz WAV peaked at
    # 3.5 GB of memory, now 1.8 GB: benchmarks/ has no figure for it, measured with time -v)
    audio: list[np.ndarray] = []
    while chans:
        audio.append(np.ascontiguousarray(resample_to_16k(chans.pop(0), rate)))
    return Call(
        path=str(p),
        agent=audio[0],
        customer=audio[1] if customer_channel is not None else None,
        channels={"agent": agent_channel, "customer": customer_channel},
        source_rate_hz=int(rate),
        source_channels=n_ch,
        source_format=f"{info.format}/{info.subtype}",
    )


def _decode(p: Path, info: Any, picked: list[int]) -> list[np.ndarray]:
    """Decode the ``picked`` channels of ``p``: one float32 array of shape (n,) per
    picked channel, chunk by chunk: a header's frame count is never allocated up
    front, a file whose length is unknown (streamed FLAC) is read to its end, and a
    file longer than :data:`MAX_CALL_S` is refused once that much has been decoded."""
    max_frames = int(MAX_CALL_S * info.samplerate)
    known = 0 < int(info.frames) < _UNKNOWN_FRAMES
    if known and int(info.frames) > max_frames:
        raise _fail(
            p,
            f"is {info.frames / info.samplerate / 3600:.1f} h long; calmcall reads calls up to "
            f"{MAX_CALL_S / 3600:.0f} h (cut it into parts)",
        )
    chunks: list[list[np.ndarray]] = [[] for _ in picked]
    total = 0
    try:
        with sf.SoundFile(str(p)) as f:
            buf = np.empty((_CHUNK_FRAMES, f.channels), dtype=np.float32)
            while True:
                n = read_into(f, buf, known)
                if n <= 0:
                    break
                for k, ch in enumerate(picked):
                    chunks[k].append(buf[:n, ch].copy())
                total += n
                if total > max_frames:
                    raise _fail(
                        p,
                        f"is longer than {MAX_CALL_S / 3600:.0f} h; calmcall reads calls up to "
                        f"{MAX_CALL_S / 3600:.0f} h (cut it into parts)",
                    )
        out = []
        for k in range(len(picked)):  # each channel joined, then its chunks freed
            out.append(np.concatenate(chunks[k]) if chunks[k] else np.zeros(0, dtype=np.float32))
            chunks[k] = []
        return out
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise _fail(p, f"audio data is unreadable or truncated ({_short(exc)})") from None
    except MemoryError:
        raise _fail(p, "is too long to fit in memory (cut it into parts)") from None


def read_into(f: sf.SoundFile, buf: np.ndarray, known: bool) -> int:
    """Frames read into ``buf`` (0 at the end). A file of unknown length is read with
    libsndfile's ``sf_readf_float`` directly: soundfile's ``read`` seeks past what it
    read, which fails when the length is unknown."""
    if known:
        return int(f.read(len(buf), dtype="float32", always_2d=True, out=buf).shape[0])
    n = sf._snd.sf_readf_float(f._file, sf._ffi.cast("float *", buf.ctypes.data), len(buf))
    err = sf._snd.sf_error(f._file)
    if err:
        raise sf.LibsndfileError(err, prefix="Error reading: ")
    return int(n)


def _wav_missing_bytes(path: Path) -> int:
    """For a RIFF/WAVE file, how many bytes of its ``data`` chunk are missing
    (libsndfile silently reads a cut-off WAV as a shorter one). 0 otherwise."""
    with path.open("rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64") or head[8:12] != b"WAVE":
            return 0
        size = path.stat().st_size
        pos = 12
        while pos + 8 <= size:
            fh.seek(pos)
            chunk = fh.read(8)
            length = int.from_bytes(chunk[4:8], "little")
            if chunk[:4] == b"data":
                if length == 0xFFFFFFFF:  # streamed/RF64: size unknown here
                    return 0
                return max(0, pos + 8 + length - size)
            pos += 8 + length + (length & 1)
    return 0


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__


def iter_blocks(call: Call, *, block_s: float = 0.1) -> Iterator[tuple[float, dict[str, np.ndarray]]]:
    """Yield ``(t_s, blocks)`` in order: ``t_s`` is the block's start in audio
    seconds, ``blocks`` maps ``"agent"`` (and ``"customer"`` if present) to float32
    arrays of ``block_s * 16000`` samples (the last block may be shorter)."""
    if block_s <= 0:
        raise ValueError(f"block_s must be > 0 seconds, got {block_s}")
    n = max(1, int(round(block_s * SAMPLE_RATE_HZ)))
    total = len(call.agent)
    for start in range(0, total, n):
        blocks = {"agent": call.agent[start : start + n]}
        if call.customer is not None:
            blocks["customer"] = call.customer[start : start + n]
        yield start / SAMPLE_RATE_HZ, blocks

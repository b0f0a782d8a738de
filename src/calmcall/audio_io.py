"""Reading call recordings: the file edge of the pipeline.

``load_call`` reads WAV (PCM, float, mu-law, A-law), FLAC, OGG and MP3 through
libsndfile, picks the agent's and the customer's channels, and resamples to
16 kHz float32. ``iter_blocks`` then cuts the call into equally long blocks, in
order, as a live capture would deliver them.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import gcd
from pathlib import Path
from typing import Iterator

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

SAMPLE_RATE_HZ = 16_000
MIN_SOURCE_RATE_HZ = 8_000


class CallFileError(ValueError):
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
    if not p.exists():
        raise _fail(p, "no such file")
    if p.is_dir():
        raise _fail(p, "is a directory, not an audio file")
    if p.stat().st_size == 0:
        raise _fail(p, "is empty (0 bytes)")
    try:
        info = sf.info(str(p))
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise _fail(p, f"not a readable audio file (unknown format or corrupt header: {_short(exc)})") from None
    if info.samplerate < MIN_SOURCE_RATE_HZ:
        raise _fail(p, f"sample rate {info.samplerate} Hz is below the {MIN_SOURCE_RATE_HZ} Hz minimum")
    n_ch = int(info.channels)
    if agent_channel is None:
        agent_channel = 0
    if customer_channel is None and n_ch >= 2:
        customer_channel = 1 if agent_channel != 1 else 0
    for role, ch in (("agent", agent_channel), ("customer", customer_channel)):
        if ch is not None and not 0 <= ch < n_ch:
            raise _fail(p, f"has {n_ch} channel(s) (0..{n_ch - 1}); there is no {role} channel {ch}")
    if customer_channel is not None and customer_channel == agent_channel:
        raise _fail(p, f"agent and customer cannot both be channel {agent_channel}")
    try:
        data, rate = sf.read(str(p), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise _fail(p, f"audio data is unreadable or truncated ({_short(exc)})") from None
    if data.shape[0] == 0:
        raise _fail(p, "contains no audio samples")
    missing = _wav_missing_bytes(p)
    if missing > 0:
        raise _fail(p, f"is truncated: its header promises {missing} more bytes of audio than the file holds")
    if not np.all(np.isfinite(data)):
        raise _fail(p, "contains NaN or infinite samples")
    picked = [agent_channel] + ([customer_channel] if customer_channel is not None else [])
    audio = resample_to_16k(data[:, picked], int(rate))
    return Call(
        path=str(p),
        agent=np.ascontiguousarray(audio[:, 0]),
        customer=np.ascontiguousarray(audio[:, 1]) if customer_channel is not None else None,
        channels={"agent": agent_channel, "customer": customer_channel},
        source_rate_hz=int(rate),
        source_channels=n_ch,
        source_format=f"{info.format}/{info.subtype}",
    )


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

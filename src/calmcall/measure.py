"""Per-frame measures of a whole channel, for research and for checking against references.

:func:`measure_channel` runs the same streaming tracker the pipeline uses
(:class:`calmcall.prosody.SpeakerTracker`) over one channel and returns one value per
10 ms frame; :func:`measure_call` does it for both speakers of a call and
:func:`write_csv` / :func:`write_json` write the ``calmcall measure`` output.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import IO, Any

import numpy as np

from .audio_io import SAMPLE_RATE_HZ, Call
from .config import MeasureConfig
from .prosody import FRAME, HOP, ChannelFront, FrameMeasure, SpeakerTracker, db
from .safeio import atomic_write_text

#: Column order of the ``calmcall measure`` CSV (stable; new columns are only appended).
CSV_COLUMNS: tuple[str, ...] = ("t_s", "speaker", "speech", "voiced", "f0_hz", "level_db")
#: Version of the ``calmcall measure`` JSON document.
MEASURE_SCHEMA = 1

_BLOCK = 16_000  # samples fed per step: results do not depend on it (the tracker works on a fixed grid)


def measure_channel(
    audio_16k: np.ndarray,
    cfg: MeasureConfig | None = None,
    *,
    far_16k: np.ndarray | None = None,
    gated_silero: bool = True,
) -> dict[str, np.ndarray]:
    """Per-frame measures of one channel.

    Parameters
    ----------
    audio_16k : np.ndarray, shape (n,)
        The speaker's channel, 16 kHz mono, float in [-1, 1].
    cfg : the measure settings (defaults when ``None``).
    far_16k : np.ndarray, shape (n,), optional
        The other party's channel, same length and rate, for the cross-channel
        echo/bleed check of the speech decision.
    gated_silero : run Silero VAD only inside the energy gate (the default, as the
        pipeline does); ``False`` runs it on every frame (for comparisons).

    Returns
    -------
    dict of equal-length arrays, one entry per 10 ms frame (frame ``k`` covers samples
    ``[160 k, 160 k + 640)``, i.e. 40 ms):

    - ``t_s`` (float64): the frame's centre in seconds,
    - ``speech`` (bool): the speech-activity decision shared by all measures,
    - ``voiced`` (bool): voiced speech,
    - ``f0_hz`` (float64): fundamental frequency, ``nan`` when not voiced,
    - ``level_db`` (float64): the frame's level (mean square) in dBFS.
    """
    x = np.asarray(audio_16k, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"audio_16k must be mono with shape (n,), got shape {x.shape}")
    if far_16k is not None:
        far = np.asarray(far_16k, dtype=np.float32)
        if far.shape != x.shape:
            raise ValueError(f"far_16k must have the shape of audio_16k {x.shape}, got {far.shape}")
    cfg = cfg or MeasureConfig()
    tracker = SpeakerTracker(cfg, gated_silero=gated_silero)
    far_front = ChannelFront(cfg, gated_silero=gated_silero) if far_16k is not None else None
    frames: list[FrameMeasure] = []
    for i in range(0, len(x), _BLOCK):
        block = x[i : i + _BLOCK]
        far_ff = far_front.feed(far[i : i + _BLOCK]) if far_front is not None else None
        frames += tracker.measure_front(block, tracker.front.feed(block), far=far_ff)
    pitched = [p for f in frames for p in f.pitched] + tracker.flush()
    n = len(frames)
    assert len(pitched) == n, (len(pitched), n)
    t_s = (np.arange(n) * HOP + FRAME / 2) / SAMPLE_RATE_HZ
    return {
        "t_s": t_s,
        "speech": np.array([f.active for f in frames], dtype=bool),
        "voiced": np.array([p.voiced for p in pitched], dtype=bool),
        "f0_hz": np.array([p.f0_hz if p.voiced else np.nan for p in pitched], dtype=np.float64),
        "level_db": np.array([db(f.power) for f in frames], dtype=np.float64),
    }


def measure_call(call: Call, cfg: MeasureConfig | None = None) -> dict[str, dict[str, np.ndarray]]:
    """:func:`measure_channel` for each speaker of ``call`` (``"agent"``, and
    ``"customer"`` when the call has that channel; each is the other's far side)."""
    out = {"agent": measure_channel(call.agent, cfg, far_16k=call.customer)}
    if call.customer is not None:
        out["customer"] = measure_channel(call.customer, cfg, far_16k=call.agent)
    return out


def _rows(measures: dict[str, dict[str, np.ndarray]]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    n = min(len(m["t_s"]) for m in measures.values())
    for k in range(n):  # time-major: at each frame, agent then customer
        for speaker, m in measures.items():
            f0 = float(m["f0_hz"][k])
            rows.append(
                {
                    "t_s": round(float(m["t_s"][k]), 3),
                    "speaker": speaker,
                    "speech": int(m["speech"][k]),
                    "voiced": int(m["voiced"][k]),
                    "f0_hz": None if math.isnan(f0) else round(f0, 2),
                    "level_db": round(float(m["level_db"][k]), 2),
                }
            )
    return rows


def write_csv(path: str | Path | IO[str], measures: dict[str, dict[str, np.ndarray]]) -> int:
    """Write the per-frame rows (columns :data:`CSV_COLUMNS`; ``f0_hz`` empty when
    unvoiced) to a path or an open text stream. Returns the number of rows."""
    rows = _rows(measures)
    if hasattr(path, "write"):
        _write_rows(path, rows)  # type: ignore[arg-type]
    else:
        buf = io.StringIO(newline="")
        _write_rows(buf, rows)
        atomic_write_text(Path(path), buf.getvalue())
    return len(rows)


def _write_rows(fh: IO[str], rows: list[dict[str, Any]]) -> None:
    w = csv.writer(fh, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for r in rows:
        w.writerow(["" if r[c] is None else r[c] for c in CSV_COLUMNS])


def measure_document(call: Call, measures: dict[str, dict[str, np.ndarray]]) -> dict[str, Any]:
    """The ``calmcall measure --json`` document: ``schema``, ``call`` (path, duration,
    channels), ``frame_hop_s``, ``frame_length_s``, ``columns`` and ``frames`` (the rows
    of :func:`write_csv` as objects, ``f0_hz`` null when unvoiced)."""
    return {
        "schema": MEASURE_SCHEMA,
        "call": {"path": call.path, "duration_s": round(call.duration_s, 3), "channels": call.channels},
        "frame_hop_s": HOP / SAMPLE_RATE_HZ,
        "frame_length_s": FRAME / SAMPLE_RATE_HZ,
        "columns": list(CSV_COLUMNS),
        "frames": _rows(measures),
    }


def write_json(path: str | Path, doc: dict[str, Any]) -> None:
    """Write :func:`measure_document` output as JSON."""
    atomic_write_text(Path(path), json.dumps(doc, ensure_ascii=False) + "\n")

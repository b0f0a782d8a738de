"""AMI meeting excerpts as two-party "calls" with known speaker turns.

The AMI clips in ``../shared/audio/ami-meeting`` are 30 s single-channel mixes of 2-4
real speakers with RTTM turns (``trn*`` = development, ``tst*`` = held out). This module
reads the RTTMs and splits a clip into two channels: the speakers of side A on one, the
rest on the other; on each channel the regions where *only* the other side talks are
zeroed (where both sides talk, both channels keep the mix: that is real overtalk, and
the far side's voice is audible there as bleed). Silence between turns is kept on both.

API (used by ``bench_realspeech`` and by the overtalk benchmark for its ground truth)::

    turns = read_rttm(path)                    # {file_id: [Turn, ...]}
    audio, turns = load_clip("tst00")          # 16 kHz mono, its turns
    split = split_two_channels(audio, turns)   # TwoChannelSplit
    split.channels                              # (side_a, side_b) float32, same length
    split.speaker_turns                         # {speaker: [(start_s, end_s), ...]}
    split.side_turns                            # ([(s, e)...] merged for A, for B)
    overlap(split.side_turns[0], split.side_turns[1])   # where both sides talk

Intervals are ``(start_s, end_s)`` tuples in seconds, sorted, non-overlapping after
:func:`merge`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from speech_clips import SR, require

Interval = tuple[float, float]

#: the clips, by role in the evaluation
DEV_CLIPS = ("trn00", "trn01", "trn02", "trn04", "trn05", "trn06", "trn07", "trn08", "trn09")
HELD_OUT_CLIPS = ("tst00", "tst01")


@dataclass(frozen=True)
class Turn:
    """One RTTM ``SPEAKER`` line: ``speaker`` talks from ``start_s`` to ``end_s``."""

    file_id: str
    speaker: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class TwoChannelSplit:
    """A clip split by speaker side. ``channels``: ``(side_a, side_b)`` float32 arrays of
    the clip's length; ``sides``: the speakers of each side; ``speaker_turns``: every
    speaker's turns (merged); ``side_turns``: the merged turns of each side."""

    channels: tuple[np.ndarray, np.ndarray]
    sides: tuple[tuple[str, ...], tuple[str, ...]]
    speaker_turns: dict[str, list[Interval]]
    side_turns: tuple[list[Interval], list[Interval]]
    sr_hz: int = SR


def read_rttm(path: str | Path) -> dict[str, list[Turn]]:
    """Parse an RTTM file: ``{file_id: [Turn, ...]}`` in file order. Only ``SPEAKER``
    lines count (fields: type, file, channel, onset, duration, ..., speaker name in
    the 8th); blank lines and ``;;`` comments are skipped."""
    out: dict[str, list[Turn]] = {}
    for n, line in enumerate(Path(path).read_text().splitlines(), 1):
        f = line.split()
        if not f or f[0].startswith(";;") or f[0] != "SPEAKER":
            continue
        if len(f) < 8:
            raise ValueError(f"{path}:{n}: an RTTM SPEAKER line has at least 8 fields, got {len(f)}")
        onset, dur = float(f[3]), float(f[4])
        if dur < 0:
            raise ValueError(f"{path}:{n}: negative duration {dur}")
        out.setdefault(f[1], []).append(Turn(f[1], f[7], onset, onset + dur))
    return out


def load_clip(file_id: str) -> tuple[np.ndarray, list[Turn]]:
    """One AMI clip (``"tst00"``, ``"trn04"``...): float32 16 kHz mono audio and its
    turns. Raises ``speech_clips.SharedAudioMissing`` when ../shared/audio is absent."""
    wav = require(f"ami-meeting/{file_id}.wav")
    rttm = require("ami-meeting/" + ("debug.test.rttm" if file_id.startswith("tst") else "debug.train.rttm"))
    x, sr = sf.read(str(wav), dtype="float32")
    if sr != SR or x.ndim != 1:
        raise ValueError(f"{wav}: expected 16 kHz mono, got {sr} Hz, shape {x.shape}")
    turns = read_rttm(rttm).get(file_id)
    if not turns:
        raise ValueError(f"{rttm} has no turns for {file_id}")
    return x, turns


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Union of intervals, sorted, touching/overlapping ones joined."""
    out: list[list[float]] = []
    for s, e in sorted(intervals):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def overlap(a: Sequence[Interval], b: Sequence[Interval]) -> list[Interval]:
    """Intersection of two merged interval lists (where both talk)."""
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        s, e = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if s < e:
            out.append((s, e))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def subtract(a: Sequence[Interval], b: Sequence[Interval]) -> list[Interval]:
    """The parts of merged ``a`` not covered by merged ``b``."""
    out: list[Interval] = []
    for s, e in a:
        cur = s
        for bs, be in b:
            if be <= cur or bs >= e:
                continue
            if bs > cur:
                out.append((cur, bs))
            cur = max(cur, be)
        if cur < e:
            out.append((cur, e))
    return out


def speaker_turns(turns: Iterable[Turn]) -> dict[str, list[Interval]]:
    """Merged turns per speaker."""
    by: dict[str, list[Interval]] = {}
    for t in turns:
        by.setdefault(t.speaker, []).append((t.start_s, t.end_s))
    return {k: merge(v) for k, v in by.items()}


def split_two_channels(
    audio: np.ndarray, turns: Sequence[Turn], side_a: Iterable[str] | None = None, *, sr_hz: int = SR
) -> TwoChannelSplit:
    """Split a mono clip (``(samples,)`` float) into two channels by speaker side.

    ``side_a``: the speakers of the first channel; by default the one speaker with the
    most speech time (the others form side B, which is empty for a one-speaker clip such
    as ``trn02``: its channel then carries only the room between A's turns). On each
    channel the samples where only the other side talks are zeroed; overlaps and
    silence are kept on both."""
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"audio must be mono, shape (samples,), got {x.shape}")
    per = speaker_turns(turns)
    if not per:
        raise ValueError("no turns: nothing to split")
    if side_a is None:
        side_a = [max(per, key=lambda s: (sum(e - b for b, e in per[s]), s))]
    a = tuple(sorted(set(side_a)))
    unknown = set(a) - set(per)
    if unknown:
        raise ValueError(f"side_a names speakers not in the turns: {sorted(unknown)} (have {sorted(per)})")
    b = tuple(sorted(set(per) - set(a)))  # empty for a one-speaker clip: B keeps only the background
    ta = merge(iv for s in a for iv in per[s])
    tb = merge(iv for s in b for iv in per[s])
    chans = []
    for own, other in ((ta, tb), (tb, ta)):
        y = x.copy()
        for s, e in subtract(other, own):  # only the other side talks
            y[int(round(s * sr_hz)) : int(round(e * sr_hz))] = 0.0
        chans.append(y)
    return TwoChannelSplit((chans[0], chans[1]), (a, b), per, (ta, tb), sr_hz)


def frame_mask(intervals: Sequence[Interval], t_s: np.ndarray) -> np.ndarray:
    """Boolean per frame time ``t_s`` (seconds): inside any of ``intervals``."""
    t = np.asarray(t_s, dtype=np.float64)
    m = np.zeros(t.shape, dtype=bool)
    for s, e in intervals:
        m |= (t >= s) & (t < e)
    return m

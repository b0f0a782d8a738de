"""The caller's rise over their own calm baseline, bounded and robust.

The pipeline calls the caller *escalated* when enough of level, pitch and pace are
raised over the caller's baseline for a while (``[customer]`` settings). The raw
windowed measures can be wild: a baseline learned from line noise had a syllable
rate of 0.15/s, which made ordinary speech "+3012 % faster"; an octave error of
the pitch tracker is +12 semitones. So every measure is

* **measured only on a plausible range**: the current value and the baseline must
  both be plausible for running speech (syllable rate :data:`RATE_RANGE_SYL_S`,
  F0 :data:`F0_RANGE_HZ`, level above :data:`MIN_LEVEL_DBFS`), else the measure
  is unknown (``None``), never extrapolated;
* **bounded**: the rise is clipped to :data:`MAX_LEVEL_DB` dB,
  :data:`MAX_PITCH_ST` semitones and :data:`MAX_RATE_RATIO` times the calm rate;
* **robust**: :class:`RiseTracker` reports the median of the last
  ``window`` evaluations of the caller's speech (pauses are skipped), so one odd
  window does not raise or clear a measure.

The detail shown to the agent says what rose and by how much in those units
(:func:`describe`): "+8 dB louder, +4 semitones higher, 45 % faster".
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping

import numpy as np

from .events import Baseline

RATE_RANGE_SYL_S = (1.5, 9.0)  #: plausible syllable-nuclei rates of running speech (syllables/s)
F0_RANGE_HZ = (50.0, 500.0)  #: plausible speaking F0 (Hz)
MIN_LEVEL_DBFS = -70.0  #: a baseline or window quieter than this is not speech level (dBFS)
MAX_LEVEL_DB = 20.0  #: the level rise is clipped to this (dB)
MAX_PITCH_ST = 12.0  #: the pitch rise is clipped to this (semitones; an octave error is 12)
MAX_RATE_RATIO = 2.0  #: the pace ratio is clipped to this (x the calm rate)

KEYS = ("level_rel_db", "pitch_st", "rate_rel")


def _inside(v: float | None, lo: float, hi: float) -> bool:
    return v is not None and np.isfinite(v) and lo <= v <= hi


def bounded_rise(rel: Mapping[str, float | None], baseline: Baseline | None) -> dict[str, float | None]:
    """The caller's current rise over ``baseline``, each measure on its plausible
    range and clipped (see the module docstring).

    ``rel`` holds the windowed values ``f0_hz``, ``level_db``, ``rate_syl_s``
    (``_SpeakerState.relative()``). Returns ``level_rel_db`` (dB), ``pitch_st``
    (semitones) and ``rate_rel`` (ratio, 1 = calm pace); ``None`` where a value or
    the baseline is missing or implausible, all ``None`` without a baseline.
    """
    out: dict[str, float | None] = dict.fromkeys(KEYS)
    b = baseline
    if b is None:
        return out
    level = rel.get("level_db")
    if level is not None and level > MIN_LEVEL_DBFS and b.level_db > MIN_LEVEL_DBFS:
        out["level_rel_db"] = float(np.clip(level - b.level_db, -MAX_LEVEL_DB, MAX_LEVEL_DB))
    f0 = rel.get("f0_hz")
    if _inside(f0, *F0_RANGE_HZ) and _inside(b.f0_hz, *F0_RANGE_HZ):
        st = 12.0 * float(np.log2(f0 / b.f0_hz))  # type: ignore[operator]
        out["pitch_st"] = float(np.clip(st, -MAX_PITCH_ST, MAX_PITCH_ST))
    rate = rel.get("rate_syl_s")
    if _inside(rate, *RATE_RANGE_SYL_S) and _inside(b.rate_syl_s, *RATE_RANGE_SYL_S):
        out["rate_rel"] = float(np.clip(rate / b.rate_syl_s, 1.0 / MAX_RATE_RATIO, MAX_RATE_RATIO))  # type: ignore[operator]
    return out


class RiseTracker:
    """Median of the last ``window`` bounded rises of a speaker's active speech.

    :meth:`update` is called once per evaluation (0.1 s of audio); while the
    speaker is silent the history is kept (a pause neither raises nor clears a
    measure). A measure needs at least ``window // 2`` known values to be reported.
    """

    def __init__(self, window: int = 10) -> None:
        if window < 1:
            raise ValueError(f"window must be >= 1 evaluation, got {window}")
        self.window = window
        self._hist: dict[str, deque[float]] = {k: deque(maxlen=window) for k in KEYS}

    def update(self, rel: Mapping[str, float | None], baseline: Baseline | None, *, active: bool) -> dict[str, float | None]:
        """Add the current rise (when ``active``) and return the medians (``None``
        where not enough is known). Without a baseline everything is ``None`` and
        the history is cleared."""
        if baseline is None:
            for h in self._hist.values():
                h.clear()
            return dict.fromkeys(KEYS)
        if active:
            now = bounded_rise(rel, baseline)
            for k in KEYS:
                v = now[k]
                if v is not None:
                    self._hist[k].append(v)
        need = max(1, self.window // 2)
        return {k: (float(np.median(h)) if len(h) >= need else None) for k, h in self._hist.items()}


def describe(raised: Mapping[str, float]) -> str:
    """What rose and by how much, in dB, semitones and percent (a clipped value
    reads "at least +20 dB louder", "at least 100 % faster"): "+8 dB louder, +4 semitones higher, 45 % faster"."""
    parts = []
    if "level_rel_db" in raised:
        v = raised["level_rel_db"]
        parts.append(f"{'at least ' if v >= MAX_LEVEL_DB else ''}+{v:.0f} dB louder")
    if "pitch_st" in raised:
        v = raised["pitch_st"]
        parts.append(f"{'at least ' if v >= MAX_PITCH_ST else ''}+{v:.0f} semitones higher")
    if "rate_rel" in raised:
        r = raised["rate_rel"]
        parts.append(f"{'at least ' if r >= MAX_RATE_RATIO else ''}{(r - 1.0) * 100:.0f} % faster")
    return ", ".join(parts)

"""Calm baselines: learned from the first stretch of speech, or read from a profile."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .events import Baseline
from .prosody import HOP_S, FrameMeasure, db


class ProfileError(ValueError):
    """A baseline profile file is unusable; the message names the file and key."""


class SpeechStats:
    """Running totals over a speaker's speech frames: voiced F0 values, power of
    the loud frames, syllable nuclei. Used for the baseline and the whole-call summary.
    Pitch and nuclei count as they are delivered (:attr:`FrameMeasure.pitched`)."""

    def __init__(self) -> None:
        self.f0_hz: list[float] = []
        self.active_frames = 0
        self.pitched_active_frames = 0  # speech frames whose pitch/nuclei are in
        self.loud_frames = 0
        self.power_sum = 0.0
        self.nuclei = 0

    def add(self, frame: FrameMeasure) -> None:
        """Count ``frame`` if it is speech, and the pitch values it delivers."""
        for p in frame.pitched:
            if p.active:
                self.pitched_active_frames += 1
                self.nuclei += p.nucleus
                if p.voiced:
                    self.f0_hz.append(p.f0_hz)
        if not frame.active:
            return
        self.active_frames += 1
        if frame.loud:
            self.power_sum += frame.power
            self.loud_frames += 1

    @property
    def speech_s(self) -> float:
        """Seconds of active speech."""
        return self.active_frames * HOP_S

    @property
    def median_f0_hz(self) -> float | None:
        return float(np.median(self.f0_hz)) if self.f0_hz else None

    @property
    def level_db(self) -> float | None:
        """Active speech level (dBFS) over the loud frames."""
        return db(self.power_sum / self.loud_frames) if self.loud_frames else None

    @property
    def rate_syl_s(self) -> float | None:
        """Syllable nuclei per second of speech (over the speech whose nuclei are known)."""
        return self.nuclei / (self.pitched_active_frames * HOP_S) if self.pitched_active_frames else None


class BaselineLearner:
    """Accumulates frames until ``speech_s`` seconds of active speech were heard,
    then :meth:`update` returns the :class:`Baseline` (once)."""

    def __init__(self, speech_s: float) -> None:
        self.speech_s = speech_s
        self._stats = SpeechStats()
        self.done = False

    def update(self, frame: FrameMeasure) -> Baseline | None:
        if self.done:
            return None
        self._stats.add(frame)
        if not frame.active or self._stats.speech_s + 1e-9 < self.speech_s:
            return None
        return self.finish()

    def finish(self, *, min_speech_s: float = 2.0) -> Baseline | None:
        """Close the learner (e.g. at the end of a short recording). Returns
        ``None`` if less than ``min_speech_s`` of voiced speech was heard."""
        st = self._stats
        if self.done or st.speech_s < min_speech_s or len(st.f0_hz) < 20:
            return None
        self.done = True
        return Baseline(
            f0_hz=float(np.median(st.f0_hz)),
            level_db=db(st.power_sum / max(1, st.loud_frames)),
            rate_syl_s=st.rate_syl_s or 0.0,
            speech_s=st.speech_s,
            source="learned",
        )


_PROFILE_KEYS = {"f0_hz": (50.0, 600.0), "level_db": (-90.0, 6.0), "rate_syl_s": (0.5, 12.0)}


def write_profile(path: str | Path, baseline: Baseline, *, recording: str) -> None:
    """Write an agent profile TOML (calm baseline) for ``--profile``."""
    text = (
        "# calmcall agent profile: the agent's calm baseline\n"
        f"# learned by `calmcall calibrate` from {recording!r}\n"
        "[baseline]\n"
        f"f0_hz = {baseline.f0_hz:.2f}        # median F0 of voiced speech (Hz)\n"
        f"level_db = {baseline.level_db:.2f}     # active speech level (dBFS)\n"
        f"rate_syl_s = {baseline.rate_syl_s:.3f}   # syllable nuclei per second of speech\n"
        f"speech_s = {baseline.speech_s:.1f}      # seconds of speech it was learned from\n"
    )
    Path(path).write_text(text, encoding="utf-8")


#: Optional profile keys and their ranges: seconds of speech learned from (at most a
#: day), words per minute (informational).
_PROFILE_OPTIONAL = {"speech_s": (0.0, 86400.0), "wpm": (0.0, 600.0)}


def read_profile(path: str | Path) -> Baseline:
    """Read a profile written by :func:`write_profile`. Raises :class:`ProfileError`
    naming the file and the key, with the key's range, for every bad value."""
    from .safeio import finite_in, read_toml, short_repr

    p = Path(path)
    data = read_toml(p, ProfileError, what="profile",
                     missing_hint=f" (create one with `calmcall calibrate RECORDING --out {p}`)")
    section = data.get("baseline")
    if not isinstance(section, dict):
        raise ProfileError(f"{p}: missing [baseline] table (create the profile with `calmcall calibrate`)")
    unknown = set(section) - set(_PROFILE_KEYS) - set(_PROFILE_OPTIONAL)
    if unknown:
        raise ProfileError(f"{p}: unknown key baseline.{sorted(unknown)[0]} "
                           f"(known: {', '.join([*_PROFILE_KEYS, *_PROFILE_OPTIONAL])})")
    values: dict[str, float] = {}
    for key, (lo, hi) in {**_PROFILE_KEYS, **_PROFILE_OPTIONAL}.items():
        if key not in section and key in _PROFILE_OPTIONAL:
            continue
        v = section.get(key)
        if not finite_in(v, lo, hi):
            raise ProfileError(f"{p}: baseline.{key} must be a number in [{lo}, {hi}], got {short_repr(v)}")
        values[key] = float(v)
    return Baseline(f0_hz=values["f0_hz"], level_db=values["level_db"], rate_syl_s=values["rate_syl_s"],
                    speech_s=values.get("speech_s", 0.0), source="profile")

"""Calm baselines: learned from the first stretch of speech, or read from a profile."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import numpy as np

from .events import Baseline
from .prosody import HOP_S, FrameMeasure, db


class ProfileError(ValueError):
    """A baseline profile file is unusable; the message names the file and key."""


class BaselineLearner:
    """Accumulates frames until ``speech_s`` seconds of active speech were heard,
    then :meth:`update` returns the :class:`Baseline` (once)."""

    def __init__(self, speech_s: float) -> None:
        self.speech_s = speech_s
        self._f0: list[float] = []
        self._power = 0.0
        self._active = 0
        self._loud = 0
        self._nuclei = 0
        self.done = False

    def update(self, frame: FrameMeasure) -> Baseline | None:
        if self.done or not frame.active:
            return None
        self._active += 1
        if frame.loud:
            self._power += frame.power
            self._loud += 1
        self._nuclei += frame.nucleus
        if frame.voiced:
            self._f0.append(frame.f0_hz)
        if self._active * HOP_S + 1e-9 < self.speech_s:
            return None
        return self.finish()

    def finish(self, *, min_speech_s: float = 2.0) -> Baseline | None:
        """Close the learner (e.g. at the end of a short recording). Returns
        ``None`` if less than ``min_speech_s`` of voiced speech was heard."""
        if self.done:
            return None
        if self._active * HOP_S < min_speech_s or len(self._f0) < 20:
            return None
        self.done = True
        speech = self._active * HOP_S
        return Baseline(
            f0_hz=float(np.median(self._f0)),
            level_db=db(self._power / max(1, self._loud)),
            rate_syl_s=self._nuclei / speech,
            speech_s=speech,
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


def read_profile(path: str | Path) -> Baseline:
    """Read a profile written by :func:`write_profile`. Raises :class:`ProfileError`."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileError(f"{p}: profile not found (create one with `calmcall calibrate RECORDING --out {p}`)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{p}: cannot read profile ({type(exc).__name__})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{p}: not valid TOML ({exc})") from None
    section = data.get("baseline")
    if not isinstance(section, dict):
        raise ProfileError(f"{p}: missing [baseline] table")
    values: dict[str, float] = {}
    for key, (lo, hi) in _PROFILE_KEYS.items():
        v = section.get(key)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not lo <= v <= hi:
            raise ProfileError(f"{p}: baseline.{key} must be a number in [{lo}, {hi}], got {v!r}")
        values[key] = float(v)
    unknown = set(section) - set(_PROFILE_KEYS) - {"speech_s", "wpm"}
    if unknown:
        raise ProfileError(f"{p}: unknown key baseline.{sorted(unknown)[0]}")
    return Baseline(**values, speech_s=float(section.get("speech_s", 0.0)), source="profile")

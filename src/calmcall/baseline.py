"""Calm baselines: learned from a stretch of speech and checked for plausibility, or read from a profile."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from .config import BaselineConfig
from .errors import InputError
from .events import Baseline
from .prosody import HOP_S, FrameMeasure, PitchFrame, db


class ProfileError(InputError):
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
    """Learns a calm baseline from ``speech_s`` seconds of speech frames, and refuses
    one that is implausible or unsettled.

    Only speech frames count (the channel's shared speech decision); the baseline is
    the median F0 of the voiced ones, the active level of the loud ones (mean power)
    and syllable nuclei per second of speech. When the window is full it is checked:
    too little voiced speech or too few nuclei (unsettled), or a median F0, syllable
    rate or level outside the :class:`~calmcall.config.BaselineConfig` bounds
    (implausible: e.g. a window of noise taken for speech reads 0.7 syllables/s). A
    refused window gives no baseline; :attr:`status` says why and learning starts
    again with the next speech (a fresh window, so no refused frame leaks into the
    next baseline). :meth:`update` returns the :class:`Baseline` once, when a window
    passes.
    """

    def __init__(self, speech_s: float, cfg: BaselineConfig | None = None, *, gate_floor_db: float = -60.0) -> None:
        self.speech_s = speech_s
        self.cfg = cfg or BaselineConfig()
        self._min_level_db = gate_floor_db + self.cfg.min_level_above_gate_db
        self._speech: deque[tuple[float, float, bool]] = deque()  # (t_s, power, loud) of the window's speech frames
        self._pitch: deque[tuple[float, bool, float, bool]] = deque()  # (t_s, voiced, f0_hz, nucleus)
        self.refused = 0  #: windows refused so far
        self.reason: str | None = None  #: why the last checked window was refused
        self.done = False

    @property
    def window_speech_s(self) -> float:
        """Seconds of speech in the window now."""
        return len(self._speech) * HOP_S

    @property
    def status(self) -> str:
        """``"learned"``, or ``"still learning (...)"`` with the reason."""
        if self.done:
            return "learned"
        if self.reason:
            return f"still learning ({self.reason}; {self.window_speech_s:.1f} of {self.speech_s:.0f} s of new speech)"
        return f"still learning ({self.window_speech_s:.1f} of {self.speech_s:.0f} s of speech)"

    def add_pitched(self, pitched: Iterable[PitchFrame]) -> None:
        """Take in pitch values delivered outside :meth:`update` (a tracker's flush)."""
        for p in pitched:
            if p.active:
                self._pitch.append((p.t_s, p.voiced, p.f0_hz, p.nucleus))

    def update(self, frame: FrameMeasure) -> Baseline | None:
        """Feed one frame (any frame: pitch of earlier speech frames arrives with later
        frames). Returns the baseline at the frame where a window first passes."""
        if self.done:
            return None
        self.add_pitched(frame.pitched)
        if not frame.active:
            return None
        self._speech.append((frame.t_s, frame.power, frame.loud))
        start_s = self._speech[0][0]
        while self._pitch and self._pitch[0][0] < start_s:  # pitch of frames before the window
            self._pitch.popleft()
        if self.window_speech_s + 1e-9 < self.speech_s:
            return None
        b = self._check()
        if b is None:  # refused: learn afresh from the next speech
            self.refused += 1
            self._speech.clear()
            self._pitch.clear()
        return b

    def finish(self, *, min_speech_s: float = 2.0) -> Baseline | None:
        """Close the learner (e.g. at the end of a short recording): the baseline of
        what the window holds, if it is at least ``min_speech_s`` of speech and passes
        the checks; else ``None`` (and :attr:`status` says why)."""
        if self.done:
            return None
        if self.window_speech_s < min_speech_s:
            self.reason = f"too little speech: {self.window_speech_s:.1f} s, need {min_speech_s:.0f} s"
            return None
        return self._check()

    def _check(self) -> Baseline | None:
        b, reason = self._candidate()
        self.reason = reason
        if b is None:
            return None
        self.done = True
        return b

    def _candidate(self) -> tuple[Baseline | None, str | None]:
        c = self.cfg
        f0 = [f for _, v, f, _ in self._pitch if v]
        nuclei = sum(n for *_, n in self._pitch)
        pitched_s = len(self._pitch) * HOP_S
        if len(f0) * HOP_S < c.min_voiced_s:
            return None, f"unsettled: {len(f0) * HOP_S:.1f} s of voiced speech, need {c.min_voiced_s:.1f} s"
        if nuclei < c.min_nuclei:
            return None, f"unsettled: {nuclei} syllables, need {c.min_nuclei}"
        loud = [pw for _, pw, ld in self._speech if ld]
        if not loud:
            return None, "unsettled: no speech above the noise gate"
        b = Baseline(
            f0_hz=float(np.median(f0)),
            level_db=db(float(np.mean(loud))),
            rate_syl_s=nuclei / pitched_s,
            speech_s=self.window_speech_s,
            source="learned",
        )
        if not c.f0_min_hz <= b.f0_hz <= c.f0_max_hz:
            return None, f"implausible: median pitch {b.f0_hz:.0f} Hz, outside {c.f0_min_hz:.0f}-{c.f0_max_hz:.0f} Hz"
        if not c.rate_min_syl_s <= b.rate_syl_s <= c.rate_max_syl_s:
            return None, (
                f"implausible: pace {b.rate_syl_s:.2f} syllables/s of speech, outside {c.rate_min_syl_s:g}-{c.rate_max_syl_s:g}"
            )
        if b.level_db < self._min_level_db:
            return None, f"implausible: level {b.level_db:.1f} dBFS, below {self._min_level_db:.0f} dBFS"
        return b, None


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
    data = read_toml(p, ProfileError, what="profile", missing_hint=f" (create one with `calmcall calibrate RECORDING --out {p}`)")
    section = data.get("baseline")
    if not isinstance(section, dict):
        raise ProfileError(f"{p}: missing [baseline] table (create the profile with `calmcall calibrate`)")
    unknown = set(section) - set(_PROFILE_KEYS) - set(_PROFILE_OPTIONAL)
    if unknown:
        raise ProfileError(
            f"{p}: unknown key baseline.{sorted(unknown)[0]} (known: {', '.join([*_PROFILE_KEYS, *_PROFILE_OPTIONAL])})"
        )
    values: dict[str, float] = {}
    for key, (lo, hi) in {**_PROFILE_KEYS, **_PROFILE_OPTIONAL}.items():
        if key not in section and key in _PROFILE_OPTIONAL:
            continue
        v = section.get(key)
        if not finite_in(v, lo, hi):
            raise ProfileError(f"{p}: baseline.{key} must be a number in [{lo}, {hi}], got {short_repr(v)}")
        values[key] = float(v)
    return Baseline(
        f0_hz=values["f0_hz"],
        level_db=values["level_db"],
        rate_syl_s=values["rate_syl_s"],
        speech_s=values.get("speech_s", 0.0),
        source="profile",
    )


def calibrate(agent_16k: np.ndarray, measure: Any, baseline_cfg: BaselineConfig, *, source: str = "the recording") -> Baseline:
    """The agent's calm baseline from a calm recording of them (``calmcall calibrate``).

    ``agent_16k``: the agent's channel, 16 kHz float32 mono, shape (n,); ``measure`` the
    config's ``[measure]`` section. Fed in 1 s blocks through the same speaker tracker
    the pipeline uses; the learner needs half of ``baseline_cfg.agent_speech_s`` of
    plausible speech. Raises :class:`ProfileError` (naming ``source``) when the
    recording gives no usable baseline."""
    from .constants import SAMPLE_RATE_HZ
    from .prosody import SpeakerTracker

    tracker = SpeakerTracker(measure)
    learner = BaselineLearner(1e9, baseline_cfg, gate_floor_db=measure.vad_floor_db)
    for start in range(0, len(agent_16k), SAMPLE_RATE_HZ):
        for f in tracker.update(agent_16k[start : start + SAMPLE_RATE_HZ]):
            learner.update(f)
    learner.add_pitched(tracker.flush())
    need_s = baseline_cfg.agent_speech_s / 2
    baseline = learner.finish(min_speech_s=need_s)
    if baseline is None:
        raise ProfileError(
            f"{source}: no usable calm baseline ({learner.reason}; need at least {need_s:.0f} s of "
            "plausible speech: record the agent reading calmly for longer)"
        )
    return baseline

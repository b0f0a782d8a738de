"""Real-speech benchmark: pitch, voice activity and baselines on recordings nobody on
this project made, clean and through the telephone channel simulator.

    .venv/bin/python benchmarks/run.py --only realspeech
    .venv/bin/python benchmarks/bench_realspeech.py          # the same, this section alone
    .venv/bin/python benchmarks/bench_realspeech.py --table benchmarks/results/latest.json
    .venv/bin/python benchmarks/bench_realspeech.py --pitch   # pitch only: clean, phone, phone_echo; dev | held out
    .venv/bin/python benchmarks/bench_realspeech.py --pitch-cpu   # the pitch tracker's CPU per s of audio, alone

Jobs (one per condition and part) run in ``CALMCALL_BENCH_WORKERS`` processes (default
2); every job has its own fixed seeds, so the figures do not depend on the number.

Material: ``../shared/audio`` (``benchmarks/speech_clips.py``; absent → the section fails
with the reason). Every clip is scored clean and in every condition of
``telephone.CONDITIONS`` (fixed seeds: the same audio every run). Each party's channel
is first set to the nominal telephone line level (active speech at -26 dBFS, the gain
limited to keep peaks at or below -1 dBFS): the AMI far-field mixes arrive at -34 to
-50 dBFS, where the comfort-noise gate and floor would dominate every figure. calmcall is called
only through ``calmcall.measure.measure_channel`` (per-10-ms-frame ``t_s``, ``speech``,
``voiced``, ``f0_hz``) and ``calmcall.analysis.run_call`` (its baselines), so the figures
follow whatever the implementation behind them is.

* **pitch** (JFK, the 5 LJSpeech clips, the 20 EmoDB clips; 71 s): reference = pYIN
  (``librosa.pyin``, fmin 60, fmax 400 Hz, 64 ms frames, 10 ms hop) on the *clean
  wideband* copy. On each condition's copy: GPE = share of the frames voiced in both
  whose F0 is more than 20 % off the reference; VDE = share of all frames whose voicing
  decision differs from the reference's. Also pYIN and plain YIN (no voicing decision:
  GPE over the reference's voiced frames) on the same degraded copy. Octave jumps =
  episodes in which the trailing 1 s median of voiced F0 (the cue's median; at least
  10 voiced frames) is more than 6 semitones from the reference's trailing 1 s median;
  the cue's own median (:func:`cue_median_hz`: the frames through
  ``calmcall.prosody.F0Median``, the tracker's window and octave guard) against the
  reference's median with the same window (no guard), over each one's voiced frames and
  over the frames voiced in both; "before" = a plain median reported from a quarter
  window. Dev (LJSpeech, EmoDB 03-11, :data:`PITCH_DEV_EMODB`) and held out (JFK,
  EmoDB 12-16) are also reported apart (``--pitch``).
  CPU = process time of ``measure_channel`` per second of audio.
* **VAD** (the AMI clips, split into two channels by their RTTM, ``benchmarks/ami.py``;
  ``trn*`` development, ``tst*`` held out, reported separately): frame precision and
  recall of ``speech`` against the side's RTTM speech, with the other side as
  ``far_16k``. False speech share on a channel that carries only gated comfort noise
  (``voip_gated`` at -62 dBFS, and at -60 dBFS), only line hiss (pink noise, -56 dBFS),
  or only the far side's echo (-25 dB and -20 dB, 30 ms; counted during the far side's
  speech); the far side's channel is given as ``far_16k``.
* **baselines**: ``run_call`` (no transcription) on each AMI split call, JFK, the
  LJSpeech clips joined, the stereo fixture, per condition. A learned baseline is
  *plausible* when 60 <= F0 <= 400 Hz, 2 <= syllables/s <= 8 (about 90-260 wpm of
  articulation) and -60 <= level <= -3 dBFS; the F0 of JFK and LJSpeech is also compared
  with the reference (median pYIN F0 of the clean clip).
"""

from __future__ import annotations

import functools
import json
import multiprocessing as mp
import os
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
for p in (ROOT / "src", ROOT / "benchmarks"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import ami  # noqa: E402
import speech_clips as sc  # noqa: E402
from telephone import CONDITIONS, set_active_level, telephone_channel  # noqa: E402

SR = 16000
HOP_S = 0.010
SEED = 20261201
LINE_LEVEL_DBFS = -26.0
PYIN_FMIN_HZ, PYIN_FMAX_HZ = 60.0, 400.0
GROSS_REL = 0.20
JUMP_ST = 6.0
MEDIAN_WINDOW_S = 1.0
MIN_MEDIAN_FRAMES = 10
PLAUSIBLE = {"f0_hz": (60.0, 400.0), "rate_syl_s": (2.0, 8.0), "level_db": (-60.0, -3.0)}
ECHO_DBS = (-25.0, -20.0)
#: the pitch clips used to choose pitch settings (LJSpeech and the first 5 EmoDB speakers);
#: JFK and EmoDB speakers 12-16 are held out and reported separately
PITCH_DEV_EMODB = ("03a01", "08a01", "09a01", "10a01", "11a01")
#: the conditions ``--pitch`` scores (the pitch rows of the README)
PITCH_CONDITIONS = ("clean", "phone", "phone_echo")


def pitch_part(clip: str) -> str:
    """``"dev"`` (LJSpeech, EmoDB speakers of :data:`PITCH_DEV_EMODB`) or ``"held_out"``."""
    return "dev" if clip.startswith("LJ") or clip[:5] in PITCH_DEV_EMODB else "held_out"


# ----------------------------------------------------------------- scoring (pure)


def pitch_counts(ref_f0: np.ndarray, ref_voiced: np.ndarray, f0: np.ndarray, voiced: np.ndarray) -> dict[str, int]:
    """Frame counts for GPE/VDE: ``frames``, ``both`` (voiced in both), ``gross`` (of
    ``both``, F0 more than 20 % off), ``gross_up`` (of those, too high), ``vd_err``
    (voicing decisions differ), ``vd_miss`` (of those, voiced in the reference only). Arrays of one length, F0 in Hz."""
    rv, v = np.asarray(ref_voiced, bool), np.asarray(voiced, bool)
    both = rv & v
    ratio = np.full(len(rv), 1.0)
    ratio[both] = np.asarray(f0, float)[both] / np.asarray(ref_f0, float)[both]
    gross = both & (np.abs(ratio - 1.0) > GROSS_REL)
    return {
        "frames": int(len(rv)),
        "both": int(both.sum()),
        "gross": int(gross.sum()),
        "gross_up": int((gross & (ratio > 1)).sum()),
        "vd_err": int((rv != v).sum()),
        "vd_miss": int((rv & ~v).sum()),
    }


def add_counts(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    return {k: a.get(k, 0) + b.get(k, 0) for k in set(a) | set(b)}


def running_median_hz(
    f0: np.ndarray, voiced: np.ndarray, window_s: float = MEDIAN_WINDOW_S, min_frames: int = MIN_MEDIAN_FRAMES
) -> np.ndarray:
    """Trailing ``window_s`` median of the voiced F0 at each 10 ms frame (nan where
    fewer than ``min_frames`` voiced frames are in the window)."""
    w = int(round(window_s / HOP_S))
    f = np.where(np.asarray(voiced, bool), np.asarray(f0, float), np.nan)
    out = np.full(len(f), np.nan)
    for i in range(len(f)):
        seg = f[max(0, i - w + 1) : i + 1]
        seg = seg[~np.isnan(seg)]
        if len(seg) >= min_frames:
            out[i] = np.median(seg)
    return out


def cue_median_hz(f0: np.ndarray, voiced: np.ndarray, *, guard: bool | str = True, min_frames: int | None = None) -> np.ndarray:
    """The cue's median F0 after each 10 ms frame: the frames' voiced F0 pushed, in
    order and with their times, through :class:`calmcall.prosody.F0Median` (window and
    minimum count of the default ``MeasureConfig``; nan until it reports). ``guard``:
    True / ``"revert"`` the tracker's own octave guard (a jump that reverts within
    ``prosody.OCTAVE_REVERT_S``), ``"median"`` the earlier guard against the window's
    median (off in the tracker since it held back real rises), False none;
    ``min_frames``: another minimum count (the "before" rule was a quarter of the window)."""
    from calmcall.config import MeasureConfig
    from calmcall.prosody import HOP_S as TRACK_HOP_S
    from calmcall.prosody import OCTAVE_REVERT_S, F0Median

    n = max(1, int(MeasureConfig().pitch_window_s / TRACK_HOP_S))
    kw: dict = {"guard_st": None}
    if guard is True or guard == "revert":
        kw["revert_s"] = OCTAVE_REVERT_S
    elif guard == "median":
        kw = {}
    fm = F0Median(n, min_frames or max(1, n // 2), **kw)
    out = np.full(len(f0), np.nan)
    for i, (f, v) in enumerate(zip(np.asarray(f0, float).tolist(), np.asarray(voiced, bool).tolist())):
        if v:
            fm.push(f, i * HOP_S)
        if fm.value_hz is not None:
            out[i] = fm.value_hz
    return out


def octave_jumps(med_hz: np.ndarray, ref_med_hz: np.ndarray, st: float = JUMP_ST) -> int:
    """Episodes (maximal runs of frames) in which ``med_hz`` is more than ``st``
    semitones from ``ref_med_hz`` (frames where either is nan end a run)."""
    ok = ~np.isnan(med_hz) & ~np.isnan(ref_med_hz)
    off = np.zeros(len(med_hz), bool)
    off[ok] = np.abs(12 * np.log2(med_hz[ok] / ref_med_hz[ok])) > st
    return int(np.sum(off[1:] & ~off[:-1]) + (1 if len(off) and off[0] else 0))


def jump_episodes(med_hz: np.ndarray, ref_med_hz: np.ndarray, st: float = JUMP_ST) -> list[tuple[int, int]]:
    """The runs counted by :func:`octave_jumps`: ``(first, last)`` frame indices."""
    ok = ~np.isnan(med_hz) & ~np.isnan(ref_med_hz)
    off = np.zeros(len(med_hz), bool)
    off[ok] = np.abs(12 * np.log2(med_hz[ok] / ref_med_hz[ok])) > st
    idx = np.flatnonzero(off)
    if not len(idx):
        return []
    runs = np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1)
    return [(int(r[0]), int(r[-1])) for r in runs]


def vad_counts(pred: np.ndarray, ref: np.ndarray) -> dict[str, int]:
    """``tp``, ``fp``, ``fn``, ``frames`` of a frame speech decision against a reference."""
    p, r = np.asarray(pred, bool), np.asarray(ref, bool)
    return {"tp": int((p & r).sum()), "fp": int((p & ~r).sum()), "fn": int((~p & r).sum()), "frames": int(len(p))}


def precision_recall(c: dict[str, int]) -> tuple[float, float]:
    tp, fp, fn = c["tp"], c["fp"], c["fn"]
    return (tp / (tp + fp) if tp + fp else float("nan"), tp / (tp + fn) if tp + fn else float("nan"))


def plausible(b: dict) -> bool:
    """A learned baseline (``f0_hz``, ``rate_syl_s``, ``level_db``) inside :data:`PLAUSIBLE`."""
    return all(b.get(k) is not None and lo <= b[k] <= hi for k, (lo, hi) in PLAUSIBLE.items())


# ----------------------------------------------------------------- material


@dataclass
class Clip:
    name: str
    audio: np.ndarray  # 16 kHz float32 mono, clean


def _line(x: np.ndarray) -> np.ndarray:
    """One party's line level: active speech at -26 dBFS, peak at most -1 dBFS."""
    return set_active_level(x, SR, LINE_LEVEL_DBFS, peak_dbfs=-1.0)


def pitch_clips() -> list[Clip]:
    out = [Clip("jfk", _line(sc.read_16k(sc.require("jfk/jfk.wav"))[:, 0]))]
    out += [Clip(w.stem, _line(sc.read_16k(w)[:, 0])) for w in sc.ljspeech_wavs()]
    out += [Clip(w.stem, _line(sc.read_16k(w)[:, 0])) for w in sc.emodb_wavs()]
    return out


def _fit(x: np.ndarray, n: int) -> np.ndarray:
    return np.resize(x, n).astype(np.float32) if len(x) else np.zeros(n, np.float32)


def degrade(x: np.ndarray, cond: str, seed: tuple[int, ...], far: np.ndarray | None = None) -> np.ndarray:
    """``x`` (16 kHz) through condition ``cond`` with a fixed seed; ``far`` is the echo
    source for conditions with echo (required there)."""
    kw = dict(CONDITIONS[cond])
    if "echo_db" in kw:
        if far is None:
            raise ValueError(f"condition {cond} needs the far side's audio")
        kw["echo_of"] = _fit(far, len(x))
    rng = np.random.default_rng([SEED, *seed])
    return telephone_channel(x, SR, rng=rng, **kw)


def _before_cfg():  # type: ignore[no-untyped-def]
    """The speech decision before narrowband thresholds: the wideband ones everywhere."""
    import dataclasses

    from calmcall.config import MeasureConfig

    return dataclasses.replace(
        MeasureConfig(),
        speech_prob_on_narrowband=MeasureConfig().speech_prob_on,
        speech_prob_off_narrowband=MeasureConfig().speech_prob_off,
    )


def _measure(x: np.ndarray, far: np.ndarray | None = None, *, before: bool = False) -> tuple[dict, float]:
    """``measure_channel`` of ``x`` (and its CPU seconds); ``before``: wideband
    thresholds everywhere and Silero on every frame (the decision before issue 9's
    narrowband thresholds and gating)."""
    from calmcall.measure import measure_channel

    t0 = time.process_time()
    m = measure_channel(
        np.asarray(x, np.float32),
        _before_cfg() if before else None,
        far_16k=None if far is None else np.asarray(far, np.float32),
        gated_silero=not before,
    )
    return m, time.process_time() - t0


def _pyin(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import librosa

    f0, vflag, _ = librosa.pyin(x, fmin=PYIN_FMIN_HZ, fmax=PYIN_FMAX_HZ, sr=SR, frame_length=1024, hop_length=160)
    return np.nan_to_num(f0, nan=0.0), np.asarray(vflag, bool)


def _yin(x: np.ndarray) -> np.ndarray:
    import librosa

    return librosa.yin(x, fmin=PYIN_FMIN_HZ, fmax=PYIN_FMAX_HZ, sr=SR, frame_length=1024, hop_length=160)


def _at(t_s: np.ndarray, arr: np.ndarray) -> np.ndarray:
    """Values of a 10 ms-hop, centred librosa track at frame centres ``t_s``."""
    idx = np.clip(np.round(np.asarray(t_s) / HOP_S).astype(int), 0, len(arr) - 1)
    return arr[idx]


# ----------------------------------------------------------------- sections
# Each job scores one condition (or one quiet channel kind) and reads its material
# through the per-process caches below, so the jobs can run in worker processes.


@functools.cache
def _clips() -> tuple[Clip, ...]:
    return tuple(pitch_clips())


@functools.cache
def _pitch_material() -> tuple[tuple[Clip, ...], tuple[tuple[np.ndarray, np.ndarray], ...]]:
    clips = _clips()
    return clips, tuple(_pyin(c.audio) for c in clips)


@functools.cache
def _ami_material() -> tuple[tuple[str, ami.TwoChannelSplit], ...]:
    out = []
    for fid in ami.DEV_CLIPS + ami.HELD_OUT_CLIPS:
        x, turns = ami.load_clip(fid)
        sp = ami.split_two_channels(x, turns)
        out.append(
            (
                fid,
                ami.TwoChannelSplit(
                    (_line(sp.channels[0]), _line(sp.channels[1])), sp.sides, sp.speaker_turns, sp.side_turns, sp.sr_hz
                ),
            )
        )
    return tuple(out)


def pitch_job(ci: int, fast: bool = False) -> dict:
    """Pitch figures of condition number ``ci`` of :data:`CONDITIONS` (``fast``: without
    pYIN and YIN on the degraded copies)."""
    cond = list(CONDITIONS)[ci]
    clips, refs = _pitch_material()
    cc: dict[str, int] = {}
    cp: dict[str, int] = {}
    cy: dict[str, int] = {}
    parts: dict[str, dict] = {
        p: {
            "counts": {},
            "jumps": 0,
            "cue": 0,
            "cue_before": 0,
            "cue_same": 0,
            "cue_same_before": 0,
            "cue_median_guard": 0,
            "cue_plain": 0,
        }
        for p in ("dev", "held_out")
    }
    episodes: list[str] = []
    jumps = 0
    cpu_s = 0.0
    for k, (clip, (rf0, rvo)) in enumerate(zip(clips, refs)):
        far = clips[k - 1].audio  # another speaker as the echo
        y = degrade(clip.audio, cond, (1, ci, k), far)
        m, dt = _measure(y)
        cpu_s += dt
        t = m["t_s"]
        ref_f0, ref_v = _at(t, rf0), _at(t, rvo)
        f0 = np.nan_to_num(np.asarray(m["f0_hz"], float), nan=0.0)
        vo = np.asarray(m["voiced"], bool)
        c1 = pitch_counts(ref_f0, ref_v, f0, vo)
        cc = add_counts(cc, c1)
        med, ref_med = running_median_hz(f0, vo), running_median_hz(ref_f0, ref_v)
        eps = jump_episodes(med, ref_med)
        jumps += len(eps)
        pp = parts[pitch_part(clip.name)]
        pp["counts"] = add_counts(pp["counts"], c1)
        pp["jumps"] += len(eps)
        # the cue's own median (prosody.F0Median) against the reference's median with the
        # same window rule (no guard) over pYIN's voiced frames, and over the frames
        # voiced in both (the tracker's own errors only); "before": plain median, 1/4 window
        both = vo & ref_v
        n_min = max(1, int(round(MEDIAN_WINDOW_S / HOP_S)) // 4)
        for key, (ours, rv, kw) in {
            "cue": (vo, ref_v, {}),
            "cue_before": (vo, ref_v, {"guard": False, "min_frames": n_min}),
            "cue_same": (both, both, {}),
            "cue_median_guard": (vo, ref_v, {"guard": "median"}),
            "cue_plain": (vo, ref_v, {"guard": False}),
            "cue_same_before": (both, both, {"guard": False, "min_frames": n_min}),
        }.items():
            cm = cue_median_hz(f0, ours, **kw)
            rm = cue_median_hz(ref_f0, rv, guard=False, min_frames=kw.get("min_frames"))
            ce = jump_episodes(cm, rm)
            pp[key] += len(ce)
            if key == "cue":
                episodes += [
                    f"cue: {clip.name} ({pitch_part(clip.name)}) {t[a]:.2f}-{t[b]:.2f} s: ours {cm[a]:.0f} Hz, "
                    f"reference {rm[a]:.0f} Hz"
                    for a, b in ce
                ]
        w = int(round(MEDIAN_WINDOW_S / HOP_S))
        episodes += [
            f"{clip.name} ({pitch_part(clip.name)}) {t[a]:.2f}-{t[b]:.2f} s: ours {med[a]:.0f} Hz over "
            f"{int(vo[max(0, a - w + 1) : a + 1].sum())} voiced frames, reference {ref_med[a]:.0f} Hz over "
            f"{int(ref_v[max(0, a - w + 1) : a + 1].sum())}"
            for a, b in eps
        ]
        if fast:
            continue
        pf0, pvo = _pyin(y)
        cp = add_counts(cp, pitch_counts(ref_f0, ref_v, _at(t, pf0), _at(t, pvo)))
        yf0 = _at(t, _yin(y))
        cy = add_counts(cy, pitch_counts(ref_f0, ref_v, yf0, ref_v))
    audio_s = sum(len(c.audio) for c in clips) / SR
    return {
        "calmcall": _pitch_figs(cc),
        "calmcall_octave_jumps": jumps,
        "parts": {
            p: {
                **_pitch_figs(v["counts"]),
                "octave_jumps": v["jumps"],
                "cue_octave_jumps": v["cue"],
                "cue_octave_jumps_before": v["cue_before"],
                "cue_octave_jumps_same_frames": v["cue_same"],
                "cue_octave_jumps_same_frames_before": v["cue_same_before"],
                "cue_octave_jumps_median_guard": v["cue_median_guard"],
                "cue_octave_jumps_plain": v["cue_plain"],
            }
            for p, v in parts.items()
        },
        "calmcall_cue_octave_jumps": sum(v["cue"] for v in parts.values()),
        "jump_episodes": episodes,
        "pyin_degraded": _pitch_figs(cp) if cp else None,
        "yin_degraded_gpe": _pitch_figs(cy)["gpe"] if cy else None,
        "calmcall_cpu_ms_per_s": round(1000 * cpu_s / audio_s, 2),
        "counts": cc,
    }


def _pitch_figs(c: dict[str, int]) -> dict[str, float | None]:
    return {
        "gpe": round(c["gross"] / c["both"], 4) if c["both"] else None,
        "gpe_up": round(c["gross_up"] / c["both"], 4) if c["both"] else None,
        "vde": round(c["vd_err"] / c["frames"], 4) if c["frames"] else None,
        "vde_missed": round(c["vd_miss"] / c["frames"], 4) if c["frames"] else None,
        "voiced_both": c["both"],
    }


def vad_job(ci: int) -> dict:
    """VAD precision/recall against the RTTM for condition number ``ci``, now and
    ``before`` (wideband thresholds, ungated Silero), with the CPU of ``measure_channel``
    per second of audio per channel (its far side's front end included)."""
    cond = list(CONDITIONS)[ci]
    sets: dict[str, dict[str, int]] = {"dev": {}, "held_out": {}, "before_dev": {}, "before_held_out": {}}
    cpu = {"": 0.0, "before_": 0.0}
    audio_s = 0.0
    for k, (fid, sp) in enumerate(_ami_material()):
        part = "held_out" if fid in ami.HELD_OUT_CLIPS else "dev"
        a, b = sp.channels
        ya = degrade(a, cond, (2, ci, k, 0), far=b)
        yb = degrade(b, cond, (2, ci, k, 1), far=a)
        for near, far, turns in ((ya, yb, sp.side_turns[0]), (yb, ya, sp.side_turns[1])):
            audio_s += len(near) / SR
            for pre in cpu:
                m, dt = _measure(near, far, before=bool(pre))
                cpu[pre] += dt
                sets[pre + part] = add_counts(sets[pre + part], vad_counts(m["speech"], ami.frame_mask(turns, m["t_s"])))
    out: dict = {p: {"precision": _r(precision_recall(c)[0]), "recall": _r(precision_recall(c)[1]), **c} for p, c in sets.items()}
    out["cpu_ms_per_s"] = round(1000 * cpu[""] / audio_s, 2)
    out["before_cpu_ms_per_s"] = round(1000 * cpu["before_"] / audio_s, 2)
    return out


#: channels with no speech of their own: (label, condition, overrides, carries the far side's echo)
QUIET = [
    ("gated comfort noise (voip_gated, -62 dBFS)", "voip_gated", {}, False),
    ("gated comfort noise (-60 dBFS)", "phone", {"comfort_noise_dbfs": -60.0}, False),
    ("line hiss (pink, -56 dBFS)", "phone", {"noise_snr_db": 30.0}, False),
]
QUIET += [
    (f"far side's echo ({echo_db:+.0f} dB, 30 ms)", "phone", {"echo_db": echo_db, "echo_delay_s": 0.03}, True)
    for echo_db in ECHO_DBS
]


def quiet_job(qi: int) -> dict:
    """False speech share on quiet channel kind number ``qi`` of :data:`QUIET`."""
    _label, cond, extra, echo = QUIET[qi]
    sets = {"dev": [0, 0], "held_out": [0, 0]}
    for k, (fid, sp) in enumerate(_ami_material()):
        part = "held_out" if fid in ami.HELD_OUT_CLIPS else "dev"
        src = sp.channels[0]
        far = degrade(src, cond, (3, qi, k, 1))
        rng = np.random.default_rng([SEED, 3, qi, k, 0])
        kw = {**CONDITIONS[cond], **extra, **({"echo_of": src} if echo else {})}
        near = telephone_channel(np.zeros(len(src), np.float32), SR, rng=rng, **kw)
        m, _ = _measure(near, far)
        # echo: counted while the far side talks; otherwise over the whole channel
        scope = ami.frame_mask(sp.side_turns[0], m["t_s"]) if echo else np.ones(len(m["speech"]), bool)
        sets[part][0] += int(np.sum(np.asarray(m["speech"], bool) & scope))
        sets[part][1] += int(np.sum(scope))
    return {p: _r(v[0] / v[1]) for p, v in sets.items()}


def _r(v: float) -> float | None:
    return None if v != v else round(float(v), 4)


def _baselines_of(agent: np.ndarray, customer: np.ndarray | None) -> dict[str, dict | None]:
    from calmcall.analysis import run_call
    from calmcall.audio_io import Call
    from calmcall.config import Config
    from calmcall.events import BaselineReady

    call = Call(
        "realspeech",
        np.asarray(agent, np.float32),
        None if customer is None else np.asarray(customer, np.float32),
        {"agent": 0, "customer": None if customer is None else 1},
        SR,
        1 if customer is None else 2,
        "bench",
    )
    events, _ = run_call(call, config=Config(), transcribe=False)
    out: dict[str, dict | None] = {"agent": None, "customer": None}
    for e in events:
        if isinstance(e, BaselineReady):
            b = e.baseline
            out[e.speaker] = {
                "f0_hz": b.f0_hz,
                "level_db": b.level_db,
                "rate_syl_s": b.rate_syl_s,
                "speech_s": b.speech_s,
                "source": b.source,
            }
    return out


@functools.cache
def _baseline_material() -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, float]]:
    clips = _clips()
    lj = np.concatenate([c.audio for c in clips if c.name.startswith("LJ")])
    jfk = next(c.audio for c in clips if c.name == "jfk")
    stereo = sc.read_16k(sc.require("stereo-two-speaker/stereo_diarization.wav"))
    stereo = np.stack([_line(stereo[:, 0]), _line(stereo[:, 1])], axis=1)
    ref_hz = {"jfk": float(np.median(_pyin_voiced(jfk))), "ljspeech": float(np.median(_pyin_voiced(lj)))}
    return jfk, lj, stereo, ref_hz


def baseline_job(ci: int) -> dict:
    """The pipeline's learned baselines on every channel, condition number ``ci``."""
    cond = list(CONDITIONS)[ci]
    jfk, lj, stereo, ref_hz = _baseline_material()
    rows: list[dict] = []
    for k, (fid, sp) in enumerate(_ami_material()):
        a, b = sp.channels
        got = _baselines_of(degrade(a, cond, (5, ci, k, 0), far=b), degrade(b, cond, (5, ci, k, 1), far=a))
        rows += [{"clip": f"{fid}/{side}", "baseline": got[role]} for side, role in (("A", "agent"), ("B", "customer"))]
    for name, x, far in (("jfk", jfk, lj), ("ljspeech", lj, jfk)):
        got = _baselines_of(degrade(x, cond, (6, ci, len(rows)), far=_fit(far, len(x))), None)
        row = {"clip": name, "baseline": got["agent"]}
        if got["agent"]:
            row["f0_err_st"] = round(12 * np.log2(got["agent"]["f0_hz"] / ref_hz[name]), 2)
        rows.append(row)
    s0, s1 = stereo[:, 0].copy(), stereo[:, 1].copy()
    got = _baselines_of(degrade(s0, cond, (7, ci, 0), far=s1), degrade(s1, cond, (7, ci, 1), far=s0))
    rows += [{"clip": f"stereo/{i}", "baseline": got[r]} for i, r in enumerate(("agent", "customer"))]
    learned = [r for r in rows if r["baseline"]]
    ok = [r for r in learned if plausible(r["baseline"])]
    return {
        "channels": len(rows),
        "learned": len(learned),
        "plausible": len(ok),
        "implausible": [f"{r['clip']}: {_fmt_b(r['baseline'])}" for r in learned if not plausible(r["baseline"])],
        "f0_hz_range": _range([r["baseline"]["f0_hz"] for r in learned]),
        "rate_syl_s_range": _range([r["baseline"]["rate_syl_s"] for r in learned]),
        "level_db_range": _range([r["baseline"]["level_db"] for r in learned]),
        "f0_err_st": {r["clip"]: r.get("f0_err_st") for r in rows if r["clip"] in ref_hz},
        "reference_f0_hz": {k: round(v, 1) for k, v in ref_hz.items()},
        "rows": rows,
    }


def _job(spec: tuple[str, int]) -> tuple[tuple[str, int], dict]:
    kind, i = spec
    return spec, {"pitch": pitch_job, "vad": vad_job, "quiet": quiet_job, "baseline": baseline_job}[kind](i)


def _pyin_voiced(x: np.ndarray) -> np.ndarray:
    f0, v = _pyin(x)
    return f0[v]


def _range(v: list[float]) -> list[float] | None:
    return [round(min(v), 2), round(max(v), 2)] if v else None


def pitch_tracker_cpu(block_s: float = 0.25, repeats: int = 3) -> dict:
    """CPU of the pitch tracker alone (``calmcall.pitch.SwiftPitch`` with the tracker's
    chunk grid and F0 range) per second of audio of one channel: the pitch clips (JFK,
    LJSpeech, EmoDB; all speech) fed in ``block_s`` blocks, every chunk run (no chunk
    skipped as silent: the worst case, continuous speech). Process CPU time, best of
    ``repeats`` passes after one warm-up; the 1-minute load average before and after
    says how busy the machine was."""
    from calmcall.config import MeasureConfig
    from calmcall.constants import SAMPLE_RATE_HZ
    from calmcall.pitch import SWIFT_HOP, SwiftPitch

    cfg = MeasureConfig()
    chunk = max(1, int(round(cfg.pitch_chunk_s * SAMPLE_RATE_HZ / SWIFT_HOP)))
    clips = _clips()
    audio_s = sum(len(c.audio) for c in clips) / SR
    block = max(1, int(block_s * SR))
    load0 = os.getloadavg()[0]

    def one_pass() -> float:
        c0 = time.process_time()
        for c in clips:
            sp = SwiftPitch(chunk_frames=chunk, fmin_hz=cfg.pitch_min_hz, fmax_hz=cfg.pitch_max_hz)
            x = c.audio.astype(np.float32)
            for i in range(0, len(x), block):
                sp.feed(x[i : i + block])
                while sp.release_sample(sp.next_chunk) <= min(i + block, len(x)):
                    sp.run_chunk(skip=False)
        return time.process_time() - c0

    one_pass()  # warm-up: model load, first inference
    best = min(one_pass() for _ in range(repeats))
    return {
        "block_s": block_s,
        "chunk_s": round(chunk * SWIFT_HOP / SAMPLE_RATE_HZ, 3),
        "audio_s": round(audio_s, 1),
        "cpu_ms_per_s": round(1000 * best / audio_s, 2),
        "load_1min": [round(load0, 2), round(os.getloadavg()[0], 2)],
        "cores": os.cpu_count(),
    }


def _fmt_b(b: dict) -> str:
    return f"{b['f0_hz']:.0f} Hz, {b['rate_syl_s']:.2f} syl/s, {b['level_db']:.1f} dBFS"


def _cpu_s() -> float:
    """CPU seconds of this process and its finished children (the pool's workers)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f} %"


# ----------------------------------------------------------------- entry point


def run(report: dict) -> list[tuple[str, str, str]]:
    t0, c0 = time.perf_counter(), _cpu_s()
    sc.require("")  # fail at once, with the remedy, when ../shared/audio is absent
    n_cond = len(CONDITIONS)
    specs = (
        [("baseline", i) for i in range(n_cond)]
        + [("vad", i) for i in range(n_cond)]
        + [("pitch", i) for i in range(n_cond)]
        + [("quiet", i) for i in range(len(QUIET))]
    )
    workers = max(1, int(os.environ.get("CALMCALL_BENCH_WORKERS", min(2, os.cpu_count() or 1))))
    if workers == 1:
        got = dict(_job(s) for s in specs)
    else:  # results do not depend on the order: every job has its own seeds
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
            got = dict(pool.map(_job, specs))
    names = list(CONDITIONS)
    pitch = {"conditions": {names[i]: got[("pitch", i)] for i in range(n_cond)}, "clips": [c.name for c in _clips()]}
    vad = {
        "conditions": {names[i]: got[("vad", i)] for i in range(n_cond)},
        "false_speech_share": {QUIET[i][0]: got[("quiet", i)] for i in range(len(QUIET))},
    }
    base = {"conditions": {names[i]: got[("baseline", i)] for i in range(n_cond)}}
    report["realspeech"] = {
        "pitch": pitch,
        "vad": vad,
        "baselines": base,
        "workers": workers,
        "wall_s": round(time.perf_counter() - t0, 1),
        "cpu_s": round(_cpu_s() - c0, 1),
    }
    return table(report["realspeech"])


def table(res: dict) -> list[tuple[str, str, str]]:
    """The section's rows (metric, value, goal) from its results (``report["realspeech"]``)."""
    pitch, vad, base = res["pitch"], res["vad"], res["baselines"]
    rows: list[tuple[str, str, str]] = []
    for cond, r in pitch["conditions"].items():
        c, p = r["calmcall"], r["pyin_degraded"]
        rows.append(
            (
                f"realspeech: pitch vs clean pYIN [{cond}] calmcall GPE / VDE",
                f"{_pct(c['gpe'])} (up {_pct(c['gpe_up'])}) / {_pct(c['vde'])} (missed {_pct(c.get('vde_missed'))}); "
                f"octave jumps {r['calmcall_octave_jumps']} (cue's median: {r.get('calmcall_cue_octave_jumps', '-')}); "
                f"pYIN {_pct(p['gpe'])} / {_pct(p['vde'])}; "
                f"YIN GPE {_pct(r['yin_degraded_gpe'])}",
                "GPE <= 2 %, VDE <= 6 %, 0 jumps" if cond != "clean" else "-",
            )
        )
    cpu = [r["calmcall_cpu_ms_per_s"] for r in pitch["conditions"].values()]
    rows.append(
        ("realspeech: calmcall measure_channel CPU per s of audio (pitch clips)", f"{min(cpu):.1f}-{max(cpu):.1f} ms", "<= 15 ms")
    )
    for cond, r in vad["conditions"].items():
        d, h = r["dev"], r["held_out"]
        before = ""
        if "before_dev" in r:
            bd, bh = r["before_dev"], r["before_held_out"]
            before = (
                f" (before: {_pct(bd['precision'])} / {_pct(bd['recall'])} | {_pct(bh['precision'])} / "
                f"{_pct(bh['recall'])}); CPU {r['cpu_ms_per_s']:.1f} ms/s per channel (before "
                f"{r['before_cpu_ms_per_s']:.1f})"
            )
        rows.append(
            (
                f"realspeech: VAD vs RTTM [{cond}] precision / recall, dev | held out",
                f"{_pct(d['precision'])} / {_pct(d['recall'])} | {_pct(h['precision'])} / {_pct(h['recall'])}{before}",
                "-",
            )
        )
    for label, v in vad["false_speech_share"].items():
        rows.append(
            (
                f"realspeech: false speech share, channel of {label} only, dev | held out",
                f"{_pct(v['dev'])} | {_pct(v['held_out'])}",
                "0 %",
            )
        )
    for cond, r in base["conditions"].items():
        rows.append(
            (
                f"realspeech: baselines [{cond}] of {r['channels']} channels: learned, of them plausible",
                f"{r['learned']}, {r['plausible']}; F0 {r['f0_hz_range']} Hz, rate {r['rate_syl_s_range']} syl/s; "
                f"F0 vs pYIN jfk {r['f0_err_st'].get('jfk')} st, LJ {r['f0_err_st'].get('ljspeech')} st",
                "every learned one plausible",
            )
        )
    if "cpu_s" in res:
        rows.append(
            ("realspeech: section cost (workers; wall; CPU)", f"{res['workers']}; {res['wall_s']} s; {res['cpu_s']} s", "-")
        )
    return rows


def pitch_only() -> None:
    """``--pitch``: the pitch figures alone, for :data:`PITCH_CONDITIONS`, dev and held
    out, each octave-jump episode listed (no pYIN/YIN on the degraded copies)."""
    sc.require("")
    names = list(CONDITIONS)
    res = {}
    for cond in PITCH_CONDITIONS:
        r = pitch_job(names.index(cond), fast=True)
        res[cond] = r
        for p, f in r["parts"].items():
            print(
                f"pitch [{cond}] {p}: GPE {_pct(f['gpe'])} / VDE {_pct(f['vde'])} (missed {_pct(f['vde_missed'])}); "
                f"octave jumps: 1 s window {f['octave_jumps']}; cue median {f['cue_octave_jumps_before']} -> "
                f"{f['cue_octave_jumps']} (plain median from 1/2 window {f['cue_octave_jumps_plain']}, "
                f"median guard {f['cue_octave_jumps_median_guard']}); cue median, frames voiced in both {f['cue_octave_jumps_same_frames_before']} -> "
                f"{f['cue_octave_jumps_same_frames']}"
            )
        for e in r["jump_episodes"]:
            print(f"    jump [{cond}] {e}")
    out = ROOT / "benchmarks" / "results" / "realspeech_pitch.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1, default=float) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1] == "--pitch":
        pitch_only()
        sys.exit(0)
    if len(sys.argv) == 2 and sys.argv[1] == "--pitch-cpu":  # the pitch tracker's CPU alone, quietly
        for bs in (0.25, 0.5, 1.0):
            print(json.dumps(pitch_tracker_cpu(bs)))
        sys.exit(0)
    if len(sys.argv) == 3 and sys.argv[1] == "--table":  # reprint the rows of a saved run
        saved = json.loads(Path(sys.argv[2]).read_text())
        for r in table(saved.get("realspeech", saved)):
            print(" | ".join(r))
        sys.exit(0)
    rep: dict = {}
    for r in run(rep):
        print(" | ".join(r))
    out = ROOT / "benchmarks" / "results" / "realspeech.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rep["realspeech"], indent=1, default=float) + "\n")
    print(f"wrote {out}")

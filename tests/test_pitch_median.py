"""The cue's median F0 (:class:`calmcall.prosody.F0Median`): an octave error of the
tracker does not reach it, on synthetic frames and on real speech through the phone
band (the dev clips of benchmarks/bench_realspeech.py)."""

from __future__ import annotations

import bench_realspeech as br
import numpy as np
import pytest
from conftest import shared_audio

from calmcall.prosody import OCTAVE_REVERT_S, F0Median


def _track(fm: F0Median, f0_hz: np.ndarray) -> np.ndarray:
    out = np.full(len(f0_hz), np.nan)
    for i, f in enumerate(f0_hz):
        fm.push(float(f))
        out[i] = np.nan if fm.value_hz is None else fm.value_hz
    return out


def test_octave_doubled_burst_inside_steady_voicing_is_not_reported() -> None:
    """0.6 s of doubled F0 (a tracker octave error) inside 3 s of voicing at 120 Hz
    with +-1 st of intonation: the guarded median stays within 1 st of 120 Hz and the
    60 doubled frames are kept out; a plain median of the same frames (no guard) jumps
    by an octave, so the test can fail."""
    rng = np.random.default_rng(7)
    f0 = 120.0 * 2 ** (rng.uniform(-1, 1, 300) / 12)
    f0[120:180] *= 2.0
    med = _track(F0Median(100, 50), f0)
    assert np.isnan(med[:49]).all() and not np.isnan(med[49:]).any()
    st = 12 * np.log2(med[49:] / 120.0)
    assert np.abs(st).max() < 1.0, np.abs(st).max()
    plain = _track(F0Median(100, 50, guard_st=None), f0)
    assert np.abs(12 * np.log2(plain[49:] / 120.0)).max() > 10.0
    fm = F0Median(100, 50)
    _track(fm, f0)
    assert fm.rejected == 60


def test_halved_creak_at_an_offset_is_kept_out_and_a_real_change_is_followed() -> None:
    """Creak read at half the period (60 Hz after 200 Hz) is kept out; a speaker who
    really moves an octave (more than 3/4 of the window's frames there) is followed:
    the window restarts on the new frames after 0.76 s."""
    f0 = np.r_[np.full(100, 200.0), np.full(20, 100.0), np.full(100, 200.0)]
    med = _track(F0Median(100, 50), f0)
    assert np.allclose(med[49:], 200.0)
    f0 = np.r_[np.full(100, 200.0), np.full(200, 100.0)]
    med = _track(F0Median(100, 50), f0)
    assert np.allclose(med[49:175], 200.0)
    assert np.allclose(med[175:], 100.0)  # the 76th frame at 100 Hz re-anchors


def _track_t(fm: F0Median, f0_hz: np.ndarray, t_s: np.ndarray) -> np.ndarray:
    out = np.full(len(f0_hz), np.nan)
    for i, (f, t) in enumerate(zip(f0_hz, t_s)):
        fm.push(float(f), float(t))
        out[i] = np.nan if fm.value_hz is None else fm.value_hz
    return out


def _revert() -> F0Median:
    """The tracker's median: half a window before it reports, the revert guard."""
    return F0Median(100, 50, guard_st=None, revert_s=OCTAVE_REVERT_S)


def test_revert_guard_drops_a_doubled_burst_that_comes_back() -> None:
    """0.15 s doubled at the start of a 1.2 s voiced stretch at 120 Hz (+-1 st): the
    15 frames are dropped and the median is the median of the other frames (a plain
    median of the same frames is not, so the test can fail)."""
    rng = np.random.default_rng(3)
    f0 = 120.0 * 2 ** (rng.uniform(-1, 1, 120) / 12)
    f0[20:35] *= 2.0
    t = np.arange(len(f0)) * 0.01
    fm = _revert()
    med = _track_t(fm, f0, t)
    assert fm.rejected == 15
    keep = np.r_[f0[:20], f0[35:]]
    assert np.isnan(med[:64]).all()  # 50 accepted frames are in at frame 64
    assert med[-1] == pytest.approx(float(np.median(keep[-100:])))
    assert np.abs(12 * np.log2(med[64:] / 120.0)).max() < 1.0
    plain = _track_t(F0Median(100, 50, guard_st=None), f0, t)
    assert plain[-1] != pytest.approx(med[-1])


def test_revert_guard_does_not_delay_a_real_rise() -> None:
    """A turn +10 st above the calm one after a 0.3 s pause, and a glide up 10 st inside
    voicing: the median is exactly the plain median, frame by frame (no hold); a jump of
    an octave inside voicing that stays is followed after OCTAVE_REVERT_S."""
    calm = np.full(150, 100.0)
    high = np.full(150, 100.0 * 2 ** (10 / 12))
    f0 = np.r_[calm, high]
    t = np.r_[np.arange(150) * 0.01, 1.8 + np.arange(150) * 0.01]  # 0.3 s unvoiced between
    fm = _revert()
    assert np.array_equal(_track_t(fm, f0, t), _track_t(F0Median(100, 50, guard_st=None), f0, t), equal_nan=True)
    assert fm.rejected == 0
    glide = 100.0 * 2 ** (np.r_[np.zeros(100), np.linspace(0, 10, 30), np.full(100, 10.0)] / 12)
    tg = np.arange(len(glide)) * 0.01
    assert np.array_equal(_track_t(_revert(), glide, tg), _track_t(F0Median(100, 50, guard_st=None), glide, tg), equal_nan=True)
    step = np.r_[np.full(100, 100.0), np.full(200, 200.0)]
    ts = np.arange(len(step)) * 0.01
    fm = _revert()
    med = _track_t(fm, step, ts)
    assert fm.rejected == 0
    plain = _track_t(F0Median(100, 50, guard_st=None), step, ts)
    lag = int(round(OCTAVE_REVERT_S / 0.01))
    assert np.allclose(med[100 + lag :], plain[100 + lag :])  # caught up once the run is in
    assert np.allclose(med[100 : 100 + lag], 100.0)


def test_f0_median_rejects_bad_counts() -> None:
    with pytest.raises(ValueError, match="min_frames"):
        F0Median(100, 0)
    with pytest.raises(ValueError, match="min_frames"):
        F0Median(10, 11)
    with pytest.raises(ValueError, match="revert_s"):
        F0Median(10, 5, revert_s=0.0)


@pytest.mark.parametrize("cond", ["phone", "phone_echo"])
def test_cue_median_has_no_octave_jump_through_the_phone_band_on_dev_clips(cond: str) -> None:
    """The 5 LJSpeech clips (dev) through the telephone simulator: the cue's median
    (the tracker's frames through F0Median) never more than 6 st from pYIN's median
    on the clean copy with the same window rule (measured: 0 jumps; the rule before,
    a plain median from a quarter window, had 1, on LJ001-0002 in the first second)."""
    shared_audio("ljspeech")
    pytest.importorskip("librosa")
    names = list(br.CONDITIONS)
    clips = [c for c in br._clips() if br.pitch_part(c.name) == "dev" and c.name.startswith("LJ")]
    assert len(clips) == 5
    jumps, reported = [], 0
    all_clips = br._clips()
    for c in clips:
        k = [x.name for x in all_clips].index(c.name)
        y = br.degrade(c.audio, cond, (1, names.index(cond), k), all_clips[k - 1].audio)
        m, _ = br._measure(y)
        rf0, rv = br._pyin(c.audio)
        ref_f0, ref_v = br._at(m["t_s"], rf0), br._at(m["t_s"], rv)
        f0 = np.nan_to_num(np.asarray(m["f0_hz"], float), nan=0.0)
        med = br.cue_median_hz(f0, m["voiced"])
        ref_med = br.cue_median_hz(ref_f0, ref_v, guard=False)
        reported += int(np.count_nonzero(~np.isnan(med) & ~np.isnan(ref_med)))
        jumps += [(c.name, m["t_s"][a]) for a, _ in br.jump_episodes(med, ref_med)]
    assert reported > 1000  # frames where both medians are reported (about 15 s)
    assert jumps == []

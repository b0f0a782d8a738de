"""The cue's median F0 (:class:`calmcall.prosody.F0Median`): an octave error of the
tracker does not reach it, on synthetic frames and on real speech through the phone
band (the dev clips of benchmarks/bench_realspeech.py)."""

from __future__ import annotations

import bench_realspeech as br
import numpy as np
import pytest
from conftest import shared_audio

from calmcall.prosody import F0Median


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


def test_f0_median_rejects_bad_counts() -> None:
    with pytest.raises(ValueError, match="min_frames"):
        F0Median(100, 0)
    with pytest.raises(ValueError, match="min_frames"):
        F0Median(10, 11)


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

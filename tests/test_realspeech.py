"""The real-speech benchmark's helpers: RTTM parsing, the two-channel split of an AMI
clip by its turns (benchmarks/ami.py, also the overtalk ground truth), and the pitch /
VAD / baseline scoring of benchmarks/bench_realspeech.py. Fast and exact."""

from __future__ import annotations

from pathlib import Path

import ami
import bench_realspeech as br
import numpy as np
import pytest
from conftest import shared_audio

SR = 16000


def _write_rttm(tmp_path: Path) -> Path:
    p = tmp_path / "x.rttm"
    p.write_text(
        ";; a comment line\n"
        "SPEAKER call1 1 0.000 1.000 <NA> <NA> alice <NA> <NA>\n"
        "\n"
        "SPEAKER call1 1 0.500 1.000 <NA> <NA> bob <NA> <NA>\n"
        "SPKR-INFO call1 1 <NA> <NA> <NA> unknown alice <NA> <NA>\n"
        "SPEAKER call2 1 3.250 0.250 <NA> <NA> carol <NA> <NA>\n"
        "SPEAKER call1 1 2.000 1.000 <NA> <NA> alice <NA> <NA>\n"
        "SPEAKER call1 1 4.000 1.000 <NA> <NA> bob <NA> <NA>\n"
        "SPEAKER call1 1 5.000 0.500 <NA> <NA> alice <NA> <NA>\n"
    )
    return p


def test_read_rttm(tmp_path: Path) -> None:
    r = ami.read_rttm(_write_rttm(tmp_path))
    assert set(r) == {"call1", "call2"}
    assert r["call2"] == [ami.Turn("call2", "carol", 3.25, 3.5)]
    assert [(t.speaker, t.start_s, t.end_s) for t in r["call1"]] == [
        ("alice", 0.0, 1.0),
        ("bob", 0.5, 1.5),
        ("alice", 2.0, 3.0),
        ("bob", 4.0, 5.0),
        ("alice", 5.0, 5.5),
    ]
    bad = tmp_path / "bad.rttm"
    bad.write_text("SPEAKER call1 1 0.0 1.0\n")
    with pytest.raises(ValueError, match=r"bad\.rttm:1"):
        ami.read_rttm(bad)


def test_interval_algebra() -> None:
    assert ami.merge([(2, 3), (0, 1), (0.5, 1.5), (3, 4)]) == [(0, 1.5), (2, 4)]
    a, b = [(0.0, 1.0), (2.0, 3.0)], [(0.5, 2.5)]
    assert ami.overlap(a, b) == [(0.5, 1.0), (2.0, 2.5)]
    assert ami.subtract(a, b) == [(0.0, 0.5), (2.5, 3.0)]
    assert ami.subtract(b, a) == [(1.0, 2.0)]
    t = np.array([0.0, 0.49, 0.5, 0.99, 1.0, 2.2])
    np.testing.assert_array_equal(ami.frame_mask(b, t), [False, False, True, True, True, True])


def test_split_two_channels_zeroes_only_the_other_sides_solo_speech(tmp_path: Path) -> None:
    turns = ami.read_rttm(_write_rttm(tmp_path))["call1"]
    x = np.linspace(0.1, 0.9, 6 * SR).astype(np.float32)  # no zeros anywhere
    sp = ami.split_two_channels(x, turns)
    # alice talks 2.5 s, bob 2 s: alice is side A by default
    assert sp.sides == (("alice",), ("bob",))
    assert sp.speaker_turns == {"alice": [(0.0, 1.0), (2.0, 3.0), (5.0, 5.5)], "bob": [(0.5, 1.5), (4.0, 5.0)]}
    assert sp.side_turns == ([(0.0, 1.0), (2.0, 3.0), (5.0, 5.5)], [(0.5, 1.5), (4.0, 5.0)])
    a, b = sp.channels

    def zero(y: np.ndarray, s: float, e: float) -> bool:
        return not y[int(s * SR) : int(e * SR)].any()

    def kept(y: np.ndarray, s: float, e: float) -> bool:
        return np.array_equal(y[int(s * SR) : int(e * SR)], x[int(s * SR) : int(e * SR)])

    # A: zero where only bob talks; overlap (0.5-1.0) and silence (3-4, 5.5-6) kept
    assert zero(a, 1.0, 1.5) and zero(a, 4.0, 5.0)
    assert kept(a, 0.0, 1.0) and kept(a, 1.5, 4.0) and kept(a, 5.0, 6.0)
    assert np.count_nonzero(a == 0) == int(1.5 * SR)
    # B: zero where only alice talks
    assert zero(b, 0.0, 0.5) and zero(b, 2.0, 3.0) and zero(b, 5.0, 5.5)
    assert kept(b, 0.5, 2.0) and kept(b, 3.0, 5.0) and kept(b, 5.5, 6.0)
    assert np.count_nonzero(b == 0) == int(2.0 * SR)
    # choosing the side explicitly swaps the roles
    sw = ami.split_two_channels(x, turns, side_a=["bob"])
    np.testing.assert_array_equal(sw.channels[0], b)
    with pytest.raises(ValueError, match="not in the turns"):
        ami.split_two_channels(x, turns, side_a=["dave"])


def test_split_of_a_one_speaker_clip_leaves_side_b_the_room() -> None:
    x = np.full(3 * SR, 0.2, np.float32)
    sp = ami.split_two_channels(x, [ami.Turn("c", "solo", 1.0, 2.0)])
    assert sp.sides == (("solo",), ())
    np.testing.assert_array_equal(sp.channels[0], x)
    assert np.count_nonzero(sp.channels[1] == 0) == SR and not sp.channels[1][SR : 2 * SR].any()


def test_split_of_a_real_ami_clip() -> None:
    shared_audio("ami-meeting/tst00.wav")
    x, turns = ami.load_clip("tst00")
    assert abs(len(x) - 30 * SR) <= 1 and len(turns) == 22
    assert {t.speaker for t in turns} == {"MEE071", "MEE073", "FEO070", "FEO072"}
    sp = ami.split_two_channels(x, turns)
    ta, tb = sp.side_turns
    assert sp.sides[0] == ("MEE071",) and len(sp.sides[1]) == 3
    for ch, solo_other in ((sp.channels[0], ami.subtract(tb, ta)), (sp.channels[1], ami.subtract(ta, tb))):
        gone = np.zeros(len(x), bool)
        for s, e in solo_other:
            gone[int(round(s * SR)) : int(round(e * SR))] = True
        assert gone.sum() > 2 * SR
        assert not ch[gone].any()
        np.testing.assert_array_equal(ch[~gone], x[~gone])
    assert sum(e - s for s, e in ami.overlap(ta, tb)) > 2.0  # this meeting has real overtalk


def test_pitch_counts_gpe_vde() -> None:
    ref_f0 = np.array([100, 100, 100, 100, 0, 0, 200, 200], float)
    ref_v = ref_f0 > 0
    f0 = np.array([100, 125, 200, 0, 150, 0, 190, 90], float)
    v = f0 > 0
    c = br.pitch_counts(ref_f0, ref_v, f0, v)
    # voiced in both: frames 0, 1, 2, 6, 7; gross (> 20 % off): 1 (+25 %), 2 (x2), 7 (-55 %)
    assert c == {"frames": 8, "both": 5, "gross": 3, "gross_up": 2, "vd_err": 2, "vd_miss": 1}  # frame 3 missed, 4 extra
    figs = br._pitch_figs(c)
    assert figs["gpe"] == 0.6 and figs["vde"] == 0.25


def test_running_median_and_octave_jumps() -> None:
    n = 300  # 3 s at 10 ms
    f0 = np.full(n, 120.0)
    f0[100:180] = 240.0  # 0.8 s doubled: the 1 s median flips once, then comes back
    v = np.ones(n, bool)
    med = br.running_median_hz(f0, v)
    assert np.isnan(med[:9]).all() and med[9] == 120.0
    ref = br.running_median_hz(np.full(n, 120.0), v)
    assert br.octave_jumps(med, ref) == 1
    assert br.octave_jumps(ref, ref) == 0
    med2 = med.copy()
    med2[250:260] = 60.0  # a second, downward episode
    assert br.octave_jumps(med2, ref) == 2


def test_vad_counts_and_plausible_baselines() -> None:
    ref = np.array([1, 1, 1, 0, 0, 0, 1, 0], bool)
    pred = np.array([1, 0, 1, 1, 0, 0, 1, 1], bool)
    c = br.vad_counts(pred, ref)
    assert c == {"tp": 3, "fp": 2, "fn": 1, "frames": 8}
    assert br.precision_recall(c) == (0.6, 0.75)
    ok = {"f0_hz": 180.0, "rate_syl_s": 4.5, "level_db": -26.0}
    assert br.plausible(ok)
    assert not br.plausible({**ok, "rate_syl_s": 0.7})  # "your calm pace is 32 wpm"
    assert not br.plausible({**ok, "f0_hz": 480.0})
    assert not br.plausible({**ok, "level_db": None})


def test_cue_median_and_jump_episodes() -> None:
    """The benchmark's cue median is the tracker's F0Median (half a window before it
    reports, the revert guard; or the median guard), and jump_episodes lists the runs
    octave_jumps counts."""
    n = 300
    f0 = np.full(n, 120.0)
    f0[100:160] = 240.0  # 0.6 s doubled inside steady voicing
    v = np.ones(n, bool)
    v[200:220] = False
    med = br.cue_median_hz(f0, v, guard="median")
    assert np.isnan(med[:49]).all() and np.allclose(med[49:], 120.0)
    # the tracker's revert guard takes a doubling that stays 0.6 s for a real move (it
    # enters after OCTAVE_REVERT_S), and drops one that comes back within it
    stays = br.cue_median_hz(f0, v)
    assert np.isnan(stays[:49]).all() and np.allclose(stays[49:125], 120.0) and stays[159] == 240.0
    burst = np.full(n, 120.0)
    burst[5:27] = 240.0  # 0.22 s doubled near the start
    guarded = br.cue_median_hz(burst, v)
    assert np.isnan(guarded[:71]).all() and np.allclose(guarded[71:], 120.0)
    assert br.cue_median_hz(burst, v, guard=False, min_frames=25)[24] == 240.0
    plain = br.cue_median_hz(f0, v, guard=False, min_frames=25)
    assert np.isnan(plain[:24]).all() and plain[24] == 120.0 and plain[159] == 240.0
    ref = br.cue_median_hz(np.full(n, 120.0), v, guard=False)
    assert br.jump_episodes(med, ref) == []
    eps = br.jump_episodes(plain, ref)
    assert len(eps) == br.octave_jumps(plain, ref) == 1
    a, b = eps[0]
    st = 12 * np.log2(plain / 120.0)
    assert st[a] > 6 >= st[a - 1] and st[b] > 6 >= st[b + 1]
    assert br.pitch_part("LJ001-0002") == br.pitch_part("11a01Wc") == "dev"
    assert br.pitch_part("jfk") == br.pitch_part("12a01Nb") == "held_out"

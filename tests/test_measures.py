"""Pitch, level and rate measures on synthetic signals with known answers and on real speech."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from calmcall.audio_io import SAMPLE_RATE_HZ, iter_blocks, load_call
from calmcall.config import MeasureConfig
from calmcall.pitch import yin_frames
from calmcall.prosody import HOP_S, FrameMeasure, SpeakerTracker, db
from conftest import shared_audio
from speech_clips import EMODB_PAIRS, LJSPEECH_STEMS, emodb_pair, emodb_wavs

SR = SAMPLE_RATE_HZ


def track(x: np.ndarray, block_s: float = 0.1) -> tuple[SpeakerTracker, list[FrameMeasure]]:
    tr = SpeakerTracker(MeasureConfig())
    n = int(block_s * SR)
    frames: list[FrameMeasure] = []
    for i in range(0, len(x), n):
        frames += tr.update(x[i : i + n])
    return tr, frames


def harmonic(f0_hz: np.ndarray | float, dur_s: float, amp: float = 0.3) -> np.ndarray:
    """A voice-like harmonic tone (5 harmonics, falling amplitude) with F0 track f0_hz."""
    n = int(dur_s * SR)
    f0 = np.broadcast_to(np.asarray(f0_hz, dtype=float), (n,))
    phase = 2 * np.pi * np.cumsum(f0) / SR
    x = sum(np.sin(k * phase) / k for k in range(1, 6))
    return (amp * x / np.max(np.abs(x))).astype(np.float32)


@pytest.mark.parametrize("f0", [70.0, 100.0, 150.0, 220.0, 330.0, 440.0])
def test_yin_on_harmonic_tones(f0: float) -> None:
    _, frames = track(harmonic(f0, 1.0))
    voiced = [f.f0_hz for f in frames if f.voiced]
    assert len(voiced) > 0.8 * len(frames)
    assert np.max(np.abs(np.array(voiced) - f0)) < 0.01 * f0


def test_yin_follows_a_chirp() -> None:
    n = SR * 2
    f0 = np.geomspace(90.0, 360.0, n)
    _, frames = track(harmonic(f0, 2.0))
    errs = []
    for f in frames:
        if f.voiced:
            centre = int((f.t_s - 0.02) * SR)  # a frame is known at its end; its centre is 20 ms earlier
            errs.append(abs(12 * np.log2(f.f0_hz / f0[min(centre, n - 1)])))
    assert len(errs) > 0.8 * len(frames)
    assert np.percentile(errs, 95) < 0.5  # semitones


def test_noise_and_silence_are_unvoiced() -> None:
    rng = np.random.default_rng(1)
    noise = (0.1 * rng.standard_normal(SR)).astype(np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(noise, 640)[::160]
    f0, aper = yin_frames(frames, sr_hz=SR, fmin_hz=65, fmax_hz=450)
    assert np.mean(np.isnan(f0)) > 0.95
    _, fr = track(np.zeros(SR, dtype=np.float32))
    assert not any(f.active or f.voiced for f in fr)


def test_yin_rejects_too_short_frames() -> None:
    with pytest.raises(ValueError, match="frame_length"):
        yin_frames(np.zeros((2, 200)), sr_hz=SR, fmin_hz=65, fmax_hz=450)


def test_block_size_does_not_change_measures() -> None:
    call = load_call(shared_audio("ljspeech/LJ001-0004.wav"))
    _, a = track(call.agent, block_s=0.1)
    _, b = track(call.agent, block_s=0.023)
    assert len(a) == len(b)
    assert all(x.active == y.active and x.nucleus == y.nucleus for x, y in zip(a, b))
    np.testing.assert_allclose([x.f0_hz for x in a], [y.f0_hz for y in b], equal_nan=True, rtol=1e-6)


def _median_f0(path: Path) -> float:
    call = load_call(path)
    _, frames = track(call.agent)
    return float(np.median([f.f0_hz for f in frames if f.voiced]))


@pytest.mark.parametrize("speaker_sentence", EMODB_PAIRS)
def test_emodb_angry_is_higher_than_neutral(speaker_sentence: str) -> None:
    shared_audio("emodb-anger-neutral")
    neutral, angry = emodb_pair(speaker_sentence)
    up_st = 12 * np.log2(_median_f0(angry) / _median_f0(neutral))
    assert up_st > 3.0, f"{speaker_sentence}: angry only {up_st:+.1f} st above neutral"


def test_emodb_has_ten_pairs() -> None:
    d = shared_audio("emodb-anger-neutral")
    assert len(EMODB_PAIRS) == 10
    assert {p.name[:5] for p in d.glob("*.wav")} == set(EMODB_PAIRS)


def test_real_speech_pitch_in_speaker_range() -> None:
    # LJSpeech: one female reader; JFK: a male voice
    assert 150 < _median_f0(shared_audio("ljspeech/LJ001-0004.wav")) < 260
    # JFK orates high: pYIN (librosa 0.11, 65-450 Hz) gives a median of 235.7 Hz
    assert abs(12 * np.log2(_median_f0(shared_audio("jfk/jfk.wav")) / 235.7)) < 1.5


def test_active_level_ignores_pauses() -> None:
    """Tone bursts with silences: the active level is the burst level within 1 dB;
    plain RMS over the whole signal reads several dB low."""
    burst = harmonic(150.0, 0.6, amp=0.25)
    gap = np.zeros(int(0.6 * SR), dtype=np.float32)
    x = np.concatenate([gap, burst, gap, burst, gap, burst, gap])
    ref_db = db(float(np.mean(burst.astype(np.float64) ** 2)))
    _, frames = track(x)
    active = [f.power for f in frames if f.loud]
    active_db = db(float(np.mean(active)))
    plain_db = db(float(np.mean(x.astype(np.float64) ** 2)))
    assert abs(active_db - ref_db) < 1.0
    assert plain_db < ref_db - 3.0


@pytest.mark.parametrize("gain_db", [-12.0, -6.0, 6.0])
def test_level_follows_gain_on_real_speech(gain_db: float) -> None:
    call = load_call(shared_audio("ljspeech/LJ001-0006.wav"))
    base, _ = track(call.agent * 0.5)
    louder, _ = track(call.agent * 0.5 * 10 ** (gain_db / 20))
    assert abs((louder.level_db - base.level_db) - gain_db) < 1.0


def _dictionary_syllables(text: str) -> int:
    count = 0
    for word in re.findall(r"[a-z']+", text.lower()):
        n = len(re.findall(r"[aeiouy]+", word))
        if word.endswith("e") and not word.endswith(("le", "ee")) and n > 1:
            n -= 1
        count += max(1, n)
    return count


@pytest.mark.parametrize("stem", LJSPEECH_STEMS)
def test_syllable_nuclei_on_ljspeech(stem: str) -> None:
    """The nuclei detector finds 80-135 % of the text's dictionary syllables per
    clip (measured 86-132 %: it over-counts this expressive reader's long stressed
    vowels a little and merges some unstressed syllables)."""
    wav = shared_audio(f"ljspeech/{stem}.wav")
    text = wav.with_suffix(".txt").read_text()
    syllables = _dictionary_syllables(text)
    _, frames = track(load_call(wav).agent)
    nuclei = sum(f.nucleus for f in frames)
    assert 0.80 * syllables <= nuclei <= 1.35 * syllables, (nuclei, syllables)


def test_syllable_nuclei_total_on_ljspeech() -> None:
    """Over all five clips the count is within 90-120 % of the dictionary count
    (measured 112 %); the old full-band detector found 81 % (59 of 73)."""
    lj = [shared_audio(f"ljspeech/{stem}.wav") for stem in LJSPEECH_STEMS]
    syllables = sum(_dictionary_syllables(w.with_suffix(".txt").read_text()) for w in lj)
    nuclei = sum(sum(f.nucleus for f in track(load_call(w).agent)[1]) for w in lj)
    assert 0.90 * syllables <= nuclei <= 1.20 * syllables, (nuclei, syllables)


def test_syllable_nuclei_against_hand_marked_syllables() -> None:
    """EmoDB's hand-marked syllable onsets (.silb; 10 speakers, neutral and angry,
    cut to 2.0 s so a final syllable may be missing): the detector finds 70-100 %
    of them over all clips (measured 84 %; the old full-band detector with voicing
    required at the peak found about 45 %)."""
    marked = found = 0
    shared_audio("emodb-anger-neutral")
    for wav in emodb_wavs():
        onsets = [ln for ln in wav.with_suffix(".silb").read_text().splitlines() if ln.strip()]
        if not onsets:
            continue
        marked += len(onsets)
        found += sum(f.nucleus for f in track(load_call(wav).agent)[1])
    assert marked > 100
    assert 0.70 * marked <= found <= 1.0 * marked, (found, marked)


def test_rate_rises_with_espeak_speed() -> None:
    """The same sentence synthesised at 120 and 210 wpm: the syllable rate of
    active speech rises by at least 45 % (the true ratio is 1.75; measured 1.67;
    the old full-band detector read about 1.2, merging fast syllables)."""
    import scripted

    text = "Thank you for your patience, I have your account open now and I can see the last three payments."

    def rate(wpm: int) -> float:
        x = scripted.synthesize(scripted.Turn(speaker="agent", start_s=0.0, text=text, wpm=wpm))
        _, frames = track(x)
        return sum(f.nucleus for f in frames) / (sum(f.active for f in frames) * HOP_S)

    assert rate(210) > 1.45 * rate(120)

"""Pitch, level and rate measures on synthetic signals with known answers and on real speech."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from _phone import phone_band
from conftest import shared_audio
from speech_clips import EMODB_PAIRS, LJSPEECH_STEMS, emodb_pair, emodb_wavs

from calmcall.audio_io import SAMPLE_RATE_HZ, load_call
from calmcall.config import MeasureConfig
from calmcall.measure import measure_channel
from calmcall.pitch import SWIFT_HOP, SwiftPitch, yin_frames
from calmcall.prosody import HOP_S, FrameMeasure, PitchFrame, SpeakerTracker, db

SR = SAMPLE_RATE_HZ


def track(x: np.ndarray, block_s: float = 0.1) -> tuple[SpeakerTracker, list[FrameMeasure]]:
    tr = SpeakerTracker(MeasureConfig())
    n = int(block_s * SR)
    frames: list[FrameMeasure] = []
    for i in range(0, len(x), n):
        frames += tr.update(x[i : i + n])
    return tr, frames


def pitched(tr: SpeakerTracker, frames: list[FrameMeasure]) -> list[PitchFrame]:
    """Every frame's pitch value, in frame order: those delivered while tracking, then
    the rest flushed at the end."""
    return [p for f in frames for p in f.pitched] + tr.flush()


def harmonic(f0_hz: np.ndarray | float, dur_s: float, amp: float = 0.3) -> np.ndarray:
    """A voice-like harmonic tone (5 harmonics, falling amplitude) with F0 track f0_hz."""
    n = int(dur_s * SR)
    f0 = np.broadcast_to(np.asarray(f0_hz, dtype=float), (n,))
    phase = 2 * np.pi * np.cumsum(f0) / SR
    x = sum(np.sin(k * phase) / k for k in range(1, 6))
    return (amp * x / np.max(np.abs(x))).astype(np.float32)


def _swift(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """swift-f0 on the fixed chunk grid over all of ``x``: (f0_hz, confidence) per 16 ms frame."""
    p = SwiftPitch(chunk_frames=32, fmin_hz=50.0, fmax_hz=500.0)
    p.feed(x)
    parts = [p.run_chunk(skip=False) for _ in range(len(x) // (32 * SWIFT_HOP))]
    return np.concatenate([a for a, _ in parts]), np.concatenate([c for _, c in parts])


@pytest.mark.parametrize("f0", [70.0, 100.0, 150.0, 220.0, 330.0, 440.0])
def test_swift_pitch_on_harmonic_tones(f0: float) -> None:
    est, conf = _swift(harmonic(f0, 1.1))
    ok = conf[4:-4] >= 0.5  # away from the tone's edges
    assert ok.mean() > 0.9
    assert np.max(np.abs(est[4:-4][ok] / f0 - 1)) < 0.02


def test_swift_pitch_follows_a_chirp_through_the_chunk_edges() -> None:
    n = int(SR * 2.1)
    f0 = np.geomspace(90.0, 360.0, n)
    est, conf = _swift(harmonic(f0, 2.1))
    centres = np.arange(len(est)) * SWIFT_HOP  # swift-f0 frame j is centred on sample 256 j
    ok = (conf >= 0.5) & (centres > 1000) & (centres < n - 1000)
    assert ok.sum() > 0.85 * len(est)
    errs = np.abs(12 * np.log2(est[ok] / f0[centres[ok]]))
    assert np.percentile(errs, 95) < 0.5  # semitones


@pytest.mark.parametrize("f0", [100.0, 220.0])
def test_yin_on_harmonic_tones(f0: float) -> None:
    frames = np.lib.stride_tricks.sliding_window_view(harmonic(f0, 1.0), 640)[::160]
    est, _ = yin_frames(frames, sr_hz=SR, fmin_hz=65, fmax_hz=450, threshold=0.2)
    assert np.mean(~np.isnan(est)) > 0.8
    assert np.nanmax(np.abs(est - f0)) < 0.01 * f0


def test_noise_and_silence_are_unvoiced() -> None:
    rng = np.random.default_rng(1)
    noise = (0.1 * rng.standard_normal(SR)).astype(np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(noise, 640)[::160]
    f0, _aper = yin_frames(frames, sr_hz=SR, fmin_hz=65, fmax_hz=450)
    assert np.mean(np.isnan(f0)) > 0.95
    for x in (np.zeros(SR, dtype=np.float32), noise):
        tr, fr = track(x)
        assert not any(f.active for f in fr) and not any(p.voiced for p in pitched(tr, fr))


def test_yin_rejects_too_short_frames() -> None:
    with pytest.raises(ValueError, match="frame_length"):
        yin_frames(np.zeros((2, 200)), sr_hz=SR, fmin_hz=65, fmax_hz=450)


def test_block_size_does_not_change_measures() -> None:
    """Same frames, same pitch values delivered at the same frames, bit for bit."""
    call = load_call(shared_audio("ljspeech/LJ001-0004.wav"))
    _, a = track(call.agent, block_s=0.1)
    _, b = track(call.agent, block_s=0.023)
    assert len(a) == len(b)
    assert [repr(f) for f in a] == [repr(f) for f in b]  # repr: exact floats, and nan equals nan
    assert sum(len(f.pitched) for f in a) > 0.8 * len(a) and sum(p.voiced for f in a for p in f.pitched) > 50


def test_pitch_is_delivered_only_when_its_chunk_and_look_ahead_were_heard() -> None:
    call = load_call(shared_audio("ljspeech/LJ001-0004.wav"))
    cfg = MeasureConfig()
    _, frames = track(call.agent)
    delays = [f.t_s - p.t_s for f in frames for p in f.pitched]
    chunk_s = round(cfg.pitch_chunk_s * SR / SWIFT_HOP) * SWIFT_HOP / SR
    look_s = 10 * SWIFT_HOP / SR
    assert min(delays) >= look_s - 0.02  # never before swift-f0's own look-ahead was heard
    assert max(delays) <= chunk_s + look_s + 0.02
    # in order, each frame exactly once
    ts = [p.t_s for f in frames for p in f.pitched]
    assert ts == sorted(ts) and len(set(ts)) == len(ts)


def _median_f0(path: Path, *, phone: bool = False) -> float:
    x = load_call(path).agent
    m = measure_channel(phone_band(x) if phone else x)
    return float(np.median(m["f0_hz"][m["voiced"]]))


@pytest.mark.parametrize("speaker_sentence", EMODB_PAIRS)
def test_emodb_angry_is_higher_than_neutral(speaker_sentence: str) -> None:
    shared_audio("emodb-anger-neutral")
    neutral, angry = emodb_pair(speaker_sentence)
    up_st = 12 * np.log2(_median_f0(angry) / _median_f0(neutral))
    assert up_st > 3.0, f"{speaker_sentence}: angry only {up_st:+.1f} st above neutral"


@pytest.mark.parametrize("speaker_sentence", EMODB_PAIRS)
def test_emodb_angry_is_higher_than_neutral_through_a_phone_band(speaker_sentence: str) -> None:
    """Through 8 kHz mu-law 300-3400 Hz the angry take still reads > 3 st above the
    neutral one for every speaker (YIN doubled the neutral F0 of some speakers here)."""
    shared_audio("emodb-anger-neutral")
    neutral, angry = emodb_pair(speaker_sentence)
    up_st = 12 * np.log2(_median_f0(angry, phone=True) / _median_f0(neutral, phone=True))
    assert up_st > 3.0, f"{speaker_sentence}: angry only {up_st:+.1f} st above neutral through the phone band"


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
    """Real speech with 3 s pauses inserted: the active level (loud speech frames)
    moves less than 0.5 dB; plain RMS over the whole signal drops 2.5 dB."""
    x = load_call(shared_audio("ljspeech/LJ001-0006.wav")).agent
    gap = np.zeros(3 * SR, dtype=np.float32)
    y = np.concatenate([gap, x, gap, x, gap])

    def active_db(sig: np.ndarray) -> float:
        _, frames = track(sig)
        return db(float(np.mean([f.power for f in frames if f.loud])))

    assert abs(active_db(y) - active_db(x)) < 0.5
    plain = lambda sig: db(float(np.mean(sig.astype(np.float64) ** 2)))  # noqa: E731
    assert plain(y) < plain(x) - 2.0


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
    tr, frames = track(load_call(wav).agent)
    nuclei = sum(p.nucleus for p in pitched(tr, frames))
    assert 0.80 * syllables <= nuclei <= 1.35 * syllables, (nuclei, syllables)


def test_syllable_nuclei_total_on_ljspeech() -> None:
    """Over all five clips the count is within 90-120 % of the dictionary count
    (measured 112 %); the old full-band detector found 81 % (59 of 73)."""
    lj = [shared_audio(f"ljspeech/{stem}.wav") for stem in LJSPEECH_STEMS]
    syllables = sum(_dictionary_syllables(w.with_suffix(".txt").read_text()) for w in lj)
    nuclei = sum(sum(p.nucleus for p in pitched(*track(load_call(w).agent))) for w in lj)
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
        found += sum(p.nucleus for p in pitched(*track(load_call(wav).agent)))
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
        tr, frames = track(x)
        p = pitched(tr, frames)
        return sum(q.nucleus for q in p) / (sum(q.active for q in p) * HOP_S)

    assert rate(210) > 1.45 * rate(120)

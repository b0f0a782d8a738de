"""The one speech decision per channel (Silero VAD + energy gate + echo check) on real
speech: AMI meeting clips against their RTTM turns, a channel of gated comfort noise and
line hiss only, and the far side's echo."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from _phone import noise_channel, phone_band
from conftest import shared_audio
from scipy.signal import lfilter

from calmcall.audio_io import load_call
from calmcall.config import Config
from calmcall.events import BaselineReady
from calmcall.measure import measure_channel
from calmcall.pipeline import Pipeline

SR = 16_000


def _rttm_speech(clip: str, t_s: np.ndarray) -> np.ndarray:
    d = shared_audio("ami-meeting")
    ref = np.zeros(len(t_s), dtype=bool)
    for rttm in d.glob("*.rttm"):
        for line in rttm.read_text().splitlines():
            p = line.split()
            if len(p) > 4 and p[0] == "SPEAKER" and p[1] == clip:
                ref |= (t_s >= float(p[3])) & (t_s < float(p[3]) + float(p[4]))
    return ref


@pytest.mark.parametrize("phone", [False, True], ids=["wideband", "phone-band"])
def test_speech_decision_against_ami_rttm(phone: bool) -> None:
    """The held-out AMI clips (tst00, tst01; nothing was chosen on them): precision of
    the speech frames >= 0.93 and recall >= 0.65 against the RTTM turns (measured
    0.962/0.743 wideband; the energy detector alone: precision 0.68 wideband). The
    turns include the speakers' short pauses, so recall cannot reach 1."""
    tp = fp = fn = 0
    for clip in ("tst00", "tst01"):
        x, sr = sf.read(shared_audio(f"ami-meeting/{clip}.wav"), dtype="float32")
        assert sr == SR
        m = measure_channel(phone_band(x) if phone else x)
        ref = _rttm_speech(clip, m["t_s"])
        tp += int(np.sum(m["speech"] & ref))
        fp += int(np.sum(m["speech"] & ~ref))
        fn += int(np.sum(~m["speech"] & ref))
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    assert precision >= 0.93, (precision, recall)
    assert recall >= 0.65, (precision, recall)


@pytest.mark.parametrize("phone", [False, True], ids=["wideband", "phone-band"])
def test_gated_noise_and_hiss_are_never_speech(phone: bool) -> None:
    """The energy detector alone called 54 % (wideband) / 27 % (phone band) of this
    channel speech; the shared decision calls none of it."""
    x = noise_channel()
    m = measure_channel(phone_band(x) if phone else x)
    assert len(m["speech"]) > 6000
    assert not m["speech"].any()
    assert not m["voiced"].any()


def _speech(*names: str) -> np.ndarray:
    return np.concatenate([load_call(shared_audio(n)).agent for n in names])


def _echo(far: np.ndarray, *, gain_db: float, delay_s: float, seed: int = 3) -> np.ndarray:
    """``far`` heard back: delayed, ``gain_db`` down, through a mild acoustic path, on a
    -75 dBFS noise floor."""
    d = int(delay_s * SR)
    e = np.concatenate([np.zeros(d), far[: len(far) - d]]) * 10 ** (gain_db / 20)
    e = lfilter([0.6, 0.4], [1.0, -0.3], e)
    return (e + np.random.default_rng(seed).standard_normal(len(e)) * 10 ** (-75 / 20)).astype(np.float32)


@pytest.mark.parametrize("delay_s", [0.0, 0.12])
def test_echo_of_the_far_side_at_minus_25_db_is_not_speech(delay_s: float) -> None:
    far = _speech("jfk/jfk.wav", "ljspeech/LJ001-0002.wav")
    near = _echo(far, gain_db=-25.0, delay_s=delay_s)
    alone = measure_channel(near)
    assert alone["speech"].mean() > 0.3  # Silero alone hears the echo as speech
    with_far = measure_channel(near, far_16k=far)
    assert with_far["speech"].sum() <= 0.02 * alone["speech"].sum()
    # through the phone band on both sides as well
    with_far_phone = measure_channel(phone_band(near), far_16k=phone_band(far))
    assert with_far_phone["speech"].sum() <= 0.02 * len(with_far_phone["speech"])


@pytest.mark.parametrize(
    "near_db, echo", [(-15.0, False), (0.0, True)], ids=["soft-talker-under-a-loud-far-side", "talker-plus-echo"]
)
def test_double_talk_is_still_speech(near_db: float, echo: bool) -> None:
    """A second talker on this channel while the far side talks: kept as speech when
    19 dB below a loud far side (level alone would call it bleed), and when the far
    side's echo (-25 dB) is mixed in under the talker's normal level."""
    far = _speech("jfk/jfk.wav")
    other = _speech("ljspeech/LJ001-0004.wav", "ljspeech/LJ001-0008.wav")[: len(far)]
    other = (np.pad(other, (0, len(far) - len(other))) * 10 ** (near_db / 20)).astype(np.float32)
    near = (other + _echo(far, gain_db=-25.0, delay_s=0.05)).astype(np.float32) if echo else other
    own = measure_channel(other)["speech"]
    kept = measure_channel(near, far_16k=far)["speech"]
    assert own.sum() > 300
    assert np.sum(kept & own) >= 0.95 * own.sum()


def test_pipeline_learns_no_agent_baseline_from_the_callers_echo() -> None:
    """Stereo call where the agent channel holds only the caller's echo: the customer's
    baseline is learned, the agent's is not (the energy detector learned one)."""
    cust = _speech("jfk/jfk.wav", "ljspeech/LJ001-0002.wav", "ljspeech/LJ001-0006.wav")
    agent = _echo(cust, gain_db=-22.0, delay_s=0.08)
    pipe = Pipeline(Config(), has_customer=True)
    events = []
    for i in range(0, len(cust), 1600):
        events += pipe.feed({"agent": agent[i : i + 1600], "customer": cust[i : i + 1600]})
    events += pipe.finish()
    ready = {e.speaker for e in events if isinstance(e, BaselineReady)}
    assert "customer" in ready and "agent" not in ready
    assert pipe.summary()["agent"]["speech_s"] < 0.5


def test_phone_band_recall_on_the_development_clips() -> None:
    """The AMI development clips (trn*; the narrowband thresholds were chosen on these)
    through the phone band: Silero's probabilities are lower there, so the channel,
    detected as narrowband, uses speech_prob_on/off_narrowband (0.3/0.05). Recall must
    gain >= 0.02 over the wideband thresholds (measured 0.709 -> 0.76) at precision >= 0.98
    (measured 0.99-0.997)."""
    import dataclasses

    from calmcall.config import MeasureConfig

    wide = dataclasses.replace(MeasureConfig(), speech_prob_on_narrowband=0.5, speech_prob_off_narrowband=0.1)
    counts = {"narrowband": [0, 0, 0], "wideband": [0, 0, 0]}
    for clip in ("trn00", "trn01", "trn02", "trn04", "trn05", "trn06", "trn07", "trn08", "trn09"):
        x, _sr = sf.read(shared_audio(f"ami-meeting/{clip}.wav"), dtype="float32")
        y = phone_band(x)
        for name, cfg in (("narrowband", MeasureConfig()), ("wideband", wide)):
            m = measure_channel(y, cfg)
            ref = _rttm_speech(clip, m["t_s"])
            c = counts[name]
            c[0] += int(np.sum(m["speech"] & ref))
            c[1] += int(np.sum(m["speech"] & ~ref))
            c[2] += int(np.sum(~m["speech"] & ref))
    pr = {k: (tp / (tp + fp), tp / (tp + fn)) for k, (tp, fp, fn) in counts.items()}
    assert pr["narrowband"][0] >= 0.98, pr
    assert pr["narrowband"][1] >= pr["wideband"][1] + 0.02, pr
    assert pr["narrowband"][1] >= 0.74, pr

"""The telephone channel simulator (benchmarks/telephone.py): band, codec, echo, loss,
gated comfort noise, determinism. Synthetic signals only: fast and exact."""

from __future__ import annotations

import numpy as np
import pytest
import telephone as tel
from scipy.signal import welch
from telephone import CONDITIONS, telephone_channel

SR = 16000


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _voice(seconds: float = 2.0, f0_hz: float = 140.0, dbfs: float = -20.0, sr: int = SR) -> np.ndarray:
    """A harmonic, syllable-modulated 'voice' (15 harmonics, 4 Hz envelope) at ``dbfs``."""
    t = np.arange(int(seconds * sr)) / sr
    x = sum(np.sin(2 * np.pi * f0_hz * k * t) / k for k in range(1, 16))
    x *= 0.6 + 0.4 * np.sin(2 * np.pi * 4 * t)
    return (x * np.sqrt(10 ** (dbfs / 10) / np.mean(x**2))).astype(np.float32)


def _band_db(x: np.ndarray, lo: float, hi: float) -> float:
    f, p = welch(x, fs=SR, nperseg=2048)
    return 10 * np.log10(np.mean(p[(f >= lo) & (f <= hi)]))


def test_conditions_are_the_named_presets_and_all_run():
    assert list(CONDITIONS) == ["clean", "phone", "phone_noisy", "phone_echo", "phone_loss", "voip_gated"]
    x = _voice(1.0, sr=22050)
    for name, kw in CONDITIONS.items():
        far = _voice(1.0, f0_hz=210.0, sr=22050) if "echo_db" in kw else None
        y = telephone_channel(x, 22050, rng=_rng(), echo_of=far, **kw)
        assert y.dtype == np.float32 and y.ndim == 1, name
        assert len(y) == SR, name


def test_clean_preset_is_the_input_itself():
    x = _voice(1.0)
    y = telephone_channel(x, SR, rng=_rng(), **CONDITIONS["clean"])
    np.testing.assert_allclose(y, x, atol=1e-6)


def test_phone_band_limits_measured_by_spectrum():
    x = (0.1 * _rng(1).standard_normal(4 * SR)).astype(np.float32)  # white: flat input
    y = telephone_channel(x, SR, rng=_rng(), **CONDITIONS["phone"])
    inband = _band_db(y, 500, 3000)
    assert abs(_band_db(y, 500, 1000) - _band_db(y, 2500, 3000)) < 1.0  # flat in the pass band
    assert _band_db(y, 20, 150) < inband - 30  # below the 300 Hz edge (down to the codec's noise)
    lin = telephone_channel(x, SR, rng=_rng(), **dict(CONDITIONS["phone"], codec="none"))
    assert _band_db(lin, 20, 150) < _band_db(lin, 500, 3000) - 60  # the filter itself
    assert _band_db(y, 3800, 4000) < inband - 20  # above the 3400 Hz edge
    assert _band_db(y, 4500, 7900) < inband - 50  # nothing above the 8 kHz line's Nyquist
    # and the clean copy keeps all of it
    z = telephone_channel(x, SR, rng=_rng(), **CONDITIONS["clean"])
    assert _band_db(z, 4500, 7900) > _band_db(z, 500, 3000) - 1


@pytest.mark.parametrize("codec", ["ulaw", "alaw"])
def test_codec_levels_and_companding_snr(codec):
    enc, dec = getattr(tel, f"{codec}_encode"), getattr(tel, f"{codec}_decode")
    t = np.arange(SR) / SR
    for level, min_snr_db in ((-10.0, 33.0), (-30.0, 33.0), (-50.0, 22.0)):
        s = np.sqrt(2) * 10 ** (level / 20) * np.sin(2 * np.pi * 1004 * t)
        y = dec(enc(s))
        assert abs(tel.dbfs(y) - level) < 0.2
        # companding: the SNR stays high at low levels (8-bit linear would give ~0 dB at -50)
        snr = 10 * np.log10(np.mean(s**2) / np.mean((y - s) ** 2))
        assert snr > min_snr_db, (level, snr)


def test_g711_reference_codes():
    # ITU-T G.711 table values
    np.testing.assert_array_equal(tel.ulaw_decode(np.array([0x00, 0x80, 0xFF, 0x7F])) * 32768, [-32124, 32124, 0, 0])
    np.testing.assert_array_equal(tel.alaw_decode(np.array([0xD5, 0x55, 0xAA, 0x2A])) * 32768, [8, -8, 32256, -32256])
    assert tel.ulaw_encode(np.array([0.0]))[0] == 0xFF
    codes = np.arange(256)
    for c in ("ulaw", "alaw"):  # decode → encode → decode is the identity on every code
        enc, dec = getattr(tel, f"{c}_encode"), getattr(tel, f"{c}_decode")
        np.testing.assert_array_equal(dec(enc(dec(codes))), dec(codes))


def test_deterministic_for_a_seed():
    x = _voice(2.0)
    kw = dict(CONDITIONS["voip_gated"], loss_rate=0.1, noise_snr_db=20.0)
    a = telephone_channel(x, SR, rng=_rng(7), **kw)
    b = telephone_channel(x, SR, rng=_rng(7), **kw)
    c = telephone_channel(x, SR, rng=_rng(8), **kw)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_echo_level_and_delay():
    far = _voice(3.0, f0_hz=190.0, dbfs=-18.0)
    kw = dict(codec="ulaw", comfort_noise_dbfs=None)
    direct = telephone_channel(far, SR, rng=_rng(), **kw)
    for echo_db in (-20.0, -30.0):
        echo = telephone_channel(np.zeros_like(far), SR, rng=_rng(), echo_of=far, echo_db=echo_db, echo_delay_s=0.03, **kw)
        assert abs((tel.dbfs(echo) - tel.dbfs(direct)) - echo_db) < 1.0
    xc = np.correlate(echo[:SR], direct[:SR], mode="full")
    lag = int(np.argmax(xc)) - (SR - 1)
    assert abs(lag - int(0.03 * SR)) <= 2


def test_gated_comfort_noise_level_and_speech_untouched():
    x = np.zeros(3 * SR, dtype=np.float32)
    x[SR : 2 * SR] = _voice(1.0, dbfs=-20.0)
    kw = dict(codec="ulaw", comfort_noise_dbfs=-60.0)
    y = telephone_channel(x, SR, rng=_rng(), **kw)
    ref = telephone_channel(x, SR, rng=_rng(), **dict(kw, comfort_noise_dbfs=None))
    # between speech: noise at the comfort level (silence would be -inf)
    assert abs(tel.dbfs(y[: int(0.9 * SR)]) - (-60.0)) < 1.0
    assert abs(tel.dbfs(y[int(2.2 * SR) :]) - (-60.0)) < 1.0
    # during speech: the gate is open, the signal passes unchanged
    np.testing.assert_allclose(y[int(1.05 * SR) : int(1.95 * SR)], ref[int(1.05 * SR) : int(1.95 * SR)], atol=1e-6)
    # silence input: all comfort noise, its level wandering around the nominal one
    z = telephone_channel(np.zeros(10 * SR, dtype=np.float32), SR, rng=_rng(), comfort_noise_dbfs=-62.0)
    assert abs(tel.dbfs(z) - (-62.0)) < 1.0
    seg_db = [tel.dbfs(z[i : i + 1600]) for i in range(0, len(z), 1600)]  # 100 ms
    assert 1.0 < np.std(seg_db) < 3.0
    steady = telephone_channel(
        np.zeros(10 * SR, dtype=np.float32), SR, rng=_rng(), comfort_noise_dbfs=-62.0, comfort_noise_jitter_db=0.0
    )
    assert np.std([tel.dbfs(steady[i : i + 1600]) for i in range(0, len(z), 1600)]) < 0.5


def test_packet_loss_zero_and_repeat():
    x = _voice(4.0, dbfs=-20.0) + 0.01  # no exact zeros in the input
    wide = dict(codec="none", band_hz=None, comfort_noise_dbfs=None, line_sr_hz=SR)
    y = telephone_channel(x, SR, rng=_rng(3), loss_rate=0.2, loss_fill="zero", **wide)
    frames = y.reshape(-1, 320)
    zeroed = np.all(frames == 0, axis=1)
    assert 0.1 < zeroed.mean() < 0.3  # 200 frames at p = 0.2
    np.testing.assert_allclose(frames[~zeroed], x.reshape(-1, 320)[~zeroed], atol=1e-6)
    r = telephone_channel(x, SR, rng=_rng(3), loss_rate=0.2, loss_fill="repeat", **wide).reshape(-1, 320)
    assert not np.any(np.all(r[1:] == 0, axis=1))  # (a lost first frame has nothing to repeat)
    for i in np.flatnonzero(zeroed):  # same rng: same frames lost
        if i > 0:
            np.testing.assert_array_equal(r[i], r[i - 1])


def test_background_noise_snr():
    x = _voice(2.0, dbfs=-22.0)
    wide = dict(codec="none", band_hz=None, comfort_noise_dbfs=None, line_sr_hz=SR)
    for noise in (None, _rng(5).standard_normal(SR).astype(np.float32)):
        y = telephone_channel(x, SR, rng=_rng(), noise=noise, noise_snr_db=12.0, **wide)
        n = y.astype(np.float64) - x
        assert abs((tel.dbfs(x) - tel.dbfs(n)) - 12.0) < 0.2


def test_active_level_ignores_pauses_and_set_level_respects_the_peak():
    v = _voice(1.0, dbfs=-31.0)
    x = np.concatenate([np.zeros(SR, np.float32), v, np.zeros(2 * SR, np.float32)])
    assert abs(tel.active_level_dbfs(x, SR) - (-31.0)) < 0.5  # plain RMS would read -37
    y = tel.set_active_level(x, SR, -26.0)
    assert abs(tel.active_level_dbfs(y, SR) - (-26.0)) < 0.01
    spiky = x.copy()
    spiky[100] = 0.5  # one click: a +14 dB gain would put it at 2.5
    z = tel.set_active_level(spiky, SR, -12.0, peak_dbfs=-1.0)
    assert abs(20 * np.log10(np.max(np.abs(z))) - (-1.0)) < 0.01
    assert tel.active_level_dbfs(z, SR) < -12.0


def test_bad_calls_say_how_to_fix():
    x = _voice(0.5)
    with pytest.raises(ValueError, match="mono"):
        telephone_channel(np.stack([x, x], axis=1), SR, rng=_rng())
    with pytest.raises(ValueError, match="echo_of"):
        telephone_channel(x, SR, rng=_rng(), echo_db=-25.0)
    with pytest.raises(ValueError, match="codec"):
        telephone_channel(x, SR, rng=_rng(), codec="gsm")

"""A telephone channel simulator: what a call-centre recorder gets from a phone line.

Used by the benchmarks (``bench_realspeech``, the randomized scripted-call set) and by
tests to turn clean real or rendered speech into telephone-degraded copies with known
ground truth.

API (stable; other modules import it)::

    from telephone import telephone_channel, CONDITIONS

    y_16k = telephone_channel(audio, sr_hz, rng=np.random.default_rng(0), **CONDITIONS["phone"])

``telephone_channel(audio, sr_hz, *, rng, codec="ulaw", band_hz=(300.0, 3400.0),
comfort_noise_dbfs=-60.0, echo_of=None, echo_db=None, echo_delay_s=0.03, loss_rate=0.0,
noise=None, noise_snr_db=None, loss_fill="zero", gate_dbfs=-45.0, line_sr_hz=8000,
comfort_noise_jitter_db=2.0)``
returns float32 mono audio at 16 kHz (:data:`OUT_SR_HZ`, what calmcall consumes), the
same duration as the input. ``audio`` is 1-D float (``(samples,)``, full scale ±1.0) at
``sr_hz``. The steps, in the order a real call meets them:

1. **background noise** (talker side, at ``sr_hz``): ``noise`` (1-D, at ``sr_hz``;
   tiled and started at a random offset) mixed at ``noise_snr_db`` below the signal's
   active speech level (mean power of the 20 ms frames within 30 dB of the 95th-percentile
   frame; a silent signal counts as -26 dBFS, the nominal telephone speech level). With
   ``noise=None`` and ``noise_snr_db`` set, pink noise is drawn from ``rng``.
2. **far-side echo**: ``echo_of`` (1-D, at ``sr_hz``, the other party's audio) delayed by
   ``echo_delay_s`` and scaled by ``echo_db`` (dB relative to ``echo_of`` itself, e.g.
   -25 = 25 dB echo return loss), added to the signal. Give both or neither.
3. resample to the **line rate** ``line_sr_hz`` (8 kHz narrowband; 16000 keeps wideband),
4. **band-pass** ``band_hz`` (zero-phase 6th-order Butterworth; ``None`` skips it),
5. **codec** round trip: ``"ulaw"`` / ``"alaw"`` (exact G.711 8-bit companding of the
   16-bit sample) or ``"none"``,
6. **gated comfort noise** (a VoIP gateway's DTX/CNG): 20 ms frames whose level stays
   below ``gate_dbfs`` (with a 60 ms hangover after louder frames) are replaced by
   band-limited noise whose RMS is ``comfort_noise_dbfs``; louder frames pass untouched.
   As a gateway's noise estimate does, its level wanders: a new level every 100 ms (a
   SID update), Gaussian in dB with standard deviation ``comfort_noise_jitter_db``,
   interpolated in between and scaled so that the mean power is exactly the nominal
   level. ``None`` disables comfort noise.
7. **packet loss**: each 20 ms frame is dropped independently with probability
   ``loss_rate`` and replaced by zeros (``loss_fill="zero"``) or by the previous frame
   (``"repeat"``, the simplest concealment),
8. resample to 16 kHz, clip to ±1.

Levels are dBFS = 10·log10(mean square), full scale = 1.0 for a ±1 square wave (the
convention of ``calmcall.prosody``). The output is a pure function of the arguments and
the state of ``rng``: the same seed gives the same samples.

:func:`active_level_dbfs` / :func:`set_active_level` measure and set a signal's active
speech level (the benchmarks put every clip at -26 dBFS, the nominal telephone level,
before the channel). :data:`CONDITIONS` holds the named presets the benchmarks report per condition ("clean",
"phone", "phone_noisy", "phone_echo", "phone_loss", "voip_gated"); each is a dict of
keyword arguments. ``"phone_echo"`` needs ``echo_of`` from the caller (the far side).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.signal import butter, resample_poly, sosfiltfilt

OUT_SR_HZ = 16000
FRAME_S = 0.020  # packet / gate frame
GATE_HANGOVER_FRAMES = 3  # 60 ms
NOMINAL_SPEECH_DBFS = -26.0

#: Named channel conditions: keyword arguments for :func:`telephone_channel`.
CONDITIONS: dict[str, dict[str, Any]] = {
    # the wideband recording itself, at 16 kHz (reference for the others)
    "clean": dict(codec="none", band_hz=None, comfort_noise_dbfs=None, line_sr_hz=16000),
    # a circuit-switched narrowband line: 8 kHz, 300-3400 Hz, G.711 mu-law
    "phone": dict(codec="ulaw", comfort_noise_dbfs=None),
    # the same with pink background noise 15 dB below the speech
    "phone_noisy": dict(codec="ulaw", comfort_noise_dbfs=None, noise_snr_db=15.0),
    # the far side's voice coming back at -25 dB, 30 ms late (pass echo_of=)
    "phone_echo": dict(codec="ulaw", comfort_noise_dbfs=None, echo_db=-25.0, echo_delay_s=0.03),
    # 5 % of the 20 ms packets lost, zero-filled
    "phone_loss": dict(codec="ulaw", comfort_noise_dbfs=None, loss_rate=0.05, loss_fill="zero"),
    # a VoIP gateway: A-law, comfort noise at -62 dBFS between words, 1 % loss concealed
    "voip_gated": dict(codec="alaw", comfort_noise_dbfs=-62.0, loss_rate=0.01, loss_fill="repeat"),
}

_CODECS = ("ulaw", "alaw", "none")


def telephone_channel(
    audio: np.ndarray,
    sr_hz: int,
    *,
    rng: np.random.Generator,
    codec: str = "ulaw",
    band_hz: tuple[float, float] | None = (300.0, 3400.0),
    comfort_noise_dbfs: float | None = -60.0,
    echo_of: np.ndarray | None = None,
    echo_db: float | None = None,
    echo_delay_s: float = 0.03,
    loss_rate: float = 0.0,
    noise: np.ndarray | None = None,
    noise_snr_db: float | None = None,
    loss_fill: str = "zero",
    gate_dbfs: float = -45.0,
    line_sr_hz: int = 8000,
    comfort_noise_jitter_db: float = 2.0,
) -> np.ndarray:
    """Pass ``audio`` (1-D float, ±1 full scale, at ``sr_hz``) through a simulated
    telephone channel; returns float32 ``(samples,)`` at 16 kHz. See the module docstring
    for the steps and the meaning of each argument."""
    x = _mono(audio, "audio")
    if int(sr_hz) <= 0:
        raise ValueError(f"sr_hz must be a positive sample rate in Hz, got {sr_hz!r}")
    sr_hz = int(sr_hz)
    if codec not in _CODECS:
        raise ValueError(f"codec must be one of {_CODECS}, got {codec!r}")
    if loss_fill not in ("zero", "repeat"):
        raise ValueError(f"loss_fill must be 'zero' or 'repeat', got {loss_fill!r}")
    if not 0.0 <= loss_rate < 1.0:
        raise ValueError(f"loss_rate is a probability in [0, 1), got {loss_rate!r}")
    if (echo_of is None) != (echo_db is None):
        raise ValueError(
            "give both echo_of (the far side's audio) and echo_db (its level in dB relative to echo_of, e.g. -25), or neither"
        )
    if noise is not None and noise_snr_db is None:
        raise ValueError("noise given without noise_snr_db: say how far below the speech it sits")
    if echo_delay_s < 0:
        raise ValueError(f"echo_delay_s must be >= 0, got {echo_delay_s!r}")
    n_in = len(x)
    x = x.astype(np.float64)

    if noise_snr_db is not None:
        if noise is None:
            nz = _pink(rng, n_in)
        else:
            nz = _mono(noise, "noise").astype(np.float64)
            if len(nz) == 0 or not np.any(nz):
                raise ValueError("noise is empty or all zeros")
            start = int(rng.integers(0, len(nz)))
            reps = int(np.ceil((start + n_in) / len(nz)))
            nz = np.tile(nz, reps)[start : start + n_in]
        speech_p = _active_power(x, sr_hz)
        noise_p = float(np.mean(nz**2)) if n_in else 1.0
        x = x + nz * np.sqrt(speech_p / max(noise_p, 1e-30) * 10 ** (-noise_snr_db / 10))

    if echo_of is not None:
        far = _mono(echo_of, "echo_of").astype(np.float64)
        d = int(round(echo_delay_s * sr_hz))
        e = np.zeros(n_in)
        m = max(0, min(len(far), n_in - d))
        e[d : d + m] = far[:m]
        x = x + e * 10 ** (echo_db / 20)

    line_sr_hz = int(line_sr_hz)
    y = _resample(x, sr_hz, line_sr_hz)
    if band_hz is not None:
        lo, hi = float(band_hz[0]), float(band_hz[1])
        if not 0 < lo < hi < line_sr_hz / 2:
            raise ValueError(f"band_hz must satisfy 0 < low < high < {line_sr_hz / 2} Hz, got {band_hz!r}")
        y = _bandpass(y, line_sr_hz, lo, hi)
    if codec == "ulaw":
        y = ulaw_decode(ulaw_encode(y))
    elif codec == "alaw":
        y = alaw_decode(alaw_encode(y))

    flen = int(round(FRAME_S * line_sr_hz))
    n_frames = int(np.ceil(len(y) / flen)) if len(y) else 0
    if comfort_noise_dbfs is not None and n_frames:
        y = _gate_comfort_noise(
            y, flen, n_frames, line_sr_hz, band_hz, comfort_noise_dbfs, gate_dbfs, comfort_noise_jitter_db, rng
        )
    if loss_rate > 0 and n_frames:
        lost = rng.random(n_frames) < loss_rate
        for i in np.flatnonzero(lost):
            a, b = i * flen, min(len(y), (i + 1) * flen)
            if loss_fill == "repeat" and i > 0:
                prev = y[(i - 1) * flen : i * flen]
                y[a:b] = prev[: b - a]
            else:
                y[a:b] = 0.0

    out = _resample(y, line_sr_hz, OUT_SR_HZ)
    n_out = int(round(n_in * OUT_SR_HZ / sr_hz))
    out = out[:n_out]
    if len(out) < n_out:
        out = np.pad(out, (0, n_out - len(out)))
    return np.clip(out, -1.0, 1.0).astype(np.float32)


def active_level_dbfs(x: np.ndarray, sr_hz: int) -> float:
    """Active speech level of ``x`` (1-D, at ``sr_hz``) in dBFS: the mean power of the
    20 ms frames within 30 dB of the 95th-percentile frame (a simple stand-in for ITU-T
    P.56); -26 dBFS (the nominal telephone speech level) for a silent signal."""
    return 10 * float(np.log10(_active_power(_mono(x, "x").astype(np.float64), int(sr_hz))))


def set_active_level(
    x: np.ndarray, sr_hz: int, dbfs_target: float = NOMINAL_SPEECH_DBFS, *, peak_dbfs: float | None = -1.0
) -> np.ndarray:
    """``x`` scaled so that :func:`active_level_dbfs` is ``dbfs_target`` (float32), the
    gain limited so that the peak sample stays at or below ``peak_dbfs`` (20·log10 of
    the absolute peak; ``None``: no limit). A signal with a large crest factor thus ends
    up below the target rather than clipped."""
    gain_db = dbfs_target - active_level_dbfs(x, sr_hz)
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    if peak_dbfs is not None and peak > 0:
        gain_db = min(gain_db, peak_dbfs - 20 * np.log10(peak))
    return (np.asarray(x, dtype=np.float64) * 10 ** (gain_db / 20)).astype(np.float32)


def dbfs(x: np.ndarray) -> float:
    """Level of ``x`` in dBFS, 10·log10(mean square); -inf for silence."""
    p = float(np.mean(np.asarray(x, dtype=np.float64) ** 2)) if len(x) else 0.0
    return 10 * np.log10(p) if p > 0 else float("-inf")


# ---------------------------------------------------------------- G.711 companding


def _to_pcm16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(np.asarray(x, dtype=np.float64) * 32768.0), -32768, 32767).astype(np.int32)


def ulaw_encode(x: np.ndarray) -> np.ndarray:
    """G.711 mu-law: float ±1 → uint8 codes (the 16-bit sample is companded to 8 bits)."""
    s = _to_pcm16(x)
    sign = np.where(s < 0, 0x80, 0)
    mag = np.minimum(np.abs(s), 32635) + 0x84
    exponent = np.floor(np.log2(mag)).astype(np.int32) - 7
    mantissa = (mag >> (exponent + 3)) & 0x0F
    return (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8)


def ulaw_decode(code: np.ndarray) -> np.ndarray:
    """G.711 mu-law: uint8 codes → float ±1."""
    u = ~np.asarray(code, dtype=np.int32) & 0xFF
    exponent = (u >> 4) & 0x07
    mantissa = u & 0x0F
    mag = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(u & 0x80, -mag, mag).astype(np.float64) / 32768.0


_ALAW_SEG_END = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])


def alaw_encode(x: np.ndarray) -> np.ndarray:
    """G.711 A-law: float ±1 → uint8 codes (13-bit magnitude, 8 segments)."""
    s = _to_pcm16(x) >> 3
    pos = s >= 0
    mask = np.where(pos, 0xD5, 0x55)
    v = np.where(pos, s, -s - 1)
    seg = np.searchsorted(_ALAW_SEG_END, v, side="left")
    segc = np.minimum(seg, 7)
    aval = (segc << 4) | np.where(segc < 2, (v >> 1) & 0x0F, (v >> np.maximum(segc, 1)) & 0x0F)
    aval = np.where(seg >= 8, 0x7F, aval)
    return ((aval ^ mask) & 0xFF).astype(np.uint8)


def alaw_decode(code: np.ndarray) -> np.ndarray:
    """G.711 A-law: uint8 codes → float ±1."""
    a = np.asarray(code, dtype=np.int32) ^ 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    t = np.where(seg == 0, t + 8, t + 0x108)
    t = np.where(seg > 1, t << np.maximum(seg - 1, 0), t)
    return np.where(a & 0x80, t, -t).astype(np.float64) / 32768.0


# ---------------------------------------------------------------- helpers


def _mono(a: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1:
        raise ValueError(f"{name} must be mono, shape (samples,); got shape {a.shape} (pass one channel, e.g. x[:, 0])")
    if not np.issubdtype(a.dtype, np.floating):
        raise ValueError(f"{name} must be float audio in ±1.0, got dtype {a.dtype}")
    return a


def _resample(x: np.ndarray, sr_from: int, sr_to: int) -> np.ndarray:
    if sr_from == sr_to:
        return x.copy()
    g = int(np.gcd(sr_from, sr_to))
    return resample_poly(x, sr_to // g, sr_from // g)


def _bandpass(x: np.ndarray, sr: int, lo: float, hi: float) -> np.ndarray:
    if len(x) < 64:
        return x
    sos = butter(6, [lo, hi], btype="bandpass", fs=sr, output="sos")
    return sosfiltfilt(sos, x)


def _frame_power(x: np.ndarray, flen: int) -> np.ndarray:
    n = int(np.ceil(len(x) / flen))
    pad = np.pad(x, (0, n * flen - len(x)))
    return np.mean(pad.reshape(n, flen) ** 2, axis=1)


def _active_power(x: np.ndarray, sr: int) -> float:
    """Mean power of the 20 ms frames within 30 dB of the 95th-percentile frame."""
    if not len(x):
        return 10 ** (NOMINAL_SPEECH_DBFS / 10)
    p = _frame_power(x, max(1, int(round(FRAME_S * sr))))
    ref = float(np.percentile(p, 95))
    if ref <= 1e-10:  # below -100 dBFS: silence
        return 10 ** (NOMINAL_SPEECH_DBFS / 10)
    return float(np.mean(p[p >= ref * 1e-3]))


def _pink(rng: np.random.Generator, n: int) -> np.ndarray:
    """Pink (1/f power) noise, unit mean square, ``n`` samples."""
    if n == 0:
        return np.zeros(0)
    w = rng.standard_normal(n)
    spec = np.fft.rfft(w)
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    spec /= np.sqrt(f)
    spec[0] = 0.0
    p = np.fft.irfft(spec, n)
    return p / np.sqrt(max(np.mean(p**2), 1e-30))


def _gate_comfort_noise(
    y: np.ndarray,
    flen: int,
    n_frames: int,
    sr: int,
    band_hz: tuple[float, float] | None,
    cn_dbfs: float,
    gate_dbfs: float,
    jitter_db: float,
    rng: np.random.Generator,
) -> np.ndarray:
    p = _frame_power(y, flen)
    loud = p >= 10 ** (gate_dbfs / 10)
    keep = loud.copy()
    for k in range(1, GATE_HANGOVER_FRAMES + 1):
        keep[k:] |= loud[:-k]
    cn = rng.standard_normal(n_frames * flen)
    if band_hz is not None:
        cn = _bandpass(cn, sr, float(band_hz[0]), float(band_hz[1]))
    cn /= np.sqrt(max(np.mean(cn**2), 1e-30))
    if jitter_db > 0:  # SID updates every 100 ms, level interpolated between them
        seg = int(round(0.1 * sr))
        n_seg = len(cn) // seg + 2
        lev_db = rng.normal(0.0, jitter_db, n_seg)
        g = 10 ** (np.interp(np.arange(len(cn)) / seg, np.arange(n_seg), lev_db) / 20)
        cn *= g / np.sqrt(np.mean(g**2))
    cn *= 10 ** (cn_dbfs / 20)
    out = np.pad(y, (0, n_frames * flen - len(y))).reshape(n_frames, flen)
    out[~keep] = cn.reshape(n_frames, flen)[~keep]
    return out.reshape(-1)[: len(y)]

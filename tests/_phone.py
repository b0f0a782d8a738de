"""A minimal telephone band for tests: 8 kHz, 300-3400 Hz, 8-bit mu-law, back to 16 kHz.

Not the channel simulator (benchmarks/telephone.py has that): only the band limit and
the companding that remove a voice's fundamental and add quantisation noise.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, lfilter, resample_poly, sosfilt

_MU = 255.0


def mulaw_roundtrip(x: np.ndarray) -> np.ndarray:
    """8-bit mu-law encode + decode of ``x`` (float in [-1, 1])."""
    x = np.clip(x, -1.0, 1.0)
    y = np.sign(x) * np.log1p(_MU * np.abs(x)) / np.log1p(_MU)
    q = np.round((y + 1.0) / 2.0 * 255.0) / 255.0 * 2.0 - 1.0  # 256 levels
    return np.sign(q) * ((1.0 + _MU) ** np.abs(q) - 1.0) / _MU


def phone_band(x_16k: np.ndarray) -> np.ndarray:
    """``x_16k`` (16 kHz float, shape (n,)) through an 8 kHz mu-law 300-3400 Hz channel,
    returned at 16 kHz float32 with the same length."""
    x8 = resample_poly(np.asarray(x_16k, dtype=np.float64), 1, 2)
    sos = butter(6, [300.0, 3400.0], btype="bandpass", fs=8000, output="sos")
    y8 = mulaw_roundtrip(sosfilt(sos, x8))
    y = resample_poly(y8, 2, 1)[: len(x_16k)]
    return np.pad(y, (0, len(x_16k) - len(y))).astype(np.float32)


def noise_channel(seed: int = 7) -> np.ndarray:
    """40 stretches of 0.5-3 s: digital silence, gated white comfort noise at -62 dBFS,
    brown-ish comfort noise at -60 dBFS, 2-7 kHz line hiss at -50 dBFS."""
    rng = np.random.default_rng(seed)
    hiss = butter(4, [2000, 7000], "bandpass", fs=16_000, output="sos")
    parts = []
    for i in range(40):
        n = int(rng.uniform(0.5, 3.0) * 16_000)
        w = rng.standard_normal(n)
        kind = i % 4
        if kind == 0:
            parts.append(np.zeros(n))
            continue
        y, level = ((w, -62.0), (lfilter([1.0], [1.0, -0.95], w), -60.0), (sosfilt(hiss, w), -50.0))[kind - 1]
        parts.append(y / np.sqrt(np.mean(y**2)) * 10 ** (level / 20))
    return np.concatenate(parts).astype(np.float32)

"""The real speech recordings in tests/data, read at 16 kHz, with their transcripts.

Shared by ``tests/test_asr_stream.py`` and ``benchmarks/bench_asr.py``:
* ``jfk/jfk.wav`` (11 s) and :data:`JFK_TEXT`;
* ``ljspeech/*.wav`` with the transcript in the ``.txt`` of the same name;
* ``stereo/stereo_diarization.wav``, two talkers, one a channel (:data:`STEREO_TEXT`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
JFK_WAV = DATA / "jfk" / "jfk.wav"
STEREO_WAV = DATA / "stereo" / "stereo_diarization.wav"
LJSPEECH_DIR = DATA / "ljspeech"
SR = 16000
JFK_TEXT = ("And so my fellow Americans, ask not what your country can do for you, "
            "ask what you can do for your country.")
#: (channel 0, channel 1) of the stereo clip
STEREO_TEXT = ("He began a confused complaint against the wizard, who had vanished behind "
               "the curtain on the left.", "The horizon seems extremely distant.")


def read_16k(path: Path) -> np.ndarray:
    """Read an audio file as float32 ``(samples, channels)`` at :data:`SR`."""
    x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    if sr != SR:
        g = np.gcd(sr, SR)
        x = resample_poly(x, SR // g, sr // g, axis=0).astype(np.float32)
    return x


def ljspeech_wavs() -> list[Path]:
    """The LJSpeech clips, in name order (each has its transcript in ``.txt``)."""
    return sorted(LJSPEECH_DIR.glob("*.wav"))

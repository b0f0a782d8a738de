"""The real speech recordings in ``../shared/audio``, read at 16 kHz, with their transcripts.

They are never committed to this repository (see ``../shared/audio/README.md`` for
their origins and licences). The folder is ``ROOT.parent / "shared" / "audio"`` beside
the clone, or the one named by the environment variable ``CALMCALL_SHARED_AUDIO``.
:func:`require` returns a path under it or raises :class:`SharedAudioMissing` (a
``FileNotFoundError``) saying how to provide it; ``tests/conftest.py``'s
``shared_audio()`` turns that into a skip.

Shared by the tests and the benchmarks:
* ``jfk/jfk.wav`` (11 s) and :data:`JFK_TEXT`;
* ``ljspeech/*.wav`` with the transcript in the ``.txt`` of the same name;
* ``stereo-two-speaker/stereo_diarization.wav``, two talkers, one a channel (:data:`STEREO_TEXT`);
* ``emodb-anger-neutral/*.wav`` (neutral ``N`` / angry ``W`` pairs, ``.silb`` syllable onsets);
* ``ami-meeting/*.wav`` with RTTM speaker turns (see ``benchmarks/ami.py``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

ROOT = Path(__file__).resolve().parents[1]
SHARED_AUDIO = Path(os.environ.get("CALMCALL_SHARED_AUDIO") or ROOT.parent / "shared" / "audio")
JFK_WAV = SHARED_AUDIO / "jfk" / "jfk.wav"
STEREO_WAV = SHARED_AUDIO / "stereo-two-speaker" / "stereo_diarization.wav"
LJSPEECH_DIR = SHARED_AUDIO / "ljspeech"
EMODB_DIR = SHARED_AUDIO / "emodb-anger-neutral"
AMI_DIR = SHARED_AUDIO / "ami-meeting"
SR = 16000
JFK_TEXT = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."
#: (channel 0, channel 1) of the stereo clip
STEREO_TEXT = (
    "He began a confused complaint against the wizard, who had vanished behind the curtain on the left.",
    "The horizon seems extremely distant.",
)
#: the LJSpeech clips in the shared folder (each with its transcript in ``.txt``)
LJSPEECH_STEMS = ("LJ001-0002", "LJ001-0004", "LJ001-0006", "LJ001-0008", "LJ001-0013")
#: the EmoDB speakers' sentence ids: each has one neutral (N) and one angry (W) take
EMODB_PAIRS = ("03a01", "08a01", "09a01", "10a01", "11a01", "12a01", "13a01", "14a01", "15a01", "16a01")


class SharedAudioMissing(FileNotFoundError):
    """The shared real-speech folder, or a file in it, is absent."""


def require(relpath: str = "") -> Path:
    """Path of ``relpath`` under :data:`SHARED_AUDIO`; raises :class:`SharedAudioMissing`
    with the remedy when it does not exist."""
    p = SHARED_AUDIO / relpath
    if not p.exists():
        raise SharedAudioMissing(
            f"real speech not available: {p} is absent (put ../shared/audio beside the clone "
            "or set CALMCALL_SHARED_AUDIO to the folder; see its README.md)"
        )
    return p


def read_16k(path: Path) -> np.ndarray:
    """Read an audio file as float32 ``(samples, channels)`` at :data:`SR`."""
    x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    if sr != SR:
        g = np.gcd(sr, SR)
        x = resample_poly(x, SR // g, sr // g, axis=0).astype(np.float32)
    return x


def ljspeech_wavs() -> list[Path]:
    """The LJSpeech clips, in name order (each has its transcript in ``.txt``); raises
    :class:`SharedAudioMissing` when one is absent."""
    return [require(f"ljspeech/{stem}.wav") for stem in LJSPEECH_STEMS]


def emodb_pair(speaker_sentence: str) -> tuple[Path, Path]:
    """``(neutral, angry)`` wav paths of one EmoDB speaker (e.g. ``"03a01"``)."""
    d = require("emodb-anger-neutral")
    neutral = sorted(d.glob(f"{speaker_sentence}N*.wav"))
    angry = sorted(d.glob(f"{speaker_sentence}W*.wav"))
    if not neutral or not angry:
        raise SharedAudioMissing(f"EmoDB pair {speaker_sentence} (N and W) not found in {d}")
    return neutral[0], angry[0]


def emodb_wavs() -> list[Path]:
    """All 20 EmoDB clips (neutral and angry of each speaker), in name order."""
    return sorted(p for s in EMODB_PAIRS for p in emodb_pair(s))

"""Shared fixtures: paths to the real test speech and the bundled sample call.

Real recorded speech is never committed to this repository: it is read from
``../shared/audio`` beside the clone (CI has it there), or from the folder named by
the environment variable ``CALMCALL_SHARED_AUDIO``. A test that needs it asks for it
through :func:`shared_audio` and is skipped, with the reason, when it is absent.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_CALL = ROOT / "samples" / "sample_call.wav"

# benchmarks/ holds the scripted-call renderer and the real-speech locator shared by
# tests and benchmarks
if str(ROOT / "benchmarks") not in sys.path:
    sys.path.insert(0, str(ROOT / "benchmarks"))

import speech_clips  # noqa: E402  (benchmarks/speech_clips.py)

SHARED_AUDIO = speech_clips.SHARED_AUDIO


def shared_audio(relpath: str = "") -> Path:
    """Path of ``relpath`` under the shared real-speech folder (e.g. ``"jfk/jfk.wav"``;
    names as in ``../shared/audio/README.md``); skips the calling test (with the
    reason) when the folder or the file is absent."""
    try:
        return speech_clips.require(relpath)
    except speech_clips.SharedAudioMissing as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """Gone: the real recordings are no longer copied into tests/data."""
    pytest.fail(
        "tests/data no longer holds real recordings: call shared_audio('jfk/jfk.wav') "
        "(names as in ../shared/audio/README.md) from tests/conftest.py instead"
    )


@pytest.fixture(scope="session")
def sample_call() -> Path:
    return SAMPLE_CALL

"""Shared fixtures: paths to the real test speech and the bundled sample call.

Real recorded speech is never committed to this repository: it is read from
``../shared/audio`` beside the clone (CI has it there), or from the folder named by
the environment variable ``CALMCALL_SHARED_AUDIO``. A test that needs it asks for it
through :func:`shared_audio` and is skipped, with the reason, when it is absent.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
SAMPLE_CALL = ROOT / "samples" / "sample_call.wav"
SHARED_AUDIO = Path(os.environ.get("CALMCALL_SHARED_AUDIO", ROOT.parent / "shared" / "audio"))

# benchmarks/ holds the scripted-call renderer shared by tests and benchmarks
if str(ROOT / "benchmarks") not in sys.path:
    sys.path.insert(0, str(ROOT / "benchmarks"))


def shared_audio(relpath: str = "") -> Path:
    """Path of ``relpath`` under the shared real-speech folder; skips the calling test
    (with the reason) when the folder or the file is absent."""
    p = SHARED_AUDIO / relpath
    if not p.exists():
        pytest.skip(f"real speech not available: {p} is absent (put ../shared/audio beside the clone "
                    "or set CALMCALL_SHARED_AUDIO)")
    return p


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def sample_call() -> Path:
    return SAMPLE_CALL

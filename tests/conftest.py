"""Shared fixtures: paths to the real test speech and the bundled sample call."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
SAMPLE_CALL = ROOT / "samples" / "sample_call.wav"

# benchmarks/ holds the scripted-call renderer shared by tests and benchmarks
if str(ROOT / "benchmarks") not in sys.path:
    sys.path.insert(0, str(ROOT / "benchmarks"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def sample_call() -> Path:
    return SAMPLE_CALL

"""The public API: ``calmcall.__all__``, ``python -m calmcall``, the exception tree, and
the embedding example of docs/ARCHITECTURE.md run as written (real model, sample call)."""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import calmcall
from calmcall import errors

ROOT = Path(__file__).resolve().parents[1]


def test_every_public_name_resolves_and_unknown_names_say_where_to_look() -> None:
    assert calmcall.__all__ == ["__version__", *calmcall._EXPORTS]
    for name in calmcall.__all__:
        assert getattr(calmcall, name) is not None, name
    assert calmcall.Pipeline.__module__ == "calmcall.pipeline"
    with pytest.raises(AttributeError, match="calmcall.__all__"):
        calmcall.no_such_thing  # noqa: B018
    assert (ROOT / "src" / "calmcall" / "py.typed").is_file()


def test_import_calmcall_is_cheap() -> None:
    code = "import sys, calmcall; print(sorted(m for m in ('numpy', 'scipy', 'onnxruntime') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


def test_python_dash_m_calmcall_is_the_cli() -> None:
    proc = subprocess.run([sys.executable, "-m", "calmcall", "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and calmcall.__version__ in proc.stdout + proc.stderr


def test_every_error_raised_on_purpose_is_in_one_tree() -> None:
    from calmcall.asr.model import ModelError
    from calmcall.audio_io import CallFileError
    from calmcall.baseline import ProfileError
    from calmcall.cli import UsageError
    from calmcall.config import ConfigError
    from calmcall.live.devices import DeviceError
    from calmcall.qa.batch import BatchError
    from calmcall.qa.recorder import RecordingError
    from calmcall.qa.sessionlog import SessionLogError
    from calmcall.text.patterns import PatternError
    from calmcall.text.playbook import PlaybookError

    for cls in (CallFileError, ConfigError, ProfileError, PlaybookError, PatternError, BatchError, UsageError):
        assert issubclass(cls, errors.InputError) and issubclass(cls, ValueError), cls
    for cls in (ModelError, DeviceError, SessionLogError, RecordingError):
        assert issubclass(cls, errors.RuntimeFault) and issubclass(cls, RuntimeError), cls
    for cls in (errors.InputError, errors.RuntimeFault):
        assert issubclass(cls, errors.CalmcallError)
        assert cls.__name__ in errors.__doc__
    # every class the package defines whose name ends in Error is in the tree (and in the table)
    defined = set()
    for p in (ROOT / "src" / "calmcall").rglob("*.py"):
        defined |= set(re.findall(r"^class (\w+Error)\(", p.read_text(encoding="utf-8"), re.M))
    for name in defined - {"CalmcallError", "InputError"}:
        assert f" {name} " in errors.__doc__, f"{name} is not in calmcall.errors' table"


def test_the_embedding_example_in_the_architecture_doc_runs() -> None:
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    m = re.search(r"<!-- embed-example[^>]*-->\n```python\n(.*?)```", text, re.S)
    assert m, "the embed-example block is missing from docs/ARCHITECTURE.md"
    code = m.group(1)
    assert len(code.strip().splitlines()) <= 10
    out = io.StringIO()
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        scope: dict[str, object] = {}
        with contextlib.redirect_stdout(out):
            exec(compile(code, "ARCHITECTURE.md", "exec"), scope)
    finally:
        os.chdir(cwd)
    lines = out.getvalue().splitlines()
    assert any("Slow down" in line for line in lines) and any("Lower voice" in line for line in lines), lines
    doc = scope["doc"]
    assert isinstance(doc, dict) and doc["prompts"], doc.keys()

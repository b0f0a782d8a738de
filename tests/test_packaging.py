"""The wheel carries every data file calmcall reads at run time (overlay, playbook).

The wheel is built from a copy of the project's sources in a temporary folder, so
a stale ``build/`` left in the checkout cannot supply files that the package-data
settings in pyproject.toml would no longer ship.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Files the code opens from inside the package: the overlay served by
#: ``calmcall.live.server`` and the built-in playbook of ``calmcall.text.playbook``.
RUNTIME_DATA = (
    "calmcall/web/index.html",
    "calmcall/web/overlay.js",
    "calmcall/web/overlay.css",
    "calmcall/web/favicon.svg",
    "calmcall/text/playbook.toml",
)


def _copy_project(dest: Path) -> Path:
    """Copy what a wheel build reads (pyproject.toml, README, LICENSE, src/) to dest."""
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, dest / name)
    shutil.copytree(
        ROOT / "src",
        dest / "src",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"),
    )
    return dest


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = _copy_project(tmp_path_factory.mktemp("project"))
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--disable-pip-version-check",
            "-w",
            str(out),
            str(project),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    wheels = sorted(out.glob("calmcall-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_wheel_contains_runtime_data(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [name for name in RUNTIME_DATA if name not in names]
    assert not missing, f"{wheel.name} lacks {missing}"


def test_wheel_contains_every_overlay_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    web_src = ROOT / "src" / "calmcall" / "web"
    expected = {f"calmcall/web/{p.name}" for p in web_src.iterdir() if p.is_file()}
    assert expected, "no overlay files in the source tree"
    assert expected <= names, f"{wheel.name} lacks {sorted(expected - names)}"


def test_installed_wheel_finds_overlay(wheel: Path, tmp_path: Path) -> None:
    """Unpacked like an installer would, the wheel's own code finds its overlay and
    built-in playbook."""
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = (
        "import calmcall\n"
        "from calmcall.live.server import find_web_dir, load_web_files\n"
        "from calmcall.text.playbook import load_playbook\n"
        "web = find_web_dir()\n"
        "print(calmcall.__file__)\n"
        "print(web)\n"
        "print(' '.join(sorted(load_web_files(web))))\n"
        "print(len(load_playbook().rules))\n"
    )
    # site first on the path, ahead of the checkout's editable install (a .pth entry)
    env = {**os.environ, "PYTHONPATH": str(site)}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    module_file, web_dir, served, n_rules = proc.stdout.strip().splitlines()
    assert Path(module_file).is_relative_to(site), module_file
    assert Path(web_dir) == site / "calmcall" / "web"
    assert (Path(web_dir) / "index.html").is_file()
    assert {"/", "/index.html", "/overlay.js", "/overlay.css"} <= set(served.split())
    assert int(n_rules) > 0

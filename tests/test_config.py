"""Configuration: the documented default round-trips; bad files name the key."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from calmcall.config import Config, ConfigError, config_from_dict, default_config_text, load_config


def test_default_text_parses_back_to_defaults() -> None:
    text = default_config_text()
    assert config_from_dict(tomllib.loads(text)) == Config()
    # every key is documented with a comment line right above it
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if "=" in line and not line.startswith("#"):
            assert lines[i - 1].startswith("# "), line


def test_print_default_cli() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "calmcall.cli", "config", "--print-default"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0
    assert config_from_dict(tomllib.loads(proc.stdout)) == Config()


@pytest.mark.parametrize(
    "toml,key",
    [
        ("[coach]\nmin_interval = 10\n", "coach.min_interval"),
        ("[nosuch]\nx = 1\n", "nosuch"),
        ("[coach]\nmin_interval_s = 'ten'\n", "coach.min_interval_s"),
        ("[coach]\nmin_interval_s = -5\n", "coach.min_interval_s"),
        ("[customer]\nmin_raised = 2.5\n", "customer.min_raised"),
        ("[targets]\npace_margin = true\n", "targets.pace_margin"),
        ("[measure]\npitch_min_hz = 300\npitch_max_hz = 200\n", "pitch_min_hz"),
        ("coach = 3\n", "coach"),
        ("[coach\n", "not valid TOML"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, toml: str, key: str) -> None:
    p = tmp_path / "bad.toml"
    p.write_text(toml)
    with pytest.raises(ConfigError) as info:
        load_config(p)
    assert key in str(info.value) and str(p) in str(info.value)


def test_partial_config_overrides_only_its_keys(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text("[coach]\nmin_interval_s = 30\n[targets]\npitch_margin_st = 2\n")
    cfg = load_config(p)
    assert cfg.coach.min_interval_s == 30.0 and cfg.targets.pitch_margin_st == 2.0
    assert cfg.coach.cooldown_s == Config().coach.cooldown_s


def test_cli_reports_config_error_in_one_line(tmp_path: Path) -> None:
    p = tmp_path / "bad.toml"
    p.write_text("[coach]\nbogus = 1\n")
    proc = subprocess.run(
        [sys.executable, "-m", "calmcall.cli", "analyze", "--no-transcribe", "--config", str(p)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "coach.bogus" in proc.stderr

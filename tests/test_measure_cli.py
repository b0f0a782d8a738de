"""`calmcall measure`: the per-frame output schema (CSV and JSON) and bad input."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from calmcall.measure import CSV_COLUMNS, measure_channel

SR = 16_000


SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "sample_call.wav"


def _call(tmp_path: Path) -> Path:
    """Stereo, 3 s: the agent's first words of the bundled (espeak-ng) sample call, the
    customer channel digital silence."""
    x, sr = sf.read(SAMPLE, dtype="float32")
    assert sr == SR
    agent = x[: 3 * SR, 0]
    path = tmp_path / "call.wav"
    sf.write(path, np.stack([agent, np.zeros_like(agent)], axis=1), SR, subtype="PCM_16")
    return path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "calmcall.cli", "measure", *args], capture_output=True, text=True, timeout=120)


def test_measure_channel_arrays_are_per_10ms_frame() -> None:
    x = np.zeros(SR, dtype=np.float32)
    m = measure_channel(x)
    assert set(m) == {"t_s", "speech", "voiced", "f0_hz", "level_db"}
    n = len(m["t_s"])
    assert n == (SR - 640) // 160 + 1
    assert all(len(v) == n for v in m.values())
    assert m["speech"].dtype == bool and m["voiced"].dtype == bool
    np.testing.assert_allclose(np.diff(m["t_s"]), 0.01)
    assert m["t_s"][0] == 0.02  # centre of the first 40 ms frame
    assert not m["speech"].any() and np.isnan(m["f0_hz"]).all()


def test_measure_csv_and_json_schema(tmp_path: Path) -> None:
    call = _call(tmp_path)
    out_csv, out_json = tmp_path / "m.csv", tmp_path / "m.json"
    r = _run(str(call), "--csv", str(out_csv), "--json", str(out_json))
    assert r.returncode == 0, r.stderr
    for out in (out_csv, out_json):  # voice measures of a call: owner-only, like every other output
        assert out.stat().st_mode & 0o777 == 0o600, (out, oct(out.stat().st_mode))
    with open(out_csv, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == list(CSV_COLUMNS) == ["t_s", "speaker", "speech", "voiced", "f0_hz", "level_db"]
    n_frames = (3 * SR - 640) // 160 + 1
    assert len(rows) == 2 * n_frames
    assert [r["speaker"] for r in rows[:4]] == ["agent", "customer", "agent", "customer"]
    for row in rows:
        assert row["speech"] in ("0", "1") and row["voiced"] in ("0", "1")
        assert (row["f0_hz"] == "") == (row["voiced"] == "0")
        float(row["level_db"]), float(row["t_s"])
    agent = [r for r in rows if r["speaker"] == "agent"]
    cust = [r for r in rows if r["speaker"] == "customer"]
    assert not any(r["speech"] == "1" for r in cust)
    assert not any(r["speech"] == "1" for r in agent if float(r["t_s"]) < 0.3)  # the sample starts with silence
    inside = [r for r in agent if 1.0 <= float(r["t_s"]) <= 3.0]
    assert sum(r["speech"] == "1" for r in inside) > 0.8 * len(inside)
    f0 = [float(r["f0_hz"]) for r in inside if r["voiced"] == "1"]
    assert len(f0) > 0.3 * len(inside) and all(50.0 <= f <= 500.0 for f in f0)
    assert all(r["speech"] == "1" for r in agent if r["voiced"] == "1")
    doc = json.loads(out_json.read_text(encoding="utf-8"))
    assert doc["schema"] == 1 and doc["columns"] == list(CSV_COLUMNS)
    assert doc["frame_hop_s"] == 0.01 and doc["frame_length_s"] == 0.04
    assert doc["call"]["channels"] == {"agent": 0, "customer": 1}
    assert len(doc["frames"]) == len(rows)
    for row, obj in zip(rows, doc["frames"]):
        assert obj["speaker"] == row["speaker"] and math.isclose(obj["t_s"], float(row["t_s"]))
        assert (obj["f0_hz"] is None) == (row["f0_hz"] == "")


def test_measure_without_outputs_writes_csv_to_stdout(tmp_path: Path) -> None:
    r = _run(str(_call(tmp_path)), "--customer-channel", "1")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == ",".join(CSV_COLUMNS) and len(lines) == 1 + 2 * ((3 * SR - 640) // 160 + 1)


def test_measure_bad_input_is_one_line_exit_2(tmp_path: Path) -> None:
    for args in ([str(tmp_path / "missing.wav")], [str(_call(tmp_path)), "--agent-channel", "5"]):
        r = _run(*args)
        assert r.returncode == 2
        assert r.stderr.count("\n") == 1 and r.stderr.startswith("calmcall: error: ")

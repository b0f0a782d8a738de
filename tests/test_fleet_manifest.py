"""Manifest (CSV: path, agent_id, call_time, team, extra columns) and calls.parquet,
through the local batch engine."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
from pathlib import Path
from typing import Any

import pytest
import soundfile as sf

pa = pytest.importorskip("pyarrow", reason="calls.parquet needs pyarrow: pip install 'calmcall[fleet]'")

from calmcall.cli import main  # noqa: E402
from calmcall.errors import InputError, ManifestError  # noqa: E402
from calmcall.fleet import manifest as mf  # noqa: E402
from calmcall.fleet.table import RESERVED_COLUMNS, read_calls  # noqa: E402
from calmcall.qa import batch  # noqa: E402


@pytest.fixture()
def calls(tmp_path: Path, sample_call: Path) -> Path:
    d = tmp_path / "calls"
    (d / "north").mkdir(parents=True)
    x, rate = sf.read(sample_call, always_2d=True)
    sf.write(d / "a.wav", x[10 * rate : 16 * rate], rate, subtype="PCM_16")
    sf.write(d / "north" / "b.wav", x[30 * rate : 36 * rate], rate, subtype="PCM_16")
    (d / "broken.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + os.urandom(200))
    return d


def _write_manifest(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    return path


def test_manifest_columns_reach_calls_parquet(calls: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALMCALL_BATCH_INPROCESS", "1")
    man = _write_manifest(
        calls / "manifest.csv",
        [
            ["path", "agent_id", "call_time", "team", "queue"],
            ["a.wav", "ag-7", "2026-12-01T09:30:00Z", "Billing", "disputes"],
            [str(calls / "north" / "b.wav"), "ag-9", "2026-12-01T11:00:00+01:00", "", "cards"],
            ["broken.wav", "ag-7", "2026-12-02T08:00:00", "Billing", ""],
            ["missing.wav", "ag-1", "", "Billing", ""],
            ["a.wav", "ag-dup", "", "", ""],  # the same call twice: the first row counts
        ],
    )
    out = tmp_path / "out"
    res = batch.batch_analyze(str(man), out, opts=batch.Options(transcribe=False), jobs=1, progress=io.StringIO())
    assert (res.total, res.done, len(res.failed)) == (4, 2, 2)
    assert res.calls_parquet == out / "calls.parquet"
    rows = {Path(r["file"]).name: r for r in read_calls(out)}
    assert set(rows) == {"a.wav", "b.wav", "broken.wav", "missing.wav"}
    a, b = rows["a.wav"], rows["b.wav"]
    assert (a["agent_id"], a["team"], a["group"], a["queue"]) == ("ag-7", "Billing", "Billing", "disputes")
    assert a["call_time"] == dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC)
    assert b["call_time"] == dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)  # +01:00 -> UTC
    assert (b["team"], b["group"]) == ("", "north")  # no team: the folder
    assert rows["broken.wav"]["call_time"] == dt.datetime(2026, 12, 2, 8, 0, tzinfo=dt.UTC)  # naive = UTC
    assert a["status"] == "ok" and a["error"] == "" and a["duration_s"] == pytest.approx(6.0, abs=0.05)
    assert isinstance(a["prompts_total"], int) and a["agent_talk_s"] is not None
    for bad in ("broken.wav", "missing.wav"):
        assert rows[bad]["status"] == "error" and rows[bad]["error"] and rows[bad]["duration_s"] is None
    # summary.csv holds the same calls, and types in the table are what the docs say
    with (out / "summary.csv").open(newline="") as f:
        assert {Path(r["file"]).name for r in csv.DictReader(f)} == set(rows)
    import pyarrow.parquet as pq

    schema = pq.read_schema(out / "calls.parquet")
    assert schema.field("in_band_share").type == pa.float64()
    assert schema.field("prompts_total").type == pa.int64()
    assert str(schema.field("call_time").type) == "timestamp[ms, tz=UTC]"
    assert oct((out / "calls.parquet").stat().st_mode & 0o777) == "0o600"


def test_without_a_manifest_calls_group_by_folder_and_file_time(
    calls: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALMCALL_BATCH_INPROCESS", "1")
    os.utime(calls / "north" / "b.wav", (1_764_000_000, 1_764_000_000))
    out = tmp_path / "out"
    batch.batch_analyze(str(calls), out, opts=batch.Options(transcribe=False), jobs=1, progress=io.StringIO())
    rows = {Path(r["file"]).name: r for r in read_calls(out)}
    assert rows["a.wav"]["group"] == "." and rows["b.wav"]["group"] == "north"
    assert rows["b.wav"]["call_time"] == dt.datetime.fromtimestamp(1_764_000_000, tz=dt.UTC)
    assert rows["a.wav"]["agent_id"] == "" and rows["a.wav"]["team"] == ""


@pytest.mark.parametrize(
    ("rows", "needle"),
    [
        ([["file", "agent_id"], ["a.wav", "x"]], "needs a 'path' column"),
        ([["path", "call_time"], ["a.wav", "yesterday"]], "row 2: call_time 'yesterday' is not an ISO 8601 time"),
        ([["path", "status"], ["a.wav", "vip"]], "'status', which is an output column"),
        ([["path", "team", "team"], ["a.wav", "x", "y"]], "the column 'team' twice"),
        ([["path", "team"], ["a.wav", "x", "extra"]], "row 2 has 3 fields, the header 2"),
        ([["path", "team"], ["", "x"]], "row 2 has an empty path"),
        ([["path", "team"]], "lists no calls"),
        ([], "the manifest is empty"),
    ],
)
def test_a_bad_manifest_is_one_clear_error(tmp_path: Path, rows: list[list[str]], needle: str) -> None:
    man = _write_manifest(tmp_path / "m.csv", rows)
    with pytest.raises(ManifestError) as ei:
        mf.read_manifest(man, reserved=RESERVED_COLUMNS)
    assert needle in str(ei.value) and str(man) in str(ei.value) and "\n" not in str(ei.value)
    assert isinstance(ei.value, InputError)


def test_cli_bad_manifest_exit_2_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    man = tmp_path / "m.csv"
    man.write_bytes(b"path,team\n\xff\xfe.wav,x\n")  # not UTF-8
    assert main(["analyze", str(man), "--out", str(tmp_path / "o"), "--no-transcribe"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("calmcall: error: ") and "not a UTF-8 CSV manifest" in err and len(err.splitlines()) == 1
    # a manifest without --out is a batch target: the usage error says so
    assert batch.is_batch_target(str(man))


def check_resume(calls: Path, out: Path, run: Any, sample_call: Path) -> None:
    """Resume on ``out`` (a finished run of ``calls``): one done call's JSON removed (it is
    done again now) and one new call added; ``run()`` runs the batch again. The new
    calls.parquet and summary.csv hold every call exactly once: the calls done before with
    their previous rows (read from the previous calls.parquet), the calls done now, and
    the bad file as an error row. Shared by the local and the Ray engine's tests."""
    import csv as _csv

    before = {r["file"]: r for r in read_calls(out)}
    ok_before = sorted(f for f, r in before.items() if r["status"] == "ok")
    bad = [f for f, r in before.items() if r["status"] == "error"]
    assert len(ok_before) >= 2 and len(bad) == 1
    redo = ok_before[0]
    (out / before[redo]["json"]).unlink()  # this call is done again now
    x, rate = sf.read(sample_call, always_2d=True)
    new = calls / "new.wav"
    sf.write(new, x[50 * rate : 56 * rate], rate, subtype="PCM_16")
    try:
        res = run()
        assert (res.done, res.skipped, len(res.failed)) == (2, len(ok_before) - 1, 1), (res.done, res.skipped, res.failed)
        rows = read_calls(out)
        files = [r["file"] for r in rows]
        assert len(files) == len(set(files)) == len(before) + 1  # every call exactly once
        after = {r["file"]: r for r in rows}
        assert set(after) == set(before) | {str(new)}
        for f in ok_before:  # done before (skipped) or again (the same call, the same row)
            assert after[f] == before[f], f
        assert after[str(new)]["status"] == "ok"
        assert after[bad[0]]["status"] == "error" and after[bad[0]]["error"]
        with (out / "summary.csv").open(newline="", encoding="utf-8") as fh:
            csv_rows = list(_csv.DictReader(fh))
        assert sorted(r["file"] for r in csv_rows) == sorted(after)
        assert {r["file"]: r["status"] for r in csv_rows} == {f: r["status"] for f, r in after.items()}
    finally:
        new.unlink()


def test_resume_on_the_local_engine_keeps_every_call_once(calls: Path, tmp_path: Path, sample_call: Path) -> None:
    out = tmp_path / "out"
    opts = batch.Options(transcribe=False, report=False)
    res = batch.batch_analyze(str(calls), out, opts=opts, jobs=1, progress=io.StringIO())
    assert (res.done, len(res.failed)) == (2, 1)
    check_resume(calls, out, lambda: batch.batch_analyze(str(calls), out, opts=opts, jobs=1, progress=io.StringIO()), sample_call)


def test_file_uris_for_input_output_and_manifest_paths(
    calls: Path, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """file:// URIs (pyarrow's local filesystem, works offline) for the calls, --out and a
    manifest's paths; an object-store URI is one line, exit 2, and writes nothing (it
    used to create a local folder ./s3:/...). s3:// itself was not tested: no network."""
    from calmcall.fleet.uri import URIError, local_path

    assert local_path((tmp_path / "a b").as_uri()) == str(tmp_path / "a b")  # percent-escapes decoded
    assert local_path("relative/dir") == "relative/dir"
    out = tmp_path / "o u t"
    args = ["analyze", calls.as_uri(), "--out", out.as_uri(), "--no-transcribe", "--no-report", "--jobs", "1"]
    assert main(args) == 1  # the broken file fails, the rest is done
    rows = {Path(r["file"]).name: r["status"] for r in read_calls(out)}
    assert rows == {"a.wav": "ok", "b.wav": "ok", "broken.wav": "error"}
    capsys.readouterr()
    manifest = _write_manifest(tmp_path / "m.csv", [["path", "agent_id"], [(calls / "a.wav").as_uri(), "ag1"]])
    out2 = tmp_path / "out2"
    assert main(["analyze", str(manifest), "--out", str(out2), "--no-transcribe", "--no-report"]) == 0
    assert [(Path(r["file"]).name, r["agent_id"]) for r in read_calls(out2)] == [("a.wav", "ag1")]
    capsys.readouterr()
    monkeypatch.chdir(tmp_path)
    for bad in (["s3://bucket/calls", "--out", str(tmp_path / "o3")], [str(calls), "--out", "s3://bucket/out"]):
        assert main(["analyze", *bad, "--no-transcribe"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("calmcall: error: s3://bucket/") and "mount the bucket" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "s3:").exists() and not (tmp_path / "o3").exists()
    s3_manifest = _write_manifest(tmp_path / "s3.csv", [["path"], ["s3://bucket/a.wav"]])
    with pytest.raises(ManifestError, match="s3:// URI"):
        mf.read_manifest(s3_manifest)
    with pytest.raises(URIError, match="gs:// URI"):
        local_path("gs://b/x", "--out")

"""Batch analysis: a folder with a corrupt file, resume, glob input, CLI."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest
import soundfile as sf

from calmcall.cli import main
from calmcall.qa import batch
from calmcall.qa import scorecard as sc


@pytest.fixture()
def calls(tmp_path: Path, sample_call: Path) -> Path:
    """Three good calls (stereo, stereo in a subfolder, mono) and one corrupt file."""
    d = tmp_path / "calls"
    (d / "team b").mkdir(parents=True)
    x, rate = sf.read(sample_call, always_2d=True)
    sf.write(d / "call_a.wav", x[: 14 * rate], rate, subtype="PCM_16")
    sf.write(d / "team b" / "call_b.flac", x[20 * rate : 32 * rate], rate)
    sf.write(d / "mono.wav", x[40 * rate : 51 * rate, 0], rate, subtype="PCM_16")  # 11 s, one channel
    (d / "broken.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + os.urandom(300))
    (d / "notes.txt").write_text("not audio, not picked up")
    return d


def _rows(out: Path) -> dict[str, dict[str, str]]:
    with (out / "summary.csv").open(newline="") as f:
        return {Path(r["file"]).name: r for r in csv.DictReader(f)}


def test_batch_with_a_corrupt_file_then_resume(calls: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    opts = batch.Options(transcribe=False)
    log = io.StringIO()
    res = batch.batch_analyze(str(calls), out, opts=opts, jobs=2, progress=log)
    assert (res.total, res.done, res.skipped) == (4, 3, 0)
    assert [Path(s).name for s, _ in res.failed] == ["broken.wav"]
    assert "broken.wav" in res.failed[0][1]  # the one-line CallFileError names the file
    assert "4/4" in log.getvalue() and "failed: broken" in log.getvalue()

    for name in ("call_a", "team b__call_b", "mono"):
        doc = json.loads((out / f"{name}.json").read_text())
        assert doc["batch"]["source_size"] == os.stat(doc["batch"]["source"]).st_size
        assert (out / f"{name}.html").stat().st_size > 10_000
    assert not (out / "broken.json").exists()

    rows = _rows(out)
    assert set(rows) == {"call_a.wav", "call_b.flac", "mono.wav", "broken.wav"}
    assert rows["broken.wav"]["status"] == "error" and rows["broken.wav"]["error"]
    doc_a = json.loads((out / "call_a.json").read_text())
    card = sc.scorecard(doc_a)
    assert rows["call_a.wav"]["status"] == "ok"
    assert int(rows["call_a.wav"]["prompts_total"]) == len(doc_a["prompts"])
    assert (
        float(rows["call_a.wav"]["in_band_share"] or "nan") == pytest.approx(card["in_band_share"])
        if card["in_band_share"] is not None
        else rows["call_a.wav"]["in_band_share"] == ""
    )
    assert rows["mono.wav"]["overtalk_count"] == "" and rows["mono.wav"]["talk_ratio_agent"] == ""
    assert float(rows["mono.wav"]["duration_s"]) == pytest.approx(11.0, abs=0.1)

    # resume: the three good calls are skipped, the bad one is tried again
    mtimes = {p.name: p.stat().st_mtime_ns for p in out.glob("*.json")}
    res2 = batch.batch_analyze(str(calls), out, opts=opts, jobs=2, progress=io.StringIO())
    assert (res2.done, res2.skipped, len(res2.failed)) == (0, 3, 1)
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.json")} == mtimes
    assert _rows(out)["call_a.wav"] == rows["call_a.wav"]

    # a changed source or a missing report is redone; so is everything with force
    os.utime(calls / "mono.wav", ns=(1, 1))
    (out / "call_a.html").unlink()
    res3 = batch.batch_analyze(str(calls), out, opts=opts, jobs=2, progress=io.StringIO())
    assert (res3.done, res3.skipped) == (2, 1)
    res4 = batch.batch_analyze(str(calls), out, opts=opts, jobs=2, force=True, progress=io.StringIO())
    assert (res4.done, res4.skipped) == (3, 0)


def test_cli_batch_with_a_glob(calls: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "glob_out"
    rc = main(["analyze", str(calls / "*.wav"), "--out", str(out), "--no-transcribe", "--jobs", "2"])
    assert rc == 1  # one call failed
    text = capsys.readouterr().out
    assert "2 analysed, 0 already done, 1 failed, of 3 calls" in text
    assert "failed calls" in text and "broken.wav" in text
    assert set(_rows(out)) == {"call_a.wav", "mono.wav", "broken.wav"}
    # --force redoes the done calls; --no-report writes no HTML
    (out / "mono.html").unlink()
    assert main(["analyze", str(calls / "*.wav"), "--out", str(out), "--no-transcribe", "--force", "--no-report"]) == 1
    assert "2 analysed, 0 already done, 1 failed" in capsys.readouterr().out
    assert not (out / "mono.html").exists()
    # nothing matches: a one-line error, exit 2
    assert main(["analyze", str(calls / "*.mp3"), "--out", str(out), "--no-transcribe"]) == 2
    assert "no files match this pattern" in capsys.readouterr().err


def test_inputs_and_names(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for p in ("a/x.wav", "b/x.wav", "x.wav", "x.flac", ".hidden.wav"):
        (tmp_path / p).write_bytes(b"")
    files, root = batch.collect_inputs(str(tmp_path))
    jobs = batch.plan_jobs(files, root, tmp_path / "out")
    assert sorted(Path(j.json_path).name for j in jobs) == ["a__x.json", "b__x.json", "x.flac.json", "x.wav.json"]
    assert batch.is_batch_target(str(tmp_path)) and batch.is_batch_target(str(tmp_path / "*.wav"))
    assert not batch.is_batch_target(str(tmp_path / "x.wav"))
    with pytest.raises(batch.BatchError):
        batch.collect_inputs(str(tmp_path / "nothing-here"))


def _short_calls(d: Path, sample_call: Path, n: int, seconds: int = 6) -> list[Path]:
    d.mkdir(parents=True, exist_ok=True)
    x, rate = sf.read(sample_call, always_2d=True)
    paths = []
    for i in range(n):
        p = d / f"short_{i}.wav"
        sf.write(p, x[(10 + 8 * i) * rate : (10 + 8 * i + seconds) * rate], rate, subtype="PCM_16")
        paths.append(p)
    return paths


def test_speech_model_loaded_once_per_worker(tmp_path: Path, sample_call: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The batch used to load the speech model for every call (analyze_file per call);
    now a worker loads it once (worker_model) and passes it to every call."""
    from calmcall.asr import model as asr_model

    files = _short_calls(tmp_path / "calls", sample_call, 3)
    jobs = batch.plan_jobs(files, tmp_path / "calls", tmp_path / "out", report=False)
    (tmp_path / "out").mkdir()
    opts = batch.Options(transcribe=True, report=False)

    # in this process: count the real loads
    loads: list[str] = []
    real = asr_model.load_model

    def counting(*a, **kw):  # type: ignore[no-untyped-def]
        loads.append("load")
        return real(*a, **kw)

    monkeypatch.setattr(asr_model, "load_model", counting)
    batch.worker_model.cache_clear()
    results = [batch.process_call(j, opts) for j in jobs]
    assert all(r["ok"] for r in results), results
    assert loads == ["load"]  # one load for three calls
    batch.worker_model.cache_clear()

    # in the pool: one worker process analyses all three with one model
    pooled: list[dict] = []
    batch.run_jobs(jobs, opts, workers=1, on_result=lambda j, r: pooled.append(r))
    assert len(pooled) == 3 and all(r["ok"] for r in pooled), pooled
    assert len({r["pid"] for r in pooled}) == 1
    assert [r["model_loads"] for r in pooled] == [1, 1, 1]
    # the two-stage path gives the same document as analyze_file
    doc = json.loads(Path(jobs[0].json_path).read_text())
    assert doc["words"], "transcription ran"

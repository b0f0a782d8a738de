"""QA benchmark: batch throughput, report generation time, session-log write cost.

    .venv/bin/python benchmarks/bench_qa.py            # prints a table, writes benchmarks/results/qa.json
    .venv/bin/python benchmarks/bench_qa.py --quick    # prosody-only batch, smaller

Material: the bundled sample call (samples/sample_call.wav, 88.6 s stereo, scripted
two-party call with an escalation).

* **Batch throughput**: ``calmcall analyze DIR --out OUT`` code path
  (:func:`calmcall.qa.batch.batch_analyze`) on copies of the sample call, 2 worker
  processes, fresh output folder (no resume), per-call JSON + HTML report + summary
  CSV included. Measured twice: prosody only (``--no-transcribe``) and with
  transcription (Whisper tiny.en). Calls per minute and audio seconds per wall second
  (x real time); parallel efficiency = sum of per-call worker times / (wall x workers).
* **Report for a 10-minute call**: the sample call tiled to 10 min 0 s, analysed
  without transcription (real timeline, prompts, customer states), plus the sample's
  scripted transcript tiled the same way as words (~1500 words); time of
  :func:`calmcall.qa.report.render_report` (matplotlib already imported; median of 3)
  and of the first render in a fresh process (imports included).
* **Session log**: writing a 10-minute session's events (measures for two speakers
  every 0.25 s, words, prompts) through :class:`SessionWriter` with its real fsync
  policy; per-write latency p50/p99/max, and a ``sessions`` listing.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

SAMPLE = ROOT / "samples" / "sample_call.wav"
TRUTH = ROOT / "samples" / "sample_call.truth.json"
TEN_MIN_S = 600.0


def _copies(d: Path, n: int) -> list[Path]:
    d.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        p = d / f"call_{i:02d}.wav"
        shutil.copyfile(SAMPLE, p)
        out.append(p)
    return out


def bench_batch(tmp: Path, *, n_calls: int, transcribe: bool, jobs: int = 2) -> dict:
    from calmcall.qa.batch import Options, batch_analyze

    calls = tmp / f"calls_{'asr' if transcribe else 'prosody'}"
    _copies(calls, n_calls)
    out = tmp / f"out_{'asr' if transcribe else 'prosody'}"
    log = io.StringIO()
    t0 = time.perf_counter()
    res = batch_analyze(str(calls), out, opts=Options(transcribe=transcribe), jobs=jobs, progress=log)
    wall = time.perf_counter() - t0
    assert not res.failed, res.failed
    worker_s = [json.loads(p.read_text())["batch"]["total_s"] for p in out.glob("call_*.json")]
    return {
        "calls": res.done,
        "jobs": jobs,
        "transcribe": transcribe,
        "audio_s": round(res.audio_s, 1),
        "wall_s": round(wall, 2),
        "calls_per_min": round(res.done / wall * 60, 2),
        "x_real_time": round(res.audio_s / wall, 2),
        "per_call_worker_s_mean": round(statistics.mean(worker_s), 2),
        "parallel_efficiency": round(sum(worker_s) / (wall * jobs), 3),
    }


def _ten_minute_doc(tmp: Path) -> dict:
    from calmcall.analysis import analyze_file
    from calmcall.config import load_config

    x, rate = sf.read(SAMPLE, always_2d=True)
    reps = int(np.ceil(TEN_MIN_S * rate / len(x)))
    long = np.tile(x, (reps, 1))[: int(TEN_MIN_S * rate)]
    path = tmp / "ten_minutes.wav"
    sf.write(path, long, rate, subtype="PCM_16")
    doc = analyze_file(path, config=load_config(None), transcribe=False)
    truth = json.loads(TRUTH.read_text())
    period = len(x) / rate
    words = []
    for k in range(reps):
        for turn in truth["turns"]:
            toks = turn["text"].split()
            d = (turn["end_s"] - turn["start_s"]) / len(toks)
            for i, tok in enumerate(toks):
                s = k * period + turn["start_s"] + i * d
                if s + d < TEN_MIN_S:
                    words.append(
                        {
                            "start_s": round(s, 3),
                            "end_s": round(s + 0.9 * d, 3),
                            "text": tok,
                            "speaker": turn["speaker"],
                            "confidence": 0.9,
                            "t_s": round(s + d + 1.5, 3),
                        }
                    )
    doc["words"] = words
    (tmp / "ten_minutes.json").write_text(json.dumps(doc))
    return doc


def bench_report(tmp: Path) -> dict:
    doc = _ten_minute_doc(tmp)
    from calmcall.qa.report import render_report

    render_report(doc)  # warm: imports matplotlib
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        text = render_report(doc, out_path=tmp / "r.html")
        times.append(time.perf_counter() - t0)
    # a fresh process: what `calmcall report saved.json` costs, imports included
    code = (
        "import sys,time; t=time.perf_counter(); sys.path.insert(0, %r); "
        "from calmcall.qa.report import write_report; import json; "
        "write_report(json.load(open(%r)), %r); print(time.perf_counter()-t)"
        % (str(ROOT / "src"), str(tmp / "ten_minutes.json"), str(tmp / "cold.html"))
    )
    cold = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    return {
        "duration_s": doc["duration_s"],
        "timeline_points": len(doc["timeline"]),
        "words": len(doc["words"]),
        "prompts": len(doc["prompts"]),
        "render_s_median": round(statistics.median(times), 3),
        "render_s_cold_process": round(cold, 3),
        "html_kib": round(len(text.encode()) / 1024, 1),
    }


def bench_session_log(tmp: Path) -> dict:
    from calmcall.qa.sessionlog import SessionWriter, list_sessions

    d = tmp / "sessions"
    lat = []
    n = 0
    t_all = time.perf_counter()
    with SessionWriter(d, {"source": "bench", "agent": "bench"}) as w:
        for i in range(1, int(TEN_MIN_S / 0.25) + 1):
            t = i * 0.25
            batch = [
                {
                    "type": "measures",
                    "t_s": t,
                    "speaker": sp,
                    "active": True,
                    "f0_hz": 120.0,
                    "pitch_st": 0.4,
                    "level_db": -30.0,
                    "level_rel_db": 0.5,
                    "rate_syl_s": 4.1,
                    "rate_rel": 1.02,
                    "wpm": 150.0,
                    "in_band": True,
                }
                for sp in ("agent", "customer")
            ]
            if i % 2 == 0:
                batch.append(
                    {
                        "type": "word",
                        "t_s": t,
                        "start_s": t - 1.2,
                        "end_s": t - 0.9,
                        "text": "word",
                        "speaker": "agent",
                        "confidence": 0.9,
                    }
                )
            if i % 120 == 0:  # a prompt every 30 s (more than the coach allows)
                batch.append(
                    {
                        "type": "prompt",
                        "t_s": t,
                        "kind": "pace",
                        "headline": "Slow down",
                        "detail": "190 wpm - your calm pace is 140",
                        "severity": "medium",
                        "evidence": {},
                    }
                )
            for rec in batch:
                t0 = time.perf_counter()
                w.write(rec)
                lat.append(time.perf_counter() - t0)
                n += 1
    total = time.perf_counter() - t_all
    size = w.path.stat().st_size
    for k in range(30):  # a sessions folder with 31 ten-minute logs
        shutil.copyfile(w.path, d / f"copy{k:02d}.jsonl")
    t0 = time.perf_counter()
    infos = list_sessions(d)
    list_s = time.perf_counter() - t0
    lat.sort()
    return {
        "records": n,
        "log_kib": round(size / 1024, 1),
        "write_ms_p50": round(1000 * lat[len(lat) // 2], 3),
        "write_ms_p99": round(1000 * lat[int(len(lat) * 0.99)], 3),
        "write_ms_max": round(1000 * lat[-1], 3),
        "total_s": round(total, 3),
        "list_31_sessions_s": round(list_s, 3),
        "listed": len(infos),
    }


def run(report: dict, *, quick: bool = False) -> list[tuple[str, str, str]]:
    report["cpu_count"] = os.cpu_count()
    with tempfile.TemporaryDirectory(prefix="bench_qa_") as tmpname:
        tmp = Path(tmpname)
        report["batch_prosody"] = bench_batch(tmp, n_calls=4 if quick else 8, transcribe=False)
        if not quick:
            report["batch_transcribe"] = bench_batch(tmp, n_calls=4, transcribe=True)
        report["report_10min"] = bench_report(tmp)
        report["session_log"] = bench_session_log(tmp)
    bp, rp, sl = report["batch_prosody"], report["report_10min"], report["session_log"]
    rows = [
        (
            f"batch, prosody only ({bp['calls']} calls, {bp['jobs']} workers)",
            f"{bp['calls_per_min']:.1f} calls/min, {bp['x_real_time']:.1f}x real time",
            ">= 20x real time",
        ),
        ("  parallel efficiency (prosody only)", f"{100 * bp['parallel_efficiency']:.0f} %", ">= 80 %"),
    ]
    if "batch_transcribe" in report:
        bt = report["batch_transcribe"]
        rows += [
            (
                f"batch, with transcription ({bt['calls']} calls, {bt['jobs']} workers)",
                f"{bt['calls_per_min']:.1f} calls/min, {bt['x_real_time']:.1f}x real time",
                ">= 2x real time",
            ),
            ("  parallel efficiency (transcription)", f"{100 * bt['parallel_efficiency']:.0f} %", ">= 80 %"),
        ]
    rows += [
        (
            f"report, 10-min call ({rp['timeline_points']} points, {rp['words']} words)",
            f"{rp['render_s_median']:.2f} s ({rp['html_kib']:.0f} KiB)",
            "< 3 s",
        ),
        ("  report in a fresh process (imports included)", f"{rp['render_s_cold_process']:.2f} s", "< 5 s"),
        (
            f"session log write ({sl['records']} records, 10 min)",
            f"p50 {sl['write_ms_p50']:.3f} ms, p99 {sl['write_ms_p99']:.2f} ms, max {sl['write_ms_max']:.1f} ms",
            "p99 < 20 ms",
        ),
        ("  `sessions` listing, 31 ten-minute logs", f"{sl['list_31_sessions_s'] * 1000:.0f} ms", "< 1 s"),
    ]
    report["rows"] = rows
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="prosody-only batch of 4 calls")
    args = ap.parse_args()
    report: dict = {}
    rows = run(report, quick=args.quick)
    from tables import print_rows

    print_rows(rows, header=True)
    out = ROOT / "benchmarks" / "results" / "qa.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

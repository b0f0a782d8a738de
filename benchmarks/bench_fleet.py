"""Fleet benchmark: the local process pool against the Ray engine on the same calls.

    .venv/bin/python benchmarks/bench_fleet.py            # prints a table, writes benchmarks/results/fleet.json
    .venv/bin/python benchmarks/bench_fleet.py --quick    # fewer calls

Material: copies of the bundled sample call (samples/sample_call.wav, 88.6 s stereo).

For each condition (prosody only; with transcription, Whisper tiny.en) the same calls
go through :func:`calmcall.qa.batch.batch_analyze` into a fresh output folder (no
resume; per-call JSON + HTML report, summary.csv and calls.parquet included):

* **local**: the process pool, ``jobs`` workers;
* **ray**: ``--engine ray`` on a local Ray (127.0.0.1 only) with ``jobs`` analysis
  actors. Ray is started once before the timed runs (its start-up, reported apart, is
  a once-per-run cost that a cluster pays once a day, not per batch); each timed run
  includes creating the actor pool, the actors' model loads and the decode stage.

The two engines run interleaved (local, ray, local, ray) with Ray's daemons up for
both, best of 2 each (the machine is shared; its load drifts). Reported: wall time, calls per minute, audio seconds per wall second (x real time),
per core (x real time / jobs), Ray's overhead = ray wall / local wall - 1 (goal
<= 15 %), and the speech-model loads per actor (goal: one each).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

SAMPLE = ROOT / "samples" / "sample_call.wav"


def _copies(d: Path, n: int) -> None:
    d.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        shutil.copyfile(SAMPLE, d / f"call_{i:02d}.wav")


def _run(calls: Path, out: Path, *, engine: str, transcribe: bool, jobs: int) -> dict:
    from calmcall.fleet import engine as fe
    from calmcall.qa.batch import Options, batch_analyze

    t0 = time.perf_counter()
    res = batch_analyze(str(calls), out, opts=Options(transcribe=transcribe), jobs=jobs, progress=io.StringIO(), engine=engine)
    wall = time.perf_counter() - t0
    assert not res.failed, res.failed
    row = {
        "engine": engine,
        "transcribe": transcribe,
        "calls": res.done,
        "jobs": jobs,
        "audio_s": round(res.audio_s, 1),
        "wall_s": round(wall, 2),
        "calls_per_min": round(res.done / wall * 60, 2),
        "x_real_time": round(res.audio_s / wall, 2),
        "x_real_time_per_core": round(res.audio_s / wall / jobs, 2),
    }
    if engine == "ray":
        row["model_loads_per_actor"] = sorted(fe.LAST_RUN_MODEL_LOADS.values())
    return row


def _stages(tmp: Path, name: str, reps: int) -> dict:
    """Per call (mean over the runs' JSON ``batch`` blocks): decode and total seconds,
    and the bytes written (JSON + HTML report)."""
    dec, tot, size, n = 0.0, 0.0, 0, 0
    for p in tmp.glob(f"out_{name}_*_*/call_*.json"):
        b = json.loads(p.read_text())["batch"]
        dec += float(b.get("decode_s") or 0.0)
        tot += float(b["total_s"])
        size += p.stat().st_size + (p.with_suffix(".html").stat().st_size if p.with_suffix(".html").exists() else 0)
        n += 1
    return {
        "calls": n,
        "decode_s": round(dec / max(1, n), 3),
        "total_s": round(tot / max(1, n), 2),
        "bytes_written": int(size / max(1, n)),
    }


def bench(tmp: Path, *, n_prosody: int, n_asr: int, jobs: int, reps: int = 2) -> dict:
    from calmcall.fleet.engine import _RaySession

    out: dict = {"jobs": jobs, "load_avg_before": os.getloadavg()}
    conds = [("prosody", False, n_prosody), ("asr", True, n_asr)]
    for name, _tr, n in conds:
        _copies(tmp / f"calls_{name}", n)
    t0 = time.perf_counter()
    session = _RaySession(None, jobs)
    out["ray_start_s"] = round(time.perf_counter() - t0, 2)
    try:
        for name, tr, _n in conds:
            for rep in range(reps):  # interleaved, best of reps: the machine's load drifts
                for engine in ("local", "ray"):
                    r = _run(tmp / f"calls_{name}", tmp / f"out_{name}_{engine}_{rep}", engine=engine, transcribe=tr, jobs=jobs)
                    out.setdefault(f"{name}_{engine}_runs", []).append(r)
            for engine in ("local", "ray"):
                out[f"{name}_{engine}"] = min(out[f"{name}_{engine}_runs"], key=lambda r: r["wall_s"])
            lw, rw = out[f"{name}_local"]["wall_s"], out[f"{name}_ray"]["wall_s"]
            out[f"{name}_ray_overhead"] = round(rw / lw - 1, 3)
            out[f"{name}_stage_s"] = _stages(tmp, name, reps)
    finally:
        session.close()
    out["load_avg_after"] = os.getloadavg()
    return out


def run(report: dict, *, quick: bool = False) -> list[tuple[str, str, str]]:
    jobs = 2
    with tempfile.TemporaryDirectory(prefix="bench_fleet_") as d:
        r = bench(Path(d), n_prosody=4 if quick else 8, n_asr=2 if quick else 4, jobs=jobs, reps=1 if quick else 2)
    report["fleet"] = r
    rows: list[tuple[str, str, str]] = [("fleet: local Ray start-up (once per run)", f"{r['ray_start_s']:.1f} s", "-")]
    for name, label in (("prosody", "prosody only"), ("asr", "with transcription")):
        lo, ra = r[f"{name}_local"], r[f"{name}_ray"]
        rows.append(
            (
                f"fleet: {label}, {lo['calls']} calls of 88.6 s, {jobs} workers: local / ray",
                f"{lo['wall_s']:.1f} / {ra['wall_s']:.1f} s; {lo['x_real_time']:.1f}x / {ra['x_real_time']:.1f}x real time "
                f"({lo['x_real_time_per_core']:.2f}x / {ra['x_real_time_per_core']:.2f}x per core)",
                "-",
            )
        )
        rows.append((f"fleet: Ray overhead, {label}", f"{r[f'{name}_ray_overhead'] * 100:+.1f} %", "<= 15 %"))
    rows.append(("fleet: speech-model loads per actor (transcription)", str(r["asr_ray"]["model_loads_per_actor"]), "1 each"))
    for name, label in (("prosody", "prosody only"), ("asr", "with transcription")):
        st = r[f"{name}_stage_s"]
        rows.append(
            (
                f"fleet: per 88.6 s call, {label}: decode / whole call; written",
                f"{st['decode_s']:.2f} / {st['total_s']:.1f} s; {st['bytes_written'] / 1024:.0f} KiB",
                "-",
            )
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="4 prosody-only and 2 transcribed calls")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "fleet.json")
    args = ap.parse_args(argv)
    report: dict = {"started": time.strftime("%Y-%m-%dT%H:%M:%S")}
    rows = run(report, quick=args.quick)
    from tables import print_rows

    print_rows(rows, header=True, rule=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"rows": rows, **report}, indent=1, default=str) + "\n")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

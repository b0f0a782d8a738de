"""Core benchmark: prosody analysis speed, violation → prompt delay, false prompts.

* speed: CPU seconds of the pipeline (no transcription) per second of audio per
  channel, on the bundled sample call, best of 3 (process CPU time, so a busy
  machine does not distort it much);
* delay: audio seconds from each violation's start to its prompt, over the
  scripted calls and the sample call (goal: median <= 2.5 s, max <= 3 s);
* false prompts per 10 minutes of calm speech: prompts outside any violation
  window, over the scripted calls' total duration (all of it counted as calm
  except the violation windows).
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from calmcall.analysis import run_call  # noqa: E402
from calmcall.audio_io import load_call  # noqa: E402
from calmcall.config import Config  # noqa: E402
from calmcall.events import Prompt  # noqa: E402

MAX_DELAY_S = 3.0


def _prompts(path: Path) -> list[Prompt]:
    events, _ = run_call(load_call(path), config=Config(), transcribe=False)
    return [e for e in events if isinstance(e, Prompt)]


def run(report: dict) -> list[tuple[str, str, str]]:
    import scripted

    call = load_call(ROOT / "samples" / "sample_call.wav")
    best = 1e9
    for _ in range(3):
        t0 = time.process_time()
        run_call(call, config=Config(), transcribe=False)
        best = min(best, time.process_time() - t0)
    n_ch = 2
    speed = call.duration_s * n_ch / best

    calls: list[tuple[Path, dict]] = [(ROOT / "samples" / "sample_call.wav",
                                       json.loads((ROOT / "samples" / "sample_call.truth.json").read_text()))]
    tmp = Path(tempfile.mkdtemp(prefix="calmcall-bench-"))
    for name in scripted.SCENARIOS:
        truth = scripted.render_call(scripted.scenario(name), tmp / f"{name}.wav")
        calls.append((tmp / f"{name}.wav", truth))
    delays: list[float] = []
    missed: list[str] = []
    false: list[str] = []
    calm_s = 0.0
    for path, truth in calls:
        prompts = _prompts(path)
        viol = truth["violations"]
        calm_s += truth["duration_s"] - sum(v["end_s"] - v["start_s"] for v in viol)
        for v in viol:
            hit = [p for p in prompts if p.kind == v["kind"] and v["start_s"] <= p.t_s <= v["start_s"] + MAX_DELAY_S]
            if hit:
                delays.append(hit[0].t_s - v["start_s"])
            else:
                missed.append(f"{path.stem}:{v['kind']}")
        for p in prompts:
            if not any(p.kind == v["kind"] and v["start_s"] <= p.t_s <= v["start_s"] + MAX_DELAY_S for v in viol):
                false.append(f"{path.stem}:{p.kind}@{p.t_s:.1f}")
    false_per_10min = len(false) / (calm_s / 600.0)
    report["core"] = {
        "x_realtime_per_channel": round(speed, 1),
        "cpu_s_per_audio_s_per_channel": round(best / (call.duration_s * n_ch), 5),
        "delay_median_s": round(statistics.median(delays), 2) if delays else None,
        "delay_max_s": round(max(delays), 2) if delays else None,
        "delays_s": [round(d, 2) for d in delays],
        "missed": missed,
        "false_prompts": false,
        "calm_minutes": round(calm_s / 60, 1),
        "false_prompts_per_10_min": round(false_per_10min, 1),
    }
    return [
        ("core: analysis speed (no ASR), x real time per channel", f"{speed:.0f}x", ">= 200x"),
        ("core: violation -> prompt delay, median", f"{statistics.median(delays):.2f} s" if delays else "-", "<= 2.5 s"),
        ("core: violation -> prompt delay, max", f"{max(delays):.2f} s" if delays else "-", "<= 3 s"),
        ("core: violations missed (no prompt within 3 s)", f"{len(missed)} of {len(missed) + len(delays)}", "0"),
        ("core: false prompts per 10 min of calm speech", f"{false_per_10min:.1f} ({len(false)} in {calm_s / 60:.1f} min)", "0"),
    ]


if __name__ == "__main__":
    rep: dict = {}
    rows = run(rep)
    for r in rows:
        print(" | ".join(r))
    print(json.dumps(rep["core"], indent=1))

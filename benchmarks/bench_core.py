"""Core benchmark: prosody analysis speed, pitch-tracker CPU, violation → prompt delay, false prompts.

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
CUSTOMER_MAX_DELAY_S = 4.0  # pitch and pace reach the customer's windows up to 0.67 s after the audio


def _max_delay_s(kind: str) -> float:
    return CUSTOMER_MAX_DELAY_S if kind == "customer_escalation" else MAX_DELAY_S


def pitch_cpu_ms_per_s() -> dict[str, float]:
    """CPU ms per second of audio of the pitch trackers, best of 3 (process time):
    swift-f0 on calmcall's fixed chunk grid over continuous speech (every chunk run:
    the worst case; a real channel skips its silent chunks), the same inside the
    tracker on the sample call's channels (chunks without speech skipped), and YIN
    on 40 ms frames every 10 ms (what it replaced)."""
    import numpy as np

    from calmcall.config import MeasureConfig
    from calmcall.pitch import SWIFT_HOP, SwiftPitch, yin_frames
    from calmcall.prosody import SpeakerTracker

    speech = load_call(ROOT / "samples" / "sample_call.wav")
    x = speech.agent
    cfg = MeasureConfig()
    chunk = int(round(cfg.pitch_chunk_s * 16000 / SWIFT_HOP))

    def swift_all() -> float:
        p = SwiftPitch(chunk_frames=chunk, fmin_hz=cfg.pitch_min_hz, fmax_hz=cfg.pitch_max_hz)
        p.feed(x)
        n = len(x) // (chunk * SWIFT_HOP) - 1
        t0 = time.process_time()
        for _ in range(n):
            p.run_chunk(skip=False)
        return (time.process_time() - t0) / (n * chunk * SWIFT_HOP / 16000)

    def swift_in_tracker() -> float:
        runs, total_audio = 0, 0.0
        for ch in (speech.agent, speech.customer):
            tr = SpeakerTracker(cfg)
            tr.update(ch)
            total_audio += len(ch) / 16000
            runs += tr.pitch_calls  # chunks that held speech
        # time that many chunk runs
        p = SwiftPitch(chunk_frames=chunk, fmin_hz=cfg.pitch_min_hz, fmax_hz=cfg.pitch_max_hz)
        p.feed(np.concatenate([x, x]))
        n = runs
        t0 = time.process_time()
        for _ in range(n):
            p.run_chunk(skip=False)
        return (time.process_time() - t0) / total_audio

    def yin() -> float:
        frames = np.lib.stride_tricks.sliding_window_view(x, 640)[::160]
        t0 = time.process_time()
        yin_frames(frames, sr_hz=16000, fmin_hz=65, fmax_hz=450)
        return (time.process_time() - t0) / (len(x) / 16000)

    return {
        name: round(1000 * min(f() for _ in range(3)), 2)
        for name, f in (("swift_f0_every_chunk", swift_all), ("swift_f0_speech_chunks", swift_in_tracker), ("yin", yin))
    }


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

    calls: list[tuple[Path, dict]] = [
        (ROOT / "samples" / "sample_call.wav", json.loads((ROOT / "samples" / "sample_call.truth.json").read_text()))
    ]
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
            hit = [p for p in prompts if p.kind == v["kind"] and v["start_s"] <= p.t_s <= v["start_s"] + _max_delay_s(v["kind"])]
            if hit:
                delays.append(hit[0].t_s - v["start_s"])
            else:
                missed.append(f"{path.stem}:{v['kind']}")
        for p in prompts:
            if not any(p.kind == v["kind"] and v["start_s"] <= p.t_s <= v["start_s"] + _max_delay_s(v["kind"]) for v in viol):
                false.append(f"{path.stem}:{p.kind}@{p.t_s:.1f}")
    false_per_10min = len(false) / (calm_s / 600.0)
    pitch = pitch_cpu_ms_per_s()
    report["core"] = {
        "pitch_cpu_ms_per_audio_s": pitch,
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
        (
            "core: violation -> prompt delay, max",
            f"{max(delays):.2f} s" if delays else "-",
            "<= 3 s (customer escalation <= 4 s)",
        ),
        (
            "core: violations missed (no prompt within 3 s; 4 s for customer escalation)",
            f"{len(missed)} of {len(missed) + len(delays)}",
            "0",
        ),
        (
            "core: pitch CPU per s of audio per channel: swift-f0, every 0.512 s chunk run (continuous speech)",
            f"{pitch['swift_f0_every_chunk']:.1f} ms",
            "<= 15 ms",
        ),
        (
            "core: pitch CPU per s of audio per channel: swift-f0, speech chunks only (sample call)",
            f"{pitch['swift_f0_speech_chunks']:.1f} ms",
            "<= 15 ms",
        ),
        (
            "core: pitch CPU per s of audio: YIN on 40 ms frames (replaced: doubles F0 through a phone band)",
            f"{pitch['yin']:.1f} ms",
            "-",
        ),
        ("core: false prompts per 10 min of calm speech", f"{false_per_10min:.1f} ({len(false)} in {calm_s / 60:.1f} min)", "0"),
    ]


if __name__ == "__main__":
    rep: dict = {}
    rows = run(rep)
    for r in rows:
        print(" | ".join(r))
    print(json.dumps(rep["core"], indent=1))

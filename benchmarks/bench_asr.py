"""Speech-recognition benchmark: latency, accuracy, cost of streaming transcription.

    .venv/bin/python benchmarks/bench_asr.py        # prints a table, writes benchmarks/results/asr.json

Material (../shared/audio, real recordings with exact transcripts; see benchmarks/speech_clips.py):
* a mono "agent" stream: 1.5 s silence, JFK (11 s), then the five LJSpeech clips,
  each followed by 1.5 s of silence (about 45 s);
* the stereo two-speaker clip (5 s), both channels sharing one decoder;
* a two-channel call built from the above: agent = the mono stream, customer = the
  stereo clip's two talkers and the LJSpeech clips again, placed in the agent's pauses
  and the end (turn taking, one decoder for both channels, as live).

Latency of a committed word = its ``t_s`` (audio time at which it was committed,
simulated clock charging measured compute) minus its ``end_s`` (the word's end as
timestamped by the streaming pass itself, +-0.1 s).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
for p in (ROOT / "src", ROOT):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

# the recordings and their transcripts: benchmarks/speech_clips.py, shared with the tests
from speech_clips import JFK_TEXT, SR, STEREO_TEXT, ljspeech_wavs, read_16k, require  # noqa: E402

from calmcall.asr.metrics import word_errors  # noqa: E402
from calmcall.asr.model import load_model  # noqa: E402
from calmcall.asr.stream import (  # noqa: E402
    DecodeOptions,
    SimulatedClock,
    StreamingTranscriber,
    transcribe_whole_file,
)
from calmcall.events import Word  # noqa: E402


def clips() -> list[tuple[str, np.ndarray, str]]:
    """(name, mono 16 kHz audio, reference text) for JFK and the LJSpeech clips."""
    out = [("jfk", read_16k(require("jfk/jfk.wav"))[:, 0], JFK_TEXT)]
    for wav in ljspeech_wavs():
        out.append((wav.stem, read_16k(wav)[:, 0], wav.with_suffix(".txt").read_text().strip()))
    return out


def stereo() -> tuple[np.ndarray, np.ndarray]:
    x = read_16k(require("stereo-two-speaker/stereo_diarization.wav"))
    return x[:, 0].copy(), x[:, 1].copy()


def mono_stream(gap_s: float = 1.5) -> tuple[np.ndarray, str]:
    gap = np.zeros(int(gap_s * SR), np.float32)
    parts, text = [gap], []
    for _name, x, ref in clips():
        parts += [x, gap]
        text.append(ref)
    return np.concatenate(parts), " ".join(text)


def two_channel_call() -> tuple[np.ndarray, np.ndarray, str, str]:
    """Agent = mono stream; customer speaks in the agent's pauses (turn taking)."""
    agent, agent_text = mono_stream(gap_s=6.5)
    customer = np.zeros_like(agent)
    left, right = stereo()
    pieces = [(left, STEREO_TEXT[0]), (right, STEREO_TEXT[1])]
    pieces += [(x, ref) for _n, x, ref in clips()[1:3]]
    # the agent's 6.5 s pauses: after each clip
    pos = int(6.5 * SR)
    starts = []
    for _name, x, _ref in clips():
        pos += len(x)
        starts.append(pos + int(0.5 * SR))
        pos += int(6.5 * SR)
    cust_text = []
    for (x, ref), s in zip(pieces, starts):
        x = x[: int(5.5 * SR)]
        customer[s : s + len(x)] += x
        cust_text.append(ref)
    return agent, customer, agent_text, " ".join(cust_text)


def _stream(model, channels: dict[str, np.ndarray], block_s: float = 0.1, charge: str = "wall", **kwargs):
    clock = SimulatedClock(charge=charge)
    trs = {sp: StreamingTranscriber(model, sp, clock=clock, **kwargs) for sp in channels}
    n = max(len(x) for x in channels.values())
    step = int(block_s * SR)
    events = []
    for i in range(0, n, step):
        for sp, tr in trs.items():
            events += tr.feed(channels[sp][i : i + step])
    for tr in trs.values():
        events += tr.finish()
    return events, clock


def _sample_call_wer(model) -> dict:
    """Streaming (both channels, shared clock) vs whole-file per channel on
    samples/sample_call.wav against its truth JSON's turn texts."""
    from calmcall.audio_io import load_call

    truth = json.loads((ROOT / "samples" / "sample_call.truth.json").read_text())
    call = load_call(ROOT / "samples" / "sample_call.wav")
    events, _ = _stream(model, {"agent": call.agent, "customer": call.customer})
    e_s = e_w = n = 0
    for sp in ("agent", "customer"):
        ref = " ".join(t["text"] for t in sorted(truth["turns"], key=lambda t: t["start_s"]) if t["speaker"] == sp)
        es, k = word_errors(ref, _words_text(events, sp))
        ew, _ = word_errors(ref, " ".join(w.text for w in transcribe_whole_file(model, getattr(call, sp))))
        e_s, e_w, n = e_s + es, e_w + ew, n + k
    return {"ref_words": n, "stream_wer": round(e_s / n, 4), "whole_file_wer": round(e_w / n, 4)}


def _words_text(events, speaker: str) -> str:
    return " ".join(
        e.text for e in sorted((e for e in events if isinstance(e, Word) and e.speaker == speaker), key=lambda w: w.start_s)
    )


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def run(report: dict) -> list[tuple[str, str, str]]:
    """Run the benchmark; put the details in ``report["asr"]``; return (metric, value, goal) rows."""
    r: dict = report.setdefault("asr", {})
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    model = load_model(cpu_threads=1)
    r["model_load_s"] = round(time.perf_counter() - t0, 3)
    opts = DecodeOptions()
    r["decode_options"] = {k: getattr(opts, k) for k in opts.__slots__}

    # warm-up (first pass allocates)
    transcribe_whole_file(model, clips()[0][1])

    latencies: list[float] = []
    # 1. mono stream of all clips
    audio, ref = mono_stream()
    c0 = time.process_time()
    events, clock = _stream(model, {"agent": audio})
    mono_cpu = time.process_time() - c0
    words = [e for e in events if isinstance(e, Word)]
    latencies += [w.t_s - w.end_s for w in words]
    e_s, n_s = word_errors(ref, _words_text(events, "agent"))
    c0 = time.process_time()
    whole = transcribe_whole_file(model, audio)
    whole_cpu = time.process_time() - c0
    e_w, n_w = word_errors(ref, " ".join(w.text for w in whole))
    # per-clip whole-file (each clip alone, the usual way)
    e_c = n_c = 0
    for _name, x, clip_ref in clips():
        e, n = word_errors(clip_ref, " ".join(w.text for w in transcribe_whole_file(model, x)))
        e_c += e
        n_c += n
    r["mono"] = {
        "duration_s": round(len(audio) / SR, 2),
        "words": len(words),
        "passes": clock.passes,
        "compute_s": round(clock.compute_s, 3),
        "stream_cpu_s": round(mono_cpu, 3),
        "whole_file_cpu_s": round(whole_cpu, 3),
        "stream_wer": round(e_s / n_s, 4),
        "whole_file_wer": round(e_w / n_w, 4),
        "per_clip_whole_file_wer": round(e_c / n_c, 4),
        "ref_words": n_s,
        "stream_text": _words_text(events, "agent"),
        "whole_file_text": " ".join(w.text for w in whole),
    }

    # 2. stereo clip, one decoder for both channels
    left, right = stereo()
    events, clock = _stream(model, {"agent": left, "customer": right})
    st_words = [e for e in events if isinstance(e, Word)]
    latencies += [w.t_s - w.end_s for w in st_words]
    e1, n1 = word_errors(STEREO_TEXT[0], _words_text(events, "agent"))
    e2, n2 = word_errors(STEREO_TEXT[1], _words_text(events, "customer"))
    r["stereo"] = {
        "agent": _words_text(events, "agent"),
        "customer": _words_text(events, "customer"),
        "wer": round((e1 + e2) / (n1 + n2), 4),
    }

    # 3. two-channel call: streaming vs plain transcribe of both channels
    agent, customer, ref_a, ref_c = two_channel_call()
    dur = len(agent) / SR
    w0, c0 = time.perf_counter(), time.process_time()
    events, clock = _stream(model, {"agent": agent, "customer": customer})
    stream_wall, stream_cpu = time.perf_counter() - w0, time.process_time() - c0
    call_words = [e for e in events if isinstance(e, Word)]
    latencies += [w.t_s - w.end_s for w in call_words]
    ea, na = word_errors(ref_a, _words_text(events, "agent"))
    ec, nc = word_errors(ref_c, _words_text(events, "customer"))
    w0, c0 = time.perf_counter(), time.process_time()
    plain_words = {}
    for sp, ch in (("agent", agent), ("customer", customer)):
        segs, _ = model.transcribe(ch, language="en", word_timestamps=True)
        plain_words[sp] = " ".join(s.text for s in segs)
    plain_wall, plain_cpu = time.perf_counter() - w0, time.process_time() - c0
    pa, _ = word_errors(ref_a, plain_words["agent"])
    pc, _ = word_errors(ref_c, plain_words["customer"])
    w0, c0 = time.perf_counter(), time.process_time()
    wf = {sp: transcribe_whole_file(model, ch, sp) for sp, ch in (("agent", agent), ("customer", customer))}
    wf_wall = time.perf_counter() - w0
    wa, _ = word_errors(ref_a, " ".join(w.text for w in wf["agent"]))
    wc, _ = word_errors(ref_c, " ".join(w.text for w in wf["customer"]))
    r["two_channel"] = {
        "duration_s": round(dur, 2),
        "passes": clock.passes,
        "stream_wall_s": round(stream_wall, 3),
        "stream_cpu_s": round(stream_cpu, 3),
        "plain_transcribe_wall_s": round(plain_wall, 3),
        "plain_transcribe_cpu_s": round(plain_cpu, 3),
        "plain_options": "model.transcribe(ch, language='en', word_timestamps=True), other defaults (beam 5, no VAD)",
        "whole_file_greedy_vad_wall_s": round(wf_wall, 3),
        "stream_wer": round((ea + ec) / (na + nc), 4),
        "plain_wer": round((pa + pc) / (na + nc), 4),
        "whole_file_wer": round((wa + wc) / (na + nc), 4),
        "cpu_share": round(stream_cpu / dur, 3),
    }

    # latency again, charging process CPU time instead of wall time (= a machine
    # where decoding has a core to itself; this one is shared with other jobs)
    cpu_lat: list[float] = []
    for chans in ({"agent": audio}, {"agent": left, "customer": right}, {"agent": agent, "customer": customer}):
        ev, _ = _stream(model, chans, charge="cpu")
        cpu_lat += [w.t_s - w.end_s for w in ev if isinstance(w, Word)]
    r["latency_cpu_charged_s"] = {
        "n_words": len(cpu_lat),
        "p50": round(_pct(cpu_lat, 50), 3),
        "p95": round(_pct(cpu_lat, 95), 3),
        "max": round(max(cpu_lat), 3),
    }
    r["latency_s"] = {
        "n_words": len(latencies),
        "p50": round(_pct(latencies, 50), 3),
        "p95": round(_pct(latencies, 95), 3),
        "max": round(max(latencies), 3),
        "mean": round(float(np.mean(latencies)), 3),
        "min": round(min(latencies), 3),
    }
    # a bigger text: the sample call's scripted turns (both channels, as analyze streams them)
    r["sample_call"] = _sample_call_wer(model)
    r["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    r["total_cpu_s"] = round(time.process_time() - cpu0, 2)
    r["cpu_count"] = os.cpu_count()

    m, lat, tc = r["mono"], r["latency_s"], r["two_channel"]
    ratio_wer = (m["stream_wer"] / m["whole_file_wer"]) if m["whole_file_wer"] else float("inf") if m["stream_wer"] else 1.0
    rows = [
        ("latency p50 (word end -> committed)", f"{lat['p50']:.2f} s", "<= 1.5 s"),
        ("latency p95", f"{lat['p95']:.2f} s", "<= 2.5 s"),
        ("latency max", f"{lat['max']:.2f} s", "-"),
        (
            "latency p50 / p95, CPU time charged",
            f"{r['latency_cpu_charged_s']['p50']:.2f} / {r['latency_cpu_charged_s']['p95']:.2f} s",
            "-",
        ),
        ("streaming WER (mono stream, %d words)" % m["ref_words"], f"{100 * m['stream_wer']:.1f} %", "-"),
        ("whole-file WER (same stream)", f"{100 * m['whole_file_wer']:.1f} %", "-"),
        ("streaming / whole-file WER", f"{ratio_wer:.2f}x" if ratio_wer != float("inf") else "inf (whole-file 0)", "<= 1.2x"),
        ("two-channel streaming WER / plain", f"{100 * tc['stream_wer']:.1f} % / {100 * tc['plain_wer']:.1f} %", "-"),
        (
            "two-channel time: streaming / plain transcribe",
            f"{tc['stream_wall_s']:.1f} s / {tc['plain_transcribe_wall_s']:.1f} s = {tc['stream_wall_s'] / tc['plain_transcribe_wall_s']:.2f}x",
            "<= 1.3x",
        ),
        (
            "two-channel time: streaming / whole-file greedy+VAD",
            f"{tc['stream_wall_s'] / tc['whole_file_greedy_vad_wall_s']:.2f}x",
            "-",
        ),
        ("CPU share, two-channel streaming (CPU s / audio s)", f"{100 * tc['cpu_share']:.0f} %", "< 100 % (1 core)"),
        ("peak RSS", f"{r['peak_rss_mib']:.0f} MiB", "-"),
        ("stereo clip WER", f"{100 * r['stereo']['wer']:.1f} %", "-"),
        (
            "sample call (%d scripted words, 2 ch): streaming / whole-file WER" % r["sample_call"]["ref_words"],
            f"{100 * r['sample_call']['stream_wer']:.1f} % / {100 * r['sample_call']['whole_file_wer']:.1f} % = "
            f"{r['sample_call']['stream_wer'] / max(r['sample_call']['whole_file_wer'], 1e-9):.2f}x",
            "<= 1.2x",
        ),
    ]
    r["rows"] = [list(x) for x in rows]
    return rows


def main() -> None:
    report: dict = {}
    rows = run(report)
    from tables import print_rows

    print_rows(rows)
    out = ROOT / "benchmarks" / "results" / "asr.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report["asr"], indent=2, default=str) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

"""French benchmark: WER and cost of the multilingual base model on French and English
speech, against tiny.en, with and without the repetition-loop guard.

    .venv/bin/python benchmarks/bench_french.py [--quick]     # prints a table, writes benchmarks/results/french.json

Material (rendered here with espeak-ng, nothing downloaded):
* French: the scripted calls of benchmarks/scripted_fr.py, the development script
  (voice ``fr``) and the held-out script (voices ``fr``, ``fr-be``, ``fr-ch``), agent
  and customer channels, one shared decoder (as live);
* English: the bundled sample call (samples/sample_call.wav, 88.6 s, espeak en-us /
  en-gb), the English reference.

Each condition streams the call through :class:`calmcall.asr.stream.StreamingTranscriber`
(the analyze/live path) under a simulated clock charging **process CPU time** (robust
on a shared machine). Reported per condition: WER (French: both sides through
:func:`calmcall.text.normalize_fr.normalize_text_fr`, so accents and elision are not
errors; English: :func:`calmcall.asr.metrics.word_errors`), CPU seconds per second of
audio, the slowest pass, the passes that ran away (generated more than the loop
guard's cap would allow: ``12 tokens/s of audio + 16``, a repetition loop), and the
median / p90 word latency (commit time minus word end). Peak RSS after loading each
model is measured in a fresh process.

espeak speech is not real French (docs/french.md): the WER here says how base hears a
synthetic voice, not how it hears callers.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
for p in (ROOT / "src", HERE):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from calmcall.asr.language import MULTILINGUAL_MAX_TOKENS_PER_S, call_language  # noqa: E402
from calmcall.asr.metrics import word_errors  # noqa: E402
from calmcall.asr.model import load_model  # noqa: E402
from calmcall.asr.stream import DecodeOptions, SimulatedClock, StreamingTranscriber  # noqa: E402
from calmcall.audio_io import load_call  # noqa: E402
from calmcall.events import Word  # noqa: E402
from calmcall.text.normalize_fr import normalize_text_fr  # noqa: E402

SR = 16000
CAP_FLOOR = 16


class _Counting:
    """Wraps a WhisperModel: records every pass (audio s, tokens, CPU s)."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.passes: list[tuple[float, int, float]] = []

    def transcribe(self, audio: np.ndarray, **kw: Any):
        t0 = time.process_time()
        segments, info = self.model.transcribe(audio, **kw)
        segments = list(segments)
        self.passes.append((len(audio) / SR, sum(len(s.tokens) for s in segments), time.process_time() - t0))
        return iter(segments), info

    def detect_language(self, *a: Any, **kw: Any):
        return self.model.detect_language(*a, **kw)


def _fr_errors(ref: str, hyp: str) -> tuple[int, int]:
    r, h = normalize_text_fr(ref), normalize_text_fr(hyp)
    row = list(range(len(h) + 1))
    for i, a in enumerate(r, 1):
        prev, row[0] = row[:], i
        for j, b in enumerate(h, 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a != b))
    return row[-1], len(r)


def stream_call(model: Any, channels: dict[str, np.ndarray], options: DecodeOptions, lock: Any = None) -> dict[str, Any]:
    """Stream both channels through one simulated decoder; words and cost."""
    counting = _Counting(model)
    clock = SimulatedClock(charge="cpu")
    trs = {
        sp: StreamingTranscriber(counting, sp, clock=clock, options=options, language_lock=lock)  # type: ignore[arg-type]
        for sp in channels
    }
    n = max(len(x) for x in channels.values())
    events: list[Any] = []
    t0 = time.process_time()
    for i in range(0, n, 1600):
        for sp, tr in trs.items():
            events += tr.feed(channels[sp][i : i + 1600])
    for tr in trs.values():
        events += tr.finish()
    cpu_s = time.process_time() - t0
    words = sorted((e for e in events if isinstance(e, Word)), key=lambda w: w.start_s)
    runaway = sum(1 for a_s, tok, _ in counting.passes if tok >= math.ceil(a_s * MULTILINGUAL_MAX_TOKENS_PER_S) + CAP_FLOOR - 2)
    lat = [w.t_s - w.end_s for w in words]
    return {
        "words": words,
        "cpu_s": cpu_s,
        "audio_s": n / SR,
        "passes": len(counting.passes),
        "max_pass_cpu_s": max((c for *_, c in counting.passes), default=0.0),
        "runaway_passes": runaway,
        "latency_p50_s": float(np.median(lat)) if lat else None,
        "latency_p90_s": float(np.percentile(lat, 90)) if lat else None,
        "language": getattr(lock, "language", None),
    }


def _wer(truth: dict[str, Any], words: list[Word], french: bool) -> tuple[int, int]:
    e = n = 0
    for sp in ("agent", "customer"):
        ref = " ".join(t["text"] for t in sorted(truth["turns"], key=lambda t: t["start_s"]) if t["speaker"] == sp)
        hyp = " ".join(w.text for w in words if w.speaker == sp)
        ek, nk = _fr_errors(ref, hyp) if french else word_errors(ref, hyp)
        e, n = e + ek, n + nk
    return e, n


def _rss_after_load(language: str) -> tuple[float, float]:
    """``(RSS after load, peak RSS)`` in MiB of a fresh process that loads the model of
    ``language``; read from /proc (VmRSS, VmHWM: ``ru_maxrss`` would carry the forking
    parent's peak over)."""
    code = (
        "import sys; sys.path.insert(0, %r); from calmcall.asr.model import load_model; "
        "load_model(None, language=%r); s = open('/proc/self/status').read(); "
        "print(s.split('VmRSS:')[1].split()[0], s.split('VmHWM:')[1].split()[0])" % (str(ROOT / "src"), language)
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    rss_kb, hwm_kb = out.stdout.strip().splitlines()[-1].split()
    return int(rss_kb) / 1024.0, int(hwm_kb) / 1024.0


def run(report: dict, quick: bool = False) -> list[tuple[str, str, str]]:
    from scripted_fr import DEV_SCRIPT, FR_VOICES, HELD_OUT_SCRIPT, render_french_call

    tmp = Path(tempfile.mkdtemp(prefix="calmcall-fr-"))
    t_load = time.perf_counter()
    base = load_model(None, language="fr")
    load_base_s = time.perf_counter() - t_load
    t_load = time.perf_counter()
    tiny = load_model(None)
    load_tiny_s = time.perf_counter() - t_load

    calls = [("dev", DEV_SCRIPT, "fr")]
    if not quick:
        calls += [("held_out", HELD_OUT_SCRIPT, v) for v in FR_VOICES]
    conditions = [  # name, model, language (options + lock), guard
        ("base fr, guard", base, "fr", True),
        ("base fr, no guard", base, "fr", False),
        ("base auto, guard", base, "auto", True),
    ]
    if not quick:
        conditions.append(("tiny.en (English-only) on French", tiny, "en", False))
    res: dict[str, Any] = {"french": {}, "english": {}}
    agg: dict[tuple[str, str], dict[str, float]] = {}
    for split, script, voice in calls:
        path = tmp / f"{split}_{voice}.wav"
        truth = render_french_call(path, script, voice=voice)
        call = load_call(path)
        chans = {"agent": call.agent, "customer": call.customer}
        for cname, model, lang, guard in conditions:
            opts, lock = call_language(lang)
            if not guard:
                opts = DecodeOptions(language=opts.language)
            r = stream_call(model, chans, opts, lock if lang == "auto" else None)
            e, n = _wer(truth, r["words"], french=True)
            key = f"{split}/{voice}/{cname}"
            res["french"][key] = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items() if k != "words"}
            res["french"][key].update({"errors": e, "ref_words": n, "wer": round(e / max(n, 1), 3)})
            a = agg.setdefault((split, cname), {"e": 0, "n": 0, "cpu": 0.0, "audio": 0.0, "max": 0.0, "run": 0, "calls": 0})
            a["e"] += e
            a["n"] += n
            a["cpu"] += r["cpu_s"]
            a["audio"] += r["audio_s"]
            a["max"] = max(a["max"], r["max_pass_cpu_s"])
            a["run"] += r["runaway_passes"]
            a["calls"] += 1
            print(
                f"  {key}: WER {e / max(n, 1):.1%}, {r['cpu_s'] / r['audio_s']:.2f} CPU s per audio s, "
                f"max pass {r['max_pass_cpu_s']:.2f} s, runaway passes {r['runaway_passes']}, lang {r['language']}",
                flush=True,
            )
    # English reference: the bundled sample call
    truth = json.loads((ROOT / "samples" / "sample_call.truth.json").read_text())
    call = load_call(ROOT / "samples" / "sample_call.wav")
    chans = {"agent": call.agent, "customer": call.customer}
    en_conditions = [("tiny.en en", tiny, "en"), ("base en, guard", base, "en-base")]
    if not quick:
        en_conditions.append(("base auto, guard", base, "auto"))
    for cname, model, lang in en_conditions:
        if lang == "en-base":
            opts = DecodeOptions(language="en", max_tokens_per_s=MULTILINGUAL_MAX_TOKENS_PER_S)
            lock = None
        else:
            opts, lock = call_language(lang)
            lock = lock if lang == "auto" else None
        r = stream_call(model, chans, opts, lock)
        e, n = _wer(truth, r["words"], french=False)
        res["english"][cname] = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items() if k != "words"}
        res["english"][cname].update({"errors": e, "ref_words": n, "wer": round(e / max(n, 1), 3)})
        a = agg.setdefault(("english", cname), {"e": 0, "n": 0, "cpu": 0.0, "audio": 0.0, "max": 0.0, "run": 0, "calls": 0})
        a.update(
            {
                "e": e,
                "n": n,
                "cpu": r["cpu_s"],
                "audio": r["audio_s"],
                "max": r["max_pass_cpu_s"],
                "run": r["runaway_passes"],
                "calls": 1,
            }
        )
        print(
            f"  english/{cname}: WER {e / max(n, 1):.1%}, {r['cpu_s'] / r['audio_s']:.2f} CPU s per audio s, "
            f"lang {r['language']}",
            flush=True,
        )
    rss = {name: [round(v, 1) for v in _rss_after_load(lang)] for name, lang in (("tiny.en", "en"), ("base", "fr"))}
    res["load"] = {"tiny.en_s": round(load_tiny_s, 2), "base_s": round(load_base_s, 2), "rss_after_load_and_peak_mib": rss}
    report["french"] = res
    rows: list[tuple[str, str, str]] = []
    for (split, cname), a in agg.items():
        rows.append(
            (
                f"french: {split} / {cname} ({a['calls']} call{'s' if a['calls'] > 1 else ''})",
                f"WER {a['e'] / max(a['n'], 1):.1%}, {a['cpu'] / a['audio']:.2f} CPU s/audio s, "
                f"max pass {a['max']:.2f} s, runaway {int(a['run'])}",
                "runaway 0",
            )
        )
    rows.append(
        (
            "french: model load (s) / RSS after load, peak (MiB)",
            f"tiny.en {load_tiny_s:.2f} s / {rss['tiny.en'][0]:.0f}, {rss['tiny.en'][1]:.0f}; "
            f"base {load_base_s:.2f} s / {rss['base'][0]:.0f}, {rss['base'][1]:.0f}",
            "-",
        )
    )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="the development call only, fewer conditions")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "french.json")
    args = ap.parse_args()
    report: dict = {"machine": {"cpus": os.cpu_count()}, "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
    rows = run(report, quick=args.quick)
    from tables import print_rows

    print_rows(rows, header=True, rule=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"rows": rows, **report}, indent=1) + "\n")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()

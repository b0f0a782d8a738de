"""Cues benchmark: do the right prompts come, in time, and only those?

Two sets, both run with the default config, without words (``--words none``, the
default), with the simulated streaming transcript of the call's text
(``--words truth``, :mod:`truth_words`, scripted calls only) or with real
faster-whisper (``--words whisper`` / ``--transcribe``; slow on 2 cores: a subset):

* **Randomized scripted calls** (:mod:`callgen`): ``dev`` and ``held`` splits
  (different seeds, voices and texts); the held-out figures are the final ones.
  Per condition and per kind: recall within :data:`RECALL_S` of each violation's
  start (a prompt of the violation's kind), delay, and *unjustified* prompts per
  10 minutes of calm agent speech (a prompt is justified only by a violation of
  its own kind, from its start to :data:`JUSTIFY_AFTER_S` after its end or 4 s
  after its start, whichever is later).
* **Real speech**: the AMI meeting clips in ``../shared/audio/ami-meeting``, split
  into two channels by their RTTM (benchmarks/ami.py; each speaker once as the
  agent, everyone else as the caller), clean and through the telephone channel;
  ``trn*`` clips are the development part, ``tst*`` the held-out part. Only overtalk ground
  truth exists there, so every pace/pitch/volume/escalation/phrase prompt is
  unjustified and listed.

Overtalk is also scored at the detector (before the coach's rate limit), with
:func:`callgen.real_overtalks` as the ground truth (its docstring defines a real
overtalk): precision and recall of detected onsets within :data:`ONSET_TOL_S`.

    PYTHONPATH=src nice -n 10 .venv/bin/python benchmarks/bench_cues.py [--n 60] [--jobs 2] [--words truth]

Every miss is listed with its reason (:func:`why_missed`), every unjustified prompt
with its detail.

Rerunnable: renders are cached (``benchmarks/results/callgen/``); the pipeline
always runs on the current code.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import zlib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import callgen  # noqa: E402
from speech_clips import AMI_DIR  # noqa: E402

RECALL_S = 4.0  #: a violation counts as caught by a prompt of its kind within this long of its start (s)
JUSTIFY_AFTER_S = 1.0  #: a prompt up to this long after its violation's end is still justified (s)
ONSET_TOL_S = 0.5  #: a detected overtalk onset matches a true one within this (s)
KINDS = ("pace", "pitch", "volume", "overtalk", "customer_escalation")


# ------------------------------------------------------------------------ running


WORD_MODES = ("none", "truth", "whisper")


def _analyze(
    agent: np.ndarray, customer: np.ndarray, name: str, words: str | bool, truth: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Analyse one call. ``words``: ``"none"`` (no transcript), ``"truth"`` (the
    simulated streaming transcript of the call's truth, :mod:`truth_words`, with the
    default playbook: the with-words figures without Whisper), ``"whisper"`` (real
    faster-whisper via :func:`calmcall.analysis.run_call`); ``True``/``False`` are
    whisper/none."""
    from calmcall.analysis import make_phrase_coach, run_call
    from calmcall.audio_io import Call
    from calmcall.config import Config
    from calmcall.events import Prompt, to_dict

    mode = words if isinstance(words, str) else ("whisper" if words else "none")
    call = Call(
        path=name,
        agent=agent.astype(np.float32),
        customer=customer.astype(np.float32),
        channels={"agent": 0, "customer": 1},
        source_rate_hz=16000,
        source_channels=2,
        source_format="WAV",
    )
    from calmcall import coach as coach_mod

    offered: list[list[Any]] = []  # every candidate the coach saw: [t_s, kind, severity]
    orig = coach_mod.Coach.offer

    def _spy(self: Any, candidates: list[Any], now_s: float | None = None) -> list[Any]:
        offered.extend([round(p.t_s, 2), p.kind, p.severity] for p in candidates)
        return orig(self, candidates, now_s)

    coach_mod.Coach.offer = _spy  # type: ignore[method-assign]  # this worker process only
    t0 = time.process_time()
    if mode == "truth":
        if truth is None:
            raise ValueError("words='truth' needs the call's truth (turns with their text)")
        from truth_words import run_with_words, truth_words

        events, pipe = run_with_words(call, truth_words(truth), config=Config(), phrase_coach=make_phrase_coach(None))
    else:
        events, pipe = run_call(call, config=Config(), transcribe=mode == "whisper")
    coach_mod.Coach.offer = orig  # type: ignore[method-assign]
    det = getattr(pipe, "overtalk", None)
    episodes = [e.onset_s for e in det.episodes] if det is not None and hasattr(det, "episodes") else None
    return {
        "prompts": [to_dict(e) for e in events if isinstance(e, Prompt)],
        "episodes": episodes,
        "offered": offered,
        "cpu_s": time.process_time() - t0,
    }


def _run_scripted(job: tuple[str, dict, str]) -> dict[str, Any]:
    wav, truth, words = job
    x, _ = sf.read(wav, dtype="float32", always_2d=True)
    return {"truth": truth, **_analyze(x[:, 0], x[:, 1], Path(wav).stem, words, truth)}


# ----------------------------------------------------------------------- AMI split


def ami_calls() -> list[dict[str, Any]]:
    """Each AMI clip once per speaker (benchmarks/ami.py's split): that speaker on
    the agent channel, everyone else on the caller channel; where only the other
    side talks a channel is zeroed, overlaps and silence are kept on both."""
    import ami

    out = []
    for fid in ami.DEV_CLIPS + ami.HELD_OUT_CLIPS:
        audio, turns = ami.load_clip(fid)
        for spk in sorted({t.speaker for t in turns}):
            sp = ami.split_two_channels(audio, turns, side_a=[spk])
            if not sp.side_turns[1]:
                continue  # nobody else talks in this clip
            out.append(
                {
                    "name": f"{fid}:{spk}",
                    "agent": sp.channels[0],
                    "customer": sp.channels[1],
                    "agent_spans": sp.side_turns[0],
                    "customer_spans": sp.side_turns[1],
                }
            )
    return out


def _run_ami(job: tuple[dict, str, str]) -> dict[str, Any]:
    call, condition, words = job
    rng = np.random.default_rng(zlib.crc32(call["name"].encode()))
    a, c = call["agent"].astype(np.float64), call["customer"].astype(np.float64)
    if condition == "phone":
        a, c = callgen._phone(a, rng), callgen._phone(c, rng)
    res = _analyze(a, c, call["name"], "whisper" if words == "whisper" else "none")
    merged = call["agent_spans"]
    truth = {
        "name": call["name"],
        "condition": condition,
        "violations": [{"kind": "overtalk", **o} for o in callgen.real_overtalks(call["agent_spans"], call["customer_spans"])],
        "calm_agent_s": sum(b - a for a, b in merged),
        "agent_speech_s": sum(b - a for a, b in merged),
    }
    return {"truth": truth, **res}


def _raw(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The per-call records kept in the JSON: truth, prompts and episodes."""
    keys = ("name", "condition", "violations")
    return [{**{k: r["truth"][k] for k in keys}, "prompts": r["prompts"], "episodes": r["episodes"]} for r in results]


# -------------------------------------------------------------------------- scoring


def _window(v: dict) -> tuple[float, float]:
    return v["start_s"], max(v["end_s"], v["start_s"] + RECALL_S) + JUSTIFY_AFTER_S


def score_call(r: dict[str, Any]) -> dict[str, Any]:
    """Hits, delays and unjustified prompts of one analysed call."""
    viol, prompts = r["truth"]["violations"], r["prompts"]
    hits, misses, unjust = [], [], []
    for v in viol:
        hit = [p for p in prompts if p["kind"] == v["kind"] and v["start_s"] <= p["t_s"] <= v["start_s"] + RECALL_S]
        (hits if hit else misses).append((v, hit[0]["t_s"] - v["start_s"] if hit else None))
    for p in prompts:
        if not any(p["kind"] == v["kind"] and _window(v)[0] <= p["t_s"] <= _window(v)[1] for v in viol):
            unjust.append(p)
    return {"hits": hits, "misses": misses, "unjustified": unjust}


def why_missed(r: dict[str, Any], v: dict[str, Any]) -> str:
    """Why violation ``v`` got no prompt of its kind within :data:`RECALL_S`: the
    candidate was never offered to the coach in time (``never raised``, with when it
    first was, if at all, before the violation's end + 4 s), or it was offered and the
    coach did not show it (``blocked``: by the previous prompt shown, within
    ``min_interval_s``, or by the same kind's cooldown)."""
    from calmcall.config import CoachConfig

    cc = CoachConfig()
    t0, t1 = v["start_s"], v["start_s"] + RECALL_S
    offered = [o for o in r.get("offered", []) if o[1] == v["kind"] and t0 <= o[0] <= max(v["end_s"], t1) + 4.0]
    first = min((o[0] for o in offered), default=None)
    if first is None or first > t1:
        late = f" (first offered +{first - t0:.1f} s)" if first is not None else ""
        return f"never raised{late}"
    sev = sorted({o[2] for o in offered if o[0] <= t1})
    wait_s = 0.0 if "high" in sev else cc.decision_medium_s if v["kind"] != "phrase" and "medium" in sev else cc.decision_weak_s
    if first + wait_s > t1:
        return f"raised too late to be shown in time (offered +{first - t0:.1f} s, {'/'.join(sev)}: waits {wait_s:.1f} s)"
    before = [p for p in r["prompts"] if p["t_s"] <= t1]
    same = [p for p in before if p["kind"] == v["kind"] and p["t_s"] > first - cc.cooldown_s]
    if same:
        return f"blocked: cooldown of {v['kind']} shown at {same[-1]['t_s']:.1f} (offered +{first - t0:.1f} s, {'/'.join(sev)})"
    prev = [p for p in before if p["t_s"] > first - cc.min_interval_s]
    if prev:
        q = prev[-1]
        return (
            f"blocked: rate limit after {q['kind']}/{q['severity']} shown at {q['t_s']:.1f} "
            f"(offered +{first - t0:.1f} s, {'/'.join(sev)})"
        )
    return f"blocked: lost the decision (offered +{first - t0:.1f} s, {'/'.join(sev)})"


def match_onsets(found: list[float], true: list[float], tol_s: float = ONSET_TOL_S) -> int:
    """One-to-one matches of detected and true onsets within ``tol_s``."""
    used: set[int] = set()
    n = 0
    for f in sorted(found):
        best = min((abs(f - t), i) for i, t in enumerate(true) if i not in used) if len(used) < len(true) else None
        if best is not None and best[0] <= tol_s:
            used.add(best[1])
            n += 1
    return n


def overtalk_pr(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Overtalk precision / recall at the detector (all episodes) and on the shown prompts."""
    out: dict[str, Any] = {}
    for src in ("detector", "shown"):
        tp = nf = nt = 0
        for r in results:
            true = [v["start_s"] for v in r["truth"]["violations"] if v["kind"] == "overtalk"]
            if src == "detector":
                if r["episodes"] is None:
                    out[src] = None
                    break
                found = r["episodes"]
            else:
                found = [p["evidence"].get("agent_onset_s", p["t_s"]) for p in r["prompts"] if p["kind"] == "overtalk"]
            tp += match_onsets(found, true)
            nf += len(found)
            nt += len(true)
        else:
            out[src] = {
                "tp": tp,
                "found": nf,
                "true": nt,
                "precision": tp / nf if nf else None,
                "recall": tp / nt if nt else None,
            }
    return out


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    scored = [score_call(r) for r in results]
    calm_s = sum(r["truth"]["calm_agent_s"] for r in results)
    hits = [(v["kind"], d) for s in scored for v, d in s["hits"]]
    n_viol = sum(len(s["hits"]) + len(s["misses"]) for s in scored)
    unjust = [(r["truth"]["name"], p) for r, s in zip(results, scored) for p in s["unjustified"]]
    per_kind = {}
    for k in KINDS:
        n = sum(1 for s in scored for v, _ in s["hits"] + s["misses"] if v["kind"] == k)
        d = [x for kk, x in hits if kk == k]
        per_kind[k] = {
            "n": n,
            "hit": len(d),
            "recall": len(d) / n if n else None,
            "delay_median_s": statistics.median(d) if d else None,
            "delay_max_s": max(d) if d else None,
            "unjustified": sum(1 for _, p in unjust if p["kind"] == k),
        }
    delays = [d for _, d in hits]
    return {
        "calls": len(results),
        "violations": n_viol,
        "hit": len(hits),
        "recall": len(hits) / n_viol if n_viol else None,
        "delay_median_s": statistics.median(delays) if delays else None,
        "delay_max_s": max(delays) if delays else None,
        "calm_agent_min": calm_s / 60,
        "unjustified": len(unjust),
        "unjustified_per_10min": len(unjust) / (calm_s / 600) if calm_s else None,
        "per_kind": per_kind,
        "overtalk": overtalk_pr(results),
        "missed": [
            f"{r['truth']['name']}:{v['kind']}@{v['start_s']:.1f} {r['truth']['condition']}: {why_missed(r, v)}"
            for r, s in zip(results, scored)
            for v, _ in s["misses"]
        ],
        "unjustified_list": [f"{n}:{p['kind']}@{p['t_s']:.1f} {p['detail']}" for n, p in unjust],
    }


# --------------------------------------------------------------------------- tables


def _f(v: Any, fmt: str = "{:.2f}") -> str:
    return "-" if v is None else fmt.format(v)


def _pct(v: Any) -> str:
    return "-" if v is None else f"{100 * v:.0f} %"


def print_table(title: str, rows: list[list[str]], head: list[str]) -> None:
    w = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    print(f"\n{title}")
    print("  ".join(h.ljust(n) for h, n in zip(head, w)))
    print("  ".join("-" * n for n in w))
    for r in rows:
        print("  ".join(str(x).ljust(n) for x, n in zip(r, w)))


def _cond_rows(groups: dict[str, dict]) -> list[list[str]]:
    rows = []
    for name, s in groups.items():
        ot = s["overtalk"]["detector"] or s["overtalk"]["shown"]
        rows.append(
            [
                name,
                str(s["calls"]),
                f"{s['hit']}/{s['violations']}",
                _pct(s["recall"]),
                _f(s["delay_median_s"]),
                _f(s["delay_max_s"]),
                f"{s['unjustified']}",
                _f(s["calm_agent_min"], "{:.1f}"),
                _f(s["unjustified_per_10min"], "{:.1f}"),
                f"{_pct(ot['precision'])} / {_pct(ot['recall'])} ({ot['tp']}/{ot['found']}/{ot['true']})",
            ]
        )
    return rows


COND_HEAD = [
    "set",
    "calls",
    "caught",
    "recall",
    "delay med s",
    "delay max s",
    "unjust.",
    "calm agent min",
    "unjust./10 min",
    "overtalk P / R (tp/found/true)",
]


def report_scripted(results: list[dict[str, Any]], split: str) -> dict[str, Any]:
    groups = {"all": summarize(results)}
    for c in callgen.CONDITIONS:
        sub = [r for r in results if r["truth"]["condition"] == c]
        if sub:
            groups[c] = summarize(sub)
    print_table(
        f"cues, scripted {split} ({len(results)} calls): recall within {RECALL_S:.0f} s, unjustified prompts",
        _cond_rows(groups),
        COND_HEAD,
    )
    pk = groups["all"]["per_kind"]
    print_table(
        f"cues, scripted {split}: per kind",
        [
            [k, f"{v['hit']}/{v['n']}", _pct(v["recall"]), _f(v["delay_median_s"]), _f(v["delay_max_s"]), str(v["unjustified"])]
            for k, v in pk.items()
        ],
        ["kind", "caught", "recall", "delay med s", "delay max s", "unjustified prompts"],
    )
    for line in groups["all"]["missed"]:
        print(f"  missed {line}")
    for line in groups["all"]["unjustified_list"]:
        print(f"  unjustified {line}")
    return groups


def report_ami(results: list[dict[str, Any]]) -> dict[str, Any]:
    """AMI rows per condition, for all clips and apart for the ``trn*`` clips (looked
    at while building the detector) and the ``tst*`` clips (not looked at)."""
    groups = {}
    for c in ("clean", "phone"):
        for part in ("all", "trn", "tst"):
            sub = [r for r in results if r["truth"]["condition"] == c and (part == "all" or r["truth"]["name"].startswith(part))]
            if sub:
                groups[c if part == "all" else f"{c} {part}*"] = summarize(sub)
    rows = []
    for c, s in groups.items():
        ot = s["overtalk"]["detector"] or s["overtalk"]["shown"]
        rows.append(
            [
                c,
                str(s["calls"]),
                _f(s["calm_agent_min"], "{:.1f}"),
                str(s["unjustified"]),
                _f(s["unjustified_per_10min"], "{:.1f}"),
                f"{_pct(ot['precision'])} / {_pct(ot['recall'])} ({ot['tp']}/{ot['found']}/{ot['true']})",
                f"{_pct(s['overtalk']['shown']['precision'])} / {_pct(s['overtalk']['shown']['recall'])}",
            ]
        )
    print_table(
        "cues, AMI split by RTTM (each speaker once as agent): unjustified prompts per 10 agent-minutes",
        rows,
        ["condition", "runs", "agent min", "unjust.", "unjust./10 min", "overtalk detector P / R", "overtalk shown P / R"],
    )
    for c in ("clean", "phone"):
        for line in groups.get(c, {}).get("unjustified_list", []):
            print(f"  {c}: {line}")
    return groups


# ----------------------------------------------------------------------------- main


def run_all(
    n: int = 60, jobs: int = 2, words: str = "none", ami: bool = True, splits: tuple[str, ...] = ("dev", "held"), first: int = 0
) -> dict[str, Any]:
    """Scripted splits (calls ``first`` .. ``n - 1`` of each) and the AMI runs. ``words``:
    see :func:`_analyze` (AMI has no text truth: ``"truth"`` runs it without words)."""
    if words not in WORD_MODES:
        raise ValueError(f"words must be one of {WORD_MODES}, got {words!r}")
    out: dict[str, Any] = {"n_per_split": n, "words": words}
    t0 = time.perf_counter()
    rendered = {s: callgen.render_split(s, n, jobs=jobs) for s in splits}
    out["render_s"] = round(time.perf_counter() - t0, 1)
    with ProcessPoolExecutor(jobs) as ex:
        for s in splits:
            t1 = time.perf_counter()
            res = list(ex.map(_run_scripted, [(str(w), t, words) for w, t in rendered[s][first:]]))
            out[f"scripted_{s}"] = report_scripted(res, s)
            out[f"raw_{s}"] = _raw(res)
            out[f"scripted_{s}"]["analyze_wall_s"] = round(time.perf_counter() - t1, 1)
        if ami and AMI_DIR.exists():
            calls = ami_calls()
            res = list(ex.map(_run_ami, [(c, cond, words) for cond in ("clean", "phone") for c in calls]))
            out["ami"] = report_ami(res)
            out["raw_ami"] = _raw(res)
        elif ami:
            print(f"\n(AMI clips absent: {AMI_DIR}; real-speech run skipped)")
    return out


def run(report: dict) -> list[tuple[str, str, str]]:
    """Section ``cues`` of benchmarks/run.py (dev + held-out, 60 calls each, no ASR)."""
    r = run_all()
    report["cues"] = r
    h = r["scripted_held"]["all"]
    rows = [
        ("cues: held-out recall within 4 s", f"{_pct(h['recall'])} ({h['hit']}/{h['violations']})", ">= 95 %"),
        ("cues: held-out unjustified prompts / 10 min calm agent speech", _f(h["unjustified_per_10min"], "{:.1f}"), "<= 1"),
    ]
    ot = h["overtalk"]["detector"] or h["overtalk"]["shown"]
    rows.append(
        ("cues: held-out overtalk precision / recall", f"{_pct(ot['precision'])} / {_pct(ot['recall'])}", ">= 90 % / >= 90 %")
    )
    if "ami" in r:
        for c, s in r["ami"].items():
            if c not in ("clean", "phone"):
                continue
            ot = s["overtalk"]["detector"] or s["overtalk"]["shown"]
            rows.append((f"cues: AMI {c} unjustified prompts / 10 agent-min", _f(s["unjustified_per_10min"], "{:.1f}"), "<= 1"))
            rows.append(
                (
                    f"cues: AMI {c} overtalk precision / recall",
                    f"{_pct(ot['precision'])} / {_pct(ot['recall'])}",
                    ">= 90 % / >= 90 %",
                )
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="cues benchmark (randomized scripted calls + AMI)")
    ap.add_argument("--n", type=int, default=60, help="calls per split")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--transcribe", action="store_true", help="same as --words whisper")
    ap.add_argument(
        "--words",
        choices=WORD_MODES,
        default="none",
        help="no transcript, the simulated transcript of the truth (truth_words), or real Whisper",
    )
    ap.add_argument("--first", type=int, default=0, help="skip the first calls of each split (a subset)")
    ap.add_argument("--ami-only", action="store_true", help="only the AMI runs")
    ap.add_argument("--no-ami", action="store_true")
    ap.add_argument("--splits", default="dev,held")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "cues.json")
    a = ap.parse_args(argv)
    words = "whisper" if a.transcribe else a.words
    splits = () if a.ami_only else tuple(x for x in a.splits.split(",") if x)
    r = run_all(a.n, a.jobs, words, not a.no_ami, splits, a.first)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(r, indent=1, default=str) + "\n")
    print(f"\nwrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

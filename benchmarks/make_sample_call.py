"""Build the bundled sample call: samples/sample_call.wav + samples/sample_call.truth.json.

    .venv/bin/python benchmarks/make_sample_call.py [--out samples/sample_call.wav]

Needs espeak-ng on PATH. The output is reproducible (same espeak-ng version, same
bytes). The script checks the timeline it promises in samples/README.md and
fails loudly if a change to the lines or the synthesiser breaks it.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


from benchmarks.scripted import (  # noqa: E402
    SAMPLE_OVERTALK_AFTER_ESCALATION_S,
    render_call,
    sample_call_turns,
)

MIN_VIOLATION_SPACING_S = 22.0
MAX_DURATION_S = 90.0
ORDER = ["customer_escalation", "overtalk", "pace", "volume", "pitch"]


def check_timeline(truth: dict) -> list[str]:
    """Return the broken promises (empty when the sample call is as documented)."""
    problems: list[str] = []
    v = truth["violations"]
    kinds = [x["kind"] for x in v]
    if kinds != ORDER:
        problems.append(f"violation order {kinds} != {ORDER}")
    if not 60.0 <= truth["duration_s"] <= MAX_DURATION_S:
        problems.append(f"duration {truth['duration_s']} s not in 60..{MAX_DURATION_S}")
    rate_limited = [x for x in v if x["kind"] != "overtalk"]
    for a, b in itertools.pairwise(rate_limited):
        if b["start_s"] - a["start_s"] < MIN_VIOLATION_SPACING_S - 1e-6:
            problems.append(
                f"{b['kind']} starts {b['start_s'] - a['start_s']:.2f} s after {a['kind']} (< {MIN_VIOLATION_SPACING_S} s)"
            )
    esc = next((x for x in v if x["kind"] == "customer_escalation"), None)
    ot = next((x for x in v if x["kind"] == "overtalk"), None)
    if esc and ot:
        if ot["start_s"] - esc["start_s"] < SAMPLE_OVERTALK_AFTER_ESCALATION_S - 0.01:
            problems.append(
                f"overtalk starts < {SAMPLE_OVERTALK_AFTER_ESCALATION_S} s after "
                "the escalation onset (the coach's break-through needs the room)"
            )
        cust_end = max(
            t["end_s"] for t in truth["turns"] if t["speaker"] == "customer" and t["start_s"] <= ot["start_s"] < t["end_s"]
        )
        if cust_end - ot["start_s"] < 1.5:
            problems.append("the customer stops < 1.5 s after the agent cuts in")
    for x in v:
        if x["kind"] != "overtalk" and x["end_s"] - x["start_s"] < 5.0:
            problems.append(f"{x['kind']} lasts < 5 s")
    first = v[0]["start_s"] if v else truth["duration_s"]
    calm_agent_s = sum(min(e, first) - s for s, e in truth["calm_agent_spans"] if s < first)
    if calm_agent_s < 10.0:
        problems.append(f"only {calm_agent_s:.1f} s of calm agent speech before the first violation")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--out", type=Path, default=ROOT / "samples" / "sample_call.wav", help="output WAV (the truth JSON goes next to it)"
    )
    args = ap.parse_args(argv)
    truth = render_call(sample_call_turns(), args.out)
    problems = check_timeline(truth)
    print(f"wrote {args.out} ({truth['duration_s']} s) and {args.out.with_suffix('.truth.json')}")
    for x in truth["violations"]:
        print(f"  {x['start_s']:6.2f}-{x['end_s']:6.2f} s  {x['speaker']:8s} {x['kind']}")
    if problems:
        print("timeline check FAILED:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

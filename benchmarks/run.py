"""The benchmark entry point: runs every section, prints one table, writes JSON.

    .venv/bin/python benchmarks/run.py [--only core,asr,qa,live,realspeech,cardaudio,pace,cues,fleet,french] [--out benchmarks/results/latest.json]

Each section is a module ``bench_<name>.py`` with ``run(report: dict) -> rows``.
Figures are measurements on this machine; speed and memory are never asserted
in tests.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SECTIONS = ["core", "asr", "qa", "live", "realspeech", "cardaudio", "pace", "cues", "fleet", "french"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "latest.json")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(HERE))
    report: dict = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    rows: list[tuple[str, str, str]] = []
    for name in [s.strip() for s in args.only.split(",") if s.strip()]:
        mod = importlib.import_module(f"bench_{name}")
        t0 = time.perf_counter()
        try:
            rows += mod.run(report)
        except Exception as exc:  # a broken section is reported, the others still run
            rows.append((f"{name}: FAILED", f"{type(exc).__name__}: {exc}", "-"))
        report.setdefault("section_wall_s", {})[name] = round(time.perf_counter() - t0, 1)
    from tables import print_rows

    print_rows(rows, header=True, rule=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"rows": rows, **report}, indent=1) + "\n")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

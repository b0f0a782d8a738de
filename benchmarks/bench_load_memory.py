"""Peak memory of ``load_call`` on a long silent stereo 8 kHz call (issue 14: a
3-hour file peaked at 3.5 GB). Each load runs in a fresh process; prints a table.

    python benchmarks/bench_load_memory.py [HOURS ...]      # default: 0.5 1
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

CHILD = "from calmcall.audio_io import load_call; import sys; c = load_call(sys.argv[1]); print(c.duration_s)"


def silent_call(path: Path, hours: float, rate: int = 8000) -> None:
    block = np.zeros((rate * 600, 2), dtype=np.int16)
    with sf.SoundFile(str(path), "w", samplerate=rate, channels=2, subtype="PCM_16") as f:
        left = int(hours * 3600 * rate)
        while left > 0:
            f.write(block[: min(left, len(block))])
            left -= len(block)


def peak_rss_mb(path: Path) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", CHILD, str(path)], check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(before, after) / 1024.0, time.perf_counter() - t0


def main() -> None:
    hours = [float(h) for h in sys.argv[1:]] or [0.5, 1.0]
    print(f"{'hours':>6} {'file MB':>8} {'16 kHz call MB':>15} {'peak RSS MB':>12} {'s':>6}")
    with tempfile.TemporaryDirectory() as d:
        for h in hours:
            p = Path(d) / f"silent_{h}h.wav"
            silent_call(p, h)
            rss, s = peak_rss_mb(p)
            call_mb = h * 3600 * 16000 * 2 * 4 / 1e6
            print(f"{h:>6.2f} {p.stat().st_size / 1e6:>8.0f} {call_mb:>15.0f} {rss:>12.0f} {s:>6.1f}")
            p.unlink()


if __name__ == "__main__":
    main()

"""The "sweep" section of the benchmark: a short sweep's fixed cost, parallel against one point after another.

    python benchmarks/bench.py --only sweep               # about 5 minutes on 2 cores; nothing else may run
    python benchmarks/bench.py --only sweep --repeats 5

The seed workload (bundled data, 2000 images, batch 32, 10 epochs) as a 4-point sigma sweep,
`glo sweep --headless` as a subprocess: at the default --workers, and with --workers 1 (one point
after another, each with every core). The two alternate, side by side, REPEATS times; the ratio of
the medians is the figure (target: <= 0.75). The load average before and after is printed beside
it: a busy machine (another engineer's tests) makes the ratio meaningless.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GLO = [sys.executable, "-m", "glo"]
VALUES = "0.1,0.5,1,2"
EPOCHS = 10
TARGET = 0.75


def sweep_seconds(workers: int, epochs: int = EPOCHS, values: str = VALUES) -> float:
    """Wall time of one headless sigma sweep over VALUES, from the command's start to its exit."""
    folder = tempfile.mkdtemp(prefix="glo-bench-sweep-")
    clock = time.perf_counter()
    subprocess.run([*GLO, "sweep", "--param", "sigma", "--values", values, "--headless", "--epochs", str(epochs),
                    "--device", "cpu", "--workers", str(workers), "--runs-dir", folder], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    return time.perf_counter() - clock


def load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def main(repeats: int = 3) -> None:
    print(f"before: {load()}", flush=True)
    parallel, serial = [], []
    for turn in range(repeats):
        order = ((0, parallel), (1, serial)) if turn % 2 == 0 else ((1, serial), (0, parallel))
        for workers, out in order:  # alternating which goes first, so that drift hits both alike
            out.append(sweep_seconds(workers))
            print(f"  turn {turn + 1}: --workers {workers or 'default'}: {out[-1]:.1f} s", flush=True)
    ratio = statistics.median(parallel) / statistics.median(serial)
    ratios = [p / s for p, s in zip(parallel, serial, strict=True)]
    print(f"after: {load()}")
    print("| figure | now | target |\n|---|---|---|")
    print(f"| 4-point sigma sweep (seed workload, {EPOCHS} epochs), default --workers / --workers 1 "
          f"(medians of {repeats}) | {ratio:.2f} (each turn: {', '.join(f'{r:.2f}' for r in ratios)}) "
          f"| <= {TARGET} |")
    print(f"default workers {statistics.median(parallel):.1f} s, one after another {statistics.median(serial):.1f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)

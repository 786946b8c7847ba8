"""The "load" section of the benchmark: glo on a busy machine, several runs at once, parallel sweeps.

    python benchmarks/bench.py --only load      # about 20 minutes on 2 cores (--repeats 4: 25); nothing else may run

Every ratio is measured side by side in this one run (this VM's speed drifts between runs). The
seed workload is real: `glo run --headless` on the bundled data, 2000 images, batch 32, as
subprocesses; "today's default" is the thread count glo used before its thread policy (all CPUs).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GLO = [sys.executable, "-m", "glo"]
EPOCHS = 10


def _cpus() -> int:
    sys.path.insert(0, str(ROOT))
    from glo.host.threads import allowed_cpus

    return allowed_cpus()


def run_ips(*extra: str, epochs: int = EPOCHS) -> subprocess.Popen:
    """Start a headless seed run in a fresh runs folder; ``ips(proc)`` reads its median images/s."""
    folder = tempfile.mkdtemp(prefix="glo-load-")
    proc = subprocess.Popen([*GLO, "run", "--headless", "--epochs", str(epochs), "--device", "cpu",
                             "--runs-dir", folder, *extra], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, cwd=ROOT)
    proc.folder = folder  # type: ignore[attr-defined]
    return proc


def ips(proc: subprocess.Popen) -> float:
    _, err = proc.communicate(timeout=900)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark run failed: {err[-500:]}")
    (metrics,) = Path(proc.folder).glob("*/metrics.jsonl")  # type: ignore[attr-defined]
    recs = [json.loads(x) for x in metrics.read_text().splitlines()]
    return statistics.median(r["images_per_s"] for r in recs if r.get("event") == "epoch")


def busy() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def alone(*extra: str) -> float:
    return ips(run_ips(*extra))


def beside_busy(*extra: str) -> float:
    hog = busy()
    try:
        time.sleep(0.5)
        return ips(run_ips(*extra))
    finally:
        hog.kill()
        hog.wait()


def two_at_once(*extra: str) -> float:
    a, b = run_ips(*extra), run_ips(*extra)
    return ips(a) + ips(b)


def sweep_seconds(workers: int) -> float:
    """The 8-point sigma sweep's wall time (benchmarks/sweep.py runs it)."""
    from sweep import sweep_seconds as timed  # beside this file, as bench.py imports both

    return timed(workers, EPOCHS, "0,0.01,0.1,0.3,0.6,0.9,2,5")


def measure(repeats: int) -> dict[str, list[float]]:
    """Each figure REPEATS times, interleaved so that drift hits all alike."""
    today = ("--threads", str(_cpus()))
    out: dict[str, list[float]] = {}
    for _ in range(repeats):
        for name, fn in (
            ("idle", lambda: alone()),
            ("idle_today", lambda: alone(*today)),
            ("busy", lambda: beside_busy()),
            ("busy_today", lambda: beside_busy(*today)),
            ("two", lambda: two_at_once()),
            ("two_today", lambda: two_at_once(*today)),
        ):
            out.setdefault(name, []).append(fn())
        out.setdefault("sweep_parallel_s", []).append(sweep_seconds(0))
        out.setdefault("sweep_serial_s", []).append(sweep_seconds(1))
    return out


def table(m: dict[str, list[float]], console: dict[str, dict[str, float]] | None = None) -> str:
    med = {k: statistics.median(v) for k, v in m.items()}
    rows = [
        ("beside one busy process / idle, images/s", med["busy_today"] / med["idle_today"],
         med["busy"] / med["idle"], ">= 0.6"),
        ("two glo runs at once, combined / one run alone", med["two_today"] / med["idle_today"],
         med["two"] / med["idle"], ">= 1.2"),
        ("idle images/s vs today's default", 1.0, med["idle"] / med["idle_today"], ">= 0.95"),
        ("8-point sigma sweep (10 epochs), default --workers / one after another", 1.0,
         med["sweep_parallel_s"] / med["sweep_serial_s"], "<= 0.8"),
    ]
    if console:
        rows.append(("console / headless images/s (median of interleaved turns)", float("nan"),
                     console["interleaved"]["median"], ">= 0.95"))
    lines = ["| figure | before (threads = all CPUs, serial sweeps) | now | target |", "|---|---|---|---|"]
    lines += [f"| {name} | {before:.2f} | {now:.2f} | {target} |" for name, before, now, target in rows]
    lines.append("")
    lines.append("images/s (medians): " + ", ".join(f"{k} {v:.0f}" for k, v in med.items() if "sweep" not in k)
                 + f"; sweep {med['sweep_parallel_s']:.1f} s (default workers) vs {med['sweep_serial_s']:.1f} s")
    if console:
        import console as pairs  # benchmarks/console.py

        turns = pairs.describe(console["interleaved"], "turns")
        lines.append(f"console / headless, interleaved turns (threads fixed): {turns}")
        if "pairs" in console:
            lines.append(f"console / headless, whole runs (thread policy): {pairs.describe(console['pairs'])}")
    return "\n".join(lines)


def main(repeats: int = 2, console: dict[str, dict[str, float]] | None = None) -> None:
    print(table(measure(repeats), console), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2)

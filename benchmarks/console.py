"""Training in the console against training headless: images/s, and the console thread's CPU.

Each pair is one headless run and one console run of the seed workload (``EPOCHS`` epochs, each in
a fresh subprocess), in ABBA order so that drift hits both alike. This VM's speed moves by 10-20%
within a minute, so one pair says little: the ratio is reported as the median and the mean of the
pairs' ratios, with the mean's standard error. The console's thread is also timed directly (its CPU
seconds while the run trains, as a share of one core): that figure does not drift with the VM.

    python benchmarks/bench.py --skip seed flops startup --console-repeats 16
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EPOCHS = 20  # per run: the median epoch of 20 drifts less than that of 10


def _epochs() -> int:
    return int(os.environ.get("GLO_BENCH_EPOCHS", str(EPOCHS)))


def _threads() -> int:
    return int(os.environ.get("GLO_BENCH_THREADS", "0"))


def console_child() -> dict[str, float]:
    """In a subprocess: the seed workload inside the console (driven by run_test, size 120x40)."""
    import asyncio
    import tempfile

    from glo.config import RunConfig
    from glo.prepare import prepare
    from glo.runs import RunStore
    from tui.app import create_app

    store = RunStore(tempfile.mkdtemp(prefix="glo-bench-"))
    prepared = prepare(RunConfig(device="cpu", epochs=_epochs(), threads=_threads()), store, None)
    ui: dict[str, float] = {}

    async def drive() -> None:
        app = create_app(runs_dir=store.root, prepared=prepared)
        async with app.run_test(size=(120, 40)):
            # wait without Pilot: pilot.pause() sends every widget a callback and waits for the
            # screen, several times a second, work that a console in a terminal never does; the
            # state is read from memory (no files on this thread while the run trains)
            def status():
                return app.screen.status.run

            while status().epoch < 1:  # the first epoch: the console's start-up is over
                await asyncio.sleep(0.05)
            ui["cpu0"], ui["wall0"] = time.thread_time(), time.perf_counter()
            while status().epoch < prepared.cfg.epochs:  # to the last epoch (not the run's end)
                await asyncio.sleep(0.25)
            ui["cpu1"], ui["wall1"] = time.thread_time(), time.perf_counter()
            while prepared.run.read_summary() is None:
                await asyncio.sleep(0.25)

    asyncio.run(drive())
    out = _speed(prepared.run.epochs())
    out["ui_cpu_share"] = (ui["cpu1"] - ui["cpu0"]) / (ui["wall1"] - ui["wall0"])
    return out


def headless_child() -> dict[str, float]:
    from glo.config import RunConfig
    from glo.events import Epoch
    from glo.train import train

    cfg = RunConfig(device="cpu", epochs=_epochs(), threads=_threads())
    return _speed([ev.record for ev in train(cfg) if isinstance(ev, Epoch)])


def _speed(records: list[dict]) -> dict[str, float]:
    return {"images_per_s": statistics.median(r["images_per_s"] for r in records),
            "elapsed_s": records[-1]["elapsed_s"]}


def _child(mode: str) -> dict[str, float]:
    res = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--child", mode],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(res.stdout.strip().splitlines()[-1])


def pairs(repeats: int) -> dict[str, list[float]]:
    """REPEATS pairs in ABBA order: images/s of each, their ratios, the console thread's CPU."""
    out: dict[str, list[float]] = {"headless": [], "console": [], "ratio": [], "ui_cpu_share": []}
    for i in range(repeats):
        vals = {}
        for mode in ("headless", "console") if i % 2 == 0 else ("console", "headless"):
            vals[mode] = _child(mode)
        out["headless"].append(vals["headless"]["images_per_s"])
        out["console"].append(vals["console"]["images_per_s"])
        out["ratio"].append(out["console"][-1] / out["headless"][-1])
        out["ui_cpu_share"].append(vals["console"]["ui_cpu_share"])
    return out


def summary(p: dict[str, list[float]]) -> dict[str, float]:
    r = p["ratio"]
    se = statistics.stdev(r) / math.sqrt(len(r)) if len(r) > 1 else float("nan")
    return {"median": statistics.median(r), "mean": statistics.mean(r), "se": se, "pairs": len(r),
            "console": statistics.median(p["console"]), "headless": statistics.median(p["headless"]),
            "ui_cpu_share": statistics.median(p["ui_cpu_share"])}


def describe(s: dict[str, float]) -> str:
    """One line: 'median 0.97, mean 0.98 +- 0.02 of 12 pairs (3400 vs 3450 images/s); console thread 2.1% of a core'."""
    return (f"median {s['median']:.3f}, mean {s['mean']:.3f} ± {s['se']:.3f} of {s['pairs']} pairs "
            f"({s['console']:.0f} vs {s['headless']:.0f} images/s); console thread "
            f"{s['ui_cpu_share']:.1%} of a core while training")

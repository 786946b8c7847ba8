"""Training in the console against training headless: images/s, and the console thread's CPU.

This VM's speed moves by 10-20% within a minute (and by as much from one epoch to the next), so
the two are compared two ways, each as a ratio per pair with its median, mean and standard error:

- ``interleaved``: one headless and one console run of the seed workload train at once, but the
  harness keeps one of them stopped (SIGSTOP) while the other trains, and they take turns of a few
  epochs. Each headless turn is paired with the console turn next to it, seconds apart, so drift
  hits both alike; 40 turns each take under 5 minutes. Thread counts are fixed (see there).
- ``pairs``: whole runs (``EPOCHS`` epochs, each in a fresh subprocess, the default thread policy),
  headless then console, in ABBA order; slower, and each pair is 20 s apart. It also times the
  console's thread directly (its CPU seconds while the run trains, as a share of one core).

    python benchmarks/bench.py --skip seed flops startup --console-repeats 16
"""

from __future__ import annotations

import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from glo.host import atomic
from glo.host.threads import allowed_cpus

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
    from glo.store.runs import RunStore
    from glo.train.prepare import prepare
    from tui.app import create_app

    store = RunStore(tempfile.mkdtemp(prefix="glo-bench-"))
    prepared = prepare(RunConfig(device="cpu", epochs=_epochs(), threads=_threads()), store, None)
    print(json.dumps({"run": str(prepared.run.path)}), flush=True)  # for interleaved()
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
    from glo.train.loop import train

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
    out = {"median": statistics.median(r), "mean": statistics.mean(r), "se": se, "pairs": len(r),
           "console": statistics.median(p["console"]), "headless": statistics.median(p["headless"])}
    if p.get("ui_cpu_share"):
        out["ui_cpu_share"] = statistics.median(p["ui_cpu_share"])
    return out


def describe(s: dict[str, float], what: str = "pairs") -> str:
    """One line: 'median 0.970, mean 0.980 ± 0.020 of 12 pairs (3400 vs 3450 images/s)'."""
    line = (f"median {s['median']:.3f}, mean {s['mean']:.3f} ± {s['se']:.3f} of {s['pairs']} {what} "
            f"({s['console']:.0f} vs {s['headless']:.0f} images/s)")
    if "ui_cpu_share" in s:
        line += f"; console thread {s['ui_cpu_share']:.1%} of a core while training"
    return line


class _Turns:
    """A training subprocess that the harness stops and continues (SIGSTOP, SIGCONT) between epochs."""

    def __init__(self, argv: list[str], metrics: Callable[[], Path | None] | None, env: dict[str, str]) -> None:
        # stdout: the console child's first line names its run folder (nothing else is read)
        self.proc = subprocess.Popen(argv, cwd=ROOT, env=env, stderr=subprocess.DEVNULL, text=True,
                                     stdout=subprocess.DEVNULL if metrics else subprocess.PIPE)
        self.metrics, self.path, self.valid = metrics, None, []
        self._size, self._records = -1, []

    def records(self) -> list[dict]:
        """The epoch records so far. Polled every 10 ms while the other run is measured, so the
        file is read and parsed again only when its size has changed (a torn last line is left out)."""
        self.path = self.path or self.metrics()
        try:
            size = os.stat(self.path).st_size if self.path is not None else -1
        except FileNotFoundError:
            size = -1
        if size != self._size:
            text = self.path.read_text() if size >= 0 else ""
            self._size = size
            self._records = [r for r in atomic.parse_jsonl(text, "metrics.jsonl")[0] if r.get("event") == "epoch"]
        return self._records

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def warm_up(self, epochs: int) -> None:
        """Train alone until EPOCHS epochs are recorded, then stop."""
        while len(self.records()) < epochs and self.proc.poll() is None:
            time.sleep(0.02)
        self.signal(signal.SIGSTOP)

    def turn(self, epochs: int) -> None:
        """Run until EPOCHS more epochs are recorded, then stop. All but the first of them count:
        they started and ended within this turn, while the other process was stopped."""
        start = len(self.records())
        self.signal(signal.SIGCONT)
        while len(recs := self.records()) < start + epochs and self.proc.poll() is None:
            time.sleep(0.01)
        self.signal(signal.SIGSTOP)
        if len(recs) < start + epochs:
            raise SystemExit(f"a benchmark run ended early (exit code {self.proc.returncode})")
        counted = [r["images_per_s"] for r in recs[start + 1:start + epochs]]
        self.valid.append(statistics.harmonic_mean(counted))  # the same images each epoch: images / time


def interleaved(turns: int = 30, per_turn: int = 4) -> dict[str, list[float]]:
    """Headless and console runs, one stopped while the other trains, taking turns of PER_TURN
    epochs (about 3 s); a turn's speed is that of all its epochs but the first.

    Each starts alone and trains WARM epochs before it is stopped (so that neither meets the other
    while its thread count is first chosen); then the two alternate every few seconds, so this VM's
    drift (10-20% within a minute) hits both alike, and each headless turn is paired with the
    console turn next to it."""
    warm = 3
    epochs = warm + per_turn * turns + 2
    # threads fixed at the count an idle machine gets: a policy probe timed across a stop would
    # otherwise move a run to 1 thread for the next 30 s
    threads = str(_threads() or allowed_cpus())
    env = dict(os.environ, GLO_BENCH_EPOCHS=str(epochs), GLO_BENCH_THREADS=threads)
    console = _Turns([sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--child", "console"], None, env)
    first = json.loads(console.proc.stdout.readline())
    console.metrics = lambda: Path(first["run"]) / "metrics.jsonl"
    folder = Path(tempfile.mkdtemp(prefix="glo-bench-headless-"))
    argv = [sys.executable, "-m", "glo", "run", "--headless", "--device", "cpu", "--epochs", str(epochs),
            "--threads", threads, "--runs-dir", str(folder)]
    both: list[_Turns] = [console]
    try:
        console.warm_up(warm)
        both.append(_Turns(argv, lambda: next(folder.glob("*/metrics.jsonl"), None), env))
        both[1].warm_up(warm)
        for i in range(turns):
            for t in both if i % 2 else both[::-1]:
                t.turn(per_turn)
    finally:
        for t in both:
            t.signal(signal.SIGCONT)
            t.proc.kill()
            t.proc.wait()
    console, headless = both
    assert all(r.get("threads") == int(threads) for t in both for r in t.records()), "a thread count changed"
    ratios = [c / h for h, c in zip(headless.valid, console.valid, strict=False)]
    return {"headless": headless.valid, "console": console.valid, "ratio": ratios}

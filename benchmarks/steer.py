"""The control channel's cost and speed (glo/train/channel.py): what looking for requests and keeping
steps.bin adds to a training step, and how long a request takes to be applied and acknowledged.

    python benchmarks/steer.py                 # about a minute on 2 cores
    python benchmarks/steer.py --requests 50

Per step: the link's work after each step (a steps.bin record into a buffer, a clock read) timed
over many calls, plus one poll (flushing steps.bin, one os.scandir of the empty control folder)
timed alone and spread over the steps of POLL_S seconds; both against the seed workload's median
step time (2000 images, batch 32, 1 thread). Latency: a headless run (a subprocess) is asked to
change sigma N times (``glo.train.channel.ask``), each time until its acknowledgement is read back
from metrics.jsonl (``answer``): that is the whole round trip a ``glo runs set`` waits for.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def step_time(steps: int = 400) -> float:
    """Median seconds per training step of the seed workload on 1 thread (no run folder)."""
    import torch

    from glo.config import RunConfig
    from glo.events import Step
    from glo.train.loop import train

    torch.set_num_threads(1)
    stamps = []
    for ev in train(RunConfig(device="cpu", threads=1, epochs=100)):
        if isinstance(ev, Step):
            stamps.append(time.perf_counter())
            if len(stamps) > steps:
                break
    return statistics.median(b - a for a, b in itertools.pairwise(stamps))


def link_costs(step_s: float, calls: int = 200_000) -> tuple[float, float]:
    """(seconds per ``stepped`` call between polls, seconds per poll with STEP_S-long steps) on a
    real run folder."""
    from glo.config import RunConfig
    from glo.events import Step
    from glo.store.runs import RunStore
    from glo.train import channel
    from glo.train.controls import Controls

    with tempfile.TemporaryDirectory() as tmp:
        run = RunStore(tmp).create(RunConfig())
        run.mark_running()
        link = channel.Link(run, Controls(), run.append_metrics, 63, 0)
        steps = [Step(i, i // 63 + 1, i % 63 + 1, 0.1, 2000.0) for i in range(1, calls + 1)]
        link.last = time.monotonic() + 3600  # no poll while the calls are timed
        t0 = time.perf_counter()
        for s in steps:
            link.poll(s.step, s.epoch)
            link.stepped(s)
        per_call = (time.perf_counter() - t0) / calls
        link.steps._buffer.clear()
        between = steps[: max(1, round(channel.POLL_S / step_s))]  # the steps of one poll interval
        polls = []
        for _ in range(200):
            for s in between:
                link.steps.add(s)
            t0 = time.perf_counter()
            link.steps.flush()
            link.check(1, 1)
            polls.append(time.perf_counter() - t0)
        link.close()
    return per_call, statistics.median(polls)


def latency(requests: int) -> list[float]:
    """Seconds from writing each of REQUESTS requests to reading its acknowledgement."""
    from glo.store.runs import RunStore
    from glo.train.channel import answer, ask

    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen([sys.executable, "-m", "glo", "run", "--headless", "--threads", "1", "--epochs", "1000",
                                 "--name", "bench", "--runs-dir", tmp], env=env, stdout=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 120
            while True:
                runs = RunStore(tmp).runs()
                if runs and runs[0].is_live() and runs[0].file("steps.bin").exists():
                    run = runs[0]
                    break
                if time.monotonic() > deadline:
                    raise SystemExit("the run did not start")
                time.sleep(0.1)
            time.sleep(2)
            out = []
            for i in range(requests):
                t0 = time.perf_counter()
                ack = answer(ask(run, "set", {"sigma": 0.3 + 0.01 * (i % 2)}, "bench"), timeout=10)
                out.append(time.perf_counter() - t0 if ack else float("inf"))
                time.sleep(0.137)  # land anywhere in the run's poll interval
            return out
        finally:
            proc.terminate()
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    from glo.train.channel import POLL_S

    step_s = step_time()
    per_call, per_poll = link_costs(step_s)
    per_step = per_call + per_poll * step_s / POLL_S
    lat = latency(args.requests)
    print("| measure | value |\n|---|---|")
    print(f"| seed step (2000 images, batch 32, 1 thread), median | {step_s * 1e3:.2f} ms |")
    print(f"| link before and after each step (between polls) | {per_call * 1e6:.2f} us |")
    print(f"| one poll (flush steps.bin + scandir control/), every {POLL_S:g} s | {per_poll * 1e6:.1f} us |")
    print(f"| channel cost per step | {per_step * 1e6:.2f} us = {100 * per_step / step_s:.3f}% of a step |")
    median_ms = statistics.median(lat) * 1e3
    print(f"| request round trip (ask to acknowledgement), median of {len(lat)} | {median_ms:.0f} ms |")
    lat.sort()
    print(f"| request round trip, 90th percentile | {lat[int(0.9 * (len(lat) - 1))] * 1e3:.0f} ms |")
    print(f"| request round trip, max | {lat[-1] * 1e3:.0f} ms |")


if __name__ == "__main__":
    main()

"""glo's performance table: time to quality, throughput vs matmul peak, console overhead,
start-up and memory. Prints one Markdown table of medians.

    python benchmarks/bench.py               # everything, 3 repeats (about 13 minutes on 2 cores)
    python benchmarks/bench.py --repeats 5 --skip console

Run it on a quiet machine: every figure is wall-clock.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUALITY = 0.08


def seed_run_child() -> None:
    """In a subprocess: one seed run; prints its epoch records and peak RSS as JSON."""
    import resource

    from glo.config import RunConfig
    from glo.events import Epoch
    from glo.train.loop import train

    t0 = time.perf_counter()
    records = [ev.record for ev in train(RunConfig(device="cpu")) if isinstance(ev, Epoch)]
    wall = time.perf_counter() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"records": records, "wall_s": wall, "rss_mb": rss_mb}))


def seed_runs(repeats: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"tq_s": [], "tq_epoch": [], "final": [], "ips": [], "rss": [], "wall": []}
    for _ in range(repeats):
        res = subprocess.run([sys.executable, __file__, "--child", "seed"], capture_output=True, text=True,
                             check=True, cwd=ROOT)
        data = json.loads(res.stdout.strip().splitlines()[-1])
        recs = data["records"]
        hit = next((r for r in recs if r["recon_loss"] <= QUALITY), None)
        out["tq_s"].append(hit["elapsed_s"] if hit else float("nan"))
        out["tq_epoch"].append(hit["epoch"] if hit else float("nan"))
        out["final"].append(recs[-1]["recon_loss"])
        out["ips"].append(statistics.median(r["images_per_s"] for r in recs))
        out["rss"].append(data["rss_mb"])
        out["wall"].append(data["wall_s"])
    return out


def flops_and_peak() -> dict[str, float]:
    """FLOPs per trained image (forward + backward, counted by torch) and the matmul peak."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from glo.model.nets import GLO
    from glo.train.trainer import objective

    model = GLO(2000)
    idx, lab, x = torch.arange(32), torch.arange(32) % 10, torch.rand(32, 1, 28, 28)
    noise = torch.randn(32, 25) * 0.3
    with FlopCounterMode(display=False) as fc:
        objective(model, idx, lab, x, noise, "l1+l2", 1e-3).backward()
    flop_per_image = fc.get_total_flops() / 32

    # the matrix-heavy part alone: generator forward + backward on a batch of 32
    z = torch.randn(32, 50, requires_grad=True)
    gen = model.generator
    for _ in range(20):
        gen(z).sum().backward()
    t, n = time.perf_counter(), 300
    for _ in range(n):
        gen(z).sum().backward()
    gen_s = (time.perf_counter() - t) / n
    with FlopCounterMode(display=False) as fc2:
        gen(z).sum().backward()
    gen_gflops = fc2.get_total_flops() / gen_s / 1e9

    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    for _ in range(3):
        a @ b
    times = []
    for _ in range(10):
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    peak = 2 * 2048**3 / statistics.median(times) / 1e9
    return {"mflop_per_image": flop_per_image / 1e6, "peak_gflops": peak, "gen_gflops": gen_gflops}


def startup(repeats: int) -> dict[str, list[float]]:
    glo = str(Path(sys.executable).with_name("glo"))
    help_s = []
    for _ in range(repeats):
        t = time.perf_counter()
        subprocess.run([glo, "--help"], capture_output=True, check=True)
        help_s.append(time.perf_counter() - t)
    first = []
    code = textwrap.dedent(
        """
        import asyncio, sys, time
        t0 = float(sys.argv[1])
        from tui.app import create_app
        async def main():
            app = create_app(runs_dir="/tmp/glo-bench-runs")
            async with app.run_test(size=(100, 30)) as pilot:
                await pilot.pause()
                print(time.time() - t0)
        asyncio.run(main())
        """
    )
    for _ in range(repeats):
        res = subprocess.run([sys.executable, "-c", code, str(time.time())], capture_output=True, text=True,
                             check=True, cwd=ROOT)
        first.append(float(res.stdout.strip().splitlines()[-1]))
    return {"help": help_s, "first_screen": first}


def console_figures(console, pairs: int) -> dict[str, dict[str, float]]:
    """benchmarks/console.py: 40 interleaved turns, and PAIRS whole-run pairs (none if 0)."""
    out = {"interleaved": console.summary(console.interleaved(40))}
    if pairs:
        out["pairs"] = console.summary(console.pairs(pairs))
    return out


def many_runs(count: int, repeats: int) -> None:
    """The "many runs" table (benchmarks/many_runs.py): a runs folder of COUNT copies of a real run."""
    sys.path.insert(0, str(Path(__file__).parent))
    import many_runs as many

    rows = many.figures(count, repeats)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}; "
          f"{count} runs; medians of {repeats} (cold: of {max(1, repeats - 1)})")
    print("| figure | measured | target |")
    print("|---|---|---|")
    for name, value, target in rows:
        print(f"| {name} | {value} | {target} |")


def med(xs: list[float]) -> float:
    return statistics.median(xs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--console-repeats", type=int, default=6,
                    help="whole-run headless/console pairs after the interleaved turns (benchmarks/console.py)")
    ap.add_argument("--skip", nargs="*", default=[], choices=["seed", "flops", "startup", "console"])
    ap.add_argument("--child", choices=["seed", "console", "headless"])
    ap.add_argument("--only", choices=["load", "sweep"], help="load: a busy machine, several runs at once, "
                    "parallel sweeps, console vs headless (benchmarks/load.py; its own table); sweep: a short "
                    "sweep's fixed cost, default workers against one point after another (benchmarks/sweep.py)")
    ap.add_argument("--many-runs", type=int, nargs="?", const=10_000, metavar="N",
                    help="only the many-runs table: a runs folder of N (10,000) runs (benchmarks/many_runs.py)")
    args = ap.parse_args()
    if args.many_runs:
        many_runs(args.many_runs, args.repeats)
        return
    sys.path.insert(0, str(Path(__file__).parent))
    import console

    if args.child == "seed":
        seed_run_child()
        return
    if args.child:
        print(json.dumps({"console": console.console_child, "headless": console.headless_child}[args.child]()))
        return
    if args.only == "sweep":
        import sweep

        sweep.main(args.repeats)
        return
    if args.only == "load":
        import load

        load.main(max(2, args.repeats - 1), console_figures(console, args.console_repeats))
        return
    import torch

    rows = []
    if "seed" not in args.skip:
        s = seed_runs(args.repeats)
        rows += [
            (f"time to recon_loss <= {QUALITY} (seed workload)",
             f"{med(s['tq_s']):.1f} s (epoch {med(s['tq_epoch']):.0f})", "<= 15 s"),
            ("recon_loss after 50 epochs", f"{med(s['final']):.4f}", "<= 0.07 (seed)"),
            ("wall time, 50 epochs", f"{med(s['wall']):.1f} s", ""),
            ("training images/s (median epoch)", f"{med(s['ips']):.0f}", ""),
            ("peak RSS, seed run", f"{med(s['rss']):.0f} MB", "<= 1024 MB"),
        ]
    if "flops" not in args.skip:
        f = flops_and_peak()
        if "seed" not in args.skip:
            achieved = med(s["ips"]) * f["mflop_per_image"] / 1000
            rows.append(("training step GFLOP/s (whole step)",
                         f"{achieved:.1f} ({achieved / f['peak_gflops']:.0%} of peak)", ""))
        rows += [
            ("FLOPs per trained image (fwd+bwd)", f"{f['mflop_per_image']:.2f} MFLOP", ""),
            ("generator fwd+bwd GFLOP/s (matrix-heavy part)",
             f"{f['gen_gflops']:.1f} ({f['gen_gflops'] / f['peak_gflops']:.0%} of peak)", ">= 50%"),
            ("matmul peak (2048x2048 fp32)", f"{f['peak_gflops']:.1f} GFLOP/s", ""),
        ]
    if "console" not in args.skip:
        c = console_figures(console, args.console_repeats)
        rows.append(("console vs headless images/s, interleaved turns", console.describe(c["interleaved"], "turns"),
                     ">= 0.95"))
        if "pairs" in c:
            rows.append(("console vs headless images/s, whole runs", console.describe(c["pairs"]), ">= 0.95"))
    if "startup" not in args.skip:
        st = startup(max(args.repeats, 5))
        rows += [
            ("`glo --help` wall time", f"{med(st['help']):.2f} s", "<= 0.3 s"),
            ("console first screen", f"{med(st['first_screen']):.2f} s", "<= 1.5 s"),
        ]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, python {platform.python_version()}; medians of {args.repeats} "
          f"(console: 40 interleaved turns, {args.console_repeats} pairs of {console.EPOCHS}-epoch runs)")
    print("| figure | measured | target |")
    print("|---|---|---|")
    for name, value, target in rows:
        print(f"| {name} | {value} | {target} |")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()

"""The GPU path against the CPU, in one command: the seed workload, a 64x64 colour workload and a
16-point sweep packed on one GPU, each timed on cuda (fp32 and bf16) and on the CPU.

    python benchmarks/gpu.py                          # everything, default sizes
    python benchmarks/gpu.py --epochs 2 --colour-n 5000 --workers 8
    python benchmarks/gpu.py --ray HOST:PORT --gpus-per-run 0.0625   # the sweep on a Ray cluster

Without a CUDA GPU it says so in one line and exits 2, having run nothing. Every workload is a real
``glo run --headless`` (the sweep a real ``glo sweep --headless``) in a child process, in a
temporary runs folder; each line gives the wall time, the last epoch's training images per second
and its reconstruction loss. The colour workload reads a synthetic image folder (random pixels,
``benchmarks/memory.py``'s placeholder files and decoded cache) made once under --root.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from glo.store.runs import RunStore  # noqa: E402

# the 16 points of the sweep: sigma x seed
SWEEP = [("sigma", "0,0.1,0.3,1"), ("seed", "0,1,2,3")]


def glo(args: list[str], runs: Path) -> tuple[float, dict]:
    """Seconds a glo command took and the last epoch record of the newest run it wrote."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    clock = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "glo", *args, "--runs-dir", str(runs)], env=env, cwd=runs,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - clock
    if done.returncode:
        raise SystemExit(f"glo {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-400:]}")
    records = [rec for run in RunStore(runs).runs() for _, rec in [run.last_epoch()] if rec]
    last = records[-1] if records else {}
    if len(records) > 1:  # a sweep: its points' throughput summed, their mean loss
        last = {"images_per_s": sum(r["images_per_s"] for r in records),
                "recon_loss": sum(r["recon_loss"] for r in records) / len(records), "points": len(records)}
    return seconds, last


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--colour-n", type=int, default=20000, help="images of the 64x64 colour workload")
    ap.add_argument("--workers", type=int, default=16, help="sweep points trained at once on the one GPU")
    ap.add_argument("--cpu-workers", type=int, default=0, help="the CPU sweep's workers (0: one per CPU)")
    ap.add_argument("--ray", default=None, help="run the GPU sweep on this Ray cluster instead")
    ap.add_argument("--gpus-per-run", type=float, default=1 / 16, help="with --ray: GPU share of each point")
    ap.add_argument("--no-cpu", action="store_true", help="skip the CPU baselines")
    ap.add_argument("--root", type=Path, default=Path(tempfile.gettempdir()) / "glo-memory-bench")
    args = ap.parse_args()

    import torch

    if not torch.cuda.is_available():
        print("benchmarks/gpu.py needs a CUDA GPU (torch sees none here); nothing was run", file=sys.stderr)
        raise SystemExit(2)
    from memory import make  # benchmarks/memory.py: the synthetic colour folder

    colour = args.root / f"{args.colour_n}-64"
    make(colour, args.colour_n, 64)
    epochs = ["--epochs", str(args.epochs)]
    workloads = {
        "seed": ["run", "--headless", *epochs],
        "colour64": ["run", "--headless", *epochs, "--dataset", "folder", "--data-root", str(colour),
                     "--n-images", "all", "--batch-size", "128"],
        "sweep16": ["sweep", "--headless", *epochs, *[a for p, v in SWEEP for a in ("--param", p, "--values", v)]],
    }
    devices = [("cuda", "fp32"), ("cuda", "bf16")] + ([] if args.no_cpu else [("cpu", "fp32")])
    print(json.dumps({"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__, "epochs": args.epochs}))
    for name, base in workloads.items():
        for device, precision in devices:
            cmd = [*base, "--device", device, "--precision", precision]
            if name == "sweep16":
                if device == "cuda" and args.ray:
                    cmd += ["--ray", args.ray, "--gpus-per-run", str(args.gpus_per_run)]
                else:
                    cmd += ["--workers", str(args.workers if device == "cuda" else args.cpu_workers)]
            with tempfile.TemporaryDirectory() as runs:
                seconds, last = glo(cmd, Path(runs))
            print(json.dumps({"workload": name, "device": device, "precision": precision,
                              "seconds": round(seconds, 1), **{k: last[k] for k in
                                                               ("images_per_s", "recon_loss", "points") if k in last}}),
                  flush=True)


if __name__ == "__main__":
    main()

"""Peak resident memory of training on N images, per image: a synthetic image folder (placeholder
files and their decoded cache, random colour pixels), one epoch of ``glo run`` on every image in a
child process, its peak RSS (``VmHWM`` of that child, sampled every 20 ms).

    python benchmarks/memory.py                      # 50,000 at 32x32 and 200,000 at 64x64 (the issue's)
    python benchmarks/memory.py --points 5000:32 20000:32 --epochs 1
    python benchmarks/memory.py --code /path/to/other/glo   # the same folders, another checkout's glo

Each point is N:SIDE (colour). The folder holds N empty placeholder files in 10 class folders and
the decoded cache ``glo.data.imagecache`` writes for them, so nothing is decoded: what is measured
is training's own memory. The --base run is the fixed start-up cost's reference; each line gives
the peak RSS, the peak anonymous RSS, the (anonymous) bytes per extra image over the --base run
against the images' uint8 bytes and their codes (a content code and its two Adam moments,
float32), and the issue's target:
the start-up cost + 1.5 x the images' uint8 bytes + the codes with their optimiser state.
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

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from glo.data import folder, imagecache  # noqa: E402

CONTENT_DIM = 25


def make(root: Path, n: int, side: int) -> None:
    """N placeholder files in 10 class folders and the decoded cache that stands for them."""
    if (root / "done").exists():
        return
    for i in range(n):
        d = root / f"class{i % 10}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{i:07d}.png").touch()
    listing = folder.scan(root)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, side, side, 3), dtype=np.uint8)
    imagecache.write(listing.root, imagecache.key(listing, 0), images, listing.labels)
    (root / "done").touch()


def status_kb(pid: int) -> dict[str, int]:
    """VmHWM (the peak resident memory of the process's own image, reset when it started: unlike
    ru_maxrss, which inherits this script's peak through fork and exec) and RssAnon of PID, in kB."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            return {k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in fh) if k in ("VmHWM", "RssAnon")}
    except (OSError, ValueError):
        return {}


def peak_rss(code: Path, data: Path, epochs: int, extra: list[str]) -> tuple[int, int, float]:
    """(peak RSS, peak anonymous RSS in bytes, seconds) of one headless run on every image of DATA
    with CODE's glo, sampled every 20 ms. The anonymous part leaves out the shared libraries' and
    the memory-mapped images' pages, which the kernel may drop under memory pressure."""
    with tempfile.TemporaryDirectory() as runs:
        cmd = [sys.executable, "-m", "glo", "run", "--headless", "--dataset", "folder", "--data-root", str(data),
               "--n-images", "all", "--epochs", str(epochs), "--threads", "1", "--device", "cpu",
               "--runs-dir", runs, *extra]
        env = {**os.environ, "PYTHONPATH": str(code)}
        clock = time.perf_counter()
        # run from the temporary folder: python -m would put the current folder first on sys.path
        proc = subprocess.Popen(cmd, env=env, cwd=runs, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        peak = peak_anon = 0
        while proc.poll() is None:
            now = status_kb(proc.pid)
            peak, peak_anon = max(peak, now.get("VmHWM", 0)), max(peak_anon, now.get("RssAnon", 0))
            time.sleep(0.02)
        err = proc.stderr.read().decode() if proc.stderr else ""
        if proc.returncode:
            raise SystemExit(f"glo run failed ({proc.returncode}): {err.strip()[-400:]}")
        return peak * 1024, peak_anon * 1024, time.perf_counter() - clock


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", nargs="+", default=["50000:32", "200000:64"], help="N:SIDE per measurement")
    ap.add_argument("--base", type=int, default=1000, help="images of the start-up reference run (same side)")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--root", type=Path, default=Path(tempfile.gettempdir()) / "glo-memory-bench")
    ap.add_argument("--code", type=Path, default=ROOT, help="the glo checkout to measure (default: this one)")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("extra", nargs="*", help="more glo run options, after --")
    args = ap.parse_args()
    rows = []
    for point in args.points:
        n, side = (int(v) for v in point.split(":"))
        base_dir, data_dir = args.root / f"{args.base}-{side}", args.root / f"{n}-{side}"
        make(base_dir, args.base, side)
        make(data_dir, n, side)
        base, base_anon, _ = peak_rss(args.code, base_dir, args.epochs, args.extra)
        rss, anon, seconds = peak_rss(args.code, data_dir, args.epochs, args.extra)
        pixels = side * side * 3
        codes = CONTENT_DIM * 4 * 3  # float32 code + Adam's two moments
        per_image = (anon - base_anon) / (n - args.base)
        target = base + 1.5 * pixels * n + codes * n
        row = {"n": n, "side": side, "peak_rss_mb": round(rss / 2**20, 1), "startup_mb": round(base / 2**20, 1),
               "peak_anon_mb": round(anon / 2**20, 1), "startup_anon_mb": round(base_anon / 2**20, 1),
               "bytes_per_image": round(per_image), "uint8_bytes_per_image": pixels, "code_bytes_per_image": codes,
               "ratio_to_uint8": round(per_image / pixels, 2), "target_mb": round(target / 2**20, 1),
               "within_target": rss <= target, "seconds": round(seconds, 1)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()

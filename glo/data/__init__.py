"""Data sets for GLO: the bundled MNIST subset (offline) and torchvision folders.

Every loader returns uint8 images (N x 28 x 28) and int64 labels (0-9). ``load_split`` picks a
class-balanced, deterministic training set (the first images of each class, in the data set's
order) and keeps the rest as a held-out split.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from glo.errors import DataError

BUNDLED_FILE = "mnist5k.npz"
TORCHVISION = {"mnist": "MNIST", "fashionmnist": "FashionMNIST", "kmnist": "KMNIST"}
N_CLASSES = 10


@dataclass(frozen=True)
class Split:
    """Training images and the held-out rest of a data set (numpy, uint8 images)."""

    name: str
    images: np.ndarray  # N x 28 x 28 uint8, training images
    labels: np.ndarray  # N int64
    heldout_images: np.ndarray  # M x 28 x 28 uint8, never trained on
    heldout_labels: np.ndarray  # M int64


def load_bundled() -> tuple[np.ndarray, np.ndarray]:
    """The 5000 real MNIST images (500 per class) shipped inside the package."""
    with resources.files(__name__).joinpath(BUNDLED_FILE).open("rb") as fh:
        with np.load(fh) as npz:
            return npz["images"], npz["labels"]


def load_torchvision(dataset: str, root: str, download: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The training split of a torchvision data set stored under ``root`` in torchvision's layout."""
    cls_name = TORCHVISION[dataset]
    folder = Path(root).expanduser()
    expected = f"{folder / cls_name / 'raw'} with train-images-idx3-ubyte and train-labels-idx1-ubyte"
    if not download and not folder.is_dir():
        raise DataError(f"data folder {folder} does not exist; expected {expected} (or pass --download)")
    import torchvision.datasets as tvd  # heavy: only when a torchvision data set is asked for

    try:
        ds = getattr(tvd, cls_name)(str(folder), train=True, download=download)
    except RuntimeError as exc:
        raise DataError(f"no {cls_name} data found: expected {expected} (or pass --download)") from exc
    except Exception as exc:  # corrupt files, failed downloads, md5 mismatches
        raise DataError(f"could not read {cls_name} from {folder}: {exc}".splitlines()[0]) from exc
    images = ds.data.numpy().astype(np.uint8)
    labels = ds.targets.numpy().astype(np.int64)
    if images.ndim != 3 or images.shape[1:] != (28, 28) or len(images) != len(labels):
        raise DataError(f"{cls_name} under {folder} has unexpected shape {images.shape}")
    return images, labels


def balanced_indices(labels: np.ndarray, n: int) -> np.ndarray:
    """The first images of each class in order: n // 10 per class, the remainder to the low classes."""
    per_class = [n // N_CLASSES + (1 if c < n % N_CLASSES else 0) for c in range(N_CLASSES)]
    chosen = []
    for c, k in enumerate(per_class):
        idx = np.flatnonzero(labels == c)
        if len(idx) < k:
            raise DataError(f"only {len(idx)} images of class {c}; {n} images need {k} per class")
        chosen.append(idx[:k])
    return np.sort(np.concatenate(chosen))


def load_split(dataset: str, n_images: int, data_root: str | None = None, download: bool = False) -> Split:
    """Load a data set and split it into training and held-out images."""
    if dataset == "bundled":
        images, labels = load_bundled()
    elif dataset in TORCHVISION:
        if not data_root:
            raise DataError(f"dataset {dataset!r} needs --data-root (a torchvision data folder)")
        images, labels = load_torchvision(dataset, data_root, download)
    else:
        raise DataError(f"unknown dataset {dataset!r}; choose bundled, {', '.join(TORCHVISION)}")
    if n_images > len(images):
        raise DataError(f"n_images {n_images} is more than the {len(images)} images of {dataset}")
    train = balanced_indices(labels, n_images)
    rest = np.setdiff1d(np.arange(len(images)), train)
    return Split(dataset, images[train], labels[train], images[rest], labels[rest])

"""Data sets for GLO: the bundled MNIST subset (offline), torchvision folders and image folders.

Every loader returns uint8 images (N x H x W grey, or N x H x W x 3 colour) and int64 labels
(0 to classes - 1). ``load_split`` picks a class-balanced, deterministic training set (the first
images of each class, in the data set's order) and keeps the rest as a held-out split; with
``n_images='all'`` it trains on every image (and holds none out).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from glo.config import ALL, RunConfig
from glo.errors import DataError

BUNDLED_FILE = "mnist5k.npz"
TORCHVISION = {"mnist": "MNIST", "fashionmnist": "FashionMNIST", "kmnist": "KMNIST"}
N_CLASSES = 10


@dataclass(frozen=True)
class Split:
    """Training images and the held-out rest of a data set (numpy, uint8 images)."""

    name: str
    images: np.ndarray  # N x H x W (or N x H x W x 3) uint8, training images
    labels: np.ndarray  # N int64
    heldout_images: np.ndarray  # M x H x W (x 3) uint8, never trained on
    heldout_labels: np.ndarray  # M int64
    classes: tuple[str, ...] = tuple(str(c) for c in range(N_CLASSES))  # class names, by label

    @property
    def n_classes(self) -> int:
        return len(self.classes)


def load_bundled() -> tuple[np.ndarray, np.ndarray]:
    """The 5000 real MNIST images (500 per class) shipped inside the package."""
    with resources.files("glo.data").joinpath(BUNDLED_FILE).open("rb") as fh, np.load(fh) as npz:
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


def balanced_indices(labels: np.ndarray, n: int, n_classes: int = N_CLASSES) -> np.ndarray:
    """The first images of each class in order: n // classes per class, the remainder to the low classes."""
    if n < n_classes:
        raise DataError(f"n_images {n} is fewer than the {n_classes} classes (one image per class at least)")
    per_class = [n // n_classes + (1 if c < n % n_classes else 0) for c in range(n_classes)]
    chosen = []
    for c, k in enumerate(per_class):
        idx = np.flatnonzero(labels == c)
        if len(idx) < k:
            raise DataError(f"only {len(idx)} images of class {c}; {n} images need {k} per class "
                            f"(--n-images all trains on every image)")
        chosen.append(idx[:k])
    return np.sort(np.concatenate(chosen))


def check_count(labels: np.ndarray, n_images: int | str, n_classes: int, dataset: str) -> np.ndarray:
    """The training images' indices among LABELS (``balanced_indices``); DataError when N_IMAGES
    cannot be drawn from them. For 'all': every index."""
    if isinstance(n_images, str):  # 'all' (RunConfig refuses any other text)
        return np.arange(len(labels))
    if n_images > len(labels):
        raise DataError(f"n_images {n_images} is more than the {len(labels)} images of {dataset} "
                        f"(--n-images all trains on every image)")
    return balanced_indices(labels, n_images, n_classes)


def load_split(dataset: str, n_images: int | str, data_root: str | None = None, download: bool = False,
               image_size: int = 0) -> Split:
    """Load a data set and split it into training and held-out images (N_IMAGES 'all': every image)."""
    if isinstance(n_images, str) and n_images != ALL:  # RunConfig makes any other text a number or refuses it
        raise DataError(f"n_images must be a whole number or {ALL!r}, got {n_images!r}")
    classes = tuple(str(c) for c in range(N_CLASSES))
    if dataset == "bundled":
        images, labels = load_bundled()
    elif dataset in TORCHVISION:
        if not data_root:
            raise DataError(f"dataset {dataset!r} needs --data-root (a torchvision data folder)")
        images, labels = load_torchvision(dataset, data_root, download)
    elif dataset == "folder":
        if not data_root:
            raise DataError("dataset 'folder' needs --data-root (an image folder, one sub-folder per class)")
        from glo.data.folder import load_folder

        # the count is checked on the folder's listing, before anything is decoded or cached
        images, labels, names = load_folder(data_root, image_size,
                                            check=lambda found, k: check_count(found, n_images, k, dataset))
        classes = tuple(names)
    else:
        raise DataError(f"unknown dataset {dataset!r}; choose bundled, {', '.join(TORCHVISION)}, folder")
    if n_images == ALL:
        empty = np.zeros(0, dtype=np.int64)
        return Split(dataset, images, labels, images[empty], labels[empty], classes)
    train = check_count(labels, n_images, len(classes), dataset)
    rest = np.setdiff1d(np.arange(len(images)), train)
    return Split(dataset, images[train], labels[train], images[rest], labels[rest], classes)


def load_config(cfg: RunConfig) -> Split:
    """The data split of a RunConfig, as training and analysis read it (never downloading unless
    the config says so)."""
    return load_split(cfg.dataset, cfg.n_images, cfg.data_root, cfg.download, cfg.image_size)

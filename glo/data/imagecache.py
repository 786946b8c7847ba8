"""The decoded-image cache of an image folder (``glo.data.folder``): one .npy file per folder state.

Decoding 50,000 small JPEGs takes seconds; reading them back as one uint8 array takes
milliseconds. The cache is keyed by everything the decoded images depend on: each image's path,
size and modification time, the class names, the requested image size and a format version, so an
added, removed, renamed or rewritten image (or another ``--image-size``) makes a new key and the
folder is decoded again. It lives beside the data in ``DIR/.glo-cache/`` (hidden: the scan does
not see it), or, when the data folder cannot be written, under the user's cache folder
(``$XDG_CACHE_HOME/glo`` or ``~/.cache/glo``, one sub-folder per data folder). Written atomically
(temp file, fsync, os.replace); older entries of the same folder are removed after a write; a
damaged entry is ignored and rewritten.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
from pathlib import Path
from typing import Any

import numpy as np

from glo.config import IMAGE_SIZES
from glo.host import atomic

VERSION = 1
FOLDER = ".glo-cache"


def key(listing: Any, image_size: int) -> str:
    """(LISTING: a ``glo.data.folder.Listing``.) A SHA-256 of what the decoded images depend on (file
    names, sizes, mtimes, classes, size)."""
    digest = hashlib.sha256(f"glo-imagecache-{VERSION}\n{image_size}\n".encode())
    # names as the file system gave them: bytes that are not UTF-8 come back as surrogates (os.fsencode)
    digest.update(b"\n".join(os.fsencode(c) for c in listing.classes) + b"\0")
    for rel, label, (size, mtime) in zip(listing.files, listing.labels.tolist(), listing.stats, strict=False):
        digest.update(os.fsencode(f"{rel}\t{label}\t{size}\t{mtime}\n"))
    return digest.hexdigest()[:32]


def user_folder(root: Path) -> Path:
    """Where the cache of ROOT goes when ROOT cannot be written."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "glo"
    real = os.path.realpath(root)
    return base / f"{Path(real).name}-{hashlib.sha256(real.encode()).hexdigest()[:12]}"


def writable(root: Path) -> bool:
    """True when ROOT may be written: by this user, and not marked read-only (no owner write bit,
    which root's processes would otherwise ignore)."""
    try:
        return os.access(root, os.W_OK) and bool(root.stat().st_mode & stat.S_IWUSR)
    except OSError:
        return False


def folders(root: Path) -> list[Path]:
    """Where a cache of ROOT may be: beside the data (unless the data folder is read-only), then
    the user's cache folder."""
    return [root / FOLDER, user_folder(root)] if writable(root) else [user_folder(root)]


def read(root: Path, name: str, labels: np.ndarray, image_size: int = 0) -> tuple[np.ndarray, np.ndarray] | None:
    """(images, labels) cached under NAME, or None when missing or not what the folder's LABELS
    (one per listed image) and IMAGE_SIZE make: every array's header is checked before it is read
    (``glo.host.arrays``), then the images' count, side and the labels themselves. A tampered or
    damaged entry is ignored (and rewritten by the next decode). The images are memory-mapped
    (copy-on-write): read from the file as they are touched, never a second copy in memory."""
    from glo.host.arrays import DamagedArray, Spec, read_npz

    specs = {"images": Spec(("uint8",), (3, 4)), "labels": Spec(("int64",), (1,))}
    most = max(len(labels), 1) * max(IMAGE_SIZES) ** 2 * 3 + (1 << 20)
    for folder in folders(root):
        try:
            # the images are mapped, not read: their pages come from the file as training touches them
            got = read_npz(folder / f"{name}.npz", specs, max_bytes=most, mapped=("images",))
        except (OSError, DamagedArray):
            continue
        if fits(got["images"], got["labels"], labels, image_size):
            return got["images"], got["labels"]
    return None


def fits(images: np.ndarray, cached: np.ndarray, labels: np.ndarray, image_size: int) -> bool:
    """True when cached IMAGES and their labels are what a folder of LABELS decodes to."""
    n, side = len(labels), images.shape[1] if images.ndim >= 2 else -1
    return (images.shape[:1] == (n,) and images.shape[2:3] == (side,)
            and (images.ndim == 3 or images.shape[3] == 3)
            and (side == image_size if image_size else side in IMAGE_SIZES)
            and np.array_equal(cached, labels))


def write(root: Path, name: str, images: np.ndarray, labels: np.ndarray) -> Path | None:
    """Cache IMAGES and LABELS under NAME (beside the data, else in the user's cache folder) and
    remove older entries there; returns the file written, or None if neither place is writable
    (the cache is an optimisation: loading goes on without it)."""
    buf = io.BytesIO()
    np.savez(buf, images=images, labels=labels)  # uncompressed: reading it back is a copy
    for folder in folders(root):
        path = folder / f"{name}.npz"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            atomic.write_bytes(path, buf.getvalue())
        except OSError:
            continue
        for old in folder.glob("*.npz"):
            if old.name != path.name:
                try:
                    old.unlink()
                except OSError:
                    pass
        return path
    return None

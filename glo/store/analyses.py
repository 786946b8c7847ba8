"""A run's cached analysis (analysis.json), read without torch.

Run listings and comparison tables show probe and held-out numbers for many runs; reading them
from the cache must not cost a torch import. The cache is keyed by the checkpoint file itself:
its inode, size and mtime for a quick check, and its SHA-256 when those differ (a copied run
folder), together with a format version. A checkpoint that changes, or a new version, makes the
cached analysis stale; glo.analysis.analyze also compares the analysis settings before reusing it.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

from glo.host import atomic
from glo.store.runs import CHECKPOINT, Run

ANALYSIS = "analysis.json"
VERSION = 1

# the analysis settings (torch-free, shared by glo.analysis.analyze and glo.analysis.latent): held-out images fitted,
# probe folds, kNN neighbours and the seed; code fitting for new images: Adam steps, learning rate
# (cosine-decayed), minibatch. Measured on 500 held-out MNIST images of a 10-epoch run: within 0.2%
# of 4x the steps, about 1 s on 2 cores.
HELDOUT_N = 500
FOLDS, KNN_K, SEED = 5, 10, 0
FIT_STEPS, FIT_LR, FIT_BATCH = 100, 0.2, 100


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fingerprint(run: Run) -> dict[str, Any] | None:
    """What identifies the run's checkpoint file now, or None if it has none (or a symlink)."""
    path = run.file(CHECKPOINT)
    try:
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode):
            return None
        return {"ino": st.st_ino, "size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": _sha256(path)}
    except OSError:
        return None


def _matches(run: Run, cached: dict[str, Any]) -> bool:
    """True if the checkpoint is the one the cached analysis was made from (stat first, hash if needed)."""
    path = run.file(CHECKPOINT)
    try:
        st = os.lstat(path)
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode) or st.st_size != cached.get("size"):
        return False
    if (st.st_ino, st.st_mtime_ns) == (cached.get("ino"), cached.get("mtime_ns")):
        return True
    try:
        return _sha256(path) == cached.get("sha256")
    except OSError:
        return False


def read_analysis(run: Run) -> dict[str, Any] | None:
    """The cached analysis of the run's current checkpoint, or None if missing, stale or damaged.

    Needs no torch; hashes the checkpoint (a few ms) only when its inode or mtime changed.
    """
    try:
        data = json.loads(atomic.read_text(run.file(ANALYSIS)))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("version") != VERSION:
        return None
    checkpoint = data.get("checkpoint")
    if not isinstance(checkpoint, dict) or not _matches(run, checkpoint):
        return None
    return data


def write_analysis(run: Run, result: dict[str, Any]) -> None:
    """Save an analysis atomically (readers see the old cache or the new one, never half)."""
    atomic.write_json(run.file(ANALYSIS), result)


ANALYZABLE = ("completed", "stopped")  # finished runs (with a checkpoint) get analyzed by comparisons


def needs_analysis(run: Run) -> bool:
    """A finished run with a checkpoint and no up-to-date analysis.json: what a comparison analyses."""
    return run.status() in ANALYZABLE and run.has_checkpoint() and read_analysis(run) is None

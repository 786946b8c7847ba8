"""The display images of a run: which training images to show, as uint8, and their file bytes.

``images.npz`` holds the originals, their reconstructions and their labels; ``recon.png`` the
same as one grid (originals above reconstructions, by ``glo.png``, the one PNG writer). Both are
made here as bytes, so whoever writes the run folder (``glo.train``'s RunRecorder) only writes them.
"""

from __future__ import annotations

import io

import numpy as np
import torch


def display_indices(labels: np.ndarray, n_show: int) -> np.ndarray:
    """Fixed images to show: the first image of each class, then the second of each, and so on."""
    per_class = [np.flatnonzero(labels == c) for c in range(10)]
    chosen: list[int] = []
    rank = 0
    while len(chosen) < min(n_show, len(labels)):
        added = False
        for idx in per_class:
            if rank < len(idx) and len(chosen) < n_show:
                chosen.append(int(idx[rank]))
                added = True
        if not added:
            break
        rank += 1
    return np.array(chosen, dtype=np.int64)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    return images.detach().clamp(0, 1).mul(255).round().to(torch.uint8).squeeze(1).cpu().numpy()


def npz_bytes(originals: np.ndarray, recons: np.ndarray, labels: np.ndarray) -> bytes:
    """The contents of images.npz."""
    buf = io.BytesIO()
    np.savez_compressed(buf, originals=originals, reconstructions=recons, labels=labels)
    return buf.getvalue()


def png_bytes(originals: np.ndarray, recons: np.ndarray) -> bytes:
    """The contents of recon.png: originals in the first row, reconstructions in the second."""
    from glo.png import grid_png_bytes

    return grid_png_bytes(np.stack([originals, recons]))

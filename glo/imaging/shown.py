"""The display images of a run: which training images to show, as uint8, and their file bytes.

An image array is uint8 H x W (grey) or H x W x 3 (colour, RGB), stacked in front (K x H x W x 3);
torch holds them as floats N x C x H x W in [0, 1] (``as_tensor`` and ``to_uint8`` convert).

``images.npz`` holds the originals, their reconstructions and their labels; ``recon.png`` the
same as one grid (originals above reconstructions, by ``glo.imaging.png``, the one PNG writer). Both are
made here as bytes, so whoever writes the run folder (``glo.train.loop``'s RunRecorder) only writes them.
"""

from __future__ import annotations

import io

import numpy as np
import torch


def display_indices(labels: np.ndarray, n_show: int) -> np.ndarray:
    """Fixed images to show: the first image of each class, then the second of each, and so on."""
    n_classes = int(labels.max()) + 1 if len(labels) else 0
    per_class = [np.flatnonzero(labels == c) for c in range(n_classes)]
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


def is_colour(images: np.ndarray) -> bool:
    """True for colour image arrays (a last axis of 3: H x W x 3, K x H x W x 3, ...)."""
    return images.ndim >= 3 and images.shape[-1] == 3


def as_tensor(images: np.ndarray | torch.Tensor, device: torch.device | str = "cpu") -> torch.Tensor:
    """uint8 N x H x W (grey) or N x H x W x 3 images (an array or a tensor) as floats
    N x C x H x W in [0, 1]."""
    x = images if isinstance(images, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(images))
    x = x.to(device)
    x = x.permute(0, 3, 1, 2) if x.ndim == 4 else x.unsqueeze(1)
    return x.float().div_(255).contiguous()


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """Floats N x C x H x W in [0, 1] as uint8 N x H x W (one channel) or N x H x W x 3."""
    x = images.detach().clamp(0, 1).mul(255).round().to(torch.uint8)
    x = x.squeeze(1) if x.shape[1] == 1 else x.permute(0, 2, 3, 1)
    return x.cpu().numpy()


def conform(rows: list[np.ndarray]) -> list[np.ndarray]:
    """Stacks of images (K x H x W or K x H x W x 3) in one form, so runs of different data sets
    can share a grid: colour if any is, the largest side (smaller ones scaled up, nearest pixel)."""
    side = max(r.shape[1] for r in rows)
    colour = any(is_colour(r) for r in rows)
    out = []
    for r in rows:
        if r.shape[1] != side:
            idx = np.arange(side) * r.shape[1] // side
            r = r[:, idx][:, :, idx]
        if colour and not is_colour(r):
            r = np.repeat(r[..., None], 3, axis=-1)
        out.append(r)
    return out


def npz_bytes(originals: np.ndarray, recons: np.ndarray, labels: np.ndarray) -> bytes:
    """The contents of images.npz."""
    buf = io.BytesIO()
    np.savez_compressed(buf, originals=originals, reconstructions=recons, labels=labels)
    return buf.getvalue()


def png_bytes(originals: np.ndarray, recons: np.ndarray) -> bytes:
    """The contents of recon.png: originals in the first row, reconstructions in the second."""
    from glo.imaging.png import grid_png_bytes

    return grid_png_bytes(np.stack([originals, recons]))

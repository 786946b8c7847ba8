"""Images as terminal text, without any terminal library: half-block cells and an ASCII ramp.

Half-block mode packs two pixel rows into one character cell: the upper half block '▀' with the
top pixel as foreground grey and the bottom pixel as background grey. ASCII mode maps the mean of
two rows to a character of a brightness ramp, for terminals without colour.
"""

from __future__ import annotations

import numpy as np

UPPER_HALF = "\u2580"
ASCII_RAMP = " .:-=+*#%@"


def tile(images: np.ndarray, gap: int = 1, fill: int = -1) -> np.ndarray:
    """Place K x H x W images side by side with ``gap`` columns of ``fill`` between them (int16)."""
    images = np.asarray(images)
    if images.ndim == 2:
        images = images[None]
    k, h, w = images.shape
    out = np.full((h, k * w + (k - 1) * gap), fill, dtype=np.int16)
    for i in range(k):
        out[:, i * (w + gap) : i * (w + gap) + w] = images[i]
    return out


def halfblock_cells(image: np.ndarray) -> list[list[tuple[int, int]]]:
    """Rows of (top, bottom) grey values 0-255 (or -1 for empty) per character cell."""
    img = np.asarray(image, dtype=np.int16)
    if img.shape[0] % 2:
        img = np.vstack([img, np.full((1, img.shape[1]), -1, dtype=np.int16)])
    return [list(zip(img[r].tolist(), img[r + 1].tolist())) for r in range(0, img.shape[0], 2)]


def ascii_lines(image: np.ndarray, ramp: str = ASCII_RAMP) -> list[str]:
    """One character per pixel column and per two pixel rows; -1 (empty) renders as a space."""
    img = np.asarray(image, dtype=np.float32)
    if img.shape[0] % 2:
        img = np.vstack([img, np.full((1, img.shape[1]), -1, dtype=np.float32)])
    top, bottom = img[0::2], img[1::2]
    empty = (top < 0) & (bottom < 0)
    mean = (np.clip(top, 0, 255) + np.clip(bottom, 0, 255)) / 2
    levels = np.clip((mean / 256 * len(ramp)).astype(int), 0, len(ramp) - 1)
    return ["".join(" " if e else ramp[v] for v, e in zip(row, erow)) for row, erow in zip(levels, empty)]


def per_line(total: int, width: int, cell: int = 28, gap: int = 1) -> int:
    """How many images of ``cell`` columns fit side by side in ``width`` columns (at least 1)."""
    return max(1, min(total, (width + gap) // (cell + gap)))

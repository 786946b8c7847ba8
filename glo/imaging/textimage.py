"""Images as terminal text, without any terminal library: half-block cells and an ASCII ramp.

Half-block mode packs two pixel rows into one character cell: the upper half block '▀' with the
top pixel as foreground and the bottom pixel as background. A grey image (H x W) gives grey levels
0-255 per cell half; a colour image (H x W x 3) gives colours packed as 0xRRGGBB; -1 is empty
either way. ASCII mode maps the mean brightness of two rows to a character of a ramp, for
terminals without colour (a colour image by its luminance).
"""

from __future__ import annotations

import numpy as np

UPPER_HALF = "\u2580"
ASCII_RAMP = " .:-=+*#%@"
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R BT.601 weights


def tile(images: np.ndarray, gap: int = 1, fill: int = -1) -> np.ndarray:
    """Place K x H x W grey (or K x H x W x 3 colour) images side by side with ``gap`` columns of
    ``fill`` between them (int16; H x total, or H x total x 3). One grey H x W image is K = 1."""
    images = np.asarray(images)
    if images.ndim == 2:
        images = images[None]
    k, h, w = images.shape[:3]
    out = np.full((h, k * w + (k - 1) * gap, *images.shape[3:]), fill, dtype=np.int16)
    for i in range(k):
        out[:, i * (w + gap) : i * (w + gap) + w] = images[i]
    return out


def packed(image: np.ndarray) -> np.ndarray:
    """H x W x 3 (int, -1 where empty) as H x W ints 0xRRGGBB, -1 where empty."""
    img = np.asarray(image, dtype=np.int32)
    rgb = (np.clip(img[..., 0], 0, 255) << 16) | (np.clip(img[..., 1], 0, 255) << 8) | np.clip(img[..., 2], 0, 255)
    return np.where(img[..., 0] < 0, -1, rgb)


def halfblock_cells(image: np.ndarray) -> list[list[tuple[int, int]]]:
    """Rows of (top, bottom) values per character cell: grey 0-255 for an H x W image, packed
    0xRRGGBB for an H x W x 3 one, -1 for empty."""
    img = packed(image) if np.ndim(image) == 3 else np.asarray(image, dtype=np.int32)
    if img.shape[0] % 2:
        img = np.vstack([img, np.full((1, img.shape[1]), -1, dtype=img.dtype)])
    return [list(zip(img[r].tolist(), img[r + 1].tolist(), strict=True)) for r in range(0, img.shape[0], 2)]


def luminance(image: np.ndarray) -> np.ndarray:
    """An H x W x 3 image (-1 where empty) as H x W brightness 0-255 (-1 where empty)."""
    img = np.asarray(image, dtype=np.float32)
    return np.where(img[..., 0] < 0, -1.0, np.clip(img, 0, 255) @ LUMA)


def ascii_lines(image: np.ndarray, ramp: str = ASCII_RAMP) -> list[str]:
    """One character per pixel column and per two pixel rows; -1 (empty) renders as a space."""
    img = luminance(image) if np.ndim(image) == 3 else np.asarray(image, dtype=np.float32)
    if img.shape[0] % 2:
        img = np.vstack([img, np.full((1, img.shape[1]), -1, dtype=np.float32)])
    top, bottom = img[0::2], img[1::2]
    empty = (top < 0) & (bottom < 0)
    mean = (np.clip(top, 0, 255) + np.clip(bottom, 0, 255)) / 2
    levels = np.clip((mean / 256 * len(ramp)).astype(int), 0, len(ramp) - 1)
    return ["".join(" " if e else ramp[v] for v, e in zip(row, erow, strict=True))
            for row, erow in zip(levels, empty, strict=True)]


def per_line(total: int, width: int, cell: int = 28, gap: int = 1) -> int:
    """How many images of ``cell`` columns fit side by side in ``width`` columns (at least 1)."""
    return max(1, min(total, (width + gap) // (cell + gap)))

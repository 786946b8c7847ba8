"""PNG image grids, written atomically: uint8 images (grey or colour) in rows, optionally labelled
in a left margin.

The one PNG writer: ``glo compare --png``, ``glo transfer --png``, ``glo sample --png``, the
console's export and ``scripts/results.py``. torch (make_grid) and PIL load only when called.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from glo.errors import GloError
from glo.host import atomic

if TYPE_CHECKING:
    import numpy as np
    import PIL.Image


def grid_png_bytes(images: np.ndarray, nrow: int | None = None, labels: list[str] | None = None) -> bytes:
    """uint8 images as one PNG grid: R x C x H x W (one grid row per R) or N x H x W (``nrow``
    images per row, 10 by default), each image grey or, with a last axis of 3, colour (RGB);
    2 pixels of grey padding. LABELS (one per grid row) are written in a margin left of their
    rows, so a saved comparison says which run is which."""
    import io

    import numpy as np
    import torch
    from PIL import Image
    from torchvision.utils import make_grid

    arr = np.asarray(images)
    colour = arr.ndim >= 4 and arr.shape[-1] == 3
    dims = arr.ndim - colour
    if arr.dtype != np.uint8 or dims not in (3, 4) or arr.size == 0:
        raise ValueError(f"expected non-empty uint8 R x C x H x W or N x H x W images (x 3 for colour), "
                         f"got {arr.dtype} {arr.shape}")
    if dims == 4:
        nrow = nrow or arr.shape[1]
        arr = arr.reshape(-1, *arr.shape[2:])
    nrow = nrow or min(10, len(arr))
    x = torch.from_numpy(np.ascontiguousarray(arr)).float().div(255)
    x = x.permute(0, 3, 1, 2) if colour else x.unsqueeze(1)
    grid = make_grid(x, nrow=nrow, padding=2, pad_value=0.5)
    picture = Image.fromarray(grid.mul(255).add_(0.5).clamp_(0, 255).permute(1, 2, 0).to(torch.uint8).numpy())
    if labels:
        picture = _label_rows(picture, labels, row_height=arr.shape[1] + 2)
    buf = io.BytesIO()
    picture.save(buf, format="png")
    return buf.getvalue()


def save_grid_png(images: np.ndarray, path: str | os.PathLike[str], nrow: int | None = None,
                  labels: list[str] | None = None) -> None:
    """Write ``grid_png_bytes(images, nrow, labels)`` to PATH, atomically."""
    data = grid_png_bytes(images, nrow, labels)
    try:
        atomic.write_bytes(path, data)
    except OSError as exc:
        raise GloError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _label_rows(picture: PIL.Image.Image, labels: list[str], row_height: int) -> PIL.Image.Image:
    """PICTURE with a grey margin on its left holding each row's label, vertically centred."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default()
    measure = ImageDraw.Draw(picture)
    margin = int(max(measure.textlength(label, font=font) for label in labels)) + 8
    canvas = Image.new("RGB", (picture.width + margin, picture.height), (128, 128, 128))
    canvas.paste(picture, (margin, 0))
    draw = ImageDraw.Draw(canvas)
    for i, label in enumerate(labels):
        top, bottom = draw.textbbox((0, 0), label, font=font)[1::2]
        y = 2 + i * row_height + (row_height - 2 - (bottom - top)) // 2 - top
        draw.text((4, y), label, fill=(255, 255, 255), font=font)
    return canvas

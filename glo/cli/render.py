"""Rich renderables for digit images: half-block grey cells, or an ASCII ramp without colour."""

from __future__ import annotations

import numpy as np
from rich.console import Group
from rich.style import Style
from rich.text import Text

from glo.textimage import UPPER_HALF, ascii_lines, halfblock_cells, per_line, tile

_STYLE_CACHE: dict[tuple[int, int], Style] = {}


def _grey(v: int) -> str:
    return f"rgb({v},{v},{v})"


def _style(top: int, bottom: int) -> Style:
    key = (top, bottom)
    style = _STYLE_CACHE.get(key)
    if style is None:
        style = Style(color=_grey(max(top, 0)) if top >= 0 else None, bgcolor=_grey(bottom) if bottom >= 0 else None)
        _STYLE_CACHE[key] = style
    return style


def image_text(image: np.ndarray, ascii: bool = False) -> Text:
    """One (possibly tiled) image as Text: half blocks with grey levels, or ASCII."""
    if ascii:
        return Text("\n".join(ascii_lines(image)))
    text = Text()
    for r, row in enumerate(halfblock_cells(image)):
        if r:
            text.append("\n")
        for top, bottom in row:
            if top < 0 and bottom < 0:
                text.append(" ")
            elif bottom < 0:
                text.append(UPPER_HALF, _style(top, -1))
            else:
                text.append(UPPER_HALF, _style(top, bottom))
    return text


def comparison(
    rows: list[tuple[str, np.ndarray]], width: int = 100, ascii: bool = False, gap: int = 1
) -> Group:
    """Rows of images (e.g. originals, reconstructions), wrapped to ``width`` in aligned chunks."""
    count = max(len(images) for _, images in rows)
    k = per_line(count, width, cell=rows[0][1].shape[-1], gap=gap)
    parts: list[Text] = []
    for start in range(0, count, k):
        for title, images in rows:
            chunk = images[start : start + k]
            if len(chunk) == 0:
                continue
            parts.append(Text(title, style="bold"))
            parts.append(image_text(tile(chunk, gap=gap), ascii=ascii))
    return Group(*parts)


def halve(images: np.ndarray) -> np.ndarray:
    """K x 28 x 28 -> K x 14 x 14 by averaging 2x2 pixels (compact rows for comparisons)."""
    k, h, w = images.shape
    return images.reshape(k, h // 2, 2, w // 2, 2).astype(np.float32).mean(axis=(2, 4)).round().astype(np.uint8)


def compact_rows(rows: list[tuple[str, np.ndarray]], width: int = 100, ascii: bool = False, gap: int = 1) -> Group:
    """One line of images per row under its title, never wrapped: full size when every image of a
    row fits in ``width``, else half size, and as many images as fit (the same ones in every row)."""
    count = max(len(images) for _, images in rows)
    size = rows[0][1].shape[-1]
    half = per_line(count, width, cell=size, gap=gap) < count
    cell = size // 2 if half else size
    k = per_line(count, width, cell=cell, gap=gap)
    parts: list[Text] = []
    for title, images in rows:
        chunk = images[:k]
        if len(chunk) == 0:
            continue
        parts.append(Text(title, style="bold"))
        parts.append(image_text(tile(halve(chunk) if half else chunk, gap=gap), ascii=ascii))
    if k < count:
        parts.append(Text(f"({k} of {count} images: a wider terminal shows more)", style="dim"))
    return Group(*parts)

"""Images as rich text: half-block cells (grey or colour) or an ASCII ramp, and rows of them laid out.

``image_text`` draws one (tiled) image over ``glo.imaging.textimage``: colours as rich ``rgb`` styles, which
rich and Textual send as truecolor, or as the nearest of 256 (or 16) colours where the terminal has
no more, and ASCII where it has none. The layouts place titled rows of K x H x W (grey) or
K x H x W x 3 (colour) uint8 images in a width: ``wrapped_rows`` (every image, in aligned chunks),
``compact_rows`` (one line per row, halved if need be), ``lead_rows`` (full or half size, long rows
split into balanced lines, each row optionally led by one more image) and ``fitted_rows`` (scaled
so a whole row fits). ``resize`` and ``halve`` scale images.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from rich.console import Group
from rich.style import Style
from rich.text import Text

from glo.imaging.textimage import (
    UPPER_HALF,
    ascii_lines,
    halfblock_cells,
    per_line,
    tile,
)

ImageRows = Sequence[tuple[str | None, np.ndarray]]  # (title or None, K x H x W (x 3) uint8) per row
MIN_FIT = 10  # fitted_rows: pixels per image below which a row folds over more lines (6 px is unreadable)
_STYLE_CACHE: dict[tuple[int, int, bool], Style] = {}
_CACHE_MAX = 1 << 16  # colour images have many more distinct cells than grey ones: bounded


def _colour(v: int, colour: bool) -> str:
    return f"#{v:06x}" if colour else f"rgb({v},{v},{v})"


def _style(top: int, bottom: int, colour: bool = False) -> Style:
    key = (top, bottom, colour)
    style = _STYLE_CACHE.get(key)
    if style is None:
        if len(_STYLE_CACHE) >= _CACHE_MAX:
            _STYLE_CACHE.clear()
        style = Style(color=_colour(max(top, 0), colour) if top >= 0 else None,
                      bgcolor=_colour(bottom, colour) if bottom >= 0 else None)
        _STYLE_CACHE[key] = style
    return style


def image_text(image: np.ndarray, ascii: bool = False) -> Text:
    """One (possibly tiled) image, H x W grey or H x W x 3 colour, as Text: half blocks, or ASCII."""
    if ascii:
        return Text("\n".join(ascii_lines(image)))
    colour = np.ndim(image) == 3
    text = Text()
    for r, row in enumerate(halfblock_cells(image)):
        if r:
            text.append("\n")
        for top, bottom in row:
            if top < 0 and bottom < 0:
                text.append(" ")
            else:
                text.append(UPPER_HALF, _style(top, bottom, colour))
    return text


def side(images: np.ndarray) -> int:
    """The width in pixels of K x H x W (x 3) images."""
    width: int = images.shape[2]
    return width


def resize(images: np.ndarray, size: int) -> np.ndarray:
    """Area-average K x H x W (x 3) uint8 images to K x size x size (x 3) (uint8)."""
    h, w = images.shape[1:3]
    if (h, w) == (size, size):
        return images

    def weights(n: int) -> np.ndarray:
        edges = np.linspace(0, n, size + 1)
        m = np.zeros((size, n), dtype=np.float32)
        for i in range(size):
            lo, hi = edges[i], edges[i + 1]
            for j in range(int(lo), min(n, math.ceil(hi))):
                m[i, j] = max(0.0, min(hi, j + 1) - max(lo, j))
        normalised: np.ndarray = m / m.sum(axis=1, keepdims=True)
        return normalised

    rows, cols = weights(h), weights(w)
    spec = "ih,khwc,jw->kijc" if images.ndim == 4 else "ih,khw,jw->kij"
    out = np.einsum(spec, rows, images.astype(np.float32), cols)
    resized: np.ndarray = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return resized


def halve(images: np.ndarray) -> np.ndarray:
    """K x H x W (x 3) -> K x H/2 x W/2 (x 3) by averaging 2x2 pixels (compact rows, narrow terminals)."""
    if images.ndim == 4:  # colour: each channel as a grey stack
        return np.stack([halve(images[..., c]) for c in range(images.shape[-1])], axis=-1)
    h, w = images.shape[-2:]
    h, w = h - h % 2, w - w % 2
    blocks = images[..., :h, :w].reshape(*images.shape[:-2], h // 2, 2, w // 2, 2).astype(np.float32)
    halved: np.ndarray = blocks.mean(axis=(-3, -1)).round().astype(np.uint8)
    return halved


def _title(parts: list[Text], title: str | None) -> None:
    if title is not None:
        parts.append(Text(title, style="bold"))


def wrapped_rows(rows: ImageRows, width: int = 100, ascii: bool = False, gap: int = 1) -> Group:
    """Rows of images (e.g. originals, reconstructions), wrapped to ``width`` in aligned chunks:
    each chunk shows the same images of every row, one under the other (a None title: no title)."""
    count = max(len(images) for _, images in rows)
    k = per_line(count, width, cell=side(rows[0][1]), gap=gap)
    parts: list[Text] = []
    for start in range(0, count, k):
        for title, images in rows:
            chunk = images[start : start + k]
            if len(chunk) == 0:
                continue
            _title(parts, title)
            parts.append(image_text(tile(chunk, gap=gap), ascii=ascii))
    return Group(*parts)


def compact_rows(rows: ImageRows, width: int = 100, ascii: bool = False, gap: int = 1) -> Group:
    """One line of images per row under its title, never wrapped: full size when every image of a
    row fits in ``width``, else half size, and as many images as fit (the same ones in every row)."""
    count = max(len(images) for _, images in rows)
    size = side(rows[0][1])
    half = per_line(count, width, cell=size, gap=gap) < count
    cell = size // 2 if half else size
    k = per_line(count, width, cell=cell, gap=gap)
    parts: list[Text] = []
    for title, images in rows:
        chunk = images[:k]
        if len(chunk) == 0:
            continue
        _title(parts, title)
        parts.append(image_text(tile(halve(chunk) if half else chunk, gap=gap), ascii=ascii))
    if k < count:
        parts.append(Text(f"({k} of {count} images: a wider terminal shows more)", style="dim"))
    return Group(*parts)


def lead_rows(rows: ImageRows, width: int, ascii: bool = False, leads: np.ndarray | None = None) -> Group:
    """Titled rows of images, each optionally led by one more image (LEADS[i]: a transfer's source).

    Full size if a whole row fits the width, else half size; a row that still does not fit is
    split into balanced lines (ten become 5 + 5, not 8 + 2), with its lead image on a line of
    its own so the lines stay aligned.
    """
    count = max(len(images) for _, images in rows) + (leads is not None)
    shrink = count * (side(rows[0][1]) + 1) - 1 > width
    parts: list[Text] = []
    for i, (title, images) in enumerate(rows):
        lead = None if leads is None else leads[i][None]
        if shrink:
            images, lead = halve(images), None if lead is None else halve(lead)
        k = per_line(count, width, cell=side(images))
        if k >= count:
            lines = [images if lead is None else np.concatenate([lead, images])]
        else:
            n_lines = -(-len(images) // k)
            size = -(-len(images) // n_lines)
            lines = ([] if lead is None else [lead]) + [images[j : j + size] for j in range(0, len(images), size)]
        _title(parts, title)
        parts.extend(image_text(tile(line), ascii=ascii) for line in lines)
    return Group(*parts)


def fit_size(width: int, count: int, gap: int = 1) -> int:
    """The largest pixel size (6 to 28) that puts ``count`` images side by side in ``width``."""
    return max(6, min(28, (width + gap) // max(count, 1) - gap))


def fitted_rows(rows: ImageRows, width: int, ascii: bool = False) -> Group:
    """Titled rows of images scaled so that a whole row fits the width, never wrapped; where the
    images would be smaller than MIN_FIT pixels, each row folds over as many lines as it takes
    (two for ten digits in 80 columns, more for a data set of many classes)."""
    count = max(len(images) for _, images in rows)
    lines = 1
    while fit_size(width, -(-count // lines)) < MIN_FIT and -(-count // lines) > 1:
        lines += 1
    per = -(-count // lines)
    size = fit_size(width, per)
    parts: list[Text] = []
    for title, images in rows:
        _title(parts, title)
        for start in range(0, len(images), per):
            line = image_text(tile(resize(images[start:start + per], size), gap=1), ascii=ascii)
            line.no_wrap, line.overflow = True, "crop"
            parts.append(line)
    return Group(*parts)

"""Reconstructions: real images above their current reconstructions, sized to fit the panel.

The images are drawn by glo's own views (``glo.view.images``: half-block cells, grey or colour, or
an ASCII ramp, in aligned chunks). Here they are only scaled (area averaging) to the largest size that shows
enough of them in the room the panel has.
"""

from __future__ import annotations

import math

import numpy as np
from rich.console import Group
from rich.text import Text
from textual.geometry import Size
from textual.widget import Widget

from glo.imaging.textimage import per_line
from glo.view.images import resize, wrapped_rows

SIZES = (28, 21, 14, 10)  # pixel sizes tried, largest first (larger images: their own size first, up to 64)
WANT = 5  # show at least this many images (or all) before shrinking further
GAP = 1


def sizes_for(native: int) -> tuple[int, ...]:
    """The pixel sizes tried for images NATIVE pixels wide: SIZES, led by the native size when larger."""
    return (min(native, 64), *SIZES) if native > SIZES[0] else SIZES


def layout(count: int, width: int, height: int, sizes: tuple[int, ...] = SIZES) -> tuple[int, int, int]:
    """(pixel size, images per line, images shown) for ``count`` image pairs in width x height cells."""
    best = None
    for size in sizes:
        k = per_line(count, width, cell=size, gap=GAP)
        if k * size + (k - 1) * GAP > width:
            k = 0
        chunk_rows = 2 * math.ceil(size / 2)
        shown = min(count, (height // chunk_rows) * k)
        if shown >= min(count, WANT):
            return size, k, shown
        if best is None or shown > best[2]:
            best = (size, k, shown)
    return best or (sizes[-1], 0, 0)


class ReconPanel(Widget):
    """Originals above reconstructions; ``ascii`` switches to the ASCII ramp (no colour needed)."""

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.originals: np.ndarray | None = None
        self.reconstructions: np.ndarray | None = None
        self.epoch: int | None = None
        self.ascii = False
        self.updates = 0  # how many times new images arrived (tests read it)
        self._cache: tuple[tuple, Group] | None = None  # drawing the cells is the costly part

    def show(self, originals: np.ndarray, reconstructions: np.ndarray, epoch: int | None = None) -> None:
        same_shape = self.originals is not None and self.originals.shape == originals.shape
        self.originals, self.reconstructions, self.epoch = originals, reconstructions, epoch
        self.updates += 1
        self.border_subtitle = "" if epoch is None else f"epoch {epoch}"
        self.refresh(layout=not same_shape)  # a new layout costs tens of ms: only when the size can change

    def clear(self) -> None:
        self.originals = self.reconstructions = self.epoch = None
        self.border_subtitle = ""
        self.refresh(layout=True)

    def toggle_ascii(self) -> bool:
        self.ascii = not self.ascii
        self.refresh()
        return self.ascii

    def _sizes(self) -> tuple[int, ...]:
        return sizes_for(self.originals.shape[2]) if self.originals is not None else SIZES

    def _budget(self, viewport: Size) -> int:
        return max(8, viewport.height // 2 - 1)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        if self.originals is None:
            return 2
        size, k, shown = layout(len(self.originals), width, self._budget(viewport), self._sizes())
        if not shown:
            return 2
        return math.ceil(shown / k) * 2 * math.ceil(size / 2)

    def render(self):
        if self.originals is None or self.reconstructions is None:
            return Text("real digits (top) and their reconstructions (below) appear here once a run starts",
                        style="dim")
        width, height = self.size.width, self.size.height
        size, k, shown = layout(len(self.originals), width, height, self._sizes())
        if not shown:
            return Text("(too small to show images)", style="dim")
        key = (self.updates, size, k, shown, self.ascii)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        pairs = [(None, resize(self.originals[:shown], size)), (None, resize(self.reconstructions[:shown], size))]
        self._cache = (key, wrapped_rows(pairs, width=width, ascii=self.ascii, gap=GAP))  # k per line, as laid out
        return self._cache[1]

"""Line charts as PNG: a metric against a setting (``glo.analysis.versus``) for comparison exports.

Drawn with PIL (which torchvision already brings) and its default font: axes, ticks labelled with
the setting's values, a line with dots per series in its own colour, a legend and a title. PIL loads
only when called.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from glo.errors import GloError
from glo.host import atomic

COLOURS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
           (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]
Series = Sequence[tuple[str, Sequence[float], Sequence[float]]]


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        return [lo]
    step = (hi - lo) / n
    return [lo + i * step for i in range(n + 1)]


def chart_png_bytes(series: Series, ticks: tuple[Sequence[float], Sequence[str]], title: str, xlabel: str,
                    ylabel: str, size: tuple[int, int] = (800, 500)) -> bytes:
    """SERIES (label, x positions, values) as a PNG line chart, x ticks at TICKS (positions, labels)."""
    import io

    from PIL import Image, ImageDraw, ImageFont

    width, height = size
    font = ImageFont.load_default(size=14)
    img = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(img)
    left, right, top, bottom = 80, width - 200, 40, height - 60
    xs = [x for _, sx, _ in series for x in sx] + list(ticks[0])
    ys = [y for _, _, sy in series for y in sy]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    pad_x, pad_y = (x1 - x0) * 0.05 or 0.5, (y1 - y0) * 0.08 or abs(y0) * 0.1 or 0.1
    x0, x1, y0, y1 = x0 - pad_x, x1 + pad_x, y0 - pad_y, y1 + pad_y

    def at(x: float, y: float) -> tuple[float, float]:
        return (left + (x - x0) / (x1 - x0) * (right - left), bottom - (y - y0) / (y1 - y0) * (bottom - top))

    draw.rectangle([left, top, right, bottom], outline=(0, 0, 0))
    for pos, label in zip(*ticks, strict=False):
        px = at(pos, y0)[0]
        draw.line([px, bottom, px, bottom + 5], fill=(0, 0, 0))
        draw.line([px, top, px, bottom], fill=(235, 235, 235))
        draw.text((px, bottom + 8), label, fill=(0, 0, 0), font=font, anchor="ma")
    for value in _nice_ticks(y0 + pad_y, y1 - pad_y):
        py = at(x0, value)[1]
        draw.line([left - 5, py, left, py], fill=(0, 0, 0))
        draw.text((left - 8, py), f"{value:.4g}", fill=(0, 0, 0), font=font, anchor="rm")
    for i, (label, sx, sy) in enumerate(series):
        colour = COLOURS[i % len(COLOURS)]
        points = [at(x, y) for x, y in zip(sx, sy, strict=False)]
        if len(points) > 1:
            draw.line(points, fill=colour, width=2)
        for px, py in points:
            draw.ellipse([px - 4, py - 4, px + 4, py + 4], fill=colour)
        ly = top + 10 + 22 * i
        draw.line([right + 15, ly, right + 40, ly], fill=colour, width=3)
        draw.text((right + 46, ly), label, fill=(0, 0, 0), font=font, anchor="lm")
    draw.text(((left + right) / 2, 12), title, fill=(0, 0, 0), font=font, anchor="ma")
    draw.text(((left + right) / 2, height - 22), xlabel, fill=(0, 0, 0), font=font, anchor="ma")
    draw.text((8, 12), ylabel, fill=(0, 0, 0), font=font)
    buf = io.BytesIO()
    img.save(buf, format="png")
    return buf.getvalue()


def save_chart_png(path: str | os.PathLike[str], series: Series, ticks: tuple[Sequence[float], Sequence[str]],
                   title: str, xlabel: str, ylabel: str, size: tuple[int, int] = (800, 500)) -> None:
    """``chart_png_bytes`` of the rest written to PATH atomically."""
    data = chart_png_bytes(series, ticks, title, xlabel, ylabel, size)
    try:
        atomic.write_bytes(path, data)
    except OSError as exc:
        raise GloError(f"cannot write {path}: {exc.strerror or exc}") from exc

"""Loss curves: overlaid per-epoch series (``glo.analysis.compare.curves``) as plotext charts.

``add_curves`` draws series onto a plotext figure, whichever it is: the module (the CLI's
``glo compare``, ``scripts/results.py``) or a textual-plotext widget's ``plt`` (the console).
``curves_chart`` builds the whole chart as text. Without colour each run gets its own character
(``PLAIN_MARKERS``), as braille dots in one colour could not be told apart.
"""

from __future__ import annotations

import re
from typing import Any

from glo.analysis.compare import Series, curves
from glo.analysis.versus import Versus
from glo.store.runview import RunView

PLAIN_MARKERS = "ox+*#@%&=~"  # one character per run where the terminal shows no colour
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def marker(index: int, colour: bool = True) -> str:
    """The marker of the INDEX-th curve: braille dots in colour, else a character of its own."""
    return "braille" if colour else PLAIN_MARKERS[index % len(PLAIN_MARKERS)]


def add_curves(plt: Any, series: Series, log: bool = False, colour: bool = True) -> bool:
    """Plot each (label, epochs, values) that has points on PLT, x in epochs; LOG: log-scale y.
    Returns whether anything was drawn."""
    drawn = [s for s in series if s[1]]
    for i, (label, xs, ys) in enumerate(drawn):
        plt.plot(xs, ys, label=label, marker=marker(i, colour))
    if log and drawn:
        plt.yscale("log")
    plt.xlabel("epoch")
    return bool(drawn)


def curves_chart(series: Series, title: str, width: int, height: int, log: bool = False,
                 colour: bool = True, theme: str = "pro") -> str | None:
    """The curves as a chart of WIDTH x HEIGHT characters in a plotext THEME (its ANSI colours
    included), or None when no series has a point yet."""
    import plotext as plt

    if not any(s[1] for s in series):
        return None
    plt.clear_figure()
    plt.plotsize(width, height)
    plt.theme(theme)
    add_curves(plt, series, log, colour)
    plt.title(title)
    chart: str = plt.build()
    return chart


def plain(chart: str) -> str:
    """A chart without its ANSI colour codes (for Markdown)."""
    return _ANSI.sub("", chart)


def chart_series(views: list[RunView], metric: str) -> tuple[Series, str]:
    """What the console's comparison chart shows for METRIC, and its title: several runs, METRIC
    per run; one run, its recon and train losses together (or its PSNR)."""
    if len(views) != 1:
        return curves(views, metric), f"{metric} per epoch"
    if metric == "psnr":
        return [("psnr", xs, ys) for _, xs, ys in curves(views, "psnr")], "psnr per epoch"
    return [(m, xs, ys) for m in ("recon_loss", "train_loss") for _, xs, ys in curves(views, m)], "losses per epoch"


def add_versus(plt: Any, vs: Versus, colour: bool = True) -> None:
    """Draw a metric against a setting (``glo.analysis.versus``) on PLT: a line with points per
    series, the x ticks labelled with the setting's values."""
    for i, (label, xs, ys) in enumerate(vs.series):
        plt.plot(xs, ys, label=label, marker=marker(i, colour))
        plt.scatter(xs, ys, marker=PLAIN_MARKERS[i % len(PLAIN_MARKERS)] if not colour else "dot")
    plt.xticks(*vs.ticks)
    plt.xlabel(vs.x + (" (log)" if vs.log else ""))


def versus_chart(vs: Versus | None, width: int, height: int, colour: bool = True, theme: str = "pro") -> str | None:
    """The metric against the setting as a chart of WIDTH x HEIGHT characters (None: nothing to draw)."""
    import plotext as plt

    if vs is None:
        return None
    plt.clear_figure()
    plt.plotsize(width, height)
    plt.theme(theme)
    add_versus(plt, vs, colour)
    plt.title(vs.title)
    chart: str = plt.build()
    return chart

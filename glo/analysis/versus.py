"""A metric against a setting: what a comparison of runs that differ in one or two settings draws.

Of the runs compared, the settings whose values differ (the run's own names and sweep aside) say
the axes: one, and it is the x axis; two, and one is the x axis (the one with numbers, or the one
with more values) and the other gives a line per value. Each run is a point: its final value of the
metric (its last epoch record; the probe and held-out numbers from its analysis). Numbers on the x
axis that are all positive and span two decades or more go on a log axis; a 0 among them sits one
decade below the smallest other value, labelled 0. Text values (``loss``) are evenly spaced.

``versus`` returns the plot as plain data, drawn by ``glo.view.plots`` in the terminal and by
``glo.imaging.chart`` as a PNG.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from glo.store.runview import RunView

IGNORED = ("name", "sweep", "data_root", "download", "device", "threads", "n_show")  # labels, not settings


@dataclass(frozen=True)
class Versus:
    """METRIC against setting X (a line per value of LINES, or one line): each series is
    (label, x positions, values); TICKS the x positions and their labels; LOG: a log axis."""

    metric: str
    x: str
    lines: str | None
    series: list[tuple[str, list[float], list[float]]]
    ticks: tuple[list[float], list[str]]
    log: bool

    @property
    def title(self) -> str:
        per = f", a line per {self.lines}" if self.lines else ""
        return f"{self.metric} against {self.x}{' (log axis)' if self.log else ''}{per}"


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def varying(views: Sequence[RunView]) -> list[str]:
    """The settings whose values differ between the runs (in settings order)."""
    keys: list[str] = []
    for v in views:
        keys += [k for k in v.settings if k not in keys and k not in IGNORED]
    return [k for k in keys if len({repr(v.settings.get(k)) for v in views}) > 1]


def _numeric(values: list[Any]) -> bool:
    return all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in values)


def _positions(values: list[Any]) -> tuple[dict[Any, float], tuple[list[float], list[str]], bool]:
    """Where each distinct value sits on the x axis, the ticks, and whether the axis is log."""
    distinct = sorted(set(values), key=lambda x: (x if _numeric([x]) else 0, str(x)))
    if not _numeric(distinct):
        pos = {x: float(i) for i, x in enumerate(distinct)}
        return pos, (list(pos.values()), [_fmt(x) for x in distinct]), False
    positive = [x for x in distinct if x > 0]
    log = (len(positive) >= 2 and all(x >= 0 for x in distinct)
           and max(positive) / min(positive) >= 100)
    if not log:
        pos = {x: float(x) for x in distinct}
    else:
        floor = math.log10(min(positive)) - 1
        pos = {x: (math.log10(x) if x > 0 else floor) for x in distinct}
    return pos, ([pos[x] for x in distinct], [_fmt(x) for x in distinct]), log


def final_value(view: RunView, metric: str) -> float | None:
    value = view.numbers.get(metric) if metric in view.numbers else view.last.get(metric)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def versus(views: Sequence[RunView], metric: str) -> Versus | None:
    """METRIC against the one or two settings the runs differ in; None when they differ in none or
    in more than two, or fewer than two runs have a value."""
    keys = varying(views)
    finals = [(v, final_value(v, metric)) for v in views]
    points = [(v, y) for v, y in finals if y is not None]
    if not 1 <= len(keys) <= 2 or len(points) < 2:
        return None
    if len(keys) == 2:  # the x axis: numbers before text, then more distinct values
        def rank(k: str) -> tuple[bool, int]:
            vals = [v.settings.get(k) for v, _ in points]
            return (not _numeric(vals), -len(set(map(repr, vals))))
        keys.sort(key=rank)
    x, lines = keys[0], (keys[1] if len(keys) == 2 else None)
    pos, ticks, log = _positions([v.settings.get(x) for v, _ in points])
    groups: dict[str, list[tuple[float, float]]] = {}
    for v, y in points:
        label = f"{lines}={_fmt(v.settings.get(lines))}" if lines else metric
        groups.setdefault(label, []).append((pos[v.settings.get(x)], y))
    series = [(label, [p for p, _ in sorted(pts)], [y for _, y in sorted(pts)]) for label, pts in groups.items()]
    return Versus(metric, x, lines, series, ticks, log)


def versus_path(png_path: str | os.PathLike[str], vs: Versus) -> Path:
    """Where a comparison's PNG export puts the metric-against-setting chart: beside PNG_PATH,
    named for it (``g.png`` -> ``g-recon_loss-vs-sigma.png``)."""
    p = Path(png_path)
    return p.with_name(f"{p.stem}-{vs.metric}-vs-{vs.x}{p.suffix or '.png'}")


def export_versus(views: Sequence[RunView], metric: str, png_path: str | os.PathLike[str]) -> list[Path]:
    """Write the metric-against-setting chart beside PNG_PATH (``versus_path``) when the runs differ
    in one or two settings; the paths written."""
    vs = versus(views, metric)
    if vs is None:
        return []
    from glo.imaging.chart import save_chart_png

    path = versus_path(png_path, vs)
    save_chart_png(path, vs.series, vs.ticks, vs.title, vs.x + (" (log axis)" if vs.log else ""), metric)
    return [path]

"""``glo runs list`` as text: one line per run, fast enough for 10,000 runs.

The same columns and look as a rich table of the runs (``glo.view.tables.runs_table``): id, status
in its colour, the settings that differ from the defaults, epochs done of the total, the last
recon loss and the time; the run's tags (``#best``) follow its settings. Where a line does not fit
the width, the settings wrap in their column
(between settings); narrower still, they go on a dim line of their own under the id. Built as
plain strings with the styles' ANSI codes (a rich ``Table`` takes seconds for 10,000 rows).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from rich.console import COLOR_SYSTEMS
from rich.style import Style

from glo.store.runview import RunView
from glo.view.format import STATUS_STYLE, duration, fmt

HEADINGS = ("id", "status", "settings", "epochs", "recon", "time")
MIN_SETTINGS = 16  # narrower than this, the settings go on a line of their own


class Painter:
    """Text in a style, as ANSI codes for COLOR_SYSTEM (None: plain text, as when piped)."""

    def __init__(self, color_system: str | None) -> None:
        self.system = COLOR_SYSTEMS.get(color_system) if color_system else None
        self.cache: dict[str, tuple[str, str]] = {}

    def __call__(self, text: str, style: str) -> str:
        if self.system is None or not style or not text.strip():
            return text
        if style not in self.cache:
            start, _, end = Style.parse(style).render("\0", color_system=self.system).partition("\0")
            self.cache[style] = (start, end)
        start, end = self.cache[style]
        return f"{start}{text}{end}"


def _cells(v: RunView) -> tuple[str, str, str, str, str, str]:
    settings = v.settings_label + "".join(f" #{t}" for t in v.tags)  # tags after the settings
    return (v.run.id, v.status_label, settings, v.epochs_label, fmt(v.last.get("recon_loss")),
            duration(v.elapsed_s))


def runs_listing(views: Sequence[RunView], width: int, color_system: str | None = None) -> str:
    """The runs as lines of text (ending in a newline), at most WIDTH columns where that can be."""
    paint = Painter(color_system)
    rows = [_cells(v) for v in views]
    statuses = [v.status for v in views]
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(HEADINGS)]
    others = sum(widths) - widths[2] + len(HEADINGS) + 1  # every column but the settings, spaces, edges
    settings_width = width - others
    if settings_width >= widths[2]:
        return _wide(rows, statuses, widths, paint)
    if settings_width >= MIN_SETTINGS:
        return _wide(rows, statuses, [*widths[:2], settings_width, *widths[3:]], paint)
    return _narrow(rows, statuses, widths, width, paint)


def _template(widths: Sequence[int]) -> str:
    """A line's format: the cells left-aligned, the last three (numbers) right-aligned."""
    n = len(widths)
    cells = [f"{{{i}:{'>' if i >= n - 3 else '<'}{w}}}" for i, w in enumerate(widths)]
    return " " + " ".join(cells) + " "


def _heading(headings: Sequence[str], widths: Sequence[int], paint: Painter) -> list[str]:
    total = sum(widths) + len(widths) - 1
    line = _template(widths).format(*headings)
    return ["", " " + paint(line[1:-1], "bold") + " ", " " + "─" * total + " "]


def _status(cell: str, width: int, status: str, paint: Painter) -> str:
    """The status cell padded to WIDTH, in its colour."""
    return paint(cell.ljust(width), STATUS_STYLE.get(status, ""))


def _wide(rows: Sequence[tuple[str, ...]], statuses: list[str], widths: list[int], paint: Painter) -> str:
    """A line per run; settings wider than their column wrap onto lines of their own."""
    lines = _heading(HEADINGS, widths, paint)
    line = _template([widths[0], 0, *widths[2:]])
    blank = " " * (widths[0] + widths[1] + 3)
    tail = " " * (sum(widths[3:]) + 3) + " "
    wrapped: dict[str, list[str]] = {}  # many runs share their settings: wrap each text once
    for cells, status in zip(rows, statuses, strict=False):
        settings = cells[2]
        if len(settings) > widths[2] and settings not in wrapped:
            wrapped[settings] = textwrap.wrap(settings, widths[2], break_on_hyphens=False) or [""]
        parts = wrapped.get(settings) or [settings]
        lines.append(line.format(cells[0], _status(cells[1], widths[1], status, paint), parts[0], *cells[3:]))
        lines += [blank + part.ljust(widths[2]) + tail for part in parts[1:]]
    return "\n".join([*lines, ""]) + "\n"


def _narrow(rows: Sequence[tuple[str, ...]], statuses: list[str], widths: list[int], width: int, paint: Painter) -> str:
    """Each run's settings on a dim line of their own under its id."""
    headings = ("id / settings", *HEADINGS[1:2], *HEADINGS[3:])
    cols = [max(widths[0], len(headings[0])), widths[1], *widths[3:]]
    lines = _heading(headings, cols, paint)
    line = _template([cols[0], 0, *cols[2:]])
    room = max(sum(cols) + len(cols) - 1, width - 2) - 2
    for cells, status in zip(rows, statuses, strict=False):
        lines.append(line.format(cells[0], _status(cells[1], widths[1], status, paint), *cells[3:]))
        lines.append("   " + paint(cells[2][:room], "dim"))
    return "\n".join([*lines, ""]) + "\n"

"""How values are written: numbers, settings, durations, percentages, and run statuses in colour."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from glo.store.runview import RunView, fmt_setting

__all__ = ["STATUS_STYLE", "duration", "fmt", "fmt_number", "fmt_setting", "num", "pct", "status_text",
           "view_status"]

STATUS_STYLE = {"completed": "green", "running": "cyan", "stopped": "yellow", "interrupted": "yellow",
                "failed": "red", "damaged": "red"}


def fmt(value: Any) -> str:
    """A loss or other value: floats to 4 decimals (large ones whole), None as '-'."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def duration(seconds: float | None) -> str:
    """'42s', '3m05s', '1h02m'; None as '-'."""
    if seconds is None:
        return "-"
    m, s = divmod(int(round(seconds)), 60)  # noqa: RUF046 - numpy < 2 rounds its floats to floats
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s" if m else f"{s}s"


def pct(value: Any) -> str:
    """A fraction as a percentage to one decimal ('23.5%'); anything but a number as '-'."""
    return f"{100 * value:.1f}%" if isinstance(value, (int, float)) else "-"


def num(value: Any, digits: int = 4) -> str:
    """A number to DIGITS decimals; anything but a number as '-'."""
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) else "-"


def fmt_number(key: str, value: float | None) -> str:
    """One of a comparison's final numbers (``glo.store.runview.NUMBER_KEYS``) as its column shows it."""
    if key == "probe_accuracy":
        return pct(value)
    return num(value, 2 if "psnr" in key else 4)


def status_text(status: str, label: str | None = None) -> Text:
    """A run status in its colour (LABEL, e.g. 'stopped (damaged)', written instead of STATUS)."""
    return Text(label or status, style=STATUS_STYLE.get(status, ""))


def view_status(view: RunView) -> Text:
    """A run's status in its colour, '(damaged)' added where a file of it is torn."""
    return status_text(view.status, view.status_label)

"""Widgets of the console, one job each: controls, status, loss chart, reconstructions."""

from __future__ import annotations

from typing import TypeVar

W = TypeVar("W")


def titled(widget: W, title: str) -> W:
    """WIDGET with TITLE in its border (to yield in a compose)."""
    widget.border_title = title  # type: ignore[attr-defined]
    return widget

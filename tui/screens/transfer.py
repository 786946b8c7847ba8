"""A run's transfer grid: each row a training image (left), then its content code drawn with every
class code (``glo.analysis.figures.transfer_rows``, as ``glo transfer RUN``), in colour for colour data,
folded over several lines when there are many classes. If the content code holds the style, a row
is one hand writing every digit.

The grid is computed in a thread worker (the model loads with torch); ``n`` / ``p`` switch runs.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from glo.errors import GloError
from glo.store.runs import Run
from glo.store.runview import run_label
from glo.view.images import fitted_rows
from tui import messages as m

ROWS = 6  # source images, one per class first (as `glo transfer`)


class TransferGrid(Static):
    """Rows of images, each under its title, sized so a whole row fits the width (``fitted_rows``)."""

    def __init__(self, **kw) -> None:
        super().__init__("", **kw)
        self.rows: list[tuple[str, np.ndarray]] = []
        self.ascii = False

    def show(self, rows: list[tuple[str, np.ndarray]]) -> None:
        self.rows = rows
        self.redraw()

    def on_resize(self) -> None:
        self.redraw()

    def redraw(self) -> None:
        if self.rows:  # two columns spare for a scrollbar that may appear once the grid is drawn
            self.update(fitted_rows(self.rows, self.size.width - 2, ascii=self.ascii))


class TransferScreen(Screen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,b", "app.pop_screen", "Back"),
        Binding("n,right", "next_run(1)", "Next run"),
        Binding("p,left", "next_run(-1)", "Previous run"),
        Binding("a", "toggle_ascii", "ASCII"),
    ]

    def __init__(self, runs: list[Run], index: int = 0) -> None:
        super().__init__()
        self.runs, self.index = runs, index
        self.grids: dict[str, list[tuple[str, np.ndarray]]] = {}

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="transfer-body"):
            yield Static("", id="transfer-note")
            yield TransferGrid(id="transfer-grid")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()
        self.show_run()

    @property
    def run(self) -> Run:
        return self.runs[self.index]

    def show_run(self) -> None:
        body = self.query_one(VerticalScroll)
        which = f" ({self.index + 1}/{len(self.runs)}, n/p: other runs)" if len(self.runs) > 1 else ""
        body.border_title = f"transfer: {run_label(self.run)}{which}"
        grid = self.query_one(TransferGrid)
        if self.run.id in self.grids:
            self.query_one("#transfer-note", Static).update(Text(
                "each row: a training image (left), then its content code drawn as every class", style="dim"))
            grid.show(self.grids[self.run.id])
            return
        grid.show([])
        grid.update("")
        self.query_one("#transfer-note", Static).update(Text(f"drawing {self.run.id}...", style="cyan"))
        self.compute(self.run)

    @work(thread=True, exclusive=True, group="transfer", exit_on_error=False)
    def compute(self, run: Run) -> None:
        try:
            from glo.analysis.analyze import (
                load_trained,  # torch loads here, in the worker
            )
            from glo.analysis.figures import transfer_rows

            rows = transfer_rows(load_trained(run), ROWS).titled("a {label} -> {classes}")
        except Exception as exc:  # noqa: BLE001 - no model this glo can rebuild, data missing: say so
            error = str(exc) if isinstance(exc, GloError) else f"{type(exc).__name__}: {exc}"
            self.post_message(m.TransferReady(run.id, [], error))
            return
        self.post_message(m.TransferReady(run.id, rows))

    def on_transfer_ready(self, msg: m.TransferReady) -> None:
        if msg.error:
            if msg.run_id == self.run.id:
                self.query_one("#transfer-note", Static).update(Text(f"{msg.run_id}: {msg.error}", style="red"))
            return
        self.grids[msg.run_id] = msg.rows
        if msg.run_id == self.run.id:
            self.show_run()

    def action_next_run(self, step: int) -> None:
        if len(self.runs) > 1:
            self.index = (self.index + step) % len(self.runs)
            self.show_run()

    def action_toggle_ascii(self) -> None:
        grid = self.query_one(TransferGrid)
        grid.ascii = not grid.ascii
        grid.redraw()

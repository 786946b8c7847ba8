"""Marking runs in the saved runs: ``space`` one run, ``w`` a whole sweep, ``a`` every run the
filter shows (each again: unmark them). ``c`` then compares the marked runs, ``d`` deletes them."""

from __future__ import annotations

from typing import Any, Protocol

from glo.store.runview import RunView
from glo.sweep.manifest import Sweep
from tui.runsfolder import sweep_label


class MarkHost(Protocol):
    """What marking needs of the saved-runs screen."""

    marked: set[str]
    plain: dict[str, Any]
    views: dict[str, RunView]

    @property
    def table(self) -> Any: ...

    def row(self, run_id: str) -> tuple[tuple[Any, ...], tuple[str, ...]]: ...
    def current_id(self) -> str | None: ...
    def sweep_of(self, run_id: str | None) -> Sweep | None: ...
    def notify(self, message: str, *, severity: str = ..., timeout: float | None = ...) -> None: ...
    def redraw_rows(self, run_ids: set[str]) -> None: ...
    def set_marks(self, run_ids: set[str]) -> None: ...
    def toggle_marks(self, ids: set[str], which: str) -> None: ...


class MarksKeys:
    """The saved runs' marks (a mixin of RunsScreen)."""

    def redraw_rows(self: MarkHost, run_ids: set[str]) -> None:
        """Draw these runs' rows again (their marks changed), where they are shown."""
        for run_id in run_ids:
            if run_id in self.plain:
                cells, text = self.row(run_id)
                self.table.set_row(run_id, cells, text, self.plain[run_id])
                self.plain[run_id] = text

    def set_marks(self: MarkHost, run_ids: set[str]) -> None:
        before, self.marked = self.marked, run_ids & set(self.views)
        self.redraw_rows(before ^ self.marked)

    def action_mark_sweep(self: MarkHost) -> None:
        """Mark every run of the highlighted run's sweep (again: unmark them)."""
        sweep = self.sweep_of(self.current_id())
        if sweep is None:
            self.notify("this run is not part of a sweep", severity="warning")
            return
        self.toggle_marks({r for r in sweep.run_ids() if r in self.views}, f" of sweep {sweep_label(sweep)}")

    def action_mark_shown(self: MarkHost) -> None:
        """Mark every run the filter shows (again: unmark them): d deletes a filtered set, c compares it."""
        if self.plain:
            self.toggle_marks(set(self.plain), " shown")

    def toggle_marks(self: MarkHost, ids: set[str], which: str) -> None:
        """Mark IDS, or unmark them where every one is marked already, and say so."""
        marking = not ids <= self.marked
        self.set_marks(self.marked | ids if marking else self.marked - ids)
        self.notify(f"{len(ids)} runs{which} {'marked' if marking else 'unmarked'}; c compares the marked "
                    "runs, d deletes them", timeout=3)

    def action_mark(self: MarkHost) -> None:
        run_id = self.current_id()
        if run_id is None:
            return
        self.marked ^= {run_id}
        self.redraw_rows({run_id})
        self.table.action_cursor_down()

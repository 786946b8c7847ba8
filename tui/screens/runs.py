"""Saved runs: a list of the runs folder that refreshes itself; open, compare or resume runs.

Runs of a sweep say so in the sweep column; ``w`` marks every run of the highlighted run's sweep
(then ``c`` compares the sweep), and ``R`` on a stopped run of a sweep goes on with the whole sweep.
``d`` deletes the marked runs, or the highlighted one, after a y/n question.

The folder is read in a thread worker every ``REFRESH_S`` (``glo.runview.RunView`` per run); the UI
thread only draws what was read, and only when it changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from glo.errors import GloError
from glo.runs import Run, RunStore
from glo.runview import RunView
from glo.sweep import Sweep, SweepStore
from glo.view.format import duration, fmt, view_status
from tui.reading import Reads

REFRESH_S = 2.0
RESUMABLE = ("stopped", "interrupted")


def sweep_label(sweep: Sweep | None) -> str:
    """What a sweep varies, compactly: 'sigma 0.01,0.3,2' or 'sigma 0.1,2 x loss l1,l2'."""
    return "" if sweep is None else sweep.label.replace(", ", ",")


def sweep_cell(sweep: Sweep | None) -> str:
    """The sweep column: when the sweep began (its id starts YYYYmmdd-HHMMSS) and what it varies,
    so two sweeps over the same values stay apart: '19:28 sigma 0.01,0.3,2'."""
    if sweep is None:
        return ""
    stamp = sweep.id[9:15]
    when = f"{stamp[:2]}:{stamp[2:4]} " if sweep.id[8:9] == "-" and stamp.isdigit() else ""
    return when + sweep_label(sweep)


def row_for(view: RunView, marked: bool, sweep: Sweep | None = None) -> tuple:
    last = view.last
    return (
        Text("✓" if marked else " ", style="bold green"),
        view.run.id,
        view_status(view),
        fmt(last.get("recon_loss")),
        view.epochs_label,
        duration(view.elapsed_s),
        view.settings_label,
        Text(sweep_cell(sweep), style="magenta"),
        fmt(last.get("train_loss")),
    )


@dataclass
class RunsRead(Message):
    """The runs folder as the worker read it: each run by id (oldest first) and each sweep, or why not."""

    views: dict[str, RunView] = field(default_factory=dict)
    sweeps: dict[str, Sweep] = field(default_factory=dict)
    error: str | None = None


def read_folder(store: RunStore) -> RunsRead:
    """Every run of STORE read once, and its sweeps (in the worker thread)."""
    try:
        views = {run.id: RunView(run) for run in store.runs()}
        sweeps = {s.id: s for s in SweepStore(store).sweeps()}
    except OSError as exc:
        return RunsRead(error=f"cannot read {store.root}: {exc}")
    return RunsRead(views, sweeps)


class RunsScreen(Screen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,b", "app.pop_screen", "Back"),
        Binding("space", "mark", "Mark"),
        Binding("enter", "open", "Open", show=True),
        Binding("c", "compare", "Compare marked"),
        Binding("w", "mark_sweep", "Mark sweep"),
        Binding("R", "resume", "Resume"),
        Binding("d,delete", "delete", "Delete"),
        Binding("f5", "reload", "Refresh", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.marked: set[str] = set()
        self.views: dict[str, RunView] = {}
        self.sweeps: dict[str, Sweep] = {}  # by sweep id
        self._shown: list[tuple] = []
        self.reads = Reads(self, lambda: read_folder(self.app.store), "runs-read")

    def compose(self) -> ComposeResult:
        yield Static("", id="runs-info")
        table = DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        table.border_title = "saved runs"
        yield table
        yield Footer()

    async def on_mount(self) -> None:
        table = self.query_one(DataTable)
        # what tells runs apart first (recon, epochs, time fit at 80 columns); the rest scrolls right
        for label, width in (("", 1), ("id", None), ("status", None), ("recon", None), ("epochs", None),
                             ("time", None), ("settings (vs defaults)", None), ("sweep", None), ("train", None)):
            table.add_column(label, key=label or "mark", width=width)
        self.set_interval(REFRESH_S, self.reload)
        table.focus()
        read = await self.reads.first()
        if read is not None:
            self.show(read)

    @property
    def table(self) -> DataTable:
        return self.query_one(DataTable)

    def reload(self) -> None:
        """Read the runs folder again (in a worker); ``show`` draws it when it is read."""
        self.reads.request()

    def on_runs_read(self, msg: RunsRead) -> None:
        self.show(msg)

    def show(self, read: RunsRead) -> None:
        """Show what a worker read; redraw the table only when something changed (keeps the cursor)."""
        self.reads.done()
        info = self.query_one("#runs-info", Static)
        if read.error:
            info.update(Text(read.error, "red"))
            return
        self.views, self.sweeps = read.views, read.sweeps
        self.marked &= set(self.views)
        rows = [row_for(v, v.run.id in self.marked, self.sweep_of(v.run.id))
                for v in reversed(list(self.views.values()))]
        info.update(f"{len(rows)} runs in {self.app.store.root}   space marks, w a sweep, c compares, d deletes")
        plain = [tuple(str(c) for c in row) for row in rows]
        if plain == self._shown:
            return
        self._shown = plain
        table = self.table
        current = self.current_id()
        table.clear()
        for row in rows:
            table.add_row(*row, key=row[1])
        if current in self.views:
            table.move_cursor(row=table.get_row_index(current))

    def action_reload(self) -> None:
        self.reload()

    def current_id(self) -> str | None:
        table = self.table
        if not table.row_count:
            return None
        try:
            return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except Exception:  # noqa: BLE001 - the table changed under the cursor: no current row
            return None

    def current_run(self) -> Run | None:
        run_id = self.current_id()
        return self.views[run_id].run if run_id in self.views else None

    def sweep_of(self, run_id: str | None) -> Sweep | None:
        """The sweep a run belongs to (its config names it), if its manifest is still there."""
        view = self.views.get(run_id or "")
        sweep_id = getattr(view.config, "sweep", None) if view is not None else None
        return self.sweeps.get(sweep_id) if sweep_id else None

    def set_marks(self, run_ids: set[str]) -> None:
        self.marked = run_ids & set(self.views)
        for run_id in self.views:
            self.table.update_cell(run_id, "mark", Text("✓" if run_id in self.marked else " ", style="bold green"))
        self._shown = []  # the marks changed: the next reload redraws

    def action_mark_sweep(self) -> None:
        """Mark every run of the highlighted run's sweep (again: unmark them)."""
        sweep = self.sweep_of(self.current_id())
        if sweep is None:
            self.notify("this run is not part of a sweep", severity="warning")
            return
        ids = {r for r in sweep.run_ids() if r in self.views}
        marking = not ids <= self.marked
        self.set_marks(self.marked | ids if marking else self.marked - ids)
        self.notify(f"{len(ids)} runs of sweep {sweep_label(sweep)} {'marked' if marking else 'unmarked'}"
                    f"; c compares the marked runs", timeout=3)

    def action_mark(self) -> None:
        run_id = self.current_id()
        if run_id is None:
            return
        self.marked ^= {run_id}
        self.table.update_cell(run_id, "mark", Text("✓" if run_id in self.marked else " ", style="bold green"))
        self._shown = []  # the marks changed: the next reload redraws
        self.table.action_cursor_down()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        from tui.screens.compare import CompareScreen

        run = self.current_run()
        if run is not None:
            self.app.push_screen(CompareScreen([run]))

    def action_compare(self) -> None:
        from tui.screens.compare import CompareScreen

        ids = [i for i in self.views if i in self.marked]
        if len(ids) < 2:
            self.notify("mark two or more runs with space (or a sweep's runs with w), then press c",
                        severity="warning")
            return
        sweep = self.sweep_of(ids[0])  # exactly one sweep's runs marked: say so in the title
        whole = sweep is not None and set(ids) == set(sweep.run_ids()) & set(self.views)
        title = f"sweep {sweep.label}" if whole else None
        self.app.push_screen(CompareScreen([self.views[i].run for i in ids], title=title))

    def action_delete(self) -> None:
        """Delete the marked runs (or the highlighted one) after a y/n question; running runs stay."""
        from tui.screens.confirm import ConfirmScreen

        ids = [i for i in self.views if i in self.marked] or [i for i in [self.current_id()] if i]
        if not ids:
            return
        what = ids[0] if len(ids) == 1 else f"these {len(ids)} runs"
        detail = "\n".join(ids[:6]) + (f"\n... and {len(ids) - 6} more" if len(ids) > 6 else "")
        self.app.push_screen(ConfirmScreen(f"Delete {what} for good?", detail if len(ids) > 1 else ""),
                             lambda yes: self.delete_runs(ids) if yes else None)

    def delete_runs(self, ids: list[str]) -> None:
        deleted, errors = [], []
        for run_id in ids:
            try:
                self.app.store.delete(run_id)  # refuses a run that is still training
                deleted.append(run_id)
            except (GloError, OSError) as exc:
                errors.append(str(exc))
        self.marked -= set(deleted)
        self._shown = []
        self.reload()
        if deleted:
            self.notify(f"deleted {deleted[0] if len(deleted) == 1 else f'{len(deleted)} runs'}", timeout=3)
        for error in errors:
            self.notify(error, severity="error", timeout=6)

    def action_resume(self) -> None:
        run = self.current_run()
        if run is None:
            return
        status = run.status()
        if status not in RESUMABLE:
            self.notify(f"run {run.id} is {status}: only stopped or interrupted runs resume", severity="warning")
            return
        sweep = self.sweep_of(run.id)
        try:
            if sweep is not None:  # the whole sweep goes on: this run resumed, then the points not done
                self.app.resume_sweep(sweep)
            else:
                self.app.resume_run(run.id)
        except GloError as exc:
            self.notify(str(exc), severity="error")

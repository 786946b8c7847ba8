"""Saved runs: a list of the runs folder that refreshes itself; open, compare or resume runs.

Runs of a sweep say so in the sweep column; ``w`` marks every run of the highlighted run's sweep
(then ``c`` compares the sweep), and ``R`` on a stopped run of a sweep goes on with the whole sweep.
``d`` deletes the marked runs, or the highlighted one, after a y/n question; ``t`` and ``n`` edit its
tags and note (``tui.screens.notes``). ``/`` filters the list (``glo.store.query``'s syntax, as ``glo runs
list --where``: ``sigma=0.3 status=completed``), ``s`` sorts by the next column, ``S`` turns it round.

The folder is read in a thread worker every ``REFRESH_S`` through its index (``tui.runsfolder``):
only runs that changed are read again. The UI thread only brings the rows that changed, came or
went up to date, adding many rows a chunk at a time (``tui.widgets.runs_table``), so it keeps
answering keys with 10,000 runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input, Static

from glo.errors import GloError
from glo.store.query import Query, parse
from glo.store.query import sort as sort_views
from glo.store.runs import Run
from glo.store.runview import RunView
from glo.sweep.manifest import Sweep
from tui.protocols import ConsoleScreen
from tui.reading import ReadFailed, Reads
from tui.runsfolder import FolderReader, Row, RunsRead, mark_cell, row_for, sweep_label  # noqa: F401 (row_for)
from tui.screens.marks import MarksKeys
from tui.screens.notes import NotesKeys
from tui.widgets.runs_table import RunsTable

if TYPE_CHECKING:
    pass

REFRESH_S = 2.0
RESUMABLE = ("stopped", "interrupted")
# 's' goes round these: (what the footer says, glo.store.query's sort key); 'S' turns the order round
SORTS = (("newest", "-id"), ("recon", "recon"), ("epochs done", "-done"), ("time", "-time"), ("status", "status"),
         ("train", "train"), ("sweep", "sweep"), ("oldest", "id"))


@dataclass
class RunsDeleted(Message):
    """The delete worker is done: the runs it deleted, and why others could not be."""

    deleted: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class RunsScreen(MarksKeys, NotesKeys, ConsoleScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,b", "back", "Back"),
        Binding("slash", "filter", "Filter"),
        Binding("s", "sort", "Sort"),
        Binding("space", "mark", "Mark"),
        Binding("enter", "open", "Open", show=True),
        Binding("c", "compare", "Compare"),
        Binding("w", "mark_sweep", "Mark sweep"),
        Binding("a", "mark_shown", "Mark all shown", show=False),
        Binding("R", "resume", "Resume"),
        Binding("d,delete", "delete", "Delete"),
        Binding("S", "sort_reverse", "Reverse sort", show=False),
        Binding("f5", "reload", "Refresh", show=False), *NotesKeys.NOTES_BINDINGS,  # t: tags, n: note
    ]

    def __init__(self) -> None:
        super().__init__()
        self.marked: set[str] = set()
        self.views: dict[str, RunView] = {}
        self.sweeps: dict[str, Sweep] = {}  # by sweep id
        self.filter = Query()  # the filter ('/'), glo.store.query's syntax
        self.sort_at, self.sort_key = 0, SORTS[0][1]  # 's' cycles SORTS; 'S' turns the order round
        self.plain: dict[str, tuple[str, ...]] = {}  # each row's text as shown
        self.rows: dict[str, Row] = {}  # each run's cells after the mark (made by the worker)
        self._changed: set[str] = set()  # runs whose rows are out of date
        self._order_stale = True  # the filter, the sort or the runs changed: place the rows again
        self._to_top = False  # the user changed the filter or the order: the cursor goes to the top
        self._syncing = self._again = False
        self._more = False  # the worker is still reading runs
        self._filter_timer: Timer | None = None
        self.reader: FolderReader | None = None
        self.reads = Reads(self, self._read, "runs-read")

    def _read(self) -> RunsRead:
        if self.reader is None:
            self.reader = FolderReader(self.glo.store)
        return self.reader()

    def compose(self) -> ComposeResult:
        yield Static("", id="runs-info")
        yield Input(placeholder="filter, e.g. sigma=0.3 status=completed (Enter: apply, Esc: close)", id="runs-filter")
        table = RunsTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        table.border_title = "saved runs"
        yield table
        yield Footer()

    async def on_mount(self) -> None:
        table = self.table
        # what tells runs apart first (recon, epochs, time fit at 80 columns); the rest scrolls right
        for label, width in (("", 1), ("id", None), ("status", None), ("recon", None), ("epochs", None),
                             ("time", None), ("settings (vs defaults)", None), ("sweep", None), ("train", None)):
            table.add_column(label, key=label or "mark", width=width)
        self.query_one("#runs-filter", Input).display = False
        self.set_interval(REFRESH_S, self.reload)
        table.focus()
        self.update_info()
        read = await self.reads.first()  # a quick first look (READ_LIMIT runs at most): opens filled
        if read is not None:
            self.show(read)

    @property
    def table(self) -> RunsTable:
        return self.query_one(RunsTable)

    def reload(self) -> None:
        """Read the runs folder again (in a worker); ``show`` draws it when it is read."""
        self.reads.request()

    def on_runs_read(self, msg: RunsRead) -> None:
        self.show(msg)

    def on_read_failed(self, msg: ReadFailed) -> None:
        self.query_one("#runs-info", Static).update(Text(f"could not read the runs: {msg.error}", "red"))

    def show(self, read: RunsRead) -> None:
        """Take what a worker read: the rows of runs that changed, came or went are brought up to date
        (a few at a time while the screen keeps answering keys); nothing is drawn if nothing changed."""
        if read.error:
            self.query_one("#runs-info", Static).update(Text(read.error, "red"))
            return
        if read.views is self.views and read.sweeps is None and not read.more:
            return  # nothing changed (the usual refresh): nothing to do
        old, self.views, self.rows = self.views, read.views, read.rows
        changed = {i for i, v in read.views.items() if old.get(i) is not v}
        if read.sweeps is not None and read.sweeps.keys() != self.sweeps.keys():
            changed |= {i for i, v in read.views.items() if v.sweep_id}  # their sweep cells
        if read.sweeps is not None:
            self.sweeps = read.sweeps
        self.marked &= set(self.views)
        self._changed |= changed
        self._order_stale = self._order_stale or bool(changed) or len(old) != len(self.views)
        self._more = read.more
        if read.more:  # a big folder is still being read: go on at once
            self.reads.request()
        self.update_info()
        self.sync()

    def visible_ids(self) -> list[str]:
        """The ids of the runs to show, in order: those the filter keeps, sorted."""
        views = list(self.views.values())
        if self.filter:
            views = [v for v in views if self.filter.matches(v)]
        return [v.run.id for v in sort_views(views, self.sort_key)]

    def sync(self) -> None:
        """Bring the table up to date (in steps, on the UI thread): started again if asked while under way."""
        if self._syncing:
            self._again = True
            return
        if self._changed or self._order_stale:
            self._syncing = True
            self.run_worker(self._sync(), group="runs-sync", exit_on_error=False)

    async def _sync(self) -> None:
        try:
            while True:
                self._again = False
                changed, self._changed = self._changed, set()
                current = self.current_id()
                order = self.visible_ids() if self._order_stale else self.table.keys()
                self._order_stale = False
                done = await self.table.sync(order, self.row, changed, self.plain, stop=lambda: self._again)
                if self._to_top and done:  # a new filter or order: from the top
                    self._to_top = False
                    self.table.move_cursor(row=0)
                elif current in self.plain and done:  # a refresh: the cursor stays on its run
                    self.table.move_cursor(row=self.table.get_row_index(current))
                if not (self._again or self._changed):
                    break
                self._order_stale = True
        finally:
            self._syncing = False
        self.update_info()

    def row(self, run_id: str) -> tuple[tuple, tuple[str, ...]]:
        """A run's cells (its mark, then what the worker made) and their text."""
        cells, text = self.rows[run_id]
        marked = run_id in self.marked
        return (mark_cell(marked), *cells), ("✓" if marked else " ", *text)

    def update_info(self) -> None:
        total, shown = len(self.views), len(self.plain)
        label, key = SORTS[self.sort_at][0], self.sort_key
        arrow = "" if label in ("newest", "oldest") else (" ↓" if key.startswith("-") else " ↑")
        what = f"{total} runs" if not self.filter else f"{shown} of {total} runs ({self.filter.text})"
        reading = " reading..." if self._more or self._syncing else ""
        info = f"{what}, sorted by {label}{arrow}{reading} in {self.glo.store.root}"
        self.query_one("#runs-info", Static).update(info)

    # --- filter and sort ---
    def action_filter(self) -> None:
        field_ = self.query_one("#runs-filter", Input)
        field_.display = True
        field_.value = self.filter.text
        field_.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._filter_timer = self.set_timer(0.25, lambda: self.apply_filter(event.value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.apply_filter(event.value):
            self.close_filter()

    def apply_filter(self, text: str) -> bool:
        """Filter by TEXT (glo.store.query's syntax); a filter that cannot be read is said, and not applied."""
        try:
            query = parse(text)
        except GloError as exc:
            self.query_one("#runs-info", Static).update(Text(str(exc), "red"))
            return False
        if query.text != self.filter.text:
            self.filter, self._order_stale, self._to_top = query, True, True
            self.sync()
        self.update_info()
        return True

    def close_filter(self) -> None:
        self.query_one("#runs-filter", Input).display = False
        self.table.focus()

    def action_back(self) -> None:
        """Esc: close the filter field if it is open, else back to the previous screen."""
        if self.query_one("#runs-filter", Input).display:
            self.close_filter()
        else:
            self.app.pop_screen()

    def action_sort(self) -> None:
        """Sort by the next column (SORTS)."""
        self.sort_at = (self.sort_at + 1) % len(SORTS)
        self.sort_key, self._order_stale, self._to_top = SORTS[self.sort_at][1], True, True
        self.sync()
        self.update_info()

    def action_sort_reverse(self) -> None:
        key = self.sort_key
        self.sort_key, self._order_stale = (key[1:] if key.startswith("-") else "-" + key), True
        self._to_top = True
        self.sync()
        self.update_info()

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
        sweep_id = view.sweep_id if view is not None else None
        return self.sweeps.get(sweep_id) if sweep_id else None

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        from tui.watch import open_run  # a running run is watched live, any other opened

        open_run(self.app, self.current_run())

    def action_compare(self) -> None:
        from tui.screens.compare import CompareScreen

        ids = [i for i in self.views if i in self.marked]
        if len(ids) < 2:
            self.notify("mark two or more runs with space (or a sweep's runs with w), then press c",
                        severity="warning")
            return
        sweep = self.sweep_of(ids[0])  # exactly one sweep's runs marked: say so in the title
        whole = sweep is not None and set(ids) == set(sweep.run_ids()) & set(self.views)
        title = f"sweep {sweep.label}" if sweep is not None and whole else None
        self.app.push_screen(CompareScreen([self.views[i].run for i in ids], title=title))

    def action_delete(self) -> None:
        """Delete the marked runs (or the highlighted one) after a y/n question; running runs stay."""
        from tui.screens.confirm import ConfirmScreen

        ids = [i for i in self.views if i in self.marked] or [i for i in [self.current_id()] if i]
        if not ids:
            return
        what = ids[0] if len(ids) == 1 else f"these {len(ids)} runs"
        detail = "\n".join(ids[:6]) + (f"\n... and {len(ids) - 6} more" if len(ids) > 6 else "")
        def answered(yes: bool | None) -> None:
            if yes:
                self.delete_runs(ids)

        self.app.push_screen(ConfirmScreen(f"Delete {what} for good?", detail if len(ids) > 1 else ""), answered)

    @work(thread=True, group="delete", exit_on_error=False)
    def delete_runs(self, ids: list[str]) -> None:
        """Delete the runs (in a worker: whole folders go), then show the list without them."""
        deleted, errors = [], []
        for run_id in ids:
            try:
                self.glo.store.delete(run_id)  # refuses a run that is still training
                deleted.append(run_id)
            except (GloError, OSError) as exc:
                errors.append(str(exc))
        self.post_message(RunsDeleted(deleted, errors))

    def on_runs_deleted(self, msg: RunsDeleted) -> None:
        deleted, errors = msg.deleted, msg.errors
        self.marked -= set(deleted)
        self.views = {i: v for i, v in self.views.items() if i not in set(deleted)}
        self.table.remove_rows(deleted)  # gone at once; a read under way (made before the delete) is dropped
        for run_id in deleted:
            self.plain.pop(run_id, None)
        self.update_info()
        self.reads.request(fresh=True)
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
                self.glo.resume_sweep(sweep)
            else:
                self.glo.resume_run(run.id)
        except GloError as exc:
            self.notify(str(exc), severity="error")

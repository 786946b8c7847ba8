"""Saved runs: a list of the runs folder that refreshes itself; open, compare or resume runs."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from glo.cli.report import RunView, duration, fmt
from glo.errors import GloError
from glo.runs import Run

REFRESH_S = 2.0
RESUMABLE = ("stopped", "interrupted")


def row_for(view: RunView, marked: bool) -> tuple:
    last = view.last
    return (
        Text("✓" if marked else " ", style="bold green"),
        view.run.id,
        view.status_text(),
        view.settings_label,
        view.epochs_label,
        fmt(last.get("recon_loss")),
        fmt(last.get("train_loss")),
        duration(last.get("elapsed_s")),
    )


class RunsScreen(Screen):
    BINDINGS = [
        Binding("escape,b", "app.pop_screen", "Back"),
        Binding("space", "mark", "Mark"),
        Binding("enter", "open", "Open", show=True),
        Binding("c", "compare", "Compare marked"),
        Binding("R", "resume", "Resume"),
        Binding("f5", "reload", "Refresh", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.marked: set[str] = set()
        self.views: dict[str, RunView] = {}
        self._shown: list[tuple] = []

    def compose(self) -> ComposeResult:
        yield Static("", id="runs-info")
        table = DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        table.border_title = "saved runs"
        yield table
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, width in (("", 1), ("id", None), ("status", None), ("settings (vs defaults)", None),
                             ("epochs", None), ("recon", None), ("train", None), ("time", None)):
            table.add_column(label, key=label or "mark", width=width)
        self.reload()
        self.set_interval(REFRESH_S, self.reload)
        table.focus()

    @property
    def table(self) -> DataTable:
        return self.query_one(DataTable)

    def reload(self) -> None:
        """Read the runs folder again; redraw only when something changed (keeps the cursor)."""
        store = self.app.store
        try:
            runs = store.runs()
        except OSError as exc:
            self.query_one("#runs-info", Static).update(Text(f"cannot read {store.root}: {exc}", "red"))
            return
        self.views = {run.id: RunView(run) for run in runs}
        self.marked &= set(self.views)
        rows = [row_for(v, v.run.id in self.marked) for v in reversed(list(self.views.values()))]
        info = (f"{len(rows)} runs in {store.root}   space marks, c compares marked runs, "
                f"enter opens, R resumes a stopped run")
        self.query_one("#runs-info", Static).update(info)
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
        except Exception:
            return None

    def current_run(self) -> Run | None:
        run_id = self.current_id()
        return self.views[run_id].run if run_id in self.views else None

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
            self.notify("mark two or more runs with space, then press c", severity="warning")
            return
        self.app.push_screen(CompareScreen([self.views[i].run for i in ids]))

    def action_resume(self) -> None:
        run = self.current_run()
        if run is None:
            return
        status = run.status()
        if status not in RESUMABLE:
            self.notify(f"run {run.id} is {status}: only stopped or interrupted runs resume", severity="warning")
            return
        try:
            self.app.resume_run(run.id)
        except GloError as exc:
            self.notify(str(exc), severity="error")

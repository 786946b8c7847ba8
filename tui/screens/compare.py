"""One run opened, or several compared: loss curves overlaid, final numbers one line per run, images.

The numbers are ``glo.cli.report.numbers_tables`` (the CLI's comparison table): noise-free recon
losses, PSNR, and from each run's analysis.json the class-from-content probe and the held-out fit.
Runs without an analysis get one in a thread worker after the screen opens (a child process per
run, a few seconds each, see ``tui.analyse``; the table refreshes as each lands). ``e`` exports the table as CSV and the image rows as PNG into
RUNS/exports/; ``t`` shows the first run's transfer grid.
"""

from __future__ import annotations

from typing import ClassVar

from rich.console import Group
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import get_current_worker

from glo.analysis_store import read_analysis
from glo.cli.render import comparison
from glo.cli.report import RunView, numbers_tables
from glo.compare import curves, image_rows, labels
from glo.errors import GloError
from glo.runs import Run
from tui import messages as m
from tui.analyse import analyse_in_child
from tui.widgets.chart import CompareChart
from tui.widgets.recon import resize

METRICS = ("recon_loss", "train_loss", "psnr")
IMAGE_SIZE = 14  # pixels per side in the side-by-side images
ANALYSABLE = ("completed", "stopped")  # as `glo compare`: finished runs with a checkpoint


def needs_analysis(run: Run) -> bool:
    return run.status() in ANALYSABLE and run.has_checkpoint() and read_analysis(run) is None


class CompareImages(Static):
    """The real images above each run's reconstructions (``glo.compare.image_rows``), wrapped to the width."""

    def __init__(self, runs: list[Run], **kw) -> None:
        super().__init__("", **kw)
        self.runs = runs
        self.ascii = False

    def on_resize(self) -> None:
        self.redraw()

    def redraw(self) -> None:
        rows = [(label, resize(images, IMAGE_SIZE)) for label, images in image_rows(self.runs)]
        shown = {label for label, _ in rows}
        parts = []
        if rows:
            parts.append(comparison(rows, width=max(self.size.width, IMAGE_SIZE), ascii=self.ascii))
        for label in labels(self.runs).values():
            if label not in shown:
                parts.append(Text(f"{label}: no images yet", style="dim"))
        self.update(Group(*parts))


class CompareScreen(Screen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,b", "app.pop_screen", "Back"),
        Binding("m", "metric", "Metric"),
        Binding("l", "toggle_log", "Log scale"),
        Binding("e", "export", "Export"),
        Binding("t", "transfer", "Transfer"),
        Binding("a", "toggle_ascii", "ASCII"),
        Binding("R", "resume", "Resume", show=False),
    ]

    def __init__(self, runs: list[Run], title: str | None = None) -> None:
        super().__init__()
        self.runs = runs
        self.heading = title or (runs[0].id if len(runs) == 1 else f"{len(runs)} runs compared")
        self.metric = METRICS[0]
        self.analysing: tuple[int, int] | None = None  # (done, total) while the worker runs
        self.exported: list[str] = []
        self.names = labels(runs)  # legend names, unique among these runs

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="compare-body"):  # the numbers first: at 80x24 they fit above the fold
            table = Static("", id="compare-table")
            table.border_title = self.heading
            yield table
            yield Static("", id="compare-note")
            chart = CompareChart(id="compare-chart")
            chart.border_title = "loss curves"
            yield chart
            images = CompareImages(self.runs, id="compare-images")
            images.border_title = "originals / reconstructions"
            yield images
        yield Footer()

    def on_mount(self) -> None:
        self.plot()
        self.show_table()
        self.query_one(VerticalScroll).focus()
        self.analyse()

    # --- the numbers ---
    def on_resize(self) -> None:
        self.show_table()

    def show_table(self) -> None:
        box = self.query_one("#compare-table", Static)
        width = box.content_size.width or self.app.size.width - 4
        parts: list = numbers_tables(self.runs, width)
        for part in parts[:-1]:
            part.show_edge = False  # no blank edge rows: every line counts at 80x24
        for run in self.runs:
            view = RunView(run)
            if view.changes:
                parts.append(Text(f"live changes in {self.names[run.id]}: {view.changes_label}", style="dim"))
        box.update(Group(*parts))

    def note(self, text: str, style: str = "cyan") -> None:
        self.query_one("#compare-note", Static).update(Text(text, style=style))

    def analyse(self) -> None:
        if getattr(self.app, "auto_analyse", True):
            self._analyse(getattr(self.app, "analysis_heldout", None))

    @work(thread=True, exclusive=True, group="analysis", exit_on_error=False)
    def _analyse(self, heldout_n: int | None) -> int:
        """Compute the missing analyses (probe, held-out fit) one run at a time, each in a child
        process (``tui.analyse``: stopped at once when the screen closes or the console quits)."""
        worker = get_current_worker()
        todo = [run for run in self.runs if needs_analysis(run)]
        if not todo:
            return 0
        error = None
        for i, run in enumerate(todo):
            self.post_message(m.AnalysisProgress(i, len(todo), run.id, error))
            why = analyse_in_child(run.root, run.id, heldout_n, cancelled=lambda: worker.is_cancelled)
            if why == "cancelled" or worker.is_cancelled:
                return i
            error = None if why is None else f"{self.names[run.id]}: {why}"
        self.post_message(m.AnalysisProgress(len(todo), len(todo), None, error))
        return len(todo)

    def on_analysis_progress(self, msg: m.AnalysisProgress) -> None:
        if msg.done:
            self.show_table()
        if msg.error:
            self.notify(msg.error, title="analysis failed", severity="warning", timeout=6)
        if msg.run_id is not None:
            self.analysing = (msg.done, msg.total)
            label = self.names.get(msg.run_id, msg.run_id)
            self.note(f"analysing {msg.done + 1}/{msg.total}: {label} (class probe, held-out fit)...")
        else:
            self.analysing = None
            self.note(f"analysed {msg.total} run{'s' if msg.total != 1 else ''}", style="dim")

    # --- export ---
    def action_export(self) -> None:
        self.export()

    @work(thread=True, exclusive=True, group="export", exit_on_error=False)
    def export(self) -> None:
        """The table as CSV and the image rows as PNG, into RUNS/exports/ (the PNG needs torch)."""
        from glo.compare import export, export_paths

        try:
            written = export(self.runs, *export_paths(self.app.store.root))
        except (GloError, OSError, ValueError) as exc:
            self.post_message(m.ExportDone([], str(exc)))
            return
        self.post_message(m.ExportDone([str(p) for p in written]))

    def on_export_done(self, msg: m.ExportDone) -> None:
        if msg.error:
            self.notify(msg.error, title="export failed", severity="error", timeout=8)
            return
        self.exported = msg.paths
        self.notify("wrote " + " and ".join(msg.paths), title="exported", timeout=8)

    # --- chart and images ---
    def plot(self) -> None:
        chart = self.query_one(CompareChart)
        if len(self.runs) == 1:  # one run: its recon and train curves together
            run = self.runs[0]
            series = [(m, xs, ys) for m in ("recon_loss", "train_loss") for _, xs, ys in curves([run], m)]
            if self.metric == "psnr":
                series = [("psnr", xs, ys) for _, xs, ys in curves([run], "psnr")]
            title = "psnr per epoch" if self.metric == "psnr" else "losses per epoch"
        else:
            series = curves(self.runs, self.metric)
            title = f"{self.metric} per epoch"
        chart.set_series(series, title)

    def action_metric(self) -> None:
        self.metric = METRICS[(METRICS.index(self.metric) + 1) % len(METRICS)]
        self.plot()

    def action_toggle_log(self) -> None:
        chart = self.query_one(CompareChart)
        chart.log_scale = not chart.log_scale
        chart.replot()

    def action_toggle_ascii(self) -> None:
        images = self.query_one(CompareImages)
        images.ascii = not images.ascii
        images.redraw()

    def action_transfer(self) -> None:
        from tui.screens.transfer import TransferScreen

        runs = [r for r in self.runs if r.has_checkpoint()]
        if not runs:
            self.notify("no run here has a checkpoint yet", severity="warning")
            return
        self.app.push_screen(TransferScreen(runs))

    def action_resume(self) -> None:
        if len(self.runs) == 1:
            self.app.pop_screen()
            if hasattr(self.app.screen, "action_resume"):
                self.app.screen.action_resume()

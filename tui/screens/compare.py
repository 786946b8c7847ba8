"""One run opened, or several compared: loss curves overlaid, final numbers one line per run, images.

The numbers are ``glo.view.numbers.numbers_tables`` (the CLI's comparison table): noise-free recon
losses, PSNR, and from each run's analysis.json the class-from-content probe and the held-out fit.
The runs are read in a thread worker (``glo.store.runview.RunView`` each, and their images); the UI
thread only draws what was read. Runs without an analysis get one in another thread worker after
the screen opens (a child process per run, a few seconds each, see ``tui.analyze``; the runs are
read again as each lands). ``e`` exports the table as CSV and the image rows as PNG into
RUNS/exports/; ``t`` shows the first run's transfer grid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from rich.console import Group, RenderableType
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Footer, Static
from textual.worker import get_current_worker

from glo.analysis.compare import ImageRows, image_rows, labels, rows
from glo.analysis.versus import versus
from glo.errors import GloError
from glo.store.analyses import needs_analysis
from glo.store.runs import Run
from glo.store.runview import RunView
from glo.view.images import resize, wrapped_rows
from glo.view.numbers import environment_note, numbers_tables
from glo.view.plots import chart_series
from tui import messages as m
from tui.protocols import ConsoleScreen
from tui.reading import ReadFailed, Reads
from tui.widgets import titled
from tui.widgets.chart import CompareChart
from tui.widgets.versus import VersusChart

if TYPE_CHECKING:
    pass

METRICS = ("recon_loss", "train_loss", "psnr")
IMAGE_SIZE = 14  # pixels per side in the side-by-side images
@dataclass
class CompareRead(Message):
    """The compared runs as the worker read them, and their image rows scaled to IMAGE_SIZE."""

    views: list[RunView] = field(default_factory=list)
    images: ImageRows = field(default_factory=list)
    checkpointed: list[Run] = field(default_factory=list)  # the runs a transfer grid can be drawn for


def read_runs(runs: list[Run]) -> CompareRead:
    """Each run read once, and the image rows (in the worker thread)."""
    views = rows(runs)
    images = [(label, resize(images, IMAGE_SIZE)) for label, images in image_rows(views)]
    return CompareRead(views, images, [run for run in runs if run.has_checkpoint()])


class CompareImages(Static):
    """The real images above each run's reconstructions (``glo.analysis.compare.image_rows``), wrapped to the width."""

    def __init__(self, **kw) -> None:
        super().__init__("", **kw)
        self.rows: ImageRows = []
        self.labels: list[str] = []
        self.ascii = False

    def show(self, rows: ImageRows, labels: list[str]) -> None:
        self.rows, self.labels = rows, labels
        self.redraw()

    def on_resize(self) -> None:
        self.redraw()

    def redraw(self) -> None:
        shown = {label for label, _ in self.rows}
        parts: list[RenderableType] = []
        if self.rows:
            parts.append(wrapped_rows(self.rows, width=max(self.size.width, IMAGE_SIZE), ascii=self.ascii))
        for label in self.labels:
            if label not in shown:
                parts.append(Text(f"{label}: no images yet", style="dim"))
        self.update(Group(*parts))


class CompareScreen(ConsoleScreen):
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
        self.analyzing: tuple[int, int] | None = None  # (done, total) while the worker runs
        self.exported: list[str] = []
        self.names = labels(runs)  # legend names, unique among these runs
        self.read: CompareRead | None = None  # the runs as last read (None until the first read)
        self.reads = Reads(self, lambda: read_runs(self.runs), "compare-read")
        self._analyzed: int | None = None  # the analysis finished (of so many runs): say so once re-read

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="compare-body"):  # the numbers first: at 80x24 they fit above the fold
            yield titled(Static("", id="compare-table"), self.heading)
            yield Static("", id="compare-note")
            yield titled(CompareChart(id="compare-chart"), "loss curves")
            yield VersusChart(id="compare-versus")  # runs that differ in one or two settings: metric against it
            yield titled(CompareImages(id="compare-images"), "originals / reconstructions")
        yield Footer()

    async def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()
        read = await self.reads.first()  # the screen opens filled; the UI thread is free meanwhile
        if not self.is_attached:  # closed while it was read: draw nothing, analyze nothing
            return
        if read is not None:
            self.show(read)
        self.analyze()

    def on_read_failed(self, msg: ReadFailed) -> None:
        self.note(f"could not read the runs: {msg.error}", style="red")

    # --- reading the runs ---
    def on_compare_read(self, msg: CompareRead) -> None:
        self.show(msg)

    def show(self, read: CompareRead) -> None:
        """Draw what a worker read: numbers, curves, images."""
        self.read = read
        self.show_table()
        self.plot()
        self.query_one(CompareImages).show(read.images, [v.label for v in read.views])
        if self._analyzed is not None:  # the numbers of the last analysis are shown now
            total, self._analyzed = self._analyzed, None
            self.analyzing = None
            self.note(f"analyzed {total} run{'s' if total != 1 else ''}", style="dim")

    # --- the numbers ---
    def on_resize(self) -> None:
        self.show_table()

    def show_table(self) -> None:
        if self.read is None:
            return
        box = self.query_one("#compare-table", Static)
        width = box.content_size.width or self.app.size.width - 4
        parts: list = numbers_tables(self.read.views, width)
        for part in parts[:-1]:
            part.show_edge = False  # no blank edge rows: every line counts at 80x24
        for view in self.read.views:
            if view.changes:
                parts.append(Text(f"live changes in {view.label}: {view.changes_label}", style="dim"))
        env = environment_note(self.read.views)  # versions, device, host, data that differ
        if env is not None:
            parts.append(env)
        box.update(Group(*parts))

    def note(self, text: str, style: str = "cyan") -> None:
        self.query_one("#compare-note", Static).update(Text(text, style=style))

    def analyze(self) -> None:
        analyzer = getattr(self.app, "analyzer", None)
        if analyzer is not None:
            self._analyze(analyzer)

    @work(thread=True, exclusive=True, group="analysis", exit_on_error=False)
    def _analyze(self, analyzer) -> int:
        """Compute the missing analyses (probe, held-out fit) one run at a time, each in a child
        process (``tui.analyze``: stopped at once when the screen closes or the console quits)."""
        worker = get_current_worker()
        todo = [run for run in self.runs if needs_analysis(run)]
        if not todo:
            return 0
        error = None
        for i, run in enumerate(todo):
            self.post_message(m.AnalysisProgress(i, len(todo), run.id, error))
            why = analyzer(run, lambda: worker.is_cancelled)
            if why == "cancelled" or worker.is_cancelled:
                return i
            error = None if why is None else f"{self.names[run.id]}: {why}"
        self.post_message(m.AnalysisProgress(len(todo), len(todo), None, error))
        return len(todo)

    def on_analysis_progress(self, msg: m.AnalysisProgress) -> None:
        if msg.error:
            self.notify(msg.error, title="analysis failed", severity="warning", timeout=6)
        if msg.run_id is not None:
            self.analyzing = (msg.done, msg.total)
            label = self.names.get(msg.run_id, msg.run_id)
            self.note(f"analyzing {msg.done + 1}/{msg.total}: {label} (class probe, held-out fit)...")
        else:
            self._analyzed = msg.total  # finished: said (and analyzing cleared) once the runs are re-read
        if msg.done:
            self.reads.request()

    # --- export ---
    def action_export(self) -> None:
        self.export()

    @work(thread=True, exclusive=True, group="export", exit_on_error=False)
    def export(self) -> None:
        """The table as CSV and the image rows as PNG, into RUNS/exports/ (the PNG needs torch)."""
        from glo.analysis.compare import export, export_paths

        try:
            written = export(self.runs, *export_paths(self.glo.store.root), metric=self.metric)
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
        if self.read is not None:
            self.query_one(CompareChart).set_series(*chart_series(self.read.views, self.metric))
            self.query_one(VersusChart).show(versus(self.read.views, self.metric))

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

        runs = list(self.read.checkpointed) if self.read is not None else []
        if not runs:
            self.notify("no run here has a checkpoint yet", severity="warning")
            return
        self.app.push_screen(TransferScreen(runs))

    def action_resume(self) -> None:
        if len(self.runs) == 1:
            self.app.pop_screen()
            if hasattr(self.app.screen, "action_resume"):
                self.app.screen.action_resume()

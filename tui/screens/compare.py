"""One run opened, or several compared: loss curves overlaid, settings side by side, images."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from glo.cli.render import comparison
from glo.cli.report import compare_table, curves
from glo.runs import Run
from tui.widgets.chart import CompareChart
from tui.widgets.recon import resize

METRICS = ("recon_loss", "train_loss", "psnr")
IMAGE_SIZE = 14  # pixels per side in the side-by-side images


def short(run_id: str) -> str:
    """Run ids start with a date (YYYYmmdd-); the legend keeps the rest."""
    return run_id[9:] if len(run_id) > 16 and run_id[8] == "-" else run_id


class CompareImages(Static):
    """The first run's originals above each run's reconstructions, wrapped to the width."""

    def __init__(self, runs: list[Run], **kw) -> None:
        super().__init__("", **kw)
        self.runs = runs
        self.ascii = False

    def on_resize(self) -> None:
        self.redraw()

    def redraw(self) -> None:
        rows, missing = [], []
        for run in self.runs:
            images = run.read_images()
            if images is None:
                missing.append(run.id)
                continue
            originals, recons, _ = images
            if not rows:
                rows.append(("originals", resize(originals, IMAGE_SIZE)))
            rows.append((short(run.id), resize(recons, IMAGE_SIZE)))
        parts = []
        if rows:
            parts.append(comparison(rows, width=max(self.size.width, IMAGE_SIZE), ascii=self.ascii))
        for run_id in missing:
            parts.append(Text(f"{run_id}: no images yet", style="dim"))
        self.update(Group(*parts))


class CompareScreen(Screen):
    BINDINGS = [
        Binding("escape,b", "app.pop_screen", "Back"),
        Binding("m", "metric", "Metric"),
        Binding("l", "toggle_log", "Log scale"),
        Binding("a", "toggle_ascii", "ASCII"),
        Binding("R", "resume", "Resume", show=False),
    ]

    def __init__(self, runs: list[Run]) -> None:
        super().__init__()
        self.runs = runs
        self.metric = METRICS[0]

    def compose(self) -> ComposeResult:
        title = self.runs[0].id if len(self.runs) == 1 else f"{len(self.runs)} runs compared"
        with VerticalScroll(id="compare-body"):
            chart = CompareChart(id="compare-chart")
            chart.border_title = title
            yield chart
            table = Static(compare_table(self.runs), id="compare-table")
            yield table
            images = CompareImages(self.runs, id="compare-images")
            images.border_title = "originals / reconstructions"
            yield images
        yield Footer()

    def on_mount(self) -> None:
        self.plot()
        self.query_one(VerticalScroll).focus()

    def plot(self) -> None:
        chart = self.query_one(CompareChart)
        if len(self.runs) == 1:  # one run: its recon and train curves together
            run = self.runs[0]
            series = [(m, xs, ys) for m in ("recon_loss", "train_loss") for _, xs, ys in curves([run], m)]
            if self.metric == "psnr":
                series = [("psnr", xs, ys) for _, xs, ys in curves([run], "psnr")]
            title = "psnr per epoch" if self.metric == "psnr" else "losses per epoch"
        else:
            series = [(short(rid), xs, ys) for rid, xs, ys in curves(self.runs, self.metric)]
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

    def action_resume(self) -> None:
        if len(self.runs) == 1:
            self.app.pop_screen()
            if hasattr(self.app.screen, "action_resume"):
                self.app.screen.action_resume()

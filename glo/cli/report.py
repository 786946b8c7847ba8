"""Tables, terminal plots and image panels for ``glo runs`` and ``glo compare``."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from glo.cli.render import comparison
from glo.errors import RunStoreError
from glo.runs import Run

METRICS = ("recon_loss", "train_loss", "psnr", "recon_l1", "recon_l2")
STATUS_STYLE = {"completed": "green", "running": "cyan", "stopped": "yellow", "interrupted": "yellow",
                "failed": "red", "damaged": "red"}
SETTINGS = ("dataset", "n_images", "sigma", "decay", "loss", "combine", "epochs", "batch_size", "lr_generator",
            "lr_latent", "seed", "device")


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def fmt_setting(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else "-" if value is None else str(value)


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s" if m else f"{s}s"


class RunView:
    """What the reports need from one run folder, read once and tolerant of damage."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.status = run.status()
        try:
            self.config = run.read_config()
        except RunStoreError:
            self.config = None
        records = run.read_metrics()
        self.epochs = run.epochs(records)
        self.summary = run.read_summary() or {}
        self.last = self.epochs[-1] if self.epochs else {}
        self.changes = [r for r in records if r.get("event") == "change"]
        self.warnings = run.warnings

    @property
    def changes_label(self) -> str:
        """Live changes made while training, e.g. 'sigma 0.3->0.9 @14'."""
        return ", ".join(f"{c.get('param')} {fmt_setting(c.get('old'))}->{fmt_setting(c.get('new'))} @{c.get('epoch')}"
                         for c in self.changes) or "-"

    @property
    def epochs_label(self) -> str:
        total = self.config.epochs if self.config else "?"
        return f"{len(self.epochs)}/{total}"

    @property
    def settings_label(self) -> str:
        if self.config is None:
            return "(config missing)"
        diff = self.config.differences()
        return " ".join(f"{k}={fmt_setting(v)}" for k, v in diff.items()) or "defaults"

    def status_text(self) -> Text:
        label = self.status + (" (damaged)" if self.warnings and self.status != "damaged" else "")
        return Text(label, style=STATUS_STYLE.get(self.status, ""))


def runs_table(runs: list[Run]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("id", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("settings", ratio=1, min_width=10, overflow="fold")
    for col in ("epochs", "recon", "time"):
        table.add_column(col, no_wrap=True, justify="right")
    for run in runs:
        v = RunView(run)
        table.add_row(run.id, v.status_text(), v.settings_label, v.epochs_label, fmt(v.last.get("recon_loss")),
                      duration(v.last.get("elapsed_s")))
    return table


def show_run(console: Console, run: Run, ascii: bool = False) -> None:
    v = RunView(run)
    console.print(Text.assemble(("run ", "bold"), (run.id, "bold cyan"), "  ", v.status_text()))
    console.print(f"folder: {run.path}")
    for w in v.warnings:
        console.print(Text(f"warning: {w}", style="yellow"))
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="dim")
    table.add_column()
    if v.config is not None:
        for key in SETTINGS:
            table.add_row(key, fmt_setting(getattr(v.config, key)))
    if v.changes:
        table.add_row("live changes", v.changes_label)
    table.add_row("epochs done", v.epochs_label)
    for key in ("recon_loss", "recon_l1", "recon_l2", "psnr", "train_loss", "images_per_s"):
        table.add_row(key, fmt(v.last.get(key)))
    table.add_row("best recon_loss", fmt(v.summary.get("best_recon_loss")))
    table.add_row("time", duration(v.last.get("elapsed_s")))
    if v.summary.get("error"):
        table.add_row("error", Text(v.summary["error"], style="red"))
    console.print(table)
    images = run.read_images()
    if images is None:
        console.print("(no images yet)")
        return
    originals, recons, _ = images
    console.print(comparison([("originals", originals), ("reconstructions", recons)], width=console.width, ascii=ascii))


def compare_table(runs: list[Run]) -> Table:
    views = [RunView(r) for r in runs]
    table = Table(title="comparison", title_justify="left")
    table.add_column("", style="dim", no_wrap=True)
    for v in views:
        table.add_column(v.run.id, overflow="fold")
    configs = [v.config.to_dict() if v.config else {} for v in views]
    for key in SETTINGS:
        values = [fmt_setting(c.get(key)) for c in configs]
        style = "bold" if len(set(values)) > 1 else ""
        table.add_row(Text(key, style=style), *[Text(x, style=style) for x in values])
    if any(v.changes for v in views):
        table.add_row("live changes", *[v.changes_label for v in views])
    table.add_row("status", *[v.status_text() for v in views])
    table.add_row("epochs", *[v.epochs_label for v in views])
    for key in METRICS:
        table.add_row(key, *[fmt(v.last.get(key)) for v in views])
    table.add_row("best recon_loss", *[fmt(v.summary.get("best_recon_loss")) for v in views])
    table.add_row("time", *[duration(v.last.get("elapsed_s")) for v in views])
    return table


def curves(runs: list[Run], metric: str) -> list[tuple[str, list[int], list[float]]]:
    out = []
    for run in runs:
        recs = [r for r in run.epochs() if isinstance(r.get(metric), (int, float))]
        out.append((run.id, [r["epoch"] for r in recs], [float(r[metric]) for r in recs]))
    return out


def compare_plot(runs: list[Run], metric: str, log: bool, width: int, height: int) -> Group | Text:
    import plotext as plt

    series = [c for c in curves(runs, metric) if c[1]]
    if not series:
        return Text("(no epochs recorded yet: nothing to plot)")
    plt.clear_figure()
    plt.plotsize(width, height)
    plt.theme("pro")
    for label, x, y in series:
        plt.plot(x, y, label=label, marker="braille")
    if log:
        plt.yscale("log")
    plt.title(f"{metric} per epoch" + (" (log scale)" if log else ""))
    plt.xlabel("epoch")
    return Text.from_ansi(plt.build())

"""What ``glo runs show``, ``glo compare`` and ``glo sweep`` print: glue between the run store and
the views (``glo.view``), for one console."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.text import Text

from glo.analysis.compare import curves, image_rows, rows
from glo.analysis.versus import versus
from glo.store.runs import Run
from glo.store.runview import RunView
from glo.view.images import compact_rows, wrapped_rows
from glo.view.numbers import environment_note, notes_lines, numbers_tables
from glo.view.plots import curves_chart, versus_chart
from glo.view.tables import run_details, run_heading

METRICS = ("recon_loss", "train_loss", "psnr", "recon_l1", "recon_l2")


def show_run(console: Console, run: Run, ascii: bool = False) -> None:
    """A run's settings and results, then its originals above its reconstructions."""
    v = RunView(run)
    console.print(run_heading(v))
    console.print(f"folder: {run.path}")
    if v.status in ("stopped", "interrupted"):
        console.print(f"resume it with: {v.resume_command}", style="dim")
    for w in v.warnings:
        console.print(Text(f"warning: {w}", style="yellow"))
    console.print(run_details(v))
    images = run.read_images()
    if images is None:
        damaged = [w for w in run.warnings if w.startswith("images.npz")]
        console.print(Text(f"warning: {damaged[-1]}", style="yellow") if damaged else "(no images yet)")
        return
    originals, recons, _ = images
    console.print(wrapped_rows([("originals", originals), ("reconstructions", recons)], width=console.width,
                               ascii=ascii))


def print_comparison(console: Console, runs: list[Run], metric: str = "recon_loss", log: bool = False,
                     ascii: bool = False, width: int | None = None, height: int = 20) -> None:
    """The whole comparison: final numbers, overlaid curves, and each run's reconstructions."""
    width = width or min(console.width, 120)
    views = rows(runs)
    for part in numbers_tables(views, console.width):
        console.print(part)
    env = environment_note(views)
    if env is not None:
        console.print(env)
    for v in views:
        if v.changes:
            console.print(f"live changes in {v.run.id}: {v.changes_label}")
    for line in notes_lines(views):
        console.print(line, markup=False, highlight=False)
    plain = ascii or console.color_system is None
    # without colour each run is drawn (and named in the legend) with its own character
    chart = curves_chart(curves(views, metric), f"{metric} per epoch" + (" (log scale)" if log else ""),
                         width, height, log, colour=not plain)
    console.print(Text("(no epochs recorded yet: nothing to plot)") if chart is None else Text.from_ansi(chart),
                  markup=False)
    against = versus_chart(versus(views, metric), width, height, colour=not plain)  # runs differing in 1-2 settings
    if against is not None:
        console.print(Text.from_ansi(against), markup=False)
    images = image_rows(views)
    if images:
        console.print(compact_rows(images, width=width, ascii=plain))


def analyze_missing(console: Console, runs: list[Run]) -> None:
    """Compute (and cache) the probe and held-out numbers of finished runs that lack them."""
    from glo.store.analyses import needs_analysis

    todo = [r for r in runs if needs_analysis(r)]
    if not todo:
        return
    from glo.analysis.analyze import analyze
    from glo.errors import GloError

    for i, run in enumerate(todo, 1):
        console.print(f"analyzing {run.id} ({i}/{len(todo)}): class-from-content probe, held-out fit", highlight=False)
        try:
            analyze(run)
        except GloError as exc:
            console.print(Text(f"warning: {run.id}: {exc}", style="yellow"))


def report_exports(console: Console, runs: list[Run], written: list[Path], png_path) -> None:
    """Say what ``glo.analysis.compare.export`` wrote (called after the comparison is printed; the files
    are written before it, so that a closed pipe, ``| head``, cannot lose them)."""
    for path in written:
        rows_named = ""
        if path.suffix.lower() == ".png":
            rows_named = " (rows, top to bottom: " + ", ".join(label for label, _ in image_rows(runs)) + ")"
        console.print(f"wrote {path}{rows_named}", highlight=False)
    if png_path is not None and Path(png_path) not in written:
        console.print(Text("no images to write: the runs have not finished an epoch", style="yellow"))

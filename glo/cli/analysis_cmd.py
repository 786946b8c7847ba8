"""``glo analyze``, ``glo transfer`` and ``glo sample``: what a trained run learnt.

Thin commands over glo.analysis.analyze, glo.analysis.latent and glo.analysis.figures, drawn by
glo.view. Registered on the ``glo`` app by
``register(app)``; torch and numpy load only inside the commands, so ``glo --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.text import Text

from glo.cli.options import RUNS_DIR_HELP, make_console, open_store
from glo.config import COUNT_MAX, INT_MAX
from glo.errors import ConfigError

RUN_HELP = "Run id (a unique prefix, its name or 'latest' works)."
ASCII_HELP = "ASCII images (for terminals without colour)."


def analyze(
    run_ids: list[str] = typer.Argument(..., metavar="RUN...", help="Runs to analyze."),
    runs_dir: Path | None = typer.Option(None, help=RUNS_DIR_HELP),
    refresh: bool = typer.Option(False, "--refresh", help="Recompute even if analysis.json is up to date."),
    heldout: int = typer.Option(500, help="Held-out images to fit (class-balanced)."),
) -> None:
    """Probe accuracy of class from content codes, and held-out vs training reconstruction.

    Cached as analysis.json in each run folder until its checkpoint changes.
    """
    from glo.analysis.analyze import analyze as run_analysis
    from glo.errors import RunStoreError
    from glo.view.tables import analysis_table

    if heldout < 1:
        raise ConfigError(f"--heldout must be at least 1, got {heldout}")
    if heldout > COUNT_MAX:
        raise ConfigError(f"--heldout must be at most {COUNT_MAX}, got {heldout}")
    store = open_store(runs_dir)
    runs = [store.get(r) for r in run_ids]  # resolve every id before any work
    for run in runs:
        if not run.has_checkpoint():
            raise RunStoreError(f"run {run.id} has no checkpoint yet (one is written after each epoch and on stop)")
    console = make_console()
    results = []
    for run in runs:
        with console.status(f"analyzing {run.id} ..."):
            results.append(run_analysis(run, heldout_n=heldout, refresh=refresh))
        if results[-1].get("warning"):
            console.print(Text(f"{run.id}: {results[-1]['warning']}", style="yellow"))
    from glo.analysis.compare import labels

    names = labels(runs)
    console.print(analysis_table(results, names))
    shortened = [f"{names[r.id]} = {r.id}" for r in runs if names[r.id] != r.id]
    if shortened:
        console.print(Text("runs: " + ", ".join(shortened), style="dim"), highlight=False)


def transfer(
    run_id: str = typer.Argument(..., metavar="RUN", help=RUN_HELP),
    rows: int = typer.Option(6, help="Source images (one per class first)."),
    png: Path | None = typer.Option(None, help="Also write the grid (sources in the first column) as a PNG."),
    ascii: bool = typer.Option(False, "--ascii", help=ASCII_HELP),
    runs_dir: Path | None = typer.Option(None, help=RUNS_DIR_HELP),
) -> None:
    """Style transfer: each source image's content code drawn as every class (0-9 for digits)."""
    from glo.analysis.analyze import load_trained
    from glo.analysis.figures import transfer_rows
    from glo.imaging.png import save_grid_png
    from glo.view.images import lead_rows

    if not 1 <= rows <= 100:
        raise ConfigError(f"--rows must be 1-100, got {rows}")
    store = open_store(runs_dir)
    if png is not None:
        from glo.analysis.compare import check_export_path

        check_export_path(png, "transfer.png", store.root)
    run = store.get(run_id)
    grid = transfer_rows(load_trained(run), rows)
    if png is not None:
        save_grid_png(grid.full, png)
    console = make_console()
    console.print(f"{run.id}: training images (first) and their content codes drawn with the class codes {grid.span}")
    console.print(lead_rows(grid.titled("a {label}, drawn as {classes}", with_source=False), console.width,
                            ascii or console.color_system is None, leads=grid.sources))
    if png is not None:
        console.print(f"wrote {png}")


def sample(
    run_id: str = typer.Argument(..., metavar="RUN", help=RUN_HELP),
    digit: int | None = typer.Option(None, help="Only this class (a digit, or a class's number; default: all)."),
    n: int = typer.Option(10, help="Samples per class."),
    seed: int = typer.Option(0, help="Random seed (the same seed gives the same samples)."),
    png: Path | None = typer.Option(None, help="Also write the samples (a row per class) as a PNG."),
    ascii: bool = typer.Option(False, "--ascii", help=ASCII_HELP),
    runs_dir: Path | None = typer.Option(None, help=RUNS_DIR_HELP),
) -> None:
    """Novel images: content codes drawn from a Gaussian fitted to the learnt ones, one row per class."""
    from glo.analysis.analyze import load_trained
    from glo.analysis.figures import sample_grid
    from glo.imaging.png import save_grid_png
    from glo.view.images import lead_rows

    if not 1 <= n <= 100:
        raise ConfigError(f"--n must be 1-100, got {n}")
    if seed < 0:
        raise ConfigError(f"--seed must be >= 0, got {seed}")
    if seed > INT_MAX:  # as a run's seed: what torch and the runs folder's index hold
        raise ConfigError(f"--seed must be <= {INT_MAX}, got {seed}")
    store = open_store(runs_dir)
    if png is not None:
        from glo.analysis.compare import check_export_path

        check_export_path(png, "samples.png", store.root)
    run = store.get(run_id)
    if digit is not None and run.read_config().dataset != "folder":  # ten digits: checked before any work
        _check_class(digit, 10)
    trained = load_trained(run)
    classes = trained.split.classes
    if digit is not None:
        _check_class(digit, len(classes))
    digits = list(range(len(classes))) if digit is None else [digit]
    images = sample_grid(trained, digits, n, seed)
    if png is not None:
        save_grid_png(images, png)
    console = make_console()
    named = [str(c) for c in range(10)] == list(classes)
    rows = [(f"digit {d}" if named else classes[d], row) for d, row in zip(digits, images, strict=False)]
    console.print(lead_rows(rows, console.width,
                            ascii or console.color_system is None))
    if png is not None:
        console.print(f"wrote {png}")


def _check_class(digit: int, n_classes: int) -> None:
    if not 0 <= digit < n_classes:
        raise ConfigError(f"--digit must be 0-{n_classes - 1}, got {digit}")


def register(app: typer.Typer) -> None:
    """Add the analysis commands to the ``glo`` app."""
    app.command("analyze")(analyze)
    app.command("transfer")(transfer)
    app.command("sample")(sample)

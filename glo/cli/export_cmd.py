"""``glo export tensorboard DIR`` and ``glo export csv FILE``: chosen runs for the tools researchers use."""

from __future__ import annotations

from pathlib import Path

import typer

from glo.cli.options import RUNS_DIR_HELP, make_console, open_store
from glo.cli.select import complete_runs, with_filters

export_app = typer.Typer(help="Export runs: TensorBoard event files, or every epoch as one CSV / JSON-lines table.",
                         no_args_is_help=True)
TENSORBOARD_HELP = ("Also write TensorBoard logs to DIR while training, one TensorBoard run per glo run "
                    "(follow them with: tensorboard --logdir DIR); default: $GLO_TENSORBOARD.")


def tensorboard_option():
    """``--tensorboard DIR`` of glo run and glo sweep."""
    return typer.Option(None, "--tensorboard", envvar="GLO_TENSORBOARD", show_envvar=False, metavar="DIR",
                        help=TENSORBOARD_HELP)


def check_tensorboard(logdir: Path | None) -> None:
    """Refuse a bad --tensorboard DIR before anything is written, and hand it to a console this
    process opens (glo-tui reads $GLO_TENSORBOARD)."""
    if logdir is None:
        return
    import os

    from glo.export.tensorboard import check_logdir

    check_logdir(logdir, create=False)
    os.environ["GLO_TENSORBOARD"] = str(logdir)


RUNS_HELP = "Run ids (or unique prefixes, names, 'latest'; or choose them with --where ...)."


def _views(runs_dir: Path | None, run_ids: list[str] | None, filters: dict) -> list:
    """The runs named and chosen (as glo runs list chooses), each read once under a unique label."""
    from glo.analysis.compare import labels
    from glo.cli.select import chosen_runs
    from glo.errors import GloError
    from glo.store.runview import RunView

    runs = chosen_runs(open_store(runs_dir), run_ids, filters, "export")
    if not runs:
        raise GloError("no runs match: nothing exported")
    names = labels(runs)
    return [RunView(r, names[r.id], with_analysis=False) for r in runs]


@export_app.command("tensorboard")
@with_filters
def export_tensorboard(
    logdir: Path = typer.Argument(..., metavar="DIR", help="Log folder: one TensorBoard run per glo run in it."),
    run_ids: list[str] | None = typer.Argument(None, metavar="[RUN]...", autocompletion=complete_runs, help=RUNS_HELP),
    runs_dir: Path | None = typer.Option(None, help=RUNS_DIR_HELP),
    **filters,
) -> None:
    """Write runs as TensorBoard runs, one per glo run (DIR/RUN_ID).

    Every epoch's numbers as scalars, the settings as hparams, the last reconstructions as an image.
    View with: tensorboard --logdir DIR"""
    from glo.export.tensorboard import check_logdir, export_runs

    check_logdir(logdir, create=False)  # a file, an unwritable folder: refused before any run is read
    views = _views(runs_dir, run_ids, filters)
    written = export_runs(views, logdir)
    make_console().print(f"wrote {len(written)} run{'s' if len(written) != 1 else ''} to {logdir}  "
                         f"(view: tensorboard --logdir {logdir})", highlight=False)


@export_app.command("csv")
@with_filters
def export_csv(
    path: Path = typer.Argument(..., metavar="FILE", help="The table to write (replaced if it exists)."),
    run_ids: list[str] | None = typer.Argument(None, metavar="[RUN]...", autocompletion=complete_runs, help=RUNS_HELP),
    fmt: str = typer.Option("csv", "--format", help="csv, or jsonl (one JSON object per line)."),
    runs_dir: Path | None = typer.Option(None, help=RUNS_DIR_HELP),
    **filters,
) -> None:
    """Every epoch record of the chosen runs in one tidy table (CSV or JSON lines).

    A row per run and epoch: run id, label, sweep, status, tags, each setting, epoch, every metric."""
    from glo.analysis.compare import check_export_path
    from glo.errors import GloError
    from glo.export.table import FORMATS, write

    if fmt not in FORMATS:
        raise GloError(f"--format must be one of {', '.join(FORMATS)}; got {fmt!r}")
    check_export_path(path, f"runs.{fmt}")
    views = _views(runs_dir, run_ids, filters)
    n = write(views, path, fmt)
    make_console().print(f"wrote {path}: {n} epoch rows of {len(views)} run{'s' if len(views) != 1 else ''}",
                         highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(export_app, name="export")

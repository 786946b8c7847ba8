"""``glo-tui``: the console in this terminal, its command line declared with ``glo``'s.

The run options (--sigma, --epochs, ...) are ``glo run``'s (``glo.cli.options``, from RunConfig's
fields) and fill the settings form; --workers, --ray, --cpus-per-run and --gpus-per-run are
``glo sweep``'s, for the sweeps started in the console. Bad input is one line on stderr and exit 2,
as in ``glo``. The console opens through ``glo.cli.console``, the CLI's one way into ``tui``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from glo.cli.export_cmd import check_tensorboard, tensorboard_option
from glo.cli.options import (
    RUNS_DIR_HELP,
    VERSION,
    cluster_from_options,
    config_from_options,
    open_store,
    with_run_options,
    with_sweep_options,
)

app = typer.Typer(name="glo-tui", add_completion=False, pretty_exceptions_enable=False)


@app.command()
@with_run_options
@with_sweep_options
def console(
    ctx: typer.Context,
    runs_dir: Path | None = typer.Option(None, help=RUNS_DIR_HELP),
    tensorboard: Path | None = tensorboard_option(),
    version: bool = VERSION,
    **options,
) -> None:
    """The glo console: train, watch and compare GLO runs. The run options (as glo run's) set the
    settings form's initial values."""
    from glo.cli.console import check_console, open_console

    config = config_from_options(options).validate()
    store = open_store(runs_dir)
    cluster = cluster_from_options(ctx, options)
    check_tensorboard(tensorboard)  # the training worker reads $GLO_TENSORBOARD (tui.jobs)
    check_console()
    raise typer.Exit(open_console(store.root, config=config, workers=options["workers"] or None,
                                   cluster=cluster))


def main(argv: list[str] | None = None) -> int:
    from glo.cli.entry import run_command

    return run_command(app, argv, "glo-tui")


def entry() -> None:
    sys.exit(main())

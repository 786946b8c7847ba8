"""The ``glo`` command: thin typer commands that hand off to the core.

Nothing heavy is imported at module level, so ``glo --help`` stays fast; torch loads only when a
command trains or reads a checkpoint.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from glo.cli import export_cmd
from glo.cli.entry import run_command
from glo.cli.options import (
    RUNS_DIR_HELP,
    VERSION,
    config_from_options,
    given,
    make_console,
    open_store,
    with_run_options,
)
from glo.cli.select import complete_runs, filtering, with_filters
from glo.errors import GloError

app = typer.Typer(
    name="glo",
    help="Train Generative Latent Optimization models, watch them learn, and compare runs.",
    no_args_is_help=True,
    add_completion=True,  # glo --install-completion (bash, zsh): commands, options and run ids
    pretty_exceptions_enable=False,
)
runs_app = typer.Typer(help="List, show and delete saved runs.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")


@app.callback()
def _glo(version: bool = VERSION) -> None:
    """Train Generative Latent Optimization models, watch them learn, and compare runs."""


out, store = make_console, open_store


@app.command()
@with_run_options
def run(
    ctx: typer.Context,
    runs_dir: Path | None = typer.Option(None, help=RUNS_DIR_HELP),
    name: str | None = typer.Option(None, help="A label for the run id (letters, digits, . _ -)."),
    headless: bool = typer.Option(False, "--headless", help="Train in this terminal without the console."),
    resume: str | None = typer.Option(None, help="Resume a stopped or interrupted run (its id)."),
    tensorboard: Path | None = export_cmd.tensorboard_option(),
    **options,
) -> None:
    """Train one GLO run (defaults are the seed report's settings)."""
    from glo.cli.train_cmd import run_headless, start_console

    if resume:  # a resumed run keeps its saved settings: refuse options that would silently be ignored
        kept = ("runs_dir", "headless", "resume", "tensorboard")
        ignored = given(ctx, [p.name for p in ctx.command.params if p.name is not None and p.name not in kept])
        if ignored:
            raise GloError(f"--resume continues a run with its saved settings; drop {', '.join(ignored)}")

    cfg = config_from_options(options, name)
    export_cmd.check_tensorboard(tensorboard)
    if not headless and not (sys.stdin.isatty() and sys.stdout.isatty()):
        print("glo: no terminal for the console: training headless", file=sys.stderr)
        headless = True
    if headless:
        code = run_headless(cfg, store(runs_dir), resume, out(), tensorboard=tensorboard)
    else:
        code = start_console(cfg, store(runs_dir), resume)
    raise typer.Exit(code)


@runs_app.command("list")
@with_filters
def runs_list(runs_dir: Path | None = typer.Option(None, help=RUNS_DIR_HELP), **filters) -> None:
    """A table of the saved runs: status, settings that differ from the defaults, final losses.
    Read through the runs folder's index: only runs changed since the last listing are read again."""
    from glo.cli.select import choose
    from glo.view.listing import runs_listing

    s = store(runs_dir)
    views = choose(s, filters)
    if not views:
        out().print(f"no runs in {s.root}" + (" match" if filtering(filters) else ""))
        return
    console = out()
    console.file.write(runs_listing(views, console.width, console.color_system))
    resumable = [v for v in views if v.status in ("stopped", "interrupted")]
    if resumable:  # a run killed before its first checkpoint starts over from epoch 0 the same way
        console.print(f"resume one with: {resumable[-1].resume_command}", style="dim")


@runs_app.command("show")
def runs_show(
    run_id: str = typer.Argument(..., metavar="RUN", help="Run id (a unique prefix or 'latest' works).",
                                 autocompletion=complete_runs),
    runs_dir: Path | None = typer.Option(None, help=RUNS_DIR_HELP),
    ascii: bool = typer.Option(False, "--ascii", help="ASCII images (for terminals without colour)."),
) -> None:
    """A run's settings, results, and its originals vs reconstructions in the terminal."""
    from glo.cli.report import show_run

    console = out()
    show_run(console, store(runs_dir).get(run_id), ascii=ascii or console.color_system is None)


@runs_app.command("delete")
@with_filters
def runs_delete(
    run_ids: list[str] | None = typer.Argument(None, metavar="[RUN]...", autocompletion=complete_runs,
                                                  help="Run ids to delete (or choose them with --where ...)."),
    runs_dir: Path | None = typer.Option(None, help=RUNS_DIR_HELP),
    yes: bool = typer.Option(False, "--yes", "-y", help="Delete without asking (for scripts)."),
    every: bool = typer.Option(False, "--all", help="Delete every run (a filter that chooses them all is refused)."),
    **filters,
) -> None:
    """Delete saved runs (their whole folders), after asking: named, or chosen as glo runs list
    chooses them (e.g. --status failed). Says how many runs and how much disk go."""
    from glo.cli.select import folder_bytes, human_bytes, runs_to_delete

    s = store(runs_dir)
    runs = runs_to_delete(s, run_ids, filters, every)  # resolve all before deleting any
    busy = [r.id for r in runs if r.status() == "running"]
    if busy:
        raise GloError(f"run {busy[0]} is still running; stop it first (nothing deleted)")
    if not runs:
        out().print("no runs match: nothing deleted")
        return
    if not yes:
        for r in runs[:10]:
            out().print(f"{r.id}  {r.status()}")
        if len(runs) > 10:
            out().print(f"... and {len(runs) - 10} more")
        what = "this run" if len(runs) == 1 else f"these {len(runs)} runs"
        size = human_bytes(folder_bytes([r.path for r in runs]))
        print(f"delete {what} ({size}) for good? [y/N] ", end="", file=sys.stderr, flush=True)  # stdout may be piped
        try:
            answer = sys.stdin.readline()
        except OSError:
            answer = ""
        if not answer:
            print(file=sys.stderr)
            raise GloError("nothing deleted: no answer on stdin (add --yes to delete without asking)")
        if answer.strip().lower() not in ("y", "yes"):
            out().print("nothing deleted")
            return
    for r in runs:
        s.delete(r.id)
        out().print(f"deleted {r.id}")


@app.command()
@with_filters
def compare(
    run_ids: list[str] | None = typer.Argument(None, metavar="[RUN]...", autocompletion=complete_runs,
                                                  help="Run ids (or unique prefixes, names; or choose with "
                                                  "--where ...)."),
    runs_dir: Path | None = typer.Option(None, help=RUNS_DIR_HELP),
    metric: str = typer.Option("recon_loss", help="Curve to plot: recon_loss, train_loss, psnr, recon_l1, recon_l2."),
    log: bool = typer.Option(False, "--log", help="Log-scale y axis."),
    width: int | None = typer.Option(None, help="Plot width in columns (default: the terminal's)."),
    height: int = typer.Option(20, help="Plot height in rows."),
    analysis: bool = typer.Option(True, "--analysis/--no-analysis",
                                  help="Compute the probe and held-out numbers of runs that lack them."),
    csv: Path | None = typer.Option(None, "--csv", help="Also write the table of final numbers as CSV."),
    png: Path | None = typer.Option(None, "--png", help="Also write originals and reconstructions as a PNG."),
    ascii: bool = typer.Option(False, "--ascii", help="ASCII images (for terminals without colour)."),
    **filters,
) -> None:
    """Compare runs: final numbers, loss curves overlaid, and each run's reconstructions (the runs
    named, and those chosen as glo runs list chooses them, e.g. --where sigma=0.3 --last 5)."""
    from glo.cli.report import (
        METRICS,
        analyze_missing,
        print_comparison,
        report_exports,
    )

    if metric not in METRICS:
        raise GloError(f"metric must be one of {', '.join(METRICS)}; got {metric!r}")
    from glo.analysis.compare import check_export_path, export
    from glo.cli.select import chosen_runs

    s = store(runs_dir)
    for path, example in ((csv, "compare.csv"), (png, "compare.png")):
        if path is not None:
            check_export_path(path, example, s.root)
    runs = chosen_runs(s, run_ids, filters, "compare")
    if not runs:
        raise GloError("no runs match: nothing to compare")
    console = out()
    if analysis:
        analyze_missing(out(stderr=True), runs)
    written = export(runs, csv, png, metric) if csv is not None or png is not None else []
    print_comparison(console, runs, metric, log, ascii=ascii, width=width, height=height)
    report_exports(console, runs, written, png)


from glo.cli import sweep_cmd  # noqa: E402

sweep_cmd.register(app)

from glo.cli import analysis_cmd, steer_cmd  # noqa: E402

steer_cmd.register(runs_app)
steer_cmd.register_sweeps(sweep_cmd.sweeps_app)

analysis_cmd.register(app)

from glo.cli import serve_cmd  # noqa: E402

serve_cmd.register(app)

from glo.cli import notes_cmd  # noqa: E402

notes_cmd.register(runs_app)
export_cmd.register(app)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``glo`` (``glo.cli.entry.run_command``: a user's mistake is one line and exit code 2)."""
    return run_command(app, argv, "glo")


def entry() -> None:
    sys.exit(main())

"""The ``glo`` command: thin typer commands that hand off to the core.

Nothing heavy is imported at module level, so ``glo --help`` stays fast; torch loads only when a
command trains or reads a checkpoint.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from glo.config import RunConfig
from glo.errors import GloError

app = typer.Typer(
    name="glo",
    help="Train Generative Latent Optimization models, watch them learn, and compare runs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
runs_app = typer.Typer(help="List, show and delete saved runs.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")

RUNS_DIR_HELP = "Runs folder (default: $GLO_RUNS_DIR or ./runs)."


class UserError(Exception):
    """Bad input or usage: one line on stderr, exit code 2."""


def out() -> Console:
    return Console(highlight=False)


def store(runs_dir: Optional[Path]):
    from glo.runs import RunStore

    return RunStore(runs_dir)


@app.command()
def run(
    ctx: typer.Context,
    sigma: float = typer.Option(0.3, help="Std of the Gaussian noise on content codes while training."),
    decay: float = typer.Option(0.001, help="Activation decay on content codes."),
    loss: str = typer.Option("l1+l2", help="Training loss: l1, l2 or l1+l2."),
    epochs: int = typer.Option(50, help="Passes over the training images."),
    batch_size: int = typer.Option(32, help="Images per step."),
    n_images: int = typer.Option(2000, help="Training images, class-balanced."),
    dataset: str = typer.Option("bundled", help="bundled (real MNIST shipped with glo), mnist, fashionmnist, kmnist."),
    data_root: Optional[Path] = typer.Option(None, help="torchvision data folder for mnist, fashionmnist, kmnist."),
    download: bool = typer.Option(False, help="Let torchvision download the data set into --data-root."),
    combine: str = typer.Option("concat", help="How class and content codes meet: concat or adain."),
    seed: int = typer.Option(0, help="Random seed (runs repeat exactly on the CPU)."),
    device: str = typer.Option("auto", help="auto, cpu, cuda or mps."),
    runs_dir: Optional[Path] = typer.Option(None, help=RUNS_DIR_HELP),
    name: Optional[str] = typer.Option(None, help="A label for the run id (letters, digits, . _ -)."),
    lr_generator: float = typer.Option(RunConfig.lr_generator, help="Adam learning rate of the generator."),
    lr_latent: float = typer.Option(RunConfig.lr_latent, help="Adam learning rate of the latent codes."),
    headless: bool = typer.Option(False, "--headless", help="Train in this terminal without the console."),
    resume: Optional[str] = typer.Option(None, help="Resume a stopped or interrupted run (its id)."),
) -> None:
    """Train one GLO run (defaults are the seed report's settings)."""
    from glo.cli.train_cmd import run_headless, start_console

    if resume:  # a resumed run keeps its saved settings: refuse options that would silently be ignored
        ignored = [
            "--" + p.name.replace("_", "-")
            for p in ctx.command.params
            if p.name not in ("runs_dir", "headless", "resume")
            and getattr(ctx.get_parameter_source(p.name), "name", "") == "COMMANDLINE"
        ]
        if ignored:
            raise UserError(f"--resume continues a run with its saved settings; drop {', '.join(ignored)}")

    cfg = RunConfig(
        dataset=dataset, data_root=str(data_root) if data_root else None, download=download,
        n_images=n_images, sigma=sigma, decay=decay, combine=combine, loss=loss, epochs=epochs, batch_size=batch_size,
        lr_generator=lr_generator, lr_latent=lr_latent, seed=seed, device=device, name=name,
    )
    if not headless and not (sys.stdin.isatty() and sys.stdout.isatty()):
        print("glo: no terminal for the console: training headless", file=sys.stderr)
        headless = True
    if headless:
        code = run_headless(cfg, store(runs_dir), resume, out())
    else:
        code = start_console(cfg, store(runs_dir), resume)
    raise typer.Exit(code)


@runs_app.command("list")
def runs_list(runs_dir: Optional[Path] = typer.Option(None, help=RUNS_DIR_HELP)) -> None:
    """A table of the saved runs: status, settings that differ from the defaults, final losses."""
    from glo.cli.report import runs_table

    s = store(runs_dir)
    runs = s.runs()
    if not runs:
        out().print(f"no runs in {s.root}")
        return
    out().print(runs_table(runs))


@runs_app.command("show")
def runs_show(
    run_id: str = typer.Argument(..., metavar="RUN", help="Run id (a unique prefix or 'latest' works)."),
    runs_dir: Optional[Path] = typer.Option(None, help=RUNS_DIR_HELP),
    ascii: bool = typer.Option(False, "--ascii", help="ASCII images (for terminals without colour)."),
) -> None:
    """A run's settings, results, and its originals vs reconstructions in the terminal."""
    from glo.cli.report import show_run

    console = out()
    show_run(console, store(runs_dir).get(run_id), ascii=ascii or console.color_system is None)


@runs_app.command("delete")
def runs_delete(
    run_ids: list[str] = typer.Argument(..., metavar="RUN...", help="Run ids to delete."),
    runs_dir: Optional[Path] = typer.Option(None, help=RUNS_DIR_HELP),
) -> None:
    """Delete saved runs (their whole folders)."""
    s = store(runs_dir)
    runs = [s.get(r) for r in run_ids]  # resolve all before deleting any
    for r in runs:
        s.delete(r.id)
        out().print(f"deleted {r.id}")


@app.command()
def compare(
    run_ids: list[str] = typer.Argument(..., metavar="RUN...", help="Two or more run ids."),
    runs_dir: Optional[Path] = typer.Option(None, help=RUNS_DIR_HELP),
    metric: str = typer.Option("recon_loss", help="Curve to plot: recon_loss, train_loss, psnr."),
    log: bool = typer.Option(False, "--log", help="Log-scale y axis."),
    width: Optional[int] = typer.Option(None, help="Plot width in columns (default: the terminal's)."),
    height: int = typer.Option(20, help="Plot height in rows."),
) -> None:
    """Compare runs: settings and results side by side, and their loss curves overlaid."""
    from glo.cli.report import METRICS, compare_plot, compare_table

    if metric not in METRICS:
        raise UserError(f"metric must be one of {', '.join(METRICS)}; got {metric!r}")
    s = store(runs_dir)
    runs = [s.get(r) for r in run_ids]
    console = out()
    console.print(compare_table(runs))
    console.print(compare_plot(runs, metric, log, width or min(console.width, 120), height), markup=False)


def main(argv: list[str] | None = None) -> int:
    """Entry point: every user mistake is one line on stderr with exit code 2, never a traceback."""
    try:
        rv = app(args=argv, prog_name="glo", standalone_mode=False)
    except (UserError, GloError) as exc:
        print(f"glo: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        # typer/click usage errors (bad option, wrong type): they carry a message and an exit code
        if hasattr(exc, "format_message") and isinstance(getattr(exc, "exit_code", None), int):
            ctx = getattr(exc, "ctx", None)
            where = ctx.command_path if ctx is not None else "glo"
            print(f"glo: error: {exc.format_message()} (see '{where} --help')", file=sys.stderr)
            return exc.exit_code
        if type(exc).__name__ == "Abort":
            print("glo: aborted", file=sys.stderr)
            return 130
        raise
    return rv if isinstance(rv, int) else 0


def entry() -> None:
    sys.exit(main())

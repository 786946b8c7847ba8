"""``glo sweep`` and ``glo sweeps``: one run per value, headless or in the console, then the comparison."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from glo.cli.export_cmd import check_tensorboard, tensorboard_option
from glo.cli.options import (
    RUN_OPTION_NAMES,
    RUNS_DIR_HELP,
    cluster_from_options,
    config_from_options,
    given,
    make_console,
    open_store,
    with_run_options,
    with_sweep_options,
)
from glo.errors import WAITED, GloError

sweeps_app = typer.Typer(help="List and show sweeps.", no_args_is_help=True)


@with_run_options
@with_sweep_options
def sweep(
    ctx: typer.Context,
    param: list[str] = typer.Option([], "--param", help="A setting to sweep (sigma, decay, loss, combine, ...); "
                                    "give it twice, each with --values, for a grid."),
    values: list[str] = typer.Option([], "--values", help="Comma-separated values of the --param before it."),
    runs_dir: Path | None = typer.Option(None, help=RUNS_DIR_HELP),
    name: str | None = typer.Option(None, help="A label for the sweep id."),
    headless: bool = typer.Option(False, "--headless", help="Train in this terminal without the console."),
    resume: str | None = typer.Option(None, help="Resume a sweep (id, prefix, name or 'latest'): finished "
                                         "runs are skipped, stopped ones resumed."),
    log: bool = typer.Option(False, "--log", help="Log-scale loss curves in the final comparison."),
    tensorboard: Path | None = tensorboard_option(),
    **options,
) -> None:
    """Train one run per value of a setting (or per point of a grid over two), then compare them.

    Example: glo sweep --param sigma --values 0,0.3,2 --epochs 10 --headless
    """
    from glo.sweep.manifest import SweepStore

    check_tensorboard(tensorboard)
    # connected before anything is written
    cluster = cluster_from_options(ctx, options)
    store = open_store(runs_dir)
    sweeps = SweepStore(store)
    if resume:
        extra = given(ctx, [*RUN_OPTION_NAMES, "param", "values", "name"])
        if extra:
            raise GloError(f"--resume continues a sweep with its saved settings; drop {', '.join(extra)}")
        the_sweep = sweeps.get(resume)
        workers = _workers(len(the_sweep.points), options, cluster)
    else:
        base, params = _new_grid(ctx, param, values, options)
        workers = _workers(math.prod(len(v) for _, v in params), options, cluster)  # before torch, if at all
        _check_device(base)
        the_sweep = sweeps.create(base, params, name)
    if not headless and not (sys.stdin.isatty() and sys.stdout.isatty()):
        print("glo: no terminal for the console: sweeping headless", file=sys.stderr)
        headless = True
    if headless:
        code = run_sweep_headless(the_sweep, store, make_console(), log, workers, cluster, tensorboard)
    else:
        from glo.cli.console import open_console

        code = open_console(store.root, sweep=the_sweep, workers=workers, cluster=cluster)
    raise typer.Exit(code)


def _workers(points: int, options: dict, cluster) -> int:
    """How many points train at once (--workers, 0: the default for POINTS); when they train on this
    machine's worker processes, their fork server starts importing torch now."""
    from glo.sweep.driver import default_workers
    from glo.sweep.local import warm_up

    workers = options["workers"] or default_workers(points)
    if cluster is None and workers > 1:
        warm_up()
    return workers


def _new_grid(ctx: typer.Context, param: list[str], values: list[str], options: dict):
    """(base config, [(setting, values)]) of a new sweep from --param/--values over the other options, checked."""
    from glo.config import SETTINGS
    from glo.sweep.manifest import parse_values, setting_name

    if not param or len(param) != len(values):
        raise GloError("give each --param its --values, e.g. --param sigma --values 0,0.3,2")
    params = [(setting_name(p), parse_values(p, v)) for p, v in zip(param, values, strict=False)]
    flags = given(ctx, RUN_OPTION_NAMES)
    for key, _ in params:
        if SETTINGS[key].flag in flags:
            raise GloError(f"{SETTINGS[key].flag} is swept; drop the option")
    base = config_from_options(options)
    base.validate()
    return base, params


def _check_device(base) -> None:
    """The device and precision a sweep asks for exist here (torch is imported only when there is
    something to check: not for --device cpu with fp32)."""
    if (base.device, base.precision) != ("cpu", "fp32"):
        from glo.train.trainer import check_precision, resolve_device

        check_precision(base.precision, resolve_device(base.device))


def run_sweep_headless(the_sweep, store, console: Console, log: bool = False, workers: int = 1,
                       cluster=None, tensorboard=None) -> int:
    from glo.cli.progress import reporter
    from glo.cli.report import print_comparison
    from glo.cli.train_cmd import install_stop_handlers, safe
    from glo.events import SweepFinished, Waiting
    from glo.export.tensorboard import live
    from glo.store.runview import sweep_resume
    from glo.sweep.run import run_sweep
    from glo.train.controls import Controls

    controls = Controls()
    rep = reporter(console)
    signals = install_stop_handlers(controls, lambda line: safe(rep.say, line))
    at_once = f", {workers} at once" if workers > 1 and cluster is None else ""
    if cluster is not None:
        at_once = f", on the Ray cluster at {cluster.address}"
    safe(console.print, f"sweep {the_sweep.id}: {len(the_sweep.points)} runs ({the_sweep.label}){at_once}")
    final = gave_up = None
    with rep:
        events = run_sweep(the_sweep, store, controls, workers=workers, cluster=cluster)
        for ev in live(events, tensorboard, lambda line: safe(rep.say, line), store.root):  # here, in the driver
            safe(rep.handle, ev)
            if isinstance(ev, SweepFinished):
                final = ev
            gave_up = ev if isinstance(ev, Waiting) and ev.gave_up else gave_up
    if cluster is not None:
        from glo.sweep.cluster import disconnect

        disconnect()
    runs = the_sweep.runs(store)
    if runs:
        safe(print_comparison, console, runs, "recon_loss", log)
    again = f"resume it with  {sweep_resume(the_sweep.id, cluster.address if cluster is not None else None)}"
    if gave_up is not None:
        safe(console.print, f"sweep stopped: its points waited {cluster.wait_s:g} s for a node (--wait); {again}")
        return WAITED
    if final is None or final.status != "completed":
        safe(console.print, f"sweep stopped: {again}")
        return 128 + signals[0] if signals else 0 if final is not None else 1
    return 1 if final.failed else 0


@sweeps_app.command("list")
def sweeps_list(runs_dir: Path | None = typer.Option(None, help=RUNS_DIR_HELP)) -> None:
    """The saved sweeps: what they vary, how many of their runs are done."""
    from glo.sweep.manifest import SweepStore

    store = open_store(runs_dir)
    found = SweepStore(store).sweeps()
    console = make_console()
    if not found:
        console.print(f"no sweeps in {store.root}")
        return
    table = Table(box=None, pad_edge=False)
    table.add_column("id", no_wrap=True)  # whole, to be copied
    for col in ("status", "done", "varies"):
        table.add_column(col, no_wrap=col != "varies")
    for s in found:
        states = s.statuses(store)
        table.add_row(s.id, s.status(store), f"{states.count('completed')}/{len(states)}", s.label)
    console.print(table)


@sweeps_app.command("show")
def sweeps_show(
    sweep_id: str = typer.Argument("latest", metavar="SWEEP", help="Sweep id, prefix, name or 'latest'."),
    runs_dir: Path | None = typer.Option(None, help=RUNS_DIR_HELP),
    log: bool = typer.Option(False, "--log", help="Log-scale loss curves."),
    ascii: bool = typer.Option(False, "--ascii", help="ASCII images (for terminals without colour)."),
    metric: str = typer.Option("recon_loss", help="Curve to plot, and against the swept settings: recon_loss, "
                               "train_loss, psnr, recon_l1, recon_l2."),
    png: Path | None = typer.Option(None, "--png", help="Also write the metric against the swept settings as a PNG."),
) -> None:
    """A sweep's comparison: final numbers, loss curves, the metric against the swept settings, and
    reconstructions of its runs."""
    from glo.cli.report import METRICS, print_comparison
    from glo.sweep.manifest import SweepStore

    if metric not in METRICS:
        raise GloError(f"metric must be one of {', '.join(METRICS)}; got {metric!r}")
    if png is not None:
        from glo.analysis.compare import check_export_path

        check_export_path(png, "sweep.png")
    store = open_store(runs_dir)
    the_sweep = SweepStore(store).get(sweep_id)
    console = make_console()
    console.print(f"sweep {the_sweep.id}: {the_sweep.label}")
    runs = the_sweep.runs(store)
    if not runs:
        console.print("(no runs yet)")
        return
    print_comparison(console, runs, metric, log, ascii=ascii)
    if png is not None:
        _versus_png(console, runs, metric, png)


def _versus_png(console: Console, runs, metric: str, png: Path) -> None:
    from glo.analysis.compare import rows
    from glo.analysis.versus import versus
    from glo.imaging.chart import save_chart_png

    vs = versus(rows(runs), metric)
    if vs is None:
        console.print("no PNG written: the runs do not differ in one or two settings", style="yellow")
        return
    save_chart_png(png, vs.series, vs.ticks, vs.title, vs.x + (" (log axis)" if vs.log else ""), metric)
    console.print(f"wrote {png}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(sweep)
    app.add_typer(sweeps_app, name="sweeps")

"""The options shared by ``glo run``, ``glo sweep``, ``glo serve`` and ``glo-tui``, declared once.

The run options are read from ``RunConfig``'s fields (``glo.config.SETTINGS``: name, type, default,
help); ``with_run_options`` appends them to a command's signature (typer reads signatures), and
``config_from_options`` turns the values into a ``RunConfig``. The sweep options (``--workers``,
``--ray``, ``--cpus-per-run``, ``--gpus-per-run``, ``--wait``) are ``glo sweep``'s and ``glo-tui``'s, checked
by ``cluster_from_options``; ``--version`` is every entry point's.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

from glo.config import OPTION_HELP, RunConfig, option_type
from glo.errors import GloError
from glo.store.runs import RUNS_DIR_HELP  # noqa: F401 - every command's --runs-dir (glo.runs loads nothing heavy)


def _typer_option(name: str, help: str) -> tuple[str, Any, Any]:
    """(name, type, typer option) of one command-line setting, from RunConfig and its help text."""
    if name == "data_root":  # a folder: typer checks nothing, but --help says PATH
        return name, Path | None, typer.Option(None, help=help)
    return name, option_type(name), typer.Option(getattr(RunConfig, name), help=help)


# every RunConfig setting a user sets from the command line (glo.config.OPTION_HELP: names, order, help)
RUN_OPTIONS: list[tuple[str, Any, Any]] = [_typer_option(name, help) for name, help in OPTION_HELP.items()]
RUN_OPTION_NAMES = [name for name, _, _ in RUN_OPTIONS]


def _with_options(fn: Callable, options: list[tuple[str, Any, Any]]) -> Callable:
    """Add OPTIONS to ``fn``'s signature as keyword-only parameters (``fn`` takes **kwargs)."""
    sig = inspect.signature(fn)
    own = [p for p in sig.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    extra = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=opt, annotation=kind)
             for name, kind, opt in options]
    # typer reads fn's parameters with inspect.signature, which takes __signature__ first (an attribute a
    # Callable's type does not declare: setattr)
    setattr(fn, "__signature__", sig.replace(parameters=own + extra))  # noqa: B010
    fn.__annotations__ = {**fn.__annotations__, **{name: kind for name, kind, _ in options}}
    return fn


def with_run_options(fn: Callable) -> Callable:
    """Add the run options (``RUN_OPTIONS``) to ``fn``'s signature (``fn`` takes **kwargs)."""
    return _with_options(fn, RUN_OPTIONS)


def config_from_options(values: dict[str, Any], name: str | None = None) -> RunConfig:
    """A RunConfig from the shared options' values (not yet validated)."""
    kw = {k: values[k] for k in RUN_OPTION_NAMES}
    kw["data_root"] = str(kw["data_root"]) if kw["data_root"] else None
    return RunConfig(**kw, name=name)


def given(ctx: typer.Context, names: list[str]) -> list[str]:
    """The options among NAMES given on the command line, as their flags (--n-images)."""
    return ["--" + n.replace("_", "-") for n in names
            if getattr(ctx.get_parameter_source(n), "name", "") == "COMMANDLINE"]


# --- a sweep's workers, or the Ray cluster it trains on: glo sweep and glo-tui ---
WORKERS = typer.Option(0, "--workers", help="Points trained at once, each in its own process with its share of "
                       "the cores; 0: one per CPU this process may use (at most one per point, 8 in all), 1: "
                       "one after another.")
RAY = typer.Option(None, "--ray", envvar="GLO_RAY_ADDRESS", show_envvar=False, metavar="ADDRESS",
                   help="Train the points on the Ray cluster at ADDRESS (host:port of its head, as `ray start "
                   "--head` printed it; default: $GLO_RAY_ADDRESS). Needs pip install \"glo[ray]\".")
CPUS_PER_RUN = typer.Option(1.0, "--cpus-per-run", help="With --ray: CPUs each point asks of the cluster (its "
                            "torch threads: the whole CPUs).")
GPUS_PER_RUN = typer.Option(0.0, "--gpus-per-run", help="With --ray: GPUs each point asks of the cluster; a "
                            "fraction packs several on one GPU (0.25: four).")

WAIT = typer.Option(None, "--wait", metavar="SECONDS", help="With --ray: stop the sweep (saved, resumable, exit "
                    "75) when its points have waited this long for a node with room; default: wait for ever "
                    "(as an autoscaling cluster needs).")


# glo sweep's and glo-tui's (name, type, typer option), added to a command by with_sweep_options
SWEEP_OPTIONS: list[tuple[str, Any, Any]] = [
    ("workers", int, WORKERS), ("ray", str | None, RAY), ("cpus_per_run", float, CPUS_PER_RUN),
    ("gpus_per_run", float, GPUS_PER_RUN), ("wait", float | None, WAIT),
]


def with_sweep_options(fn: Callable) -> Callable:
    """Add the sweep options (``SWEEP_OPTIONS``) to ``fn``'s signature (``fn`` takes **kwargs)."""
    return _with_options(fn, SWEEP_OPTIONS)


def cluster_from_options(ctx: typer.Context, options: dict[str, Any]):
    """The Ray cluster to train on (``glo.sweep.cluster.RaySettings``, connected) from the sweep
    options' values, or None without --ray; a bad setting, Ray missing or the cluster unreachable:
    GloError (one line, exit 2)."""
    workers, address, wait = options["workers"], options["ray"], options["wait"]
    cpus, gpus = options["cpus_per_run"], options["gpus_per_run"]
    if workers < 0:
        raise GloError(f"--workers must be 0 (one per CPU) or more; got {workers}")
    if not address:
        flags = given(ctx, ["cpus_per_run", "gpus_per_run", "wait"])
        if flags:
            raise GloError(f"{', '.join(flags)}: only with --ray ADDRESS (or $GLO_RAY_ADDRESS)")
        return None
    from glo.sweep.cluster import RaySettings, connect

    if workers:
        raise GloError("--workers is for this machine; with --ray the cluster's size sets how many points "
                       "train at once (see --cpus-per-run)")
    settings = RaySettings(address.strip(), cpus, gpus, wait).validate()
    connect(settings)
    return settings


# --- --version ---
def _print_version(value: bool) -> None:
    if value:
        from glo import __version__

        print(f"glo {__version__}")
        raise typer.Exit()


VERSION = typer.Option(False, "--version", is_eager=True, expose_value=True, callback=_print_version,
                       help="Print glo's version and exit.")


def open_store(runs_dir: Path | None):
    """The run store of ``--runs-dir`` (imported here, not at start-up: ``glo --help`` stays fast)."""
    from glo.store.runs import RunStore

    return RunStore(runs_dir).check()


def make_console(stderr: bool = False) -> Console:
    """Where commands print: rich, without guessing highlights in run ids and numbers (progress
    notes go to stderr, so that ``| head`` on the results cannot cut the work short)."""
    from rich.console import Console

    return Console(highlight=False, stderr=stderr)

"""The training options shared by ``glo run`` and ``glo sweep``, declared once.

``with_run_options`` appends them to a command's signature (typer reads signatures), and
``config_from_options`` turns the values into a ``RunConfig``.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional

import typer

if TYPE_CHECKING:
    from rich.console import Console

from glo.config import OPTION_HELP, RunConfig, option_type
from glo.store.runs import RUNS_DIR_HELP  # noqa: F401 - every command's --runs-dir (glo.runs loads nothing heavy)


def _typer_option(name: str, help: str) -> tuple[str, Any, Any]:
    """(name, type, typer option) of one command-line setting, from RunConfig and its help text."""
    if name == "data_root":  # a folder: typer checks nothing, but --help says PATH
        return name, Optional[Path], typer.Option(None, help=help)
    return name, option_type(name), typer.Option(getattr(RunConfig, name), help=help)


# every RunConfig setting a user sets from the command line (glo.config.OPTION_HELP: names, order, help)
RUN_OPTIONS: list[tuple[str, Any, Any]] = [_typer_option(name, help) for name, help in OPTION_HELP.items()]
RUN_OPTION_NAMES = [name for name, _, _ in RUN_OPTIONS]


def with_run_options(fn: Callable) -> Callable:
    """Add the shared options to ``fn``'s signature as keyword-only parameters (``fn`` takes **kwargs)."""
    sig = inspect.signature(fn)
    own = [p for p in sig.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    extra = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=opt, annotation=kind)
             for name, kind, opt in RUN_OPTIONS]
    fn.__signature__ = sig.replace(parameters=own + extra)
    fn.__annotations__ = {**fn.__annotations__, **{name: kind for name, kind, _ in RUN_OPTIONS}}
    return fn


def open_store(runs_dir: Optional[Path]):
    """The run store of ``--runs-dir`` (imported here, not at start-up: ``glo --help`` stays fast)."""
    from glo.store.runs import RunStore

    return RunStore(runs_dir).check()


def make_console(stderr: bool = False) -> "Console":
    """Where commands print: rich, without guessing highlights in run ids and numbers (progress
    notes go to stderr, so that ``| head`` on the results cannot cut the work short)."""
    from rich.console import Console

    return Console(highlight=False, stderr=stderr)


def config_from_options(values: dict[str, Any], name: str | None = None) -> RunConfig:
    """A RunConfig from the shared options' values (not yet validated)."""
    kw = {k: values[k] for k in RUN_OPTION_NAMES}
    kw["data_root"] = str(kw["data_root"]) if kw["data_root"] else None
    return RunConfig(**kw, name=name)

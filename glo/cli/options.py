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

from glo.config import RunConfig

RUNS_DIR_HELP = "Runs folder (default: $GLO_RUNS_DIR or ./runs)."

# (name, type, typer option): every RunConfig setting a user sets from the command line
RUN_OPTIONS: list[tuple[str, Any, Any]] = [
    ("sigma", float, typer.Option(RunConfig.sigma, help="Std of the Gaussian noise on content codes while training.")),
    ("decay", float, typer.Option(RunConfig.decay, help="Activation decay on content codes.")),
    ("loss", str, typer.Option(RunConfig.loss, help="Training loss: l1, l2 or l1+l2.")),
    ("combine", str, typer.Option(RunConfig.combine, help="How class and content codes meet: concat or adain.")),
    ("epochs", int, typer.Option(RunConfig.epochs, help="Passes over the training images.")),
    ("batch_size", int, typer.Option(RunConfig.batch_size, help="Images per step.")),
    ("n_images", int, typer.Option(RunConfig.n_images, help="Training images, class-balanced.")),
    ("dataset", str, typer.Option(RunConfig.dataset,
                                  help="bundled (real MNIST shipped with glo), mnist, fashionmnist, kmnist.")),
    ("data_root", Optional[Path], typer.Option(None, help="torchvision data folder for mnist, fashionmnist, kmnist.")),
    ("download", bool, typer.Option(False, help="Let torchvision download the data set into --data-root.")),
    ("seed", int, typer.Option(RunConfig.seed, help="Random seed (runs repeat exactly on the CPU).")),
    ("device", str, typer.Option(RunConfig.device, help="auto, cpu, cuda or mps.")),
    ("lr_generator", float, typer.Option(RunConfig.lr_generator, help="Adam learning rate of the generator.")),
    ("lr_latent", float, typer.Option(RunConfig.lr_latent, help="Adam learning rate of the latent codes.")),
]
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
    from glo.runs import RunStore

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

"""``glo run``: validate everything, create the run, then iterate the core's training generator."""

from __future__ import annotations

import os
import signal
import sys

from rich.console import Console

from glo.config import RunConfig
from glo.store.runs import RunStore
from glo.train.controls import Controls
from glo.train.prepare import prepare


def install_stop_handlers(controls: Controls, say) -> list[int]:
    """First Ctrl-C, SIGTERM or SIGHUP: stop cleanly (saved as stopped, resumable). Second: exit at once.

    Returns the list the signals received are appended to: a command stopped by one exits with
    128 + its number (130 for Ctrl-C), as shells expect, so ``glo run ... && next`` does not go on.
    """
    received: list[int] = []

    def handler(signum, frame):
        if controls.stop_requested:
            os._exit(130)
        received.append(signum)
        controls.stop()
        say("stopping after this step (Ctrl-C again to quit at once)")

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, handler)
    return received


def run_headless(cfg: RunConfig, store: RunStore, resume: str | None, console: Console, tensorboard=None) -> int:
    from glo.cli.progress import reporter
    from glo.export.tensorboard import live
    from glo.train.loop import train

    prepared = prepare(cfg, store, resume)
    controls = Controls()
    rep = reporter(console)
    if prepared.note:
        safe(console.print, prepared.note)
    signals = install_stop_handlers(controls, lambda line: safe(rep.say, line))
    final = None
    with rep:
        events = train(prepared.cfg, prepared.run, controls, prepared.split, resume=prepared.resume)
        for ev in live(events, tensorboard, lambda line: safe(rep.say, line)):  # --tensorboard DIR: logs too
            safe(rep.handle, ev)
            final = ev
    safe(console.print, f"run folder: {prepared.run.path}")
    status = getattr(final, "status", None)
    if status == "failed":
        return 1
    if status == "stopped":
        safe(console.print, f"stopped: resume it with  glo run --resume {prepared.run.id} --headless")
    return 128 + signals[0] if signals and status == "stopped" else 0  # a run that completed anyway: 0


def start_console(cfg: RunConfig, store: RunStore, resume: str | None) -> int:
    """Open the console with this run already training."""
    from glo.cli.console import check_console, open_console

    check_console()  # a console that cannot open says so before a run folder is made for it
    prepared = prepare(cfg, store, resume)
    return open_console(store.root, prepared=prepared)


def safe(fn, *args) -> None:
    """Printing must never kill training (a closed SSH session makes stdout raise)."""
    try:
        fn(*args)
    except (OSError, ValueError):
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the process's stdout from now on
        except OSError:
            pass

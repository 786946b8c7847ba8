"""``glo runs watch|pause|resume-training|stop|set``: watch and steer a run another process trains.

Requests go through the run's control channel (``glo.train.channel``): the training process applies
each at its next step, records it in metrics.jsonl and so acknowledges it; these commands wait for
that (``--timeout``). A run that is not running here is refused: one line, exit code 2.
"""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from glo.cli.options import RUNS_DIR_HELP, make_console, open_store
from glo.cli.select import complete_runs, each_once, filtering, named_and_chosen, with_filters
from glo.errors import GloError

RUN_HELP = "Run id (a unique prefix, its name or 'latest'); or choose runs with --where, --sweep ..."
TIMEOUT_HELP = "Seconds to wait for each run to acknowledge (0: do not wait)."
DONE = {"pause": "pauses", "resume": "goes on", "stop": "stops (a checkpoint is saved; resumable)", "set": "uses"}


def parse_settings(words: list[str]) -> dict[str, Any]:
    """KEY=VALUE words as live settings: numbers for sigma and decay, text for loss (checked later)."""
    out: dict[str, Any] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or not key.strip():
            raise GloError(f"{word!r}: give settings as KEY=VALUE, e.g. sigma=0.5 loss=l1")
        key, value = key.strip(), value.strip()
        if key in ("sigma", "decay"):
            try:
                out[key] = float(value)
                continue
            except ValueError:
                pass
        out[key] = value
    return out


def targets(runs_dir: Path | None, words: list[str], filters: dict[str, Any], verb: str) -> list:
    """The runs to ask: each one named (refused unless it runs here), or the running ones the options
    choose (raises NotRunning where there are none)."""
    from glo.train.channel import NotRunning, check_running

    store = open_store(runs_dir)
    named_runs, picked = named_and_chosen(store, words, filters, verb)
    runs, named = each_once(named_runs, picked), {r.id for r in named_runs}
    chosen = []
    for run in runs:
        try:
            check_running(run)
        except NotRunning:
            if run.id in named:
                raise
            continue
        chosen.append(run)
    if not chosen:
        raise NotRunning("no running run matches" if filtering(filters) else "no run named")
    return chosen


def steer(runs: list, action: str, params: dict[str, Any], timeout: float) -> int:
    """Ask each run; one line per run. Exit code: 0 all acknowledged, 1 one did not answer in time,
    2 one refused the request or ended first."""
    from glo.train.channel import NotRunning, answer, ask

    console, code = make_console(), 0
    source = f"glo runs {action} ({getpass.getuser()}@{socket.gethostname()} pid {os.getpid()})"
    sent = [ask(run, action, params, source) for run in runs]  # all sent before any is waited for
    for request in sent:
        name = request.name
        if timeout <= 0:
            console.print(f"{name}: {action} sent", highlight=False, markup=False)
            continue
        try:
            ack = answer(request, timeout)
        except NotRunning as exc:
            console.print(f"{name}: {exc}", highlight=False, markup=False)
            code = max(code, 2)
            continue
        if ack is None:
            console.print(f"{name}: {action} sent; no acknowledgement within {timeout:g} s (the run takes it at "
                          "its next step)", highlight=False, markup=False)
            code = max(code, 1)
        elif ack.get("event") == "warning":
            console.print(f"{name}: refused: {ack.get('message')}", highlight=False, markup=False)
            code = max(code, 2)
        else:
            what = " ".join(f"{k}={v}" for k, v in params.items())
            console.print(f"{name}: {DONE[action]}{' ' + what if what else ''} from step {ack.get('step')} "
                          f"(epoch {ack.get('epoch')})", highlight=False, markup=False)
    return code


def watch_run(runs_dir: Path | None, run_id: str) -> int:
    """Show RUN's progress as ``glo run --headless`` does, until it ends or Ctrl-C (the run goes on)."""
    from glo.cli.progress import RichReporter, reporter
    from glo.events import Step
    from glo.store.watch import Notice, watch
    from glo.train.channel import check_running

    run = open_store(runs_dir).get(run_id)
    check_running(run)
    console = make_console()
    try:
        with reporter(console) as shown:
            shown.say(f"watching {run.id} (Ctrl-C stops watching; the run goes on)")
            per_epoch = 1
            for event in watch(run):
                if isinstance(event, Notice):
                    shown.say(("warning: " if event.warning else "request: ") + event.text)
                    continue
                per_epoch = getattr(event, "steps_per_epoch", per_epoch)
                if isinstance(event, Step) and isinstance(shown, RichReporter) and shown.task is not None:
                    shown.progress.update(shown.task, completed=(event.epoch - 1) * per_epoch + event.batch,
                                          epoch=event.epoch, loss=event.loss, ips=event.images_per_s)
                    continue
                shown.handle(event)
    except KeyboardInterrupt:
        console.print(f"stopped watching; {run.id} trains on", highlight=False, markup=False)
    return 0


# (request, command, what it does to runs, what it does to a sweep)
VERBS = (
    ("pause", "pause", "Pause running runs (another process trains them) at their next step.",
     "Pause a running sweep (every point, through its driver; no new point starts)."),
    ("resume", "resume-training", "Go on training paused runs (a stopped run: glo run --resume).",
     "Go on training a paused sweep."),
    ("stop", "stop", "Stop running runs cleanly at their next step: saved as stopped, resumable.",
     "Stop a running sweep: every point saved as stopped; glo sweep --resume goes on."),
)


def _add_verbs(app: typer.Typer, make: Callable[[str, str], Callable[..., None]], sweeps: bool) -> None:
    """Pause, resume-training and stop on APP, each command made by MAKE(request, command name)."""
    for action, verb, runs_doc, sweep_doc in VERBS:
        command = make(action, verb)
        command.__doc__ = sweep_doc if sweeps else runs_doc
        app.command(verb)(command)


def register(runs_app: typer.Typer) -> None:
    """Add watch, pause, resume-training, stop and set to ``glo runs``."""

    @runs_app.command("watch")
    def runs_watch(
        run_id: str = typer.Argument(..., metavar="RUN", help=RUN_HELP, autocompletion=complete_runs),
        runs_dir: Path | None = typer.Option(None, help=RUNS_DIR_HELP),
    ) -> None:
        """Watch a running run live (epochs, loss, throughput) until it ends; Ctrl-C stops watching,
        not the run."""
        raise typer.Exit(watch_run(runs_dir, run_id))

    def make(action: str, verb: str) -> Callable[..., None]:
        @with_filters
        def command(
            run_ids: list[str] | None = typer.Argument(None, metavar="[RUN]...", help=RUN_HELP,
                                                          autocompletion=complete_runs),
            runs_dir: Path | None = typer.Option(None, help=RUNS_DIR_HELP),
            timeout: float = typer.Option(5.0, help=TIMEOUT_HELP),
            **filters,
        ) -> None:
            raise typer.Exit(steer(targets(runs_dir, run_ids or [], filters, verb), action, {}, timeout))

        return command

    _add_verbs(runs_app, make, sweeps=False)

    @runs_app.command("set")
    @with_filters
    def runs_set(
        words: list[str] = typer.Argument(..., metavar="[RUN]... KEY=VALUE...", autocompletion=complete_runs,
                                          help="Runs (or choose them with --where ...), then sigma=, decay=, loss="),
        runs_dir: Path | None = typer.Option(None, help=RUNS_DIR_HELP),
        timeout: float = typer.Option(5.0, help=TIMEOUT_HELP),
        **filters,
    ) -> None:
        """Change sigma, decay or loss of running runs from their next step, as the console's live
        fields do: glo runs set RUN sigma=0.5 loss=l1."""
        from glo.train.channel import check_request

        params = check_request("set", parse_settings([w for w in words if "=" in w]))
        runs = targets(runs_dir, [w for w in words if "=" not in w], filters, "set")
        raise typer.Exit(steer(runs, "set", params, timeout))


def steer_sweep(runs_dir: Path | None, sweep_id: str, action: str, params: dict[str, Any], timeout: float) -> int:
    """Ask a sweep's driver (``glo.sweep.steer``); one line, the exit code as ``steer``'s."""
    from glo.sweep.manifest import SweepStore
    from glo.sweep.steer import ask_sweep
    from glo.train.channel import NotRunning, answer

    store = open_store(runs_dir)
    sweep = SweepStore(store).get(sweep_id)
    varied = sorted(set(params) & {k for k, _ in sweep.params})
    if varied:  # as the console's sweep fields: changing it would spoil the sweep's comparison
        raise GloError(f"{varied[0]} is what sweep {sweep.id} varies: it cannot change while the sweep trains")
    source = f"glo sweeps {action} ({getpass.getuser()}@{socket.gethostname()} pid {os.getpid()})"
    sent = ask_sweep(store, sweep.id, action, params, source)
    console = make_console()
    try:
        ack = answer(sent, timeout) if timeout > 0 else {}
    except NotRunning as exc:
        console.print(str(exc), highlight=False, markup=False)
        return 2
    if ack is None:
        console.print(f"{sent.name}: {action} sent; no acknowledgement within {timeout:g} s", highlight=False,
                      markup=False)
        return 1
    if ack.get("event") == "warning":
        console.print(f"{sent.name}: refused: {ack.get('message')}", highlight=False, markup=False)
        return 2
    what = " ".join(f"{k}={v}" for k, v in params.items())
    more = {"pause": " (no point starts until it is resumed)", "stop": " (glo sweep --resume goes on)"}.get(action, "")
    if not ack:
        console.print(f"{sent.name}: {action} sent", highlight=False, markup=False)
    else:
        console.print(f"{sent.name}: every running point {DONE[action]}{' ' + what if what else ''} at its next "
                      f"step{more}", highlight=False, markup=False)
    return 0


def register_sweeps(sweeps_app: typer.Typer) -> None:
    """Add pause, resume-training, stop and set to ``glo sweeps``: requests to a sweep's driver."""
    from glo.cli.select import complete_sweeps

    sweep_arg = typer.Argument(..., metavar="SWEEP", help="Sweep id (a unique prefix, its name or 'latest').",
                               autocompletion=complete_sweeps)

    def make(action: str, verb: str) -> Callable[..., None]:
        def command(sweep_id: str = sweep_arg, runs_dir: Path | None = typer.Option(None, help=RUNS_DIR_HELP),
                    timeout: float = typer.Option(5.0, help=TIMEOUT_HELP)) -> None:
            raise typer.Exit(steer_sweep(runs_dir, sweep_id, action, {}, timeout))

        return command

    _add_verbs(sweeps_app, make, sweeps=True)

    @sweeps_app.command("set")
    def sweeps_set(sweep_id: str = sweep_arg,
                   settings: list[str] = typer.Argument(..., metavar="KEY=VALUE...", help="sigma=, decay=, loss="),
                   runs_dir: Path | None = typer.Option(None, help=RUNS_DIR_HELP),
                   timeout: float = typer.Option(5.0, help=TIMEOUT_HELP)) -> None:
        """Change sigma, decay or loss of every running point of a sweep from its next step
        (one point: glo runs set RUN ...)."""
        from glo.train.channel import check_request

        params = check_request("set", parse_settings(settings))
        raise typer.Exit(steer_sweep(runs_dir, sweep_id, "set", params, timeout))

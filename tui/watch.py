"""Attaching the console to a run that another process trains (saved runs, Enter on a running run).

The training screen shows it as a run it trains itself: a ``WatchJob`` is what its one worker
iterates (``glo.store.watch``: the run folder read as it grows, as the training loop's events),
fed through the same pump; its controls (``SteerControls``) turn ``p``, ``x`` and the live
fields into requests on the run's control channel (``glo.train.channel``). Leaving (``q``, a closed
browser tab, opening another run) only stops watching: ``release`` is not ``stop``.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import socket
from collections.abc import Callable, Iterator
from typing import Any

from glo.config import RunConfig
from glo.errors import GloError
from glo.events import Event, Paused, Resumed
from glo.store.runs import Run
from glo.train.controls import Controls


class SteerControls(Controls):
    """The console's controls for a watched run: each action is a request to the training process.
    ``paused`` follows what the run records (and what was last asked); ``released`` ends watching."""

    def __init__(self, run: Run, say: Callable[[str], Any] = lambda text: None) -> None:
        super().__init__()
        self.run, self.say = run, say
        self.released = False
        self.source = f"console ({getpass.getuser()}@{socket.gethostname()} pid {os.getpid()})"

    def _ask(self, action: str, params: dict[str, Any] | None = None) -> bool:
        from glo.train.channel import ask

        try:
            ask(self.run, action, params, self.source)
        except GloError as exc:
            self.say(str(exc))
            return False
        return True

    def pause(self) -> None:
        if self._ask("pause"):
            super().pause()

    def resume(self) -> None:
        if self._ask("resume"):
            super().resume()

    def stop(self) -> None:
        if self._ask("stop"):
            super().stop()

    def set(self, **changes: Any) -> None:
        """Checked (``validate_live``) and asked; a bad value or a run that ended raises GloError."""
        from glo.train.channel import ask

        ask(self.run, "set", changes, self.source)  # GloError: the screen says why

    def release(self) -> None:
        """Stop watching; the run trains on."""
        self.released = True

    def seen(self, event: Event) -> None:
        """What the run recorded: its pause state as the run has it."""
        if isinstance(event, Paused):
            Controls.pause(self)
        elif isinstance(event, Resumed):
            Controls.resume(self)


class WatchJob:
    """A running run, watched: what the training screen's worker iterates instead of training."""

    sweep = None
    workers = 1

    def __init__(self, run: Run, say: Callable[[str], Any] = lambda text: None) -> None:
        self.run = run
        self.controls = SteerControls(run, say)
        self.say = say

    def open(self, app: Any, controls: Controls) -> tuple[Iterator[Event], RunConfig]:
        from glo.train.channel import check_running

        check_running(self.run)
        return self._events(controls), self.run.read_config()

    def _events(self, controls: Controls) -> Iterator[Event]:
        from glo.store.watch import Notice, watch

        remote = self.controls  # the console trains a job with the job's own controls (TrainScreen._begin)
        for event in watch(self.run, until=lambda: remote.released):
            if isinstance(event, Notice):
                self.say(("warning: " if event.warning else "") + event.text)
                continue
            remote.seen(event)
            yield event


def open_run(app: Any, run: Run | None) -> None:
    """Enter on a saved run: a running one is watched live on the training screen (``attach``),
    any other opens as a comparison of one run."""
    from glo.train.channel import NotRunning, check_running

    if run is None:
        return
    if run.status() == "running":
        try:
            check_running(run)
        except NotRunning as exc:  # e.g. it trains on another machine: its folder as it is now
            app.notify(str(exc), severity="warning", timeout=6)
        else:
            app.run_worker(attach(app, run), group="attach")
            return
    app.open_compare([run])


async def attach(app: Any, run: Run) -> bool:
    """Show RUN (trained by another process) on the training screen, live; False where this
    console trains a run itself (it is not left behind) or RUN is not running."""
    from glo.train.channel import NotRunning, check_running

    screen = app.train_screen
    if screen.running and screen.status.run.run_id == run.id:  # this console's own run (or the one watched)
        while len(app.screen_stack) > 1:
            app.pop_screen()
        return True
    try:
        check_running(run)
    except NotRunning as exc:
        app.notify(str(exc), severity="warning")
        return False
    if screen.running and not isinstance(screen.controls, SteerControls):
        app.notify("a run trains in this console: stop it first (x) to watch another", severity="warning")
        return False
    if screen.running:  # watching another run: stop watching that one first
        screen.controls.release()
        if screen.worker is not None:
            with contextlib.suppress(Exception):
                await screen.worker.wait()
        screen.active = False
    while len(app.screen_stack) > 1:
        app.pop_screen()

    def say(text: str) -> None:  # from the UI thread (p, x) or the screen's worker: notify is thread-safe
        app.notify(text, timeout=4, markup=False)  # plain text: it quotes the asker

    screen.form.set_values(run.read_config())
    return screen._begin(WatchJob(run, say))

"""The glo console app: ``glo-tui``, ``glo run`` without --headless, a sweep in the console, and each
tab of ``glo serve`` (``python -m tui.app``). Their command lines are ``glo.cli``'s; here
``create_app`` is the one factory for all of them (and for the tests).
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from glo.config import RunConfig
from glo.errors import WAITED
from glo.store.runs import RunStore
from tui.analyze import DEFAULT_ANALYZER, Analyzer
from tui.screens.train import TrainScreen

if TYPE_CHECKING:
    from glo.store.runs import Run
    from glo.sweep.manifest import Sweep
    from glo.train.prepare import Loader, PreparedRun
    from tui.protocols import GloConsole


class GloApp(App):
    CSS_PATH = "glo.tcss"
    TITLE = "glo"
    SUB_TITLE = "generative latent optimization"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        # Ctrl-C stops and saves, as everywhere in glo (Textual's own Ctrl+C only says to press Ctrl+Q);
        # before any widget's own Ctrl+C (a form field's copy): the terminal's selection copies over SSH
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
        Binding("question_mark,f1", "help", "Help"),
    ]

    def __init__(self, runs_dir: str | os.PathLike[str] | None = None, prepared: PreparedRun | None = None,
                 config: RunConfig | None = None, sweep: Sweep | None = None, load: Loader | None = None,
                 analyzer: Analyzer | None = DEFAULT_ANALYZER, workers: int | None = None, cluster: Any = None,
                 **kw: Any) -> None:
        super().__init__(**kw)
        self.store = RunStore(runs_dir)
        self.prepared = prepared
        self.sweep = sweep  # a glo.sweep.manifest.Sweep to train (or resume) on mount
        if config is None and prepared is not None:
            config = prepared.cfg
        if config is None and sweep is not None:
            config = RunConfig.from_dict(sweep.base)
        self.base = config or RunConfig()
        self.load = load  # the data split of a config (None: glo.data.sets.load_config, in the worker)
        self.analyzer = analyzer  # computes a run's missing analysis for comparisons (None: never)
        self.sweep_workers = workers  # a sweep's points trained at once (None: one per CPU, glo.sweep.driver)
        # or the Ray cluster they train on (a glo.sweep.cluster.RaySettings, already connected: glo sweep
        # --ray, glo-tui --ray), or None
        self.cluster = cluster
        self.started_runs: list[str] = []  # run ids trained in this session (for resume hints on exit)
        self.started_sweeps: list[str] = []  # sweep ids likewise
        self.waited_out: set[str] = set()  # sweeps stopped because their points waited --wait seconds for a node

    def get_default_screen(self) -> Screen:
        return TrainScreen(self.base)

    @property
    def train_screen(self) -> TrainScreen:
        return self.screen_stack[0]  # type: ignore[return-value]

    # --- runs ---
    def prepare_run(self, cfg: RunConfig | None, resume_id: str | None) -> PreparedRun:
        """Validate, load the data and create (or reopen) the run folder; raises GloError."""
        from glo.data.sets import load_config
        from glo.train.prepare import prepare

        return prepare(cfg, self.store, resume_id, load=self.load or load_config)

    def resume_run(self, run_id: str) -> None:
        """Back to the training screen, resuming a stopped or interrupted run."""
        if self._back_to_training():
            self.train_screen.start(resume_id=run_id)

    def resume_sweep(self, sweep: Sweep) -> None:
        """Back to the training screen, going on with a sweep: completed runs skipped, stopped resumed."""
        if self._back_to_training():
            self.train_screen.start_sweep(sweep)

    def _back_to_training(self) -> bool:
        """Close every screen above the training screen, unless something trains (then say so)."""
        if self.train_screen.running:
            self.notify("a run is already training; stop it first", severity="warning")
            return False
        while len(self.screen_stack) > 1:
            self.pop_screen()
        return True

    def open_compare(self, runs: list[Run], title: str | None = None) -> None:
        """The comparison of ``runs`` (one run: that run opened)."""
        from tui.screens.compare import CompareScreen

        self.push_screen(CompareScreen(runs, title=title))

    # --- actions ---
    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_runs(self) -> None:
        from tui.screens.runs import RunsScreen

        if not isinstance(self.screen, RunsScreen):
            self.push_screen(RunsScreen())

    def on_mount(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (getattr(signal, "SIGHUP", None), signal.SIGTERM):
            if sig is not None:
                try:
                    loop.add_signal_handler(sig, self._on_signal, sig)
                except (NotImplementedError, RuntimeError, ValueError):  # not the main thread / platform
                    pass

    def _on_signal(self, sig: int) -> None:
        """SIGTERM quits as `q` does. SIGHUP (the SSH session closed) saves the run as stopped,
        then leaves at once: the terminal is gone, and restoring it could block forever."""
        screen = self.train_screen
        if sig != getattr(signal, "SIGHUP", None):
            self.call_later(self.action_quit)
            return
        if screen.controls is not None:
            screen.controls.release()  # a watched run (tui.watch) trains on

        def leave() -> None:
            screen.idle.wait(120)  # the training thread writes its checkpoint and summary
            os._exit(128 + sig)

        threading.Thread(target=leave, name="glo-hangup", daemon=True).start()

    async def action_quit(self) -> None:
        """Stop a running run cleanly (saved as stopped, resumable), wait for its thread, then exit."""
        screen = self.train_screen
        if screen.running:
            screen.status.set(state="stopping", note="saving, then quitting")
        await screen.stop_and_wait()
        waited = self.started_sweeps and self.started_sweeps[-1] in self.waited_out  # the last sweep gave up (--wait)
        self.exit(return_code=WAITED if waited else 1 if screen.last_status == "failed" else 0)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        train = self.train_screen
        yield SystemCommand("Start run", "Train with the settings in the form", train.action_start)
        yield SystemCommand("Start sweep", "One run per value of the sweep field (e.g. sigma=0.01,0.3,2)",
                            train.action_sweep)
        yield SystemCommand("Pause / resume run", "Pause the running run, or resume it", train.action_pause)
        yield SystemCommand("Stop run", "Stop the run (saved as stopped, resumable)", train.action_stop)
        yield SystemCommand("Toggle log scale", "Loss chart in log or linear scale", train.action_toggle_log)
        yield SystemCommand("Toggle ASCII images", "Images as ASCII ramp (no colour)", train.action_toggle_ascii)
        yield SystemCommand("Saved runs", "List, open, compare and resume saved runs", self.action_runs)
        yield SystemCommand("Keys", "Show every key binding", self.action_help)


if TYPE_CHECKING:
    def _console(app: GloApp) -> GloConsole:  # mypy: GloApp is the console its screens take it for
        return app


def create_app(runs_dir: str | os.PathLike | None = None, prepared: Any = None, **kw: Any) -> GloApp:
    """The console app, for glo-tui, glo run, glo sweep, glo serve's tabs and the tests.

    ``prepared`` (a glo.train.prepare.PreparedRun) starts training on mount, and so does ``sweep`` (a
    glo.sweep.manifest.Sweep; resumed if some of its runs are done); ``config`` fills the form. ``load``
    reads a config's data split (default: the data set on disk), ``analyzer`` computes a run's
    missing probe and held-out numbers when a comparison shows it (default: a child process per
    run, ``tui.analyze``; None: never).
    """
    return GloApp(runs_dir, prepared=prepared, **kw)


def run_console(runs_dir: str | os.PathLike | None, prepared: Any = None, sweep: Any = None, **kw: Any) -> int:
    """Run the console until the user quits; the exit code is 1 if the last run (or a sweep's run) failed.
    On the way out, say how to resume what this session left stopped."""
    app = create_app(runs_dir, prepared=prepared, sweep=sweep, **kw)
    app.run()
    try:
        for line in resume_hints(app):
            print(line, flush=True)
    except (OSError, ValueError):  # the terminal is gone (SIGHUP): nothing to tell
        pass
    return app.return_code or 0


def resume_hints(app: GloApp) -> list[str]:
    """A line per sweep or run started in this session that is now stopped (or interrupted)."""
    from glo.errors import GloError
    from glo.store.runview import sweep_resume
    from glo.sweep.manifest import SweepStore

    hints, in_sweeps = [], set()
    for sweep_id in dict.fromkeys(app.started_sweeps):
        try:
            sweep = SweepStore(app.store).get(sweep_id)
            in_sweeps.update(sweep.run_ids())
            status, states = sweep.status(app.store), sweep.statuses(app.store)
            # partial with pending points: a stop landed between two points (one completed, the next never began)
            # pending: stopped before any point trained (e.g. while its points waited for a node)
            if status in ("stopped", "interrupted", "pending") or (status == "partial" and "pending" in states):
                again = sweep_resume(sweep.id, app.cluster.address if app.cluster is not None else None, headless=False)
                why = " after its points waited for a node (--wait)" if sweep.id in app.waited_out else ""
                hints.append(f"sweep {sweep.id} stopped{why}: resume it with  {again}")
        except (GloError, OSError):
            continue
    for run_id in dict.fromkeys(app.started_runs):
        if run_id in in_sweeps:
            continue
        try:
            status = app.store.get(run_id).status()
        except (GloError, OSError):
            continue
        if status in ("stopped", "interrupted"):
            hints.append(f"run {run_id} {status}: resume it with  glo run --resume {run_id}")
    return hints


def serve_tab(argv: list[str]) -> int:
    """One browser tab's console (``python -m tui.app RUNS_DIR [CONFIG_JSON]``, as ``tui.serve`` starts
    it for ``glo serve``): the runs folder, and the settings form's values as ``RunConfig.to_dict``
    JSON (checked by glo serve before it served anything). Not a command line for people: glo-tui is."""
    import json

    config = RunConfig.from_dict(json.loads(argv[1])) if len(argv) > 1 else None
    return run_console(argv[0], config=config)


if __name__ == "__main__":
    import sys

    raise SystemExit(serve_tab(sys.argv[1:]))

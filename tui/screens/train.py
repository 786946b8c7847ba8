"""The main screen: settings and status on the left, live loss chart and reconstructions on the right.

Training runs in one thread worker that iterates ``glo.train.loop.train`` for a run or
``glo.sweep.run.run_sweep`` for a sweep (``tui.jobs``); its events come back as they are, in
messages (``tui.bridge``: batches coalesced by time) dispatched with ``match``, never by blocking
calls into the UI. A sweep shows each point's run as it trains (a parallel one every running
point: ``tui.points``); when the sweep completes, the comparison of its runs opens.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from typing import TYPE_CHECKING, ClassVar

from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer
from textual.worker import Worker, get_current_worker

from glo import events as ev
from glo.config import LIVE_PARAMS, RunConfig
from glo.errors import GloError
from glo.sweep.manifest import Sweep
from glo.train.controls import Controls
from tui import messages as m
from tui.bridge import JobPump
from tui.jobs import RunJob, SweepJob, sweep_line
from tui.points import PointsView, points_line, sweep_notice
from tui.protocols import ConsoleScreen
from tui.screens.sweeping import SweepEvents
from tui.widgets import titled
from tui.widgets.chart import LossChart
from tui.widgets.controls import ControlsPanel
from tui.widgets.recon import ReconPanel
from tui.widgets.status import RunState, StatusPanel

if TYPE_CHECKING:
    pass


class TrainScreen(SweepEvents, ConsoleScreen):
    AUTO_FOCUS = "#start"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s,f5", "start", "Start"),
        Binding("w", "sweep", "Sweep"),
        Binding("p,f6", "pause", "Pause"),
        Binding("x,f7", "stop", "Stop"),
        Binding("l", "toggle_log", "Log"),
        Binding("a", "toggle_ascii", "ASCII"),
        Binding("r,f2", "app.runs", "Runs"),
        Binding("escape", "blur", "Leave field", show=False),
    ]

    def __init__(self, base: RunConfig) -> None:
        super().__init__()
        self.base = base
        self.controls: Controls | None = None
        self.worker: Worker | None = None
        self.last_status: str | None = None
        self.sweep: Sweep | None = None  # the sweep being trained, if any
        self.point = ""  # the label of its point training now
        self.active = False
        self.idle = threading.Event()  # set while no training thread runs (for a hang-up exit)
        self.idle.set()

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield titled(ControlsPanel(self.base, id="controls"), "settings")
                yield titled(StatusPanel(id="status"), "status")
            with Vertical(id="right"):
                yield titled(LossChart(id="chart"), "loss")
                points = PointsView(id="points")  # a parallel sweep's points, instead of the chart
                points.display = False
                yield points
                yield titled(ReconPanel(id="recon"), "originals / reconstructions")
        yield Footer()

    def on_resize(self, event: events.Resize) -> None:
        self.form.fit(event.size.height)

    def on_mount(self) -> None:
        prepared = getattr(self.app, "prepared", None)
        if prepared is not None:  # `glo run` without --headless: train at once
            self.glo.prepared = None
            self.start(prepared=prepared)
        sweep = getattr(self.app, "sweep", None)
        if sweep is not None:  # `glo sweep` without --headless: train (or resume) it at once
            self.glo.sweep = None
            self.start_sweep(sweep)

    # --- queries ---
    @property
    def running(self) -> bool:
        """A run is training (from Start until its Finished event arrives)."""
        return self.active

    @property
    def form(self) -> ControlsPanel:
        return self.query_one(ControlsPanel)

    @property
    def status(self) -> StatusPanel:
        return self.query_one(StatusPanel)

    @property
    def chart(self) -> LossChart:
        return self.query_one(LossChart)

    @property
    def recon(self) -> ReconPanel:
        return self.query_one(ReconPanel)

    # --- actions ---
    def action_start(self) -> None:
        if self.running:
            self.notify("a run is already training; stop it first", severity="warning")
            return
        self.form.request_start()

    def action_sweep(self) -> None:
        if self.running:
            self.notify("a run is already training; stop it first", severity="warning")
            return
        self.form.request_sweep()

    def action_pause(self) -> None:
        if not self.running or self.controls is None:
            return
        if self.controls.paused:
            self.controls.resume()
            self.status.set(state="training", note="")
        else:
            self.controls.pause()
            self.status.set(state="pausing", note="after this step")
        self.form.set_running(True, paused=self.controls.paused)

    def action_stop(self) -> None:
        if self.running and self.controls is not None and not self.controls.stop_requested:
            self.controls.stop()
            self.status.set(state="stopping", note="saving a checkpoint")

    def action_toggle_log(self) -> None:
        self.chart.toggle_log()
        self._chart_title()

    def action_toggle_ascii(self) -> None:
        self.recon.toggle_ascii()

    def action_blur(self) -> None:
        self.set_focus(None)

    async def stop_and_wait(self) -> None:
        """Stop a running run cleanly and wait for its thread to end (it saves a checkpoint)."""
        if self.controls is not None:
            self.controls.release()  # a watched run (tui.watch) trains on
        if self.worker is not None:
            with contextlib.suppress(Exception):  # a failed worker has already said so
                await self.worker.wait()

    def on_unmount(self) -> None:
        if self.controls is not None:  # the app is going away: never leave a training thread behind
            self.controls.release()

    # --- starting runs and sweeps ---
    def on_start_requested(self, message: m.StartRequested) -> None:
        self.start(message.config)

    def on_sweep_requested(self, message: m.SweepRequested) -> None:
        if self.running:
            self.notify("a run is already training; stop it first", severity="warning")
            return
        self._create_sweep(message.config, message.params)

    @work(thread=True, exclusive=True, group="sweep-create", exit_on_error=False)
    def _create_sweep(self, cfg: RunConfig, params: list) -> None:
        """Validate every point and write the sweep's manifest (no run folder yet), off the UI thread."""
        from glo.sweep.manifest import SweepStore

        try:
            sweep = SweepStore(self.glo.store).create(cfg, params)
        except GloError as exc:
            self.app.call_from_thread(self.notify, str(exc), title="sweep refused", severity="error")
            return
        self.app.call_from_thread(self.start_sweep, sweep)

    def start(self, cfg: RunConfig | None = None, resume_id: str | None = None, prepared=None) -> bool:
        """Train one run: a new one with ``cfg``, a stopped one resumed, or one ``glo run`` prepared."""
        if self.running:
            self.notify("a run is already training; stop it first", severity="warning")
            return False
        if prepared is not None:
            self.form.set_values(prepared.cfg)
        return self._begin(RunJob(cfg, resume_id, prepared))

    def start_sweep(self, sweep) -> bool:
        """Train a sweep's runs one after another (a resumed sweep skips its completed runs)."""
        job = SweepJob(sweep, getattr(self.app, "sweep_workers", None), getattr(self.app, "cluster", None))
        if self.running:
            self.notify("a run is already training; stop it first", severity="warning")
            return False
        self.form.set_values(job.base)
        self.form.set_sweep(sweep.params)
        self.form.locked = {k for k, _ in sweep.params}  # a live change would spoil the sweep's comparison
        self.sweep = sweep
        if self._begin(job):
            self.glo.started_sweeps.append(sweep.id)
            return True
        self.sweep, self.form.locked = None, set()
        return False

    def _begin(self, job) -> bool:
        if self.running:
            self.notify("a run is already training; stop it first", severity="warning")
            return False
        self.controls = getattr(job, "controls", None) or Controls()  # a watched run's: requests to it
        self.active = True
        parallel = getattr(job, "workers", 1) > 1
        self.chart.display, self.recon.display = not parallel, not parallel
        self.query_one(PointsView).display = parallel
        self.query_one(PointsView).clear()
        self.chart.reset(1)
        self.recon.clear()
        self.status.run = RunState(sweep=sweep_line(job.sweep))
        self.status.set(state="starting", note="loading data and torch")
        self.form.set_running(True)
        self.idle.clear()
        self.worker = self._train(job, self.controls)
        return True

    @work(thread=True, exclusive=True, group="train", exit_on_error=False)
    def _train(self, job, controls: Controls) -> str:
        """The one training worker: iterates a run's or a sweep's events, posts them as messages."""
        worker = get_current_worker()
        pumps = JobPump(self.post_message, job, self.glo.store)
        try:
            events, pumps.pump.cfg = job.open(self.glo, controls)
            note = getattr(getattr(job, "prepared", None), "note", None)
            if note:  # e.g. a run without a checkpoint that starts over from epoch 0
                self.app.call_from_thread(self.notify, note, timeout=8)
        except Exception as exc:  # noqa: BLE001 - bad settings, missing data: shown, the console goes on
            pumps.failed(exc)
            pumps.close()
            self.idle.set()
            return "failed"
        gc.freeze()  # torch, data, console: long-lived; a full collection of them stalls training 0.25 s
        try:
            for event in events:
                if worker.is_cancelled and not controls.stop_requested:
                    controls.release()
                pumps.feed(event)
        except Exception as exc:  # noqa: BLE001 - errors before training starts (bad device, unreadable checkpoint)
            pumps.failed(exc)
        finally:
            events.close()
            pumps.close()
            self.idle.set()
        return pumps.status

    # --- events from the worker: the core's own (glo.events) ---
    def on_resumed_config(self, message: m.ResumedConfig) -> None:
        self.form.set_values(message.config)

    def on_core_events(self, msg: m.CoreEvents) -> None:
        """A batch of the core's events: its Steps drawn at once (a batch of them holds nothing else that
        shows), then each other event in order (a Checkpoint: nothing to show)."""
        steps = [event for event in msg.events if isinstance(event, ev.Step)]
        if steps:
            self._steps(steps)
        for event in msg.events:
            match event:
                case ev.Started():
                    self._started(event, msg.cfg or self.base, msg.history)
                case ev.Epoch():
                    self._epoch(event)
                case ev.Changed():
                    self._changed(event)
                case ev.Paused(step=step) | ev.Resumed(step=step):
                    self._paused(isinstance(event, ev.Paused), step)
                case ev.Finished():
                    self._finished(event)
                case ev.SweepPoint():
                    self._sweep_point(event)
                case ev.SweepFinished():
                    self._sweep_finished(event)
                case ev.Waiting() | ev.Notice():
                    if isinstance(event, ev.Waiting) and event.gave_up and self.sweep is not None:
                        self.glo.waited_out.add(self.sweep.id)
                    self.notify(**sweep_notice(event))

    def on_newest_images(self, msg: m.NewestImages) -> None:
        self.recon.show(msg.images.originals, msg.images.reconstructions, msg.images.epoch)

    def _started(self, event: ev.Started, cfg: RunConfig, history: list) -> None:
        if event.run_id:
            self.glo.started_runs.append(event.run_id)
        live = dict(event.live) or {k: getattr(cfg, k) for k in LIVE_PARAMS}
        self.chart.reset(event.steps_per_epoch)
        self.chart.load_history(history)
        self.chart.replot()
        self.status.set(state="training", note="resumed" if event.resumed else "", run_id=event.run_id,
                        device=event.device, epoch=event.epoch, epochs=event.epochs,
                        step=event.epoch * event.steps_per_epoch, steps_per_epoch=event.steps_per_epoch,
                        batch_size=cfg.batch_size, n_images=cfg.n_images if isinstance(cfg.n_images, int) else 0,
                        live=live)
        self.form.set_live(live)
        self.sub_title = event.run_id or ""

    def on_points_update(self, msg: m.PointsUpdate) -> None:
        self.query_one(PointsView).show(msg)
        training, line = points_line(msg.rows, len(self.sweep.points) if self.sweep is not None else len(msg.rows))
        state = "training" if training and self.status.run.state == "starting" else self.status.run.state
        self.status.set(state=state, sweep=line, note="")

    def _steps(self, steps: list[ev.Step]) -> None:
        self.chart.add_steps(tuple((s.step, s.loss) for s in steps))
        self.chart.request_replot()
        state, last = self.status.run.state, steps[-1]
        self.status.set(step=last.step, epoch=last.epoch, images_per_s=last.images_per_s,
                        state="training" if state in ("starting", "training") else state)

    def _epoch(self, event: ev.Epoch) -> None:
        self.chart.add_epoch(event.epoch, event.record.get("recon_loss"))
        self.chart.request_replot()
        # shown with the next steps (within a second): one redraw a second is what training can spare
        self.status.set(epoch=event.epoch, recon_loss=event.record.get("recon_loss"), redraw=False)

    def _changed(self, event: ev.Changed) -> None:
        self.chart.add_change(event.step, event.param, event.new)
        self.chart.replot()
        live = dict(self.status.run.live)
        live[event.param] = event.new
        self.status.set(live=live, note="")
        self.notify(f"{event.param} {event.old} → {event.new} from step {event.step}", timeout=3)

    def _paused(self, paused: bool, step: int) -> None:
        self.status.set(state="paused" if paused else "training", note=f"at step {step}" if paused else "")
        self.form.set_running(True, paused=paused)

    def _finished(self, event: ev.Finished) -> None:
        self.last_status = event.status
        self.status.set(state=event.status, note="", error=event.error)
        if self.sweep is not None:  # one point of a sweep ended: the sweep goes on (SweepFinished ends it)
            if event.status == "failed":
                self.notify(event.error or "the run failed", title="a sweep run failed", severity="error", timeout=8)
            return
        self.active = False
        self.form.set_running(False)
        if event.status == "failed":
            self.notify(event.error or "the run failed", title="run failed", severity="error", timeout=8)
        elif event.status == "stopped":
            self.notify("run stopped; resume it from the saved runs (r)", timeout=4)

    # --- sweeps ---
    def _chart_title(self) -> None:
        title = "loss (log scale)" if self.chart.log_scale else "loss"
        self.chart.border_title = f"{title} · {self.point}" if self.point else title

    def on_live_change_requested(self, msg: m.LiveChangeRequested) -> None:
        if not self.running or self.controls is None:
            return
        if msg.param in self.form.locked:
            self.notify(f"{msg.param} is what this sweep varies: it cannot change while the sweep trains",
                        severity="warning")
            return
        try:
            self.controls.set(**{msg.param: msg.value})
        except (GloError, ValueError) as exc:
            self.notify(str(exc), severity="error")
            return
        self.status.set(note=f"{msg.param} → {msg.value} at next step")

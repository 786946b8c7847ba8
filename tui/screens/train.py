"""The main screen: settings and status on the left, live loss chart and reconstructions on the right.

Training runs in a thread worker that iterates ``glo.train.train``; its events come back as
messages (``tui.bridge.EventPump``, coalesced by time), never by blocking calls into the UI.
"""

from __future__ import annotations

import threading

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer
from textual.worker import Worker, get_current_worker

from glo.config import RunConfig
from glo.controls import Controls
from glo.errors import GloError
from glo.events import Started
from tui import messages as m
from tui.bridge import EventPump
from tui.widgets.chart import LossChart
from tui.widgets.controls import ControlsPanel
from tui.widgets.recon import ReconPanel
from tui.widgets.status import StatusPanel


def error_line(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, GloError) else f"{type(exc).__name__}: {exc}"


class TrainScreen(Screen):
    AUTO_FOCUS = "#start"
    BINDINGS = [
        Binding("s,f5", "start", "Start"),
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
        self.active = False
        self.idle = threading.Event()  # set while no training thread runs (for a hang-up exit)
        self.idle.set()

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            with Vertical(id="left"):
                panel = ControlsPanel(self.base, id="controls")
                panel.border_title = "settings"
                yield panel
                status = StatusPanel(id="status")
                status.border_title = "status"
                yield status
            with Vertical(id="right"):
                chart = LossChart(id="chart")
                chart.border_title = "loss"
                yield chart
                recon = ReconPanel(id="recon")
                recon.border_title = "originals / reconstructions"
                yield recon
        yield Footer()

    def on_mount(self) -> None:
        prepared = getattr(self.app, "prepared", None)
        if prepared is not None:  # `glo run` without --headless: train at once
            self.app.prepared = None
            self.start(prepared=prepared)

    # --- queries ---
    @property
    def running(self) -> bool:
        """A run is training (from Start until its RunFinished message arrives)."""
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
        log = self.chart.toggle_log()
        self.chart.border_title = "loss (log scale)" if log else "loss"

    def action_toggle_ascii(self) -> None:
        self.recon.toggle_ascii()

    def action_blur(self) -> None:
        self.set_focus(None)

    async def stop_and_wait(self) -> None:
        """Stop a running run cleanly and wait for its thread to end (it saves a checkpoint)."""
        if self.controls is not None:
            self.controls.stop()
        if self.worker is not None:
            try:
                await self.worker.wait()
            except Exception:  # a failed worker has already said so
                pass

    def on_unmount(self) -> None:
        if self.controls is not None:  # the app is going away: never leave a training thread behind
            self.controls.stop()

    # --- starting runs ---
    def on_start_requested(self, message: m.StartRequested) -> None:
        self.start(message.config)

    def start(self, cfg: RunConfig | None = None, resume_id: str | None = None, prepared=None) -> bool:
        if self.running:
            self.notify("a run is already training; stop it first", severity="warning")
            return False
        if prepared is not None:
            self.form.set_values(prepared.cfg)
        self.controls = Controls()
        self.active = True
        self.chart.reset(1)
        self.recon.clear()
        self.status.run = type(self.status.run)()
        self.status.set(state="starting", note="loading data and torch")
        self.form.set_running(True)
        self.idle.clear()
        self.worker = self._train(cfg, resume_id, prepared, self.controls)
        return True

    @work(thread=True, exclusive=True, group="train", exit_on_error=False)
    def _train(self, cfg, resume_id, prepared, controls: Controls) -> str:
        worker = get_current_worker()
        try:
            if prepared is None:
                prepared = self.app.prepare_run(cfg, resume_id)
            from glo.train import train  # torch loads here, in the worker, never at import time
        except Exception as exc:
            self.post_message(m.RunFinished("failed", error_line(exc)))
            self.idle.set()
            return "failed"
        pump = EventPump(self.post_message, prepared.cfg)
        events = train(prepared.cfg, prepared.run, controls, prepared.split, resume=prepared.resume)
        status = "failed"
        try:
            for event in events:
                if worker.is_cancelled and not controls.stop_requested:
                    controls.stop()
                if prepared.resume and isinstance(event, Started):
                    pump.history = prepared.run.read_metrics()  # after the core trimmed it to the checkpoint
                    self.post_message(m.ResumedConfig(prepared.cfg))
                pump.feed(event)
                status = getattr(event, "status", status)
        except Exception as exc:  # errors before training starts (bad device, unreadable checkpoint)
            pump.flush()
            self.post_message(m.RunFinished("failed", error_line(exc)))
        finally:
            events.close()
            self.idle.set()
        return status

    # --- events from the worker ---
    def on_resumed_config(self, message: m.ResumedConfig) -> None:
        self.form.set_values(message.config)

    def on_run_started(self, msg: m.RunStarted) -> None:
        self.chart.reset(msg.steps_per_epoch)
        self.chart.load_history(msg.history)
        self.chart.replot()
        self.status.set(state="training", note="resumed" if msg.resumed else "", run_id=msg.run_id,
                        device=msg.device, epoch=msg.epoch, epochs=msg.epochs,
                        step=msg.epoch * msg.steps_per_epoch, steps_per_epoch=msg.steps_per_epoch,
                        batch_size=msg.batch_size, n_images=msg.n_images, live=dict(msg.live))
        self.form.set_live(msg.live)
        self.sub_title = msg.run_id or ""

    def on_steps_done(self, msg: m.StepsDone) -> None:
        self.chart.add_steps(msg.losses)
        self.chart.request_replot()
        state = self.status.run.state
        self.status.set(step=msg.step, epoch=msg.epoch, images_per_s=msg.images_per_s,
                        state="training" if state in ("starting", "training") else state)

    def on_epoch_done(self, msg: m.EpochDone) -> None:
        self.chart.add_epoch(msg.epoch, msg.record.get("recon_loss"))
        self.chart.request_replot()
        self.status.set(epoch=msg.epoch, recon_loss=msg.record.get("recon_loss"))

    def on_images_ready(self, msg: m.ImagesReady) -> None:
        self.recon.show(msg.originals, msg.reconstructions, msg.epoch)

    def on_live_changed(self, msg: m.LiveChanged) -> None:
        self.chart.add_change(msg.step, msg.param, msg.new)
        self.chart.replot()
        live = dict(self.status.run.live)
        live[msg.param] = msg.new
        self.status.set(live=live, note="")
        self.notify(f"{msg.param} {msg.old} → {msg.new} from step {msg.step}", timeout=3)

    def on_pause_changed(self, msg: m.PauseChanged) -> None:
        if msg.paused:
            self.status.set(state="paused", note=f"at step {msg.step}")
        else:
            self.status.set(state="training", note="")
        self.form.set_running(True, paused=msg.paused)

    def on_run_finished(self, msg: m.RunFinished) -> None:
        self.last_status = msg.status
        self.active = False
        self.status.set(state=msg.status, note="", error=msg.error)
        self.form.set_running(False)
        if msg.status == "failed":
            self.notify(msg.error or "the run failed", title="run failed", severity="error", timeout=8)
        elif msg.status == "stopped":
            self.notify("run stopped; resume it from the saved runs (r)", timeout=4)

    def on_live_change_requested(self, msg: m.LiveChangeRequested) -> None:
        if not self.running or self.controls is None:
            return
        try:
            self.controls.set(**{msg.param: msg.value})
        except (GloError, ValueError) as exc:
            self.notify(str(exc), severity="error")
            return
        self.status.set(note=f"{msg.param} → {msg.value} at next step")

"""A sweep on the training screen: each point's run as it starts, and the sweep's end (its
comparison opens when it completed; otherwise how to resume it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from glo import events as ev
from glo.config import RunConfig
from glo.store.runs import Run
from glo.sweep.manifest import Sweep
from tui.jobs import sweep_line
from tui.widgets.status import RunState

if TYPE_CHECKING:
    from tui.protocols import GloConsole


class SweepHost(Protocol):
    """What a sweep's events need of the training screen."""

    sweep: Sweep | None
    point: str
    active: bool
    last_status: str | None

    @property
    def glo(self) -> GloConsole: ...
    @property
    def status(self) -> Any: ...
    @property
    def chart(self) -> Any: ...
    @property
    def recon(self) -> Any: ...
    @property
    def form(self) -> Any: ...

    @property
    def notify(self) -> Callable[..., Any]: ...
    @property
    def set_focus(self) -> Callable[..., Any]: ...

    def _chart_title(self) -> None: ...


class SweepEvents:
    """The training screen's handling of SweepPoint and SweepFinished (a mixin of TrainScreen)."""

    sweep: Sweep | None  # the sweep being trained, if any
    point: str  # the label of its point training now
    active: bool
    last_status: str | None

    def _sweep_point(self: SweepHost, event: ev.SweepPoint) -> None:
        if event.action == "skip":
            self.status.set(note=f"{event.label}: {event.status}, skipped")
            return
        self.status.run = RunState(sweep=sweep_line(self.sweep, event.index, event.label))
        self.status.set(state="starting", note="resuming" if event.action == "resume" else "", run_id=event.run_id)
        self.chart.reset(1)
        self.chart.replot()
        self.recon.clear()
        self.point = event.label
        self._chart_title()

    def _sweep_finished(self: SweepHost, msg: ev.SweepFinished) -> None:
        sweep, self.sweep, self.point = self.sweep, None, ""
        self.active = False
        self._chart_title()
        self.last_status = "failed" if msg.failed or msg.status == "failed" else msg.status
        done = f"{msg.completed}/{msg.total} done" + (f", {msg.failed} failed" if msg.failed else "")
        self.status.set(state=self.last_status, note="", sweep=f"sweep {msg.status}: {done}")
        self.form.locked = set()
        self.form.set_running(False)
        if sweep is not None:
            self.form.set_values(RunConfig.from_dict(sweep.base))
        if msg.status == "completed" and sweep is not None:
            runs = [Run(self.glo.store.root, run_id) for run_id in msg.run_ids]  # read by the comparison
            self.notify(f"sweep completed: {done}", timeout=4)
            if runs:
                self.set_focus(None)  # back from the comparison, letter keys are bindings again
                self.glo.open_compare(runs, title=f"sweep {sweep.label}")
        else:
            self.notify(f"sweep {msg.status} ({done}); R on one of its runs in the saved runs (r) resumes it",
                        severity="error" if msg.status == "failed" else "information", timeout=6)

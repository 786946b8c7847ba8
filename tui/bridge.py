"""The core's events to the console, as they are, coalesced by time (``glo.events``' one policy).

``EventPump`` (a run, or a sweep's runs one after another): Step events go out together, one
``CoreEvents`` batch per ``glo.events.STEPS_S``, and a run's images at most once per
``glo.events.IMAGES_S`` as ``NewestImages`` (the newest wins; a run's first and last always show),
so the UI thread sees a few messages per second however fast training runs. Every UI update costs
the training thread time (it shares the GIL and two cores): these rates are what keeps training in
the console at the headless speed. Every other event goes out at once, after the pending steps and
images, so the order is kept (a ``Checkpoint``, with nothing to show, rides with the next batch).
A sweep's events are a run's events with ``SweepPoint`` before each run and ``SweepFinished`` at
the end; ``new_run`` switches settings. ``JobPump`` routes a job's events: a parallel sweep's
points to ``tui.points.PointsPump``, the rest to an ``EventPump``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from glo import events as ev
from glo.config import RunConfig
from glo.store.runs import Run
from tui import messages as m
from tui.jobs import error_line
from tui.points import PointsPump


class EventPump:
    def __init__(
        self,
        post: Callable[[Any], Any],
        cfg: RunConfig,
        history: list[dict[str, Any]] | None = None,
        interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        images_interval: float | None = None,
    ) -> None:
        self.post = post
        self.steps = ev.Pace(ev.STEPS_S if interval is None else interval, clock)
        self.steps.mark()  # the first batch a second after the pump starts (Started goes at once)
        self.shown = ev.Pace(ev.IMAGES_S if images_interval is None else images_interval, clock)
        self._images: ev.Images | None = None
        self.cfg = cfg
        self.history = history or []
        self._pending: list[Any] = []  # Steps (and a Checkpoint) for the next batch

    def new_run(self, cfg: Any, history: list[dict[str, Any]] | None = None) -> None:
        """The next run of a sweep: its settings, and its first images shown at once."""
        self.flush(force_images=True)
        self.cfg, self.history = cfg, history or []
        self.shown.restart()

    def feed(self, event: ev.Event) -> None:
        if isinstance(event, ev.Step):
            self._pending.append(event)
            if self.steps.due():
                self.flush()
            return
        if isinstance(event, ev.Images):
            self._images = event
            if self.shown.due():
                self.flush()
            return
        if isinstance(event, ev.Checkpoint):  # nothing to show: with the next batch
            self._pending.append(event)
            return
        # steps (and images, if due) go out first to keep the order; before a pause, a change or
        # the end the newest images go out whether due or not
        self.flush(force_images=not isinstance(event, ev.Epoch))
        self.post(self.batch((event,)))

    def batch(self, events: tuple[Any, ...]) -> m.CoreEvents:
        return m.CoreEvents(events, self.cfg, self.history)

    def flush(self, force_images: bool = False) -> None:
        if self._pending:
            self.post(self.batch(tuple(self._pending)))
            self._pending = []
        self.steps.mark()
        if self._images is not None and (self.shown.due() or force_images):
            images, self._images = self._images, None
            self.shown.mark()
            self.post(m.NewestImages(images))


class JobPump:
    """A job's events (``tui.jobs``) to the console: a parallel sweep's to a ``PointsPump`` (every
    running point at once), a run's or a serial sweep's to an ``EventPump``. ``status``: the last
    status an event said; ``ended``: the sweep said it ended."""

    def __init__(self, post: Callable[[Any], Any], job: Any, store: Any, cfg: Any = None) -> None:
        self.post, self.job, self.store = post, job, store  # store: glo.store.runs.RunStore
        self.pump, self.points = EventPump(post, cfg), PointsPump(post)
        self.status, self.ended = "failed", False

    def failed(self, exc: BaseException) -> None:
        """The job could not start, or raised: a Finished 'failed' saying why."""
        self.pump.flush()
        self.post(m.CoreEvents((ev.Finished("failed", {}, error_line(exc)),)))

    def close(self) -> None:
        """A sweep whose generator ended without its SweepFinished gets one (from its points' runs)."""
        sweep = self.job.sweep
        if sweep is not None and not self.ended:
            self.post(m.CoreEvents((ev.SweepFinished(sweep.id, *self.job.ended_early(self.store)),)))

    def feed(self, event: ev.Event) -> None:
        job, pump = self.job, self.pump
        if isinstance(event, ev.PointEvent) or (isinstance(event, (ev.SweepPoint, ev.Waiting, ev.Notice))
                                                and job.workers > 1):
            self.points.feed(event)  # a parallel sweep: every running point at once
            return
        if isinstance(event, ev.SweepPoint) and event.action != "skip":
            pump.new_run(job.point_config(event.index))
            pump.feed(event)
            self.post(m.ResumedConfig(pump.cfg))
            return
        if isinstance(event, ev.Started) and event.resumed and event.run_id:
            # the epochs already on disk (after the core trimmed them to the checkpoint)
            pump.history = Run(self.store.root, event.run_id).read_metrics()
            if job.sweep is None:
                self.post(m.ResumedConfig(pump.cfg))
        if isinstance(event, ev.SweepFinished) and job.workers > 1:
            self.points.ended(event.status)
        pump.feed(event)
        self.status = getattr(event, "status", self.status)
        self.ended = self.ended or isinstance(event, ev.SweepFinished)

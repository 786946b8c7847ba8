"""Turn the core's training events into console messages, throttled by time.

Step events are coalesced into one ``StepsDone`` per ``interval`` seconds, and image events into at
most one ``ImagesReady`` per ``images_interval`` seconds (the newest wins; the last one of a run is
always shown), so the UI thread sees a few messages per second however fast training runs. Every
UI update costs the training thread time (it shares the GIL and two cores), so these intervals are
what keeps training in the console at the headless speed. Every other event is delivered at once,
after the pending steps and images, so the order is kept. A sweep's events are a run's events with
``SweepPoint`` before each run and ``SweepFinished`` at the end; ``new_run`` switches settings.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from glo import events as ev
from glo.config import LIVE_PARAMS
from tui import messages as m

STEP_INTERVAL = 1.0
IMAGES_INTERVAL = 3.0


def _count(n_images: Any) -> int:
    """--n-images as a number for the status line ('all': not known here, 0)."""
    return n_images if isinstance(n_images, int) else 0


class EventPump:
    def __init__(
        self,
        post: Callable[[Any], Any],
        cfg: Any,  # glo.config.RunConfig
        history: list[dict[str, Any]] | None = None,
        interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        images_interval: float | None = None,
    ) -> None:
        self.post, self.clock = post, clock
        self.interval = STEP_INTERVAL if interval is None else interval
        self.images_interval = IMAGES_INTERVAL if images_interval is None else images_interval
        self._images: ev.Images | None = None
        self._images_posted = -float("inf")
        self.cfg = cfg
        self.history = history or []
        self._steps: list[tuple[int, float]] = []
        self._last: ev.Step | None = None
        self._flushed = clock()

    def new_run(self, cfg: Any, history: list[dict[str, Any]] | None = None) -> None:
        """The next run of a sweep: its settings, and its first images shown at once."""
        self.flush(force_images=True)
        self.cfg, self.history = cfg, history or []
        self._images_posted = -float("inf")

    def feed(self, event: ev.Event) -> None:
        if isinstance(event, ev.Step):
            self._steps.append((event.step, event.loss))
            self._last = event
            if self.clock() - self._flushed >= self.interval:
                self.flush()
            return
        if isinstance(event, ev.Images):
            self._images = event
            if self.clock() - self._images_posted >= self.images_interval:
                self.flush()
            return
        # steps (and images, if due) go out first to keep the order; before a pause, a change or
        # the end the newest images go out whether due or not
        self.flush(force_images=not isinstance(event, (ev.Epoch, ev.Checkpoint)))
        message = self.convert(event)
        if message is not None:
            self.post(message)

    def flush(self, force_images: bool = False) -> None:
        if self._steps and self._last is not None:
            last = self._last
            self.post(m.StepsDone(tuple(self._steps), last.step, last.epoch, last.batch, last.images_per_s))
            self._steps = []
        self._flushed = self.clock()
        if self._images is not None and (
            self._flushed - self._images_posted >= self.images_interval or force_images
        ):
            images, self._images = self._images, None
            self._images_posted = self._flushed
            self.post(m.ImagesReady(images.epoch, images.originals, images.reconstructions))

    def convert(self, event: ev.Event) -> m.Message | None:
        if isinstance(event, ev.Started):
            live = dict(event.live) or {k: getattr(self.cfg, k) for k in LIVE_PARAMS}
            return m.RunStarted(event.run_id, event.epoch, event.epochs, event.steps_per_epoch, event.device,
                                event.resumed, self.cfg.batch_size, _count(self.cfg.n_images), live,
                                list(self.history))
        if isinstance(event, ev.Epoch):
            return m.EpochDone(event.epoch, dict(event.record))
        if isinstance(event, ev.Images):
            return m.ImagesReady(event.epoch, event.originals, event.reconstructions)
        if isinstance(event, ev.Changed):
            return m.LiveChanged(event.step, event.epoch, event.param, event.old, event.new)
        if isinstance(event, ev.Paused):
            return m.PauseChanged(True, event.step)
        if isinstance(event, ev.Resumed):
            return m.PauseChanged(False, event.step)
        if isinstance(event, ev.Finished):
            return m.RunFinished(event.status, event.error, dict(event.summary))
        if isinstance(event, ev.SweepPoint):
            return m.SweepPointStarted(event.sweep_id, event.index, event.total, event.label, event.run_id,
                                       event.action, event.status)
        if isinstance(event, ev.SweepFinished):
            return m.SweepEnded(event.sweep_id, event.status, event.completed, event.failed, event.total,
                                tuple(event.run_ids))
        return None  # Checkpoint: nothing to show

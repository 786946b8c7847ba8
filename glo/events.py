"""Every event, and how often they travel.

The events: what the training loop, a sweep and its driver yield; small frozen dataclasses, safe to
pass between threads and processes. Every front end gets them as they are (the CLI's progress, the
console's messages).

How often: the one coalescing policy (``Pace``: the newest wins, at most once per interval) and
every rate it runs at, below. Each update of a screen costs the training thread time (it shares the
GIL and, on a laptop, two cores): the console's rates were measured so that training in it keeps
the headless speed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# --- how often events travel (seconds); a pause, a change, an epoch and the end always go at once ---
STEPS_S = 1.0  # the console: the steps since the last batch (losses, status line), once a second
IMAGES_S = 3.0  # the console: a run's reconstructions while it trains (its first and its last at once)
CHART_S = 3.0  # the console: the live loss chart redraws at most this often (a run's first losses at once)
POINTS_S = 0.5  # the console: a parallel sweep's lines of points (at once when a point starts, pauses or ends)
BAR_S = 0.1  # the CLI: a run's progress bar takes its steps this often (rich redraws it as often)
WORKER_STEPS_S = 0.25  # a sweep's point (worker process or Ray task) sends its newest Step this often
WAITING_S = 15.0  # a sweep whose points wait for a node says so again this often (and at once when it changes)
CONTROLS_S = 0.2  # a sweep's pause, stop and live changes reach its points within about this:
# the driver waits at most this long for their events between passing them on, a Ray point reads them this often


@dataclass(frozen=True)
class Started:
    """Training begins (or resumes) in ``run_dir`` at ``epoch`` completed epochs."""

    run_id: str | None
    run_dir: str | None
    epoch: int
    epochs: int
    steps_per_epoch: int
    device: str
    resumed: bool = False
    live: dict[str, Any] = field(default_factory=dict, hash=False)  # sigma, decay, loss in effect


@dataclass(frozen=True)
class Step:
    """One optimisation step finished."""

    step: int  # global step, 1-based
    epoch: int  # the epoch this step belongs to, 1-based
    batch: int  # batch within the epoch, 1-based
    loss: float  # training loss of this batch (reconstruction + decay penalty)
    images_per_s: float  # training throughput over the current epoch so far


@dataclass(frozen=True)
class Changed:
    """A live change of sigma, decay or loss took effect before ``step``."""

    step: int
    epoch: int
    param: str
    old: Any
    new: Any


@dataclass(frozen=True)
class Paused:
    step: int
    epoch: int


@dataclass(frozen=True)
class Resumed:
    step: int
    epoch: int


@dataclass(frozen=True)
class Epoch:
    """An epoch finished; ``record`` is the line written to metrics.jsonl."""

    epoch: int
    record: dict[str, Any] = field(hash=False)


@dataclass(frozen=True)
class Images:
    """The fixed display images and their current noise-free reconstructions (uint8, K x 28 x 28)."""

    epoch: int
    originals: np.ndarray = field(hash=False, repr=False)
    reconstructions: np.ndarray = field(hash=False, repr=False)
    labels: tuple[int, ...] = ()


@dataclass(frozen=True)
class Checkpoint:
    epoch: int
    step: int
    path: str


@dataclass(frozen=True)
class Finished:
    """The run ended: status is completed, stopped or failed."""

    status: str
    summary: dict[str, Any] = field(hash=False)
    error: str | None = None


@dataclass(frozen=True)
class SweepPoint:
    """A sweep moves to point ``index`` (0-based) of ``total``: its run starts, resumes or is skipped."""

    sweep_id: str
    index: int
    total: int
    label: str  # the point's settings, e.g. 'sigma0.3'
    run_id: str
    action: str  # start | resume | skip | retry (a worker process died: its point goes on from its checkpoint)
    status: str  # the run's status before this point (pending, stopped, completed, ...)


@dataclass(frozen=True)
class SweepFinished:
    """The sweep ended: completed (every point ran to its end) or stopped."""

    sweep_id: str
    status: str
    completed: int  # points whose run completed
    failed: int  # points whose run failed
    total: int
    run_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Placed:
    """A sweep point's run was placed on NODE (a Ray node: its address and id); comes in a PointEvent."""

    node: str


@dataclass(frozen=True)
class Died:
    """A sweep back end's word to its driver that a point's worker (or node) died mid-point; the driver
    goes on from its checkpoint (a ``SweepPoint`` 'retry'). Never leaves the driver."""


@dataclass(frozen=True)
class Waiting:
    """Sweep points cannot start: no node of the cluster has room for one. Said at once, then every
    WAITING_S while it lasts, and once without points when it ended; ``gave_up``: the sweep waited its
    ``--wait`` seconds and stops."""

    points: tuple[tuple[int, str], ...]  # (index, label) of each point that waits
    reason: str  # 'waiting for a node with 1 free CPU: the cluster has 0 CPUs; add a node'
    short: str  # the same for a point's row: 'waiting: 0 CPUs'
    waited_s: float
    gave_up: bool = False


@dataclass(frozen=True)
class Notice:
    """One line a sweep's back end has for the user, in glo's words (a node of the cluster was lost)."""

    text: str


@dataclass(frozen=True)
class PointEvent:
    """An event of sweep point ``index``'s run (``run_id``), when a sweep trains several points at
    once (``glo sweep --workers N``): their events interleave, each wrapped so."""

    index: int
    run_id: str
    event: Any = field(hash=False)


Event = (Started | Step | Changed | Paused | Resumed | Epoch | Images | Checkpoint | Finished | SweepPoint
         | SweepFinished | Placed | PointEvent | Waiting | Notice)


class Pace:
    """The one coalescing policy: something shown (or sent) at most once per EVERY seconds, the newest
    of what came meanwhile; never shown yet, it is due at once."""

    def __init__(self, every: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.every, self.clock = every, clock
        self.last = -math.inf

    def due(self) -> bool:
        """EVERY seconds have passed since it was last shown."""
        return self.clock() - self.last >= self.every

    def mark(self) -> float:
        """It is shown now (the interval starts over); returns the time."""
        self.last = self.clock()
        return self.last

    def ready(self) -> bool:
        """Due, and if so marked shown: for a stream thinned to one item per interval."""
        if not self.due():
            return False
        self.mark()
        return True

    def restart(self) -> None:
        """The next one is due at once (e.g. a new run's first images)."""
        self.last = -math.inf


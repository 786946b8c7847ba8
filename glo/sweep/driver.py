"""The sweep's driver: sweep points trained side by side, on any back end.

On a 2-core machine one 1-thread run reaches about 0.66 of a 2-thread run's images/s, so two
1-thread runs side by side do about 1.3 times the work of one after another. ``run_parallel`` is
the sweep's driver for that, written once for every back end: it schedules the points that are
not done, starts them while the back end has a free slot, merges their events (each wrapped in a
``PointEvent``), passes pause, stop and live changes on to every running point, and resumes a
point whose worker (or node) died from its last checkpoint.

A back end (``Backend``) trains ``PointJob``s, each with ``train_point``, and says what became of
them. ``glo.sweep.local.LocalBackend``: worker processes of this machine, each writing only its
run's folder (which the driver created). ``glo.sweep.cluster.RayBackend``: Ray tasks that run the
same loop on another machine and send the run's files back, which the driver writes. The driver
writes the sweep's manifest. Ctrl-C reaches the driver alone (local workers ignore SIGINT): it
stops every point cleanly, saved as stopped.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from glo.config import RunConfig
from glo.events import (
    CONTROLS_S,
    WORKER_STEPS_S,
    Died,
    Event,
    Finished,
    Notice,
    Pace,
    PointEvent,
    Step,
    SweepFinished,
    SweepPoint,
)
from glo.host.threads import allowed_cpus
from glo.store.runs import Run, RunStore
from glo.sweep.waiting import Wait, WaitWatch, save_stopped
from glo.train.controls import Controls, validate_live

if TYPE_CHECKING:
    from glo.data.sets import Split

MAX_WORKERS = 8  # more processes than this cost more memory (~0.4 GB each) than they gain
RETRIES = 2  # a point whose worker dies is resumed from its checkpoint at most this often
STOP_S = 1.2  # after a stop, running points get this long to save themselves; then the back end gives up


def default_workers(points: int, cpus: int | None = None) -> int:
    """The rule for --workers 0: one worker per CPU this process may use, at most one per point
    (and MAX_WORKERS); each worker then gets cpus // workers threads."""
    return max(1, min(points, cpus or allowed_cpus(), MAX_WORKERS))


@dataclass
class PointJob:
    """What a worker needs to train one point: no data folder, no other file."""

    index: int
    root: str
    run_id: str
    config: dict[str, Any]
    resume: bool
    split: Split
    attempt: int = 0  # how often its worker died before (it goes on from its checkpoint each time)
    # split arrays left out of SPLIT because they are memory-mapped files this machine's workers map
    # themselves (glo.host.arrays.MappedFile by field name): the pages are shared, not copied per worker
    mapped: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Backend(Protocol):
    """What the driver needs of a back end (``glo.sweep.local.LocalBackend``,
    ``glo.sweep.cluster.RayBackend``)."""

    threads: int  # torch threads of each point it trains: its share, fixed (runs repeat exactly)
    wait_s: float | None  # how long points may wait for room (``waiting``) before the sweep stops; None: for ever

    def running(self) -> list[PointJob]:
        """The jobs started and not yet finished (nor died)."""
        ...

    def has_slot(self) -> bool:
        """Another job may start now."""
        ...

    def start(self, job: PointJob) -> None:
        """Train JOB (``train_point``) wherever it trains."""
        ...

    def control(self, stop: bool, paused: bool, changes: dict[str, Any]) -> None:
        """Pass the sweep's stop, pause and live changes (validated) on to every running job."""
        ...

    def collect(self, timeout: float = CONTROLS_S) -> Iterator[tuple[PointJob, Event | Died]]:
        """(job, event) of the jobs that have some, waiting at most TIMEOUT for the first; a job's
        Finished ends it; (job, Died()) for one whose worker or node died."""
        ...

    def waiting(self, queued: list[int]) -> Wait | None:
        """Whether points wait for room that may never come (no node has it), QUEUED being the points
        the driver holds back: (the waiting points' indexes, a line for the user, a short one), or None."""
        ...

    def notices(self) -> list[str]:
        """Lines for the user since the last call, in glo's words (a node of the cluster lost)."""
        ...

    def shutdown(self) -> None:
        """Stop every running job at once: those that do not end within a moment are given up on and
        saved as stopped (their last checkpoint); let go of the workers."""
        ...


def train_point(job: PointJob, controls: Controls) -> Iterator[Event]:
    """What a back end runs for JOB, where it runs it: the point's events from the core's training loop,
    Steps thinned to the newest every WORKER_STEPS_S."""
    from glo.train.loop import train

    steps = Pace(WORKER_STEPS_S)
    cfg = RunConfig.from_dict(job.config)
    for event in train(cfg, Run(Path(job.root), job.run_id), controls, job.split, resume=job.resume):
        if isinstance(event, Step) and not steps.ready():
            continue
        yield event


class Driver:
    """Runs a sweep's pending points on a BACKEND; ``events()`` yields their events as they come."""

    def __init__(self, sweep, store: RunStore, controls: Controls, split_for: Callable[[RunConfig], Any],
                 backend: Backend) -> None:
        self.sweep, self.store, self.controls, self.split_for = sweep, store, controls, split_for
        self.backend = backend
        self.done = self.failed = 0

    def events(self, todo: list[tuple[int, Run | None, str]]) -> Iterator[Event]:
        """Train TODO ((index, run or None, status) of each point not done), then SweepFinished.
        A stop ends it within about STOP_S, wherever the points are."""
        backend, controls = self.backend, self.controls
        pending = deque((i, run, status, 0) for i, run, status in todo)
        watch = WaitWatch(getattr(backend, "wait_s", None))
        stop_at: float | None = None
        try:
            while backend.running() or (pending and not controls.stop_requested):
                if controls.stop_requested:
                    stop_at = time.monotonic() if stop_at is None else stop_at
                    if time.monotonic() - stop_at > STOP_S:
                        break  # a point that has not saved itself by now: the back end gives up on it
                while pending and not controls.stop_requested and backend.has_slot():
                    yield self._start(*pending.popleft())
                self._mirror_controls()
                yield from self._collect(pending)
                yield from (Notice(text) for text in backend.notices())
                if not controls.stop_requested:
                    yield from self._waiting(pending, watch)
        finally:
            backend.shutdown()
            if controls.stop_requested:  # a point held back to go on from its checkpoint: stopped there
                for _i, run, _status, _attempt in pending:
                    if run is not None:
                        save_stopped(run, "the sweep stopped while it waited to go on")
        total = len(self.sweep.points)
        status = "completed" if self.done + self.failed == total else "stopped"
        yield SweepFinished(self.sweep.id, status, self.done, self.failed, total, tuple(self.sweep.run_ids()))

    def _collect(self, pending: deque) -> Iterator[Event]:
        for job, event in self.backend.collect():
            if isinstance(event, Died):  # again, from its checkpoint
                pending.extendleft(self._died(job))
                continue
            yield PointEvent(job.index, job.run_id, event)
            if isinstance(event, Finished):
                self.done += event.status == "completed"
                self.failed += event.status == "failed"

    def _waiting(self, pending: deque, watch: WaitWatch) -> Iterator[Event]:
        """Points that wait for room: said at a calm rate; past the sweep's wait_s, it stops."""
        event = watch.update(self.backend.waiting([p[0] for p in pending]), self.sweep.point_label)
        if event is not None:
            yield event
            if event.gave_up:
                self.controls.stop()

    def _start(self, index: int, run: Run | None, status: str, attempt: int) -> SweepPoint:
        cfg = self.sweep.point_config(index)
        cfg.threads = cfg.threads or self.backend.threads  # its share, fixed: runs repeat exactly
        run, cfg, resume = self.sweep.open_point(index, self.store, run, cfg)
        job = PointJob(index, str(self.store.root), run.id, cfg.to_dict(), resume, self.split_for(cfg), attempt)
        self.backend.start(job)
        action = "retry" if attempt else "resume" if resume else "start"
        return SweepPoint(self.sweep.id, index, len(self.sweep.points), self.sweep.point_label(index), run.id,
                          action, status)

    def _mirror_controls(self) -> None:
        """Pause, stop and live changes asked of the sweep act on every running point."""
        changes = {k: validate_live(k, v) for k, v in self.controls.take_changes().items()}
        self.backend.control(self.controls.stop_requested, self.controls.paused, changes)

    def _died(self, job: PointJob) -> list[tuple]:
        """The point of a job whose worker died, to go on from its checkpoint (unless stopping or
        given up: then it shows as interrupted)."""
        if self.controls.stop_requested or job.attempt >= RETRIES:
            return []
        run = Run(self.store.root, job.run_id)
        return [(job.index, run, run.status(), job.attempt + 1)]


def run_parallel(sweep, store: RunStore, controls: Controls, split_for: Callable[[RunConfig], Any],
                 backend: Backend) -> Iterator[Event]:
    """Every point of SWEEP not done yet, on BACKEND (see ``Driver``): a SweepPoint 'skip' for each
    point already done, then the points' events as
    they come, then SweepFinished."""
    driver = Driver(sweep, store, controls, split_for, backend)
    todo = []
    existing = set(store.ids())
    for i in range(len(sweep.points)):
        run, status = sweep.point_run(i, store, existing)
        if status in ("completed", "failed", "running"):
            driver.done += status == "completed"
            driver.failed += status == "failed"
            yield SweepPoint(sweep.id, i, len(sweep.points), sweep.point_label(i), run.id, "skip", status)
        else:
            todo.append((i, run, status))
    yield from driver.events(todo)

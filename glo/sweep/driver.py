"""Sweep points trained side by side: in worker processes here, or on a Ray cluster.

On a 2-core machine one 1-thread run reaches about 0.66 of a 2-thread run's images/s, so two
1-thread runs side by side do about 1.3 times the work of one after another. ``run_parallel`` is
the sweep's driver for that, written once for both back ends: it schedules the points that are
not done, starts them while the back end has a free slot, merges their events (each wrapped in a
``PointEvent``), passes pause, stop and live changes on to every running point, and resumes a
point whose worker (or node) died from its last checkpoint.

A back end trains ``PointJob``s and says what became of them. ``LocalBackend``: worker processes
of this machine, each running the core's own ``glo.train.loop.train`` on the split the driver hands it
and writing only its run's folder (which the driver created). ``glo.sweep.cluster.RayBackend``: Ray
tasks that run the same loop on another machine and send the run's files back, which the driver
writes. The driver writes the sweep's manifest. Ctrl-C reaches the driver alone (local workers
ignore SIGINT): it stops every point cleanly, saved as stopped.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

from glo.config import RunConfig
from glo.events import Event, Finished, PointEvent, Step, SweepFinished, SweepPoint
from glo.host.threads import allowed_cpus
from glo.store.runs import Run, RunStore
from glo.train.controls import Controls, validate_live

MAX_WORKERS = 8  # more processes than this cost more memory (~0.4 GB each) than they gain
RETRIES = 2  # a point whose worker dies is resumed from its checkpoint at most this often
STEP_EVERY_S = 0.25  # a worker sends at most this many Step events per second (the newest)


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
    split: Any  # glo.data.sets.Split
    attempt: int = 0  # how often its worker died before (it goes on from its checkpoint each time)


@dataclass(frozen=True)
class Placed:
    """A point's run was placed on NODE (a Ray node: its address and id); comes in a PointEvent."""

    node: str


class Died:
    """What a back end reports for a job whose worker (or node) died mid-point."""


@dataclass
class _Worker:
    """A worker process and its pipes; it trains one job at a time (``job``: None while idle)."""

    proc: Any
    conn: Any  # events from the worker
    jobs: Any  # jobs to the worker (None: exit)
    stop: Any
    pause: Any
    changes: Any
    job: PointJob | None = None
    paused: bool = False


class WorkerControls(Controls):
    """Controls inside a worker: the driver sets STOP and PAUSE and queues live changes."""

    def __init__(self, stop, pause, changes) -> None:
        super().__init__()
        self._stop_event, self._pause_event, self._changes = stop, pause, changes

    # the driver's flags, or a request to this point alone (its run's control channel: glo.train.channel)
    @property
    def paused(self) -> bool:
        return self._pause_event.is_set() or self._paused

    @property
    def stop_requested(self) -> bool:
        return self._stop_event.is_set() or self._stop

    def next_job(self) -> None:
        """A request to one point does not outlive it."""
        Controls.__init__(self)

    def take_changes(self) -> dict[str, Any]:
        out: dict[str, Any] = super().take_changes()
        while not self._changes.empty():
            try:
                out.update(self._changes.get_nowait())
            except Exception:  # noqa: BLE001 - queue.Empty: another reader raced us (none does)
                break
        return out

    def wait_while_paused(self, timeout: float | None = None) -> None:
        self._stop_event.wait(min(timeout or 0.25, 0.25))


def worker_main(conn, jobs, stop, pause, changes) -> None:
    """A worker process: train the jobs the driver sends, one after another, sending their events
    (Steps thinned out); None ends it. torch is imported once, for all its jobs."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the driver stops us cleanly
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    _quiet()
    controls = WorkerControls(stop, pause, changes)
    try:
        while (job := jobs.recv()) is not None:
            controls.next_job()
            _work(job, controls, conn)
    except (EOFError, OSError):  # the driver is gone
        pass
    finally:
        conn.close()


def _quiet() -> None:
    """A worker's own output (a library's warning) would scribble over the console's screen: it goes
    nowhere; errors reach the driver as a failed Finished."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for fd in (1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)


@contextmanager
def _stderr_with_fd() -> Iterator[None]:
    """multiprocessing hands sys.stderr's file descriptor to the processes it starts; a front end
    that captured sys.stderr (Textual does) has none to give, so the real one stands in meanwhile."""
    saved = sys.stderr
    try:
        ok = saved is not None and saved.fileno() >= 0
    except (AttributeError, OSError, ValueError):
        ok = False
    if not ok and sys.__stderr__ is not None:
        sys.stderr = sys.__stderr__
    try:
        yield
    finally:
        sys.stderr = saved


def _work(job: PointJob, controls: Controls, conn) -> None:
    try:
        for event in _train(job, controls):
            conn.send(event)
    except (EOFError, OSError):
        raise
    except Exception as exc:  # noqa: BLE001 - a run that cannot even start fails; the sweep goes on
        error = f"{type(exc).__name__}: {exc}"
        conn.send(Finished("failed", {"status": "failed", "error": error}, error))


def _train(job: PointJob, controls: Controls) -> Iterator[Event]:
    """The point's events from the core's training loop, Steps thinned to a few a second."""
    from glo.train.loop import train

    last_step = 0.0
    cfg = RunConfig.from_dict(job.config)
    for event in train(cfg, Run(Path(job.root), job.run_id), controls, job.split, resume=job.resume):
        if isinstance(event, Step):
            now = time.monotonic()
            if now - last_step < STEP_EVERY_S:
                continue
            last_step = now
        yield event


class LocalBackend:
    """Up to WORKERS worker processes of this machine, each with ``cpus // workers`` threads."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.threads = max(1, allowed_cpus() // workers)
        self.ctx = mp.get_context("spawn")
        self.pool: list[_Worker] = []

    def running(self) -> list[PointJob]:
        return [w.job for w in self.pool if w.job is not None]

    def has_slot(self) -> bool:
        return any(w.job is None for w in self.pool) or len(self.pool) < self.workers

    def start(self, job: PointJob) -> None:
        idle = [w for w in self.pool if w.job is None]
        w = idle[0] if idle else self._spawn()
        if not idle:
            self.pool.append(w)
        w.job = job
        w.stop.clear()
        w.jobs.send(job)

    def _spawn(self) -> _Worker:
        ctx = self.ctx
        with _stderr_with_fd():  # its events and queue start multiprocessing's resource tracker too
            receive, send = ctx.Pipe(duplex=False)
            job_receive, job_send = ctx.Pipe(duplex=False)
            stop, pause, changes = ctx.Event(), ctx.Event(), ctx.Queue()
            proc = ctx.Process(target=worker_main, args=(send, job_receive, stop, pause, changes), daemon=True,
                               name="glo-sweep-worker")
            proc.start()
        send.close()  # the worker holds the sending end: EOF here when it exits
        job_receive.close()
        return _Worker(proc, receive, job_send, stop, pause, changes)

    def control(self, stop: bool, paused: bool, changes: dict[str, Any]) -> None:
        for w in self.pool:
            if w.job is None:
                continue
            if stop:
                w.stop.set()
            if paused != w.paused:
                (w.pause.set if paused else w.pause.clear)()
                w.paused = paused
            if changes:
                w.changes.put(changes)

    def collect(self, timeout: float = 0.2) -> Iterator[tuple[PointJob, Any]]:
        """(job, event) from the workers that have some; a job's Finished frees its worker. A
        worker that died mid-job is dropped (a new one starts when needed): (job, Died)."""
        by_conn = {w.conn: w for w in self.pool}
        for conn in wait(list(by_conn), timeout=timeout):
            w = by_conn[conn]
            try:
                while conn.poll():
                    event = conn.recv()
                    if w.job is None:
                        continue
                    job = w.job
                    if isinstance(event, Finished):
                        w.job = None
                    yield job, event
            except (EOFError, OSError):  # the worker died: every event it sent was read
                w.proc.join(5)
                w.conn.close()
                self.pool.remove(w)
                if w.job is not None:
                    yield w.job, Died

    def shutdown(self) -> None:
        """Stop every running point (saved as stopped), end every worker; kill one that hangs."""
        for w in self.pool:
            w.stop.set()
            w.pause.clear()
            try:
                w.jobs.send(None)
            except OSError:
                pass
        deadline = time.monotonic() + 60
        for w in self.pool:
            w.proc.join(max(0.1, deadline - time.monotonic()))
            if w.proc.is_alive():
                w.proc.kill()
                w.proc.join(5)
            w.conn.close()
        self.pool.clear()


class Driver:
    """Runs a sweep's pending points on a BACKEND (``LocalBackend`` or ``glo.sweep.cluster.RayBackend``);
    ``events()`` yields their events as they come."""

    def __init__(self, sweep, store: RunStore, controls: Controls, split_for: Callable[[RunConfig], Any],
                 backend) -> None:
        self.sweep, self.store, self.controls, self.split_for = sweep, store, controls, split_for
        self.backend = backend
        self.done = self.failed = 0

    def events(self, todo: list[tuple[int, Run | None, str]]) -> Iterator[Event]:
        """Train TODO ((index, run or None, status) of each point not done), then SweepFinished."""
        backend = self.backend
        pending = deque((i, run, status, 0) for i, run, status in todo)
        try:
            while backend.running() or (pending and not self.controls.stop_requested):
                while pending and not self.controls.stop_requested and backend.has_slot():
                    yield self._start(*pending.popleft())
                self._mirror_controls()
                for job, event in backend.collect():
                    if event is Died:  # again, from its checkpoint
                        pending.extendleft(self._died(job))
                        continue
                    yield PointEvent(job.index, job.run_id, event)
                    if isinstance(event, Finished):
                        self.done += event.status == "completed"
                        self.failed += event.status == "failed"
        finally:
            backend.shutdown()
        total = len(self.sweep.points)
        status = "completed" if self.done + self.failed == total else "stopped"
        yield SweepFinished(self.sweep.id, status, self.done, self.failed, total, tuple(self.sweep.run_ids()))

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
                 backend: Any) -> Iterator[Event]:
    """Every point of SWEEP not done yet, on BACKEND (``LocalBackend``, ``glo.sweep.cluster.RayBackend``;
    see ``Driver``): a SweepPoint 'skip' for each point already done, then the points' events as
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

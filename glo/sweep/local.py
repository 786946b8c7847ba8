"""The sweep driver's local back end: worker processes of this machine (``glo sweep --workers N``).

Each worker runs the core's own ``glo.train.loop.train`` (``glo.sweep.driver.train_point``) on the
split the driver hands it, one point after another, and writes only its run's folder (which the
driver created). Its events come back through a pipe, Steps thinned to the newest every
``glo.events.WORKER_STEPS_S``; pause, stop and live changes go to it as ``WorkerControls``. Workers
ignore SIGINT: Ctrl-C reaches the driver alone, which stops every point cleanly.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

import numpy as np

from glo.events import CONTROLS_S, Died, Event, Finished
from glo.host import serverprep
from glo.host.arrays import mapped_source
from glo.host.threads import allowed_cpus
from glo.store.runs import Run
from glo.sweep.driver import PointJob, train_point
from glo.sweep.waiting import Wait, save_stopped
from glo.train.controls import Controls


@dataclass
class _Worker:
    """A worker process and its pipes; it trains one job at a time (``job``: None while idle)."""

    proc: Any
    conn: Connection[Any, Event]  # events from the worker (this end only receives)
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
    serverprep.prepare()  # as the fork server is (a spawned worker has none): deaf to Ctrl-C and SIGHUP, quiet
    import glo.train.loop  # noqa: F401 - torch and the loop, once, while the driver prepares the sweep
    controls = WorkerControls(stop, pause, changes)
    try:
        while (job := jobs.recv()) is not None:
            controls.next_job()
            _work(job, controls, conn)
    except (EOFError, OSError):  # the driver is gone
        pass
    finally:
        conn.close()


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


MAPPABLE = ("images", "heldout_images")  # the split's arrays a worker may map itself


def by_reference(job: PointJob) -> PointJob:
    """JOB with its split's memory-mapped arrays (an image folder's cache) sent as where they lie,
    not as bytes: every worker maps the same pages (``in_place`` undoes it in the worker)."""
    found = {name: src for name in MAPPABLE if (src := mapped_source(getattr(job.split, name))) is not None}
    if not found or not all(src.unchanged() for src in found.values()):  # the cache was replaced: its bytes go
        return job
    empty: dict[str, Any] = {name: np.zeros((0, *src.shape[1:]), dtype=src.dtype) for name, src in found.items()}
    return replace(job, split=replace(job.split, **empty), mapped=found)


def in_place(job: PointJob) -> PointJob:
    """JOB with the arrays ``by_reference`` left out mapped here."""
    if not job.mapped:
        return job
    return replace(job, split=replace(job.split, **{name: src.open() for name, src in job.mapped.items()}),
                   mapped={})


def _work(job: PointJob, controls: Controls, conn) -> None:
    try:
        job = in_place(job)
    except (OSError, ValueError) as exc:  # the cache file went between the driver's look and ours
        error = f"could not map the training images: {exc}"
        conn.send(Finished("failed", {"status": "failed", "error": error}, error))
        return
    try:
        for event in train_point(job, controls):
            conn.send(event)
    except (EOFError, OSError):
        raise
    except Exception as exc:  # noqa: BLE001 - a run that cannot even start fails; the sweep goes on
        error = f"{type(exc).__name__}: {exc}"
        conn.send(Finished("failed", {"status": "failed", "error": error}, error))


def _context() -> Any:
    """Workers are forks of a fork server that imported torch and the training loop once, before the
    first was asked for (``warm_up``): a worker is ready in milliseconds, not the seconds of a fresh
    import each. On Linux with Python 3.11+ (PYTHONSAFEPATH, below); elsewhere spawn (macOS: forking
    after Apple's frameworks load is unsafe)."""
    if not sys.platform.startswith("linux") or sys.version_info < (3, 11):
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    # first a quiet server (glo.host.serverprep), then torch; torch.optim imports torch._dynamo when the
    # first optimiser is made (1.2 s here): once, in the server too
    ctx.set_forkserver_preload(["glo.host.serverprep", "glo.train.loop", "torch._dynamo"])
    return ctx


def warm_up() -> None:
    """Start the fork server now, if it is not running: it imports torch while this process goes on
    preparing the sweep (validating, creating runs, loading the data), so the sweep's workers start
    at once. It imports glo from where this process did (its sys.path, not its working folder)."""
    if _context().get_start_method() != "forkserver":
        return
    from multiprocessing import forkserver

    # this process's sys.path, and not the working folder first (PYTHONSAFEPATH: python -c would put it there)
    server_env = {"PYTHONPATH": os.pathsep.join(p or os.getcwd() for p in sys.path), "PYTHONSAFEPATH": "1",
                  "GLO_FORK_SERVER": "1"}
    saved = {key: os.environ.get(key) for key in server_env}
    os.environ.update(server_env)
    try:
        with _stderr_with_fd():
            forkserver.ensure_running()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


QUIT_S = 1.0  # on the way out, workers get this long to end; then they are killed (their points saved as stopped)


class LocalBackend:
    """The driver's ``Backend`` here: up to WORKERS worker processes of this machine, each with
    ``cpus // workers`` threads. They start at once (PRESTART), forked from the fork server that
    ``warm_up`` started, and stay for the whole sweep."""

    wait_s: float | None = None  # this machine's workers never wait for room

    def __init__(self, workers: int, prestart: bool = True) -> None:
        self.workers = workers
        self.threads = max(1, allowed_cpus() // workers)
        self.ctx = _context()
        warm_up()  # (at once if glo sweep started it already)
        self.pool: list[_Worker] = []
        while prestart and len(self.pool) < workers:
            self.pool.append(self._spawn())

    def waiting(self, queued: list[int]) -> Wait | None:
        return None

    def notices(self) -> list[str]:
        return []

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
        w.jobs.send(by_reference(job))

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

    def collect(self, timeout: float = CONTROLS_S) -> Iterator[tuple[PointJob, Event | Died]]:
        """(job, event) from the workers that have some; a job's Finished frees its worker. A
        worker that died mid-job is dropped (a new one starts when needed): (job, Died())."""
        by_conn: dict[object, _Worker] = {w.conn: w for w in self.pool}  # keyed by what wait() hands back
        for ready in wait([w.conn for w in self.pool], timeout=timeout):
            w = by_conn[ready]
            conn = w.conn
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
                    yield w.job, Died()

    def shutdown(self) -> None:
        """Stop every running point (each saves itself as stopped) and end every worker; one still
        busy after QUIT_S is killed and its point saved as stopped with its last checkpoint."""
        for w in self.pool:
            w.stop.set()
            w.pause.clear()
            try:
                w.jobs.send(None)
            except OSError:
                pass
        deadline = time.monotonic() + QUIT_S
        for w in self.pool:  # an idle worker ends by itself (nothing to save): not waited for
            w.proc.join(max(0.01, deadline - time.monotonic()) if w.job is not None else 0)
            if w.job is None:
                w.conn.close()
                continue
            if w.proc.is_alive():
                w.proc.kill()
                w.proc.join(5)
                save_stopped(Run(Path(w.job.root), w.job.run_id), "its worker did not stop in time")
            w.conn.close()
        self.pool.clear()

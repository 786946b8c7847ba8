"""A sweep's points on a Ray cluster (``glo sweep --ray ADDRESS``): a ``Backend`` of ``glo.sweep.driver``.

Ray is imported here alone, and only when a cluster is asked for: glo works without it. glo only
connects to a cluster someone started (``ray start --head`` ...); it never starts one.

Each point is a Ray task (``point_task``, a generator, ``max_retries=0``) that gets the point's
settings, its data split (put in the object store once per sweep) and its run folder's files (a
resumed run's checkpoint and metrics); it trains with the core's own ``glo.train.loop.train`` into a
private copy of the run folder and yields each event with the files it changed
(``glo.sweep.mirror``). The driver writes those files into its runs folder, so that folder stays the
single truth: a point whose node dies is started again on another node from the last checkpoint
the driver holds (Ray's own retry would replay the generator from its start), and a task left
over by a killed driver writes nothing anywhere.

Pause, stop and live changes travel through a small threaded actor on the driver's node (the
sweep's ``Board``) that every running point reads a few times a second; a point that cannot reach
it (the driver is gone) stops.
"""

from __future__ import annotations

import math
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from glo.errors import ConfigError, GloError
from glo.events import (
    CONTROLS_S,
    Checkpoint,
    Died,
    Event,
    Finished,
    Placed,
    Started,
    Step,
)
from glo.store.runs import Run, RunStore
from glo.sweep import mirror, raylog
from glo.sweep.driver import PointJob, train_point
from glo.sweep.steer import collect_mail, deliver_mail
from glo.sweep.waiting import Wait, save_stopped
from glo.train.channel import CONTROL, open_folder
from glo.train.controls import Controls

ADDRESS_ENV = "GLO_RAY_ADDRESS"
INSTALL = 'pip install "glo[ray]"'
LOST_AFTER = 5  # a point that cannot read them this many times in a row stops (its driver is gone)
DRAIN_S = 0.2  # on the way out (the driver gave running points their time already), a last look for their files
PLACE_S = 3.0  # a point beyond the cluster's room that Ray has not placed after this long waits (said so)


@dataclass(frozen=True)
class RaySettings:
    """Where the points train: a Ray cluster's ADDRESS and what each point asks of it."""

    address: str
    cpus_per_run: float = 1.0
    gpus_per_run: float = 0.0
    wait_s: float | None = None  # --wait: stop a sweep whose points waited this long for a node (None: for ever)

    def validate(self) -> RaySettings:
        """Raises ConfigError naming the bad setting (before anything connects or is written)."""
        if not self.address or not self.address.strip():
            raise ConfigError(f"--ray needs a cluster address (host:port of `ray start --head`), or set {ADDRESS_ENV}")
        _check_amount("--cpus-per-run", self.cpus_per_run, positive=True)
        _check_amount("--gpus-per-run", self.gpus_per_run, positive=False)
        if self.wait_s is not None and not (math.isfinite(self.wait_s) and self.wait_s >= 0):
            raise ConfigError(f"--wait must be a number of seconds, 0 or more; got {self.wait_s}")
        return self

    @property
    def threads(self) -> int:
        """torch threads of each point: its whole CPUs (at least one), fixed so that runs repeat."""
        return max(1, int(self.cpus_per_run))


def _check_amount(flag: str, value: float, positive: bool) -> None:
    """Ray takes fractions below 1 (0.25: four points share one) and whole numbers above."""
    ok = isinstance(value, (int, float)) and math.isfinite(value) and (value > 0 if positive else value >= 0)
    if ok and value > 1 and value != int(value):
        raise ConfigError(f"{flag} must be a fraction up to 1 (0.25: four runs share one) or a whole number; "
                          f"got {value:g}")
    if not ok:
        least = "more than 0" if positive else "0 or more"
        raise ConfigError(f"{flag} must be {least} (a fraction up to 1, or a whole number); got {value}")


def import_ray():
    """The ray module, or a GloError saying how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise GloError(f"--ray needs Ray, which is not installed here ({exc}): {INSTALL}") from None
    return ray


def _reachable(address: str) -> None:
    """A host:port address must answer (ray.init would wait a long time for one that does not)."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        if address == "auto":
            return
        raise GloError(f"--ray {address!r}: give the head's host:port (as `ray start --head` printed it), or auto")
    try:
        socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=3).close()
    except OSError as exc:
        raise GloError(f"cannot reach the Ray cluster at {address} ({exc.strerror or exc}); start it with "
                       "`ray start --head` or check the address") from None


def connect(settings: RaySettings) -> dict[str, float]:
    """Connect this process to the cluster (once); its resources. Raises GloError in one line when Ray
    is missing or the cluster unreachable. A cluster with no room for a point yet is no error (an
    autoscaling one adds nodes when asked): the sweep's points wait for a node and say so."""
    settings.validate()
    ray = import_ray()
    if not ray.is_initialized():
        _reachable(settings.address)
        raylog.install()
        try:
            ray.init(address=settings.address, namespace="glo", log_to_driver=False, logging_level="ERROR",
                     configure_logging=False)
        except Exception as exc:  # noqa: BLE001 - ConnectionError, auth, version mismatch: one line each
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise GloError(f"cannot connect to the Ray cluster at {settings.address}: {first[:200]}") from None
        raylog.log_to_session()
    resources = ray.cluster_resources()  # too small for a point now: the sweep waits for a node, and says so
    return resources


def disconnect() -> None:
    """Let go of the cluster now (glo sweep's end): Python's own exit would do it, more slowly."""
    ray = import_ray()
    if ray.is_initialized():
        ray.shutdown()


def slots(resources: dict[str, float], settings: RaySettings) -> int:
    """How many points the cluster's RESOURCES train at once."""
    n = int(resources.get("CPU", 0) / settings.cpus_per_run + 1e-9)
    if settings.gpus_per_run > 0:
        n = min(n, int(resources.get("GPU", 0) / settings.gpus_per_run + 1e-9))
    return n


class Board:
    """The sweep's controls as the remote points read them (a threaded Ray actor on the driver's node)."""

    def __init__(self) -> None:
        self.stop, self.paused = False, False
        self.queued: dict[str, dict[str, Any]] = {}  # live changes not yet read, by point key
        self.mail: dict[str, list] = {}  # requests to one point (glo.sweep.steer), by point key

    def update(self, stop: bool, paused: bool, changes: dict[str, Any], keys: list[str]) -> None:
        self.stop, self.paused = self.stop or stop, paused
        for key in keys if changes else ():
            self.queued.setdefault(key, {}).update(changes)

    def post(self, key: str, mail: list) -> None:
        self.mail.setdefault(key, []).extend(mail)

    def read(self, key: str) -> tuple[bool, bool, dict[str, Any], list]:
        return self.stop, self.paused, self.queued.pop(key, {}), self.mail.pop(key, [])


class RemoteControls(Controls):
    """A remote point's controls: a thread copies the sweep's Board into them every CONTROLS_S."""

    def __init__(self, board: Any, key: str) -> None:
        super().__init__()
        self.board, self.key = board, key
        self.board_paused = False
        self.inbox: Path | None = None  # the run copy's control folder: requests to this point go there
        self.mail: list = []
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="glo-board", daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        import ray

        misses = 0
        while not self._halt.wait(CONTROLS_S):
            try:
                stop, paused, changes, mail = ray.get(self.board.read.remote(self.key), timeout=10)
                misses = 0
            except Exception:  # noqa: BLE001 - the actor is gone or slow: the driver may be dead
                misses += 1
                stop, paused, changes, mail = misses >= LOST_AFTER, False, {}, []
            self.mail = deliver_mail(self.inbox, self.mail + mail)
            if changes:
                self.set(**changes)
            if paused != self.board_paused:  # as the sweep's pause changes (a request to this point may pause it alone)
                (self.pause if paused else self.resume)()
                self.board_paused = paused
            if stop:
                self.stop()

    def close(self) -> None:
        self._halt.set()


def point_task(payload: dict[str, Any], split: Any, board: Any, key: str) -> Iterator[tuple[Any, list]]:
    """One sweep point on a Ray worker: (event, files it changed) for each event of its training."""
    import ray

    ctx = ray.get_runtime_context()
    node_id, ip = ctx.get_node_id(), ray.util.get_node_ip_address()
    yield Placed(f"{ip}/{node_id[:6]}"), []
    tmp = mirror.private_folder()  # and removes the copies of points whose node or worker was killed
    controls = RemoteControls(board, key)
    try:
        run = mirror.seed(Path(tmp), payload["run_id"], payload["files"])
        controls.inbox = run.file(CONTROL)
        shipper = mirror.Shipper(run, {"ray_node": node_id, "ray_node_ip": ip, "ray_address": payload.get("address")})
        job = PointJob(payload["index"], tmp, payload["run_id"], payload["config"], payload["resume"], split)
        try:
            for event in train_point(job, controls):
                yield event, [] if isinstance(event, Step) else shipper.changes()
        except Exception as exc:  # noqa: BLE001 - a run that cannot even start fails; the sweep goes on
            error = f"{type(exc).__name__}: {exc}"
            yield Finished("failed", {"status": "failed", "error": error}, error), shipper.changes()
    finally:
        controls.close()
        shutil.rmtree(tmp, ignore_errors=True)


@dataclass
class _Task:
    job: PointJob
    run: Run
    key: str
    since: float = 0.0  # when it was submitted
    placed: bool = False  # a node took it (its Placed came)


class RayBackend:
    """``glo.sweep.driver``'s back end on a Ray cluster: each point a ``point_task``; the driver writes
    its run folder from what comes back."""

    def __init__(self, settings: RaySettings, store: RunStore) -> None:
        self.ray = import_ray()
        self.settings, self.store = settings, store
        connect(settings)
        self.threads, self.wait_s = settings.threads, settings.wait_s
        self.task = self.ray.remote(max_retries=0)(point_task)
        here = self.ray.get_runtime_context().get_node_id()
        strategy = self.ray.util.scheduling_strategies.NodeAffinitySchedulingStrategy(here, soft=False)
        self.board = self.ray.remote(num_cpus=0, max_concurrency=4)(Board).options(
            scheduling_strategy=strategy).remote()
        self.tasks: dict[Any, _Task] = {}  # by the task's ObjectRefGenerator
        self.splits: dict[int, tuple[Any, Any]] = {}  # id(split) -> (split, its object ref)
        self.sent: tuple[bool, bool] = (False, False)
        self.free_at, self.free = 0.0, 0
        self.room: tuple[dict[str, float], dict[str, float]] = ({}, {})  # the cluster's resources, free ones

    def running(self) -> list[PointJob]:
        return [t.job for t in self.tasks.values()]

    def has_slot(self) -> bool:
        if time.monotonic() >= self.free_at:  # the cluster's size, looked up at most once a second
            self.room = (self.ray.cluster_resources(), self.ray.available_resources())
            self.free, self.free_at = slots(self.room[0], self.settings), time.monotonic() + 1
        return len(self.tasks) < self.free

    def waiting(self, queued: list[int]) -> Wait | None:
        """Points Ray has not placed for PLACE_S beyond the cluster's room (it shrank: a node died) or
        beyond the CPUs held (the rest are starting on their nodes), and points held back while none
        trains and there is no room: waiting for a node."""
        has_slot, now = self.has_slot(), time.monotonic()
        unplaced = [t for t in self.tasks.values() if not t.placed and now - t.since > PLACE_S]
        total, free = self.room  # CPUs no task holds: as many of ours wait (none: they are starting)
        held = int((total.get("CPU", 0) - free.get("CPU", 0)) / self.settings.cpus_per_run + 1e-9)
        stuck = [t.job.index for t in unplaced[:max(0, len(self.tasks) - self.free, len(self.tasks) - held)]]
        if queued and not has_slot and (stuck or not self.tasks):
            stuck += queued
        if not stuck:
            return None
        reason, short = raylog.need(self.settings.cpus_per_run, self.settings.gpus_per_run, *self.room)
        return stuck, reason, short

    def notices(self) -> list[str]:
        return raylog.take()

    def start(self, job: PointJob) -> None:
        run = Run(Path(job.root), job.run_id)
        key = f"{job.index}:{job.attempt}"
        payload = {"index": job.index, "run_id": job.run_id, "config": job.config, "resume": job.resume,
                   "files": mirror.files_of(run), "address": self.settings.address}
        if id(job.split) not in self.splits:
            self.splits[id(job.split)] = (job.split, self.ray.put(job.split))
        opts = {"num_cpus": self.settings.cpus_per_run, "num_gpus": self.settings.gpus_per_run}
        gen = self.task.options(**opts).remote(payload, self.splits[id(job.split)][1], self.board, key)
        self.tasks[gen] = _Task(job, run, key, time.monotonic())

    def control(self, stop: bool, paused: bool, changes: dict[str, Any]) -> None:
        if (stop, paused) != self.sent or changes:
            self.board.update.remote(stop, paused, changes, [t.key for t in self.tasks.values()])
            self.sent = (stop, paused)
        for task in self.tasks.values():  # requests to one point, written to its folder here
            mail = collect_mail(task.run.file(CONTROL))
            if mail:
                self.board.post.remote(task.key, mail)

    def collect(self, timeout: float = CONTROLS_S) -> Iterator[tuple[PointJob, Event | Died]]:
        """(job, event) of the points that have some, their files written first; (job, Died()) for a
        point whose worker or node died."""
        if not self.tasks:
            time.sleep(timeout)
            return
        gens = list(self.tasks)
        ready, _ = self.ray.wait(gens, num_returns=1, timeout=timeout)
        if ready:
            ready, _ = self.ray.wait(gens, num_returns=len(gens), timeout=0)
        for gen in ready:
            for _ in range(100):  # this point's events that have come (not forever: the others wait)
                got = self._next(gen)
                if got is None:
                    break
                yield got
                if gen not in self.tasks or not self.ray.wait([gen], timeout=0)[0]:
                    break

    def _next(self, gen) -> tuple[PointJob, Any] | None:
        task = self.tasks[gen]
        try:
            event, changes = self.ray.get(next(gen))
        except StopIteration:  # ended without a Finished: cannot happen; counts as died
            return self._ended(gen, Died())
        except self.ray.exceptions.RayTaskError as exc:  # point_task itself raised
            error = f"{type(exc.cause).__name__}: {exc.cause}" if exc.cause else str(exc).splitlines()[0]
            return self._ended(gen, Finished("failed", {"status": "failed", "error": error}, error))
        except self.ray.exceptions.RayError:  # its worker or node died (or it was cancelled)
            return self._ended(gen, Died())
        mirror.apply(task.run, changes)
        task.placed = True
        if isinstance(event, Started):
            task.run.mark_running()  # this process trains it, as far as the runs folder can tell
            open_folder(task.run.file(CONTROL))  # requests to this point are passed on (collect_mail)
            event = replace(event, run_dir=str(task.run.path))
        elif isinstance(event, Checkpoint):
            event = replace(event, path=str(task.run.file("checkpoint.pt")))
        elif isinstance(event, Finished):
            return self._ended(gen, event)
        return task.job, event

    def _ended(self, gen, event: Any) -> tuple[PointJob, Any]:
        task = self.tasks.pop(gen)
        task.run.clear_running()
        return task.job, event

    def shutdown(self) -> None:
        """Stop at once: a point no node took yet is cancelled, one still running gets DRAIN_S to send
        its last files (the driver gave it its time to stop already), then it is cancelled too; each
        is saved as stopped with the last checkpoint its run folder holds. The Board goes."""
        if self.tasks:
            self.control(True, False, {})
            deadline = time.monotonic() + DRAIN_S
            while self.tasks and time.monotonic() < deadline:
                if not any(t.placed for t in self.tasks.values()):
                    break
                for _ in self.collect(0.1):
                    pass
        for gen, task in list(self.tasks.items()):
            try:
                self.ray.cancel(gen, force=task.placed)
            except Exception:  # noqa: BLE001 - already ended, or its node is gone
                pass
            self._ended(gen, Died())
            save_stopped(task.run, "stopped while it waited for a node" if not task.placed
                         else "its node did not answer the stop in time")
        try:
            self.ray.kill(self.board, no_restart=True)
        except Exception:  # noqa: BLE001 - the cluster is gone already
            pass

"""What the console's training worker iterates: one run, or a sweep of runs.

Both are the core's own event generators (``glo.train.loop.train``; ``glo.sweep.run.run_sweep``, which
yields a ``SweepPoint`` before each run's events and ``SweepFinished`` at the end), so the one
worker in ``tui.screens.train`` drives either, with the same pause, stop and live changes.
``open`` runs in the worker thread: it loads the data and torch, never the UI thread.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from glo.config import RunConfig
from glo.events import Event
from glo.train.controls import Controls

if TYPE_CHECKING:
    from glo.store.runs import RunStore
    from glo.sweep.cluster import RaySettings
    from glo.sweep.manifest import Sweep
    from glo.train.prepare import PreparedRun
    from tui.protocols import GloConsole


class RunJob:
    """One run: new (``cfg``), resumed (``resume_id``), or already prepared by ``glo run``."""

    sweep = None
    workers = 1

    def __init__(self, cfg: RunConfig | None = None, resume_id: str | None = None,
                 prepared: PreparedRun | None = None) -> None:
        self.cfg, self.resume_id, self.prepared = cfg, resume_id, prepared

    def open(self, app: GloConsole, controls: Controls) -> tuple[Iterator[Event], RunConfig]:
        """Validate, load the data and create (or reopen) the run folder; raises GloError."""
        prepared = self.prepared or app.prepare_run(self.cfg, self.resume_id)
        # torch loads here, in the worker, never at import time
        from glo.train.loop import train

        self.prepared = prepared
        events = train(prepared.cfg, prepared.run, controls, prepared.split, resume=prepared.resume)
        return tensorboard(events), prepared.cfg


class SweepJob:
    """A sweep (new or resumed): completed points are skipped, stopped ones resumed."""

    def __init__(self, sweep: Sweep, workers: int | None = None, cluster: RaySettings | None = None) -> None:
        """WORKERS: points trained at once (None: glo.sweep.driver.default_workers's rule). CLUSTER: a
        connected glo.sweep.cluster.RaySettings the points train on instead (shown as a parallel sweep)."""
        from glo.sweep.driver import default_workers

        self.sweep, self.cluster = sweep, cluster
        if cluster is not None:
            self.workers = max(2, len(sweep.points))  # as many at once as the cluster has room for
        else:
            self.workers = workers or default_workers(len(sweep.points))

    @property
    def base(self) -> RunConfig:
        return RunConfig.from_dict(self.sweep.base)

    def open(self, app: GloConsole, controls: Controls) -> tuple[Iterator[Event], RunConfig]:
        from glo.sweep.run import run_sweep

        return tensorboard(run_sweep(self.sweep, app.store, controls, load=app.load, workers=self.workers,
                                     cluster=self.cluster), app.store.root), self.base

    def point_config(self, index: int) -> RunConfig:
        return self.sweep.point_config(index)

    def ended_early(self, store: RunStore) -> tuple[str, int, int, int, tuple[str, ...]]:
        """(status, completed, failed, total, run ids) of a sweep whose generator failed."""
        states = self.sweep.statuses(store)
        return ("failed", states.count("completed"), states.count("failed"), len(states),
                tuple(self.sweep.run_ids()))


def tensorboard(events: Iterator[Event], runs_root: Any = None) -> Iterator[Event]:
    """EVENTS, also written as TensorBoard logs where the console has a log folder (glo-tui
    --tensorboard DIR, glo run/sweep --tensorboard DIR, $GLO_TENSORBOARD): written in the worker."""
    logdir = os.environ.get("GLO_TENSORBOARD")
    if not logdir:
        return events
    from glo.export.tensorboard import live

    return live(events, logdir, runs_root=runs_root)


def error_line(exc: BaseException) -> str:
    """Why a job could not start or failed, in one line."""
    from glo.errors import GloError

    return str(exc) if isinstance(exc, GloError) else f"{type(exc).__name__}: {exc}"


def sweep_line(sweep: Sweep | None, index: int = 0, label: str = "") -> str:
    """The status panel's sweep line: 'sweep run 2/8 sigma0.3' ('' outside a sweep)."""
    if sweep is None:
        return ""
    return f"sweep run {index + 1}/{len(sweep.points)} {label}".rstrip()

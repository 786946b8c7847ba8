"""Running a sweep: every point that is not done, one after another in this process, or side by
side through the driver (``glo.sweep.driver``) on worker processes or a Ray cluster."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from glo.config import RunConfig
from glo.events import Event, Finished, SweepFinished, SweepPoint
from glo.store.runs import RunStore
from glo.sweep.manifest import Sweep, point_label
from glo.sweep.steer import open_sweep_link
from glo.train.controls import Controls


def run_sweep(
    sweep: Sweep,
    store: RunStore,
    controls: Controls | None = None,
    load: Callable[[RunConfig], Any] | None = None,
    workers: int = 1,
    cluster: Any = None,
) -> Iterator[Event]:
    """Train every point that is not done, yielding SweepPoint, then the run's own events, and
    SweepFinished at the end. A stop request stops the current run (saved as stopped) and the sweep.

    ``load`` returns the data split of a config (cached here per data set and size, so the points
    of a sweep share one copy). ``workers`` > 1 trains that many points at once, each in its own
    process (``glo.sweep.driver`` with ``glo.sweep.local``): their events come wrapped in
    ``PointEvent``s. ``cluster`` (a
    ``glo.sweep.cluster.RaySettings``) trains the points on a Ray cluster instead, as many at once as it
    has room for, wrapped the same way.
    """
    controls = controls or Controls()
    link = open_sweep_link(store, sweep.id, controls)  # requests from other processes for the whole sweep
    try:
        yield from _train(sweep, store, controls, _split_cache(load), workers, cluster)
    finally:
        if link is not None:
            link.close()


def _train(sweep: Sweep, store: RunStore, controls: Controls, split_for, workers: int, cluster: Any) -> Iterator[Event]:
    if cluster is not None:
        from glo.sweep.cluster import RayBackend
        from glo.sweep.driver import run_parallel

        yield from run_parallel(sweep, store, controls, split_for, RayBackend(cluster, store))
        return
    if workers > 1:
        from glo.sweep.driver import run_parallel
        from glo.sweep.local import LocalBackend

        yield from run_parallel(sweep, store, controls, split_for, LocalBackend(workers))
        return
    yield from _serial(sweep, store, controls, split_for)


def _split_cache(load: Callable[[RunConfig], Any] | None) -> Callable[[RunConfig], Any]:
    """LOAD (default: the data set on disk), cached per data set and size: a sweep's points share one copy."""
    from glo.data.sets import load_config

    cache: dict[tuple, Any] = {}

    def split_for(cfg: RunConfig):
        key = (cfg.dataset, cfg.n_images, cfg.data_root, cfg.image_size)
        if key not in cache:
            cache[key] = (load or load_config)(cfg)
        return cache[key]

    return split_for


def _serial(sweep: Sweep, store: RunStore, controls: Controls, split_for) -> Iterator[Event]:
    """The points one after another in this process (each with every core)."""
    from glo.train.loop import train

    total, done, failed = len(sweep.points), 0, 0
    existing = set(store.ids())
    for i, point in enumerate(sweep.points):
        label = point_label(point.values)
        run, status = sweep.point_run(i, store, existing)
        if run is not None and status in ("completed", "failed", "running"):  # a run: only 'pending' has none
            done += status == "completed"
            failed += status == "failed"
            yield SweepPoint(sweep.id, i, total, label, run.id, "skip", status)
            continue
        if controls.stop_requested:
            break
        controls.take_changes()  # a live change meant for the previous point must not leak into this one
        cfg = sweep.point_config(i)
        run, train_cfg, resume = sweep.open_point(i, store, run, cfg)
        yield SweepPoint(sweep.id, i, total, label, run.id, "resume" if resume else "start", status)
        final: Finished | None = None
        for ev in train(train_cfg, run, controls, split_for(cfg), resume=resume):
            yield ev
            if isinstance(ev, Finished):
                final = ev
        if final is None or final.status == "stopped":
            break
        done += final.status == "completed"
        failed += final.status == "failed"
    status = "completed" if done + failed == total else "stopped"
    yield SweepFinished(sweep.id, status, done, failed, total, tuple(sweep.run_ids()))

"""A parallel sweep in the console: every running point at once (``glo sweep --workers N``, or
``--ray ADDRESS``: then each line also says the node the point trains on).

The sweep's driver (``glo.sweep.driver``) wraps each point's events in ``PointEvent``s. ``PointsPump``
keeps each point's latest state in the training worker and posts a ``PointsUpdate`` at most every
``glo.events.POINTS_S`` seconds (and at once when a point starts, pauses or ends; the newest wins);
``PointsPanel`` shows a line per point: its epoch, images/s, training loss and recon loss, and its
status.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rich.table import Table
from textual.containers import Vertical
from textual.widgets import Static

from glo import events as ev
from tui import messages as m
from tui.widgets import titled
from tui.widgets.chart import CompareChart


@dataclass
class PointState:
    label: str
    run_id: str
    state: str = "starting"
    epoch: int = 0
    epochs: int = 0
    images_per_s: float | None = None
    loss: float | None = None
    recon: list[float] = field(default_factory=list)
    recon_epochs: list[float] = field(default_factory=list)
    node: str | None = None  # the Ray node it trains on (a cluster sweep)

    def row(self, nodes: bool = False) -> tuple[str, ...]:
        """Its line; NODES: with the node column (a cluster sweep)."""
        ips = "-" if self.images_per_s is None else f"{self.images_per_s:.0f}"
        loss = "-" if self.loss is None else f"{self.loss:.4f}"
        recon = f"{self.recon[-1]:.4f}" if self.recon else "-"
        where = (self.node or "-",) if nodes else ()
        return self.label, *where, f"{self.epoch}/{self.epochs}", ips, loss, recon, self.state


class PointsPump:
    """Turns a parallel sweep's events into a few ``PointsUpdate`` messages a second."""

    def __init__(self, post: Callable[[Any], Any], clock: Callable[[], float] = time.monotonic) -> None:
        self.post = post
        self.pace = ev.Pace(ev.POINTS_S, clock)
        self.points: dict[int, PointState] = {}
        self.images: tuple[str, Any, Any] | None = None

    def feed(self, event: Any) -> None:
        if isinstance(event, (ev.Waiting, ev.Notice)):  # rows say it; the screen tells it once more in full
            self._waiting(event)
            return
        if isinstance(event, ev.SweepPoint):
            if event.action != "skip":
                old = self.points.get(event.index)
                self.points[event.index] = PointState(event.label, event.run_id)
                if old is not None and event.action == "retry":  # the same run goes on: its curve too
                    self.points[event.index].recon, self.points[event.index].recon_epochs = old.recon, old.recon_epochs
                self.flush()
            return
        point = self.points.get(event.index)
        if point is None:
            return
        urgent = self._apply(point, event.event)
        if urgent or self.pace.due():
            self.flush()

    def ended(self, status: str) -> None:
        """The sweep ended: a point still waiting or queued did not train ('stopped' when the sweep was)."""
        for point in self.points.values():
            if point.state.startswith(("waiting", "queued", "starting")):
                point.state = "stopped" if status == "stopped" else "not run"
        self.flush()

    def _waiting(self, event: Any) -> None:
        if isinstance(event, ev.Waiting):
            waiting = dict(event.points)
            for index, point in self.points.items():  # the points that waited and are no longer said to
                if point.state.startswith("waiting") and index not in waiting:
                    point.state = "queued"
            for index, label in waiting.items():
                self.points.setdefault(index, PointState(label, "")).state = event.short
            self.flush()
        if not isinstance(event, ev.Waiting) or event.points:
            self.post(m.CoreEvents((event,)))

    def _apply(self, point: PointState, event: Any) -> bool:
        """Update POINT from one of its events; True when it should show at once."""
        if isinstance(event, ev.Placed):
            point.node = event.node
            return True
        if isinstance(event, ev.Started):
            point.state, point.epoch, point.epochs = "training", event.epoch, event.epochs
        elif isinstance(event, ev.Step):
            point.epoch, point.images_per_s, point.loss = event.epoch, event.images_per_s, event.loss
        elif isinstance(event, ev.Epoch):
            point.recon.append(event.record["recon_loss"])
            point.recon_epochs.append(event.epoch)
            point.images_per_s = event.record.get("images_per_s", point.images_per_s)
        elif isinstance(event, ev.Images):
            self.images = (point.label, event.originals, event.reconstructions)
        elif isinstance(event, (ev.Paused, ev.Resumed)):
            paused = isinstance(event, ev.Paused)
            point.state = "paused" if paused else "training"
            self.post(m.CoreEvents((event,)))  # the status panel says paused, as for one run
            return True
        elif isinstance(event, ev.Finished):
            point.state = event.status
            return True
        return False

    def flush(self) -> None:
        self.pace.mark()
        nodes = any(p.node for p in self.points.values())
        rows = [p.row(nodes) for _, p in sorted(self.points.items())]
        curves = [(p.label, list(p.recon_epochs), list(p.recon)) for _, p in sorted(self.points.items())]
        images, self.images = self.images, None
        self.post(m.PointsUpdate(rows, curves, images))


def points_line(rows: list[tuple[str, ...]], total: int) -> tuple[int, str]:
    """(points training now, the status panel's sweep line) of a parallel sweep's ROWS of TOTAL points."""
    training = sum(row[-1] in ("training", "paused") for row in rows)
    done = sum(row[-1] == "completed" for row in rows)
    waiting = sum(row[-1].startswith("waiting") for row in rows)
    wait = f", {waiting} waiting for a node" if waiting else ""
    return training, f"sweep: {done}/{total} done, {training} training at once{wait}"


def sweep_notice(event: Any) -> dict[str, Any]:
    """notify's arguments for a Waiting or a Notice: said in full (the points' rows say it short)."""
    if isinstance(event, ev.Notice):
        return {"message": event.text, "timeout": 8}
    if event.gave_up:
        return {"message": f"{event.reason}: waited {event.waited_s:.0f} s (--wait); the sweep stops, saved",
                "title": "sweep stopped", "severity": "error", "timeout": 12}
    labels = ", ".join(label for _, label in event.points)
    return {"message": f"{labels}: {event.reason}, or press x", "title": "waiting for a node",
            "severity": "warning", "timeout": 10}


def _width(headings: tuple[str, ...], rows: list[tuple[str, ...]]) -> int:
    return sum(max(len(c) for c in col) for col in zip(headings, *rows, strict=False)) + len(headings) - 1


def fit(headings: tuple[str, ...], rows: list[tuple[str, ...]], width: int) -> tuple[tuple, list]:
    """The columns that fit WIDTH (0: unknown, all): narrower, the nodes lose their address where
    they share one (one machine), then the training loss goes (the recon loss stays)."""
    if not width or not rows or _width(headings, rows) <= width:
        return headings, rows
    if "node" in headings:
        at = headings.index("node")
        if len({r[at].split("/")[0] for r in rows if "/" in r[at]}) <= 1:
            rows = [(*r[:at], r[at].split("/")[-1], *r[at + 1:]) for r in rows]
    if _width(headings, rows) > width and "loss" in headings:
        at = headings.index("loss")
        headings, rows = headings[:at] + headings[at + 1:], [r[:at] + r[at + 1:] for r in rows]
    return headings, rows


class PointsPanel(Static):
    """A line per point of a parallel sweep: epoch, images/s, loss, recon loss, status."""

    HEADINGS = ("point", "epoch", "img/s", "loss", "recon", "status")
    CLUSTER = ("point", "node", "epoch", "img/s", "loss", "recon", "status")  # a Ray cluster's points

    def __init__(self, **kw) -> None:
        super().__init__("", **kw)
        self.rows: list[tuple[str, ...]] = []

    def show(self, rows: list[tuple[str, ...]]) -> None:
        self.rows = rows
        headings = self.CLUSTER if rows and len(rows[0]) == len(self.CLUSTER) else self.HEADINGS
        headings, rows = fit(headings, rows, self.size.width)
        table = Table(box=None, pad_edge=False, padding=(0, 1), expand=False)
        for heading in headings:
            table.add_column(heading, justify="left" if heading in ("point", "node", "status") else "right",
                             no_wrap=True)
        for row in rows:
            table.add_row(*row)
        self.update(table)


class PointsView(Vertical):
    """A parallel sweep's curves (recon loss per epoch, a curve per point) above its points' lines."""

    def compose(self):
        yield titled(CompareChart(id="points-chart"), "recon loss per epoch, each point")
        yield titled(PointsPanel(id="points-panel"), "points training at once")

    def show(self, msg: m.PointsUpdate) -> None:
        self.query_one(PointsPanel).show(msg.rows)
        chart = self.query_one(CompareChart)
        chart.set_series([c for c in msg.curves if c[1]], "recon_loss per epoch")

    def clear(self) -> None:
        self.query_one(PointsPanel).show([])
        self.query_one(CompareChart).set_series([], "recon_loss per epoch")

"""A sweep that cannot go on by itself: points waiting for a node, and points given up on.

``WaitWatch`` turns a back end's word that points wait for room (``Backend.waiting``) into
``glo.events.Waiting`` events: at once, then every ``WAITING_S`` (or when what it says changes), and
one with ``gave_up`` once the sweep has waited its ``--wait`` seconds. ``save_stopped`` records a
point that a stop could not reach in time (waiting for a node, or on a node that no longer answers)
as stopped, with the last checkpoint its run folder holds: ``glo sweep --resume`` goes on from there.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from glo.errors import GloError
from glo.events import WAITING_S, Pace, Waiting
from glo.store.runs import Run

# what a back end says when points wait: (their indexes, the line for the user, the line for a point's row)
Wait = tuple[list[int], str, str]


class WaitWatch:
    """When to say that points wait, and when the sweep has waited long enough (WAIT_S; None: for ever)."""

    def __init__(self, wait_s: float | None, clock: Callable[[], float] = time.monotonic) -> None:
        self.wait_s, self.clock = wait_s, clock
        self.since: float | None = None
        self.said: str | None = None
        self.pace = Pace(WAITING_S, clock)

    def update(self, found: Wait | None, label: Callable[[int], str]) -> Waiting | None:
        """The Waiting event to show now, if any, given what the back end says (None: nothing waits; a
    Waiting without points once, when that follows a Waiting that was said)."""
        if found is None:
            said = self.said is not None and self.since is not None
            ended = Waiting((), "", "", self.clock() - (self.since or 0.0)) if said else None
            self.since = self.said = None
            return ended  # (no points: the points that waited have room now, or the sweep stops)
        indexes, reason, short = found
        now = self.clock()
        self.since = now if self.since is None else self.since
        waited = now - self.since
        points = tuple((i, label(i)) for i in sorted(set(indexes)))
        if self.wait_s is not None and waited >= self.wait_s:
            return Waiting(points, reason, short, waited, gave_up=True)
        if reason == self.said and not self.pace.due():
            return None
        self.said = reason
        self.pace.mark()
        return Waiting(points, reason, short, waited)


def save_stopped(run: Run, why: str) -> None:
    """Record RUN as stopped (unless it ended already): its folder keeps the last checkpoint it had."""
    try:
        if run.recorded_status() in ("completed", "stopped", "failed", "damaged"):
            return
        records = run.epochs()
        config = run.read_config()
        run.write_summary({
            "status": "stopped", "epochs_done": records[-1]["epoch"] if records else 0,
            "epochs": config.epochs, "steps": records[-1].get("step", 0) if records else 0,
            "best_recon_loss": min((r["recon_loss"] for r in records if "recon_loss" in r), default=None),
            "final": records[-1] if records else None, "error": None, "note": why,
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        })
        run.clear_running()
    except (OSError, ValueError, GloError):  # a damaged folder stays as it is: it shows as interrupted
        pass

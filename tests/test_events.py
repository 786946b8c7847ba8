"""The one event path's core: every event type in glo.events, the one coalescing policy (Pace) and
its rates, the sweep back ends' Protocol, and the CLI's bar fed through the policy."""

from __future__ import annotations

import io
import math

from glo import events as ev


def test_pace_is_due_at_once_then_once_per_interval():
    now = [100.0]
    pace = ev.Pace(1.0, clock=lambda: now[0])
    assert pace.due() and pace.ready() and not pace.ready()  # the first at once, then it waits
    now[0] += 0.99
    assert not pace.due()
    now[0] += 0.01
    assert pace.ready() and pace.last == now[0]
    pace.restart()
    assert pace.due() and pace.last == -math.inf
    assert pace.mark() == now[0] and not pace.due()


def test_every_rate_lives_in_glo_events():
    """The console's measured rates: status once a second, chart and images every 3 s while training."""
    assert (ev.STEPS_S, ev.IMAGES_S, ev.CHART_S, ev.POINTS_S) == (1.0, 3.0, 3.0, 0.5)
    assert (ev.WORKER_STEPS_S, ev.CONTROLS_S, ev.BAR_S) == (0.25, 0.2, 0.1)
    from glo.sweep import cluster, driver, local
    from glo.train import channel

    assert channel.POLL_S == ev.CONTROLS_S
    for module in (driver, local, cluster):
        # rates live in glo.events; what is left here are grace periods (how long a stop or a drain may take)
        assert not [name for name in vars(module) if name.endswith(("_S", "INTERVAL")) and name not in (
            "CONTROLS_S", "WORKER_STEPS_S", "DRAIN_S", "STOP_S", "QUIT_S", "PLACE_S")], module.__name__


def test_placed_and_died_are_core_events():
    from glo.sweep import driver

    assert ev.Placed("10.0.0.2/abc123").node == "10.0.0.2/abc123"
    assert all(getattr(driver, name, cls) is cls for name, cls in (("Placed", ev.Placed), ("Died", ev.Died)))


def test_both_back_ends_are_what_the_driver_needs():
    from glo.sweep.cluster import RayBackend
    from glo.sweep.driver import Backend
    from glo.sweep.local import LocalBackend

    assert isinstance(LocalBackend(2, prestart=False), Backend)  # no worker process started for this
    needed = [name for name in dir(Backend) if not name.startswith("_") and callable(getattr(Backend, name))]
    assert set(needed) == {"running", "has_slot", "start", "control", "collect", "waiting", "notices", "shutdown"}
    assert all(callable(getattr(RayBackend, name, None)) for name in needed)


def test_the_cli_bar_takes_every_step_through_the_pace():
    from rich.console import Console

    from glo.cli.progress import RichReporter

    console = Console(file=io.StringIO(), force_terminal=True, width=120)
    with RichReporter(console) as rep:
        rep.handle(ev.Started("r", "/r", 0, 2, 50, "cpu"))
        for i in range(1, 51):
            rep.handle(ev.Step(i, 1, i, 1.0 / i, 10.0 * i))
        task = rep.progress.tasks[0]
        assert task.completed <= 50 and rep.pace.last > -math.inf
        rep.handle(ev.Epoch(1, {"epoch": 1, "train_loss": 0.1, "recon_loss": 0.2, "images_per_s": 1.0,
                                "elapsed_s": 1.0}))
        assert task.completed == 50 and task.fields["loss"] == 1.0 / 50 and task.fields["recon"] == "0.2000"

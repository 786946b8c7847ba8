"""Sweeps that never hang, without a cluster: waiting said at a calm rate, --wait, Ray's words turned into
glo's, points given up on saved as stopped, the resume hint of a sweep's point, the console's point rows."""

from __future__ import annotations

from conftest import SIZE, small, sync, synthetic_split, train_screen, wait_for
from glo.config import RunConfig
from glo.errors import WAITED
from glo.events import WAITING_S, Notice, SweepPoint, Waiting
from glo.store.runs import RunStore
from glo.store.runview import RunView
from glo.sweep import raylog
from glo.sweep.manifest import SweepStore
from glo.sweep.run import run_sweep
from glo.sweep.waiting import WaitWatch, save_stopped
from glo.train.controls import Controls
from tui import messages as m
from tui.points import PointsPump

FOUND = ([1], "waiting for a node with 1 free CPU: the cluster has 0 CPUs; add a node", "waiting: 0 CPUs")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_waiting_is_said_at_once_then_at_a_calm_rate_and_once_when_it_ends():
    clock = Clock()
    watch = WaitWatch(None, clock)
    first = watch.update(FOUND, lambda i: f"p{i}")
    assert first == Waiting(((1, "p1"),), FOUND[1], FOUND[2], 0.0)
    clock.now += WAITING_S / 2
    assert watch.update(FOUND, lambda i: f"p{i}") is None
    clock.now += WAITING_S / 2
    again = watch.update(FOUND, lambda i: f"p{i}")
    assert again is not None and again.waited_s == WAITING_S and not again.gave_up
    ended = watch.update(None, lambda i: f"p{i}")
    assert ended is not None and ended.points == () and watch.update(None, str) is None


def test_wait_seconds_give_up_once_waited_that_long():
    clock = Clock()
    watch = WaitWatch(30, clock)
    assert not watch.update(FOUND, str).gave_up
    clock.now += 29
    assert not watch.update(FOUND, str).gave_up  # said again (WAITING_S passed), still waiting
    clock.now += 1
    assert watch.update(FOUND, str).gave_up


def test_ray_s_messages_become_one_glo_line_and_its_colours_never_show():
    said = ("\x1b[33m(raylet)\x1b[0m The node with node id: 49ef0c1d2e and address: 10.0.0.7 and node name: 10.0.0.7 "
            "has been marked dead because the detector has missed too many heartbeats from it.")
    line = raylog.translate(said)
    assert line is not None and line.startswith("a node of the cluster was lost") and "49ef" not in line
    assert raylog.translate("\x1b[36m(pid=123)\x1b[0m some worker chatter") is None
    raylog._print_to_stdstream({"lines": [said, said], "pid": "raylet"})
    assert raylog.take() == [line] and raylog.take() == []


def test_the_waiting_line_says_what_the_cluster_has():
    assert raylog.need(1, 0, {}, {})[0] == "waiting for a node with 1 free CPU: the cluster has 0 CPUs; add a node"
    assert raylog.need(1, 0, {"CPU": 1}, {"CPU": 0})[1] == "waiting: 1 CPU, 0 free"
    assert raylog.need(1, 0.25, {"CPU": 4}, {"CPU": 4})[0].startswith("waiting for a node with 0.25 free GPUs: "
                                                                       "the cluster has 0 GPUs")


def test_a_point_given_up_on_is_saved_as_stopped_and_resumes_through_its_sweep(tmp_path):
    store = RunStore(tmp_path)
    sweep = SweepStore(store).create(RunConfig(n_images=20, batch_size=10, epochs=2, threads=1), [("sigma", [0.1])])
    controls = Controls()
    for ev in run_sweep(sweep, store, controls, load=lambda cfg: synthetic_split(20)):
        if isinstance(ev, SweepPoint):
            break  # the point's run exists, as one on a node that no longer answers would
    run = sweep.runs(store)[0]
    assert run.recorded_status() == "interrupted"
    save_stopped(run, "its node did not answer the stop in time")
    assert run.status() == "stopped" and run.read_summary()["note"] == "its node did not answer the stop in time"
    assert RunView(run).resume_command == f"glo sweep --resume {sweep.id} --headless"
    save_stopped(run, "again")  # a run that ended stays as it ended
    assert run.read_summary()["note"] != "again"


def test_a_point_row_says_it_waits_then_that_it_is_queued():
    posted = []
    pump = PointsPump(posted.append)
    pump.feed(SweepPoint("s", 0, 2, "sigma0.1", "r0", "start", "pending"))
    pump.feed(Waiting(((0, "sigma0.1"), (1, "sigma2")), FOUND[1], FOUND[2], 0.0))
    rows = [msg for msg in posted if isinstance(msg, m.PointsUpdate)][-1].rows
    assert [row[-1] for row in rows] == ["waiting: 0 CPUs", "waiting: 0 CPUs"]
    assert any(isinstance(msg, m.CoreEvents) and isinstance(msg.events[0], Waiting) for msg in posted)
    pump.feed(Waiting(((1, "sigma2"),), FOUND[1], FOUND[2], 1.0))
    pump.feed(Waiting((), "", "", 2.0))
    rows = [msg for msg in posted if isinstance(msg, m.PointsUpdate)][-1].rows
    assert [row[-1] for row in rows] == ["queued", "queued"]
    pump.feed(Notice("a node of the cluster was lost"))
    assert isinstance(posted[-1], m.CoreEvents) and posted[-1].events == (Notice("a node of the cluster was lost"),)


def test_rows_of_points_that_waited_say_stopped_when_the_sweep_stops():
    posted = []
    pump = PointsPump(posted.append)
    pump.feed(Waiting(((0, "sigma0.1"),), FOUND[1], FOUND[2], 0.0))
    pump.ended("stopped")
    assert [msg for msg in posted if isinstance(msg, m.PointsUpdate)][-1].rows[0][-1] == "stopped"


def test_the_console_says_waiting_in_full_with_its_key():
    from tui.points import sweep_notice

    said = sweep_notice(Waiting(((0, "sigma0.1"),), FOUND[1], FOUND[2], 0.0))
    assert said["message"] == f"sigma0.1: {FOUND[1]}, or press x" and said["severity"] == "warning"
    assert sweep_notice(Waiting(((0, "s"),), FOUND[1], FOUND[2], 30.0, gave_up=True))["title"] == "sweep stopped"


@sync
async def test_the_console_exits_with_the_wait_code_when_its_sweep_gave_up(tmp_path):
    """As headless `glo sweep --wait` does: 75, and the hint on the way out says why the sweep stopped."""
    from tui.app import create_app, resume_hints

    store = RunStore(tmp_path)
    sweep = SweepStore(store).create(RunConfig(n_images=20, batch_size=10, epochs=2, threads=1), [("sigma", [0.1])])
    app = create_app(tmp_path, config=small())
    async with app.run_test(size=SIZE) as pilot:
        app.started_sweeps.append(sweep.id)
        train_screen(app).sweep = sweep  # as if the console trained it
        gave_up = Waiting(((0, "sigma0.1"),), FOUND[1], FOUND[2], 30.0, gave_up=True)
        train_screen(app).post_message(m.CoreEvents((gave_up,)))
        await pilot.pause()
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running, what="exit")
    assert app.return_code == WAITED
    assert resume_hints(app) == [(f"sweep {sweep.id} stopped after its points waited for a node (--wait): "
                                 f"resume it with  glo sweep --resume {sweep.id}")]

"""Console tests: Pilot drives the real app on tiny synthetic runs (a second or two each)."""

from __future__ import annotations

import json
import threading

import pytest

from conftest import SIZE, small, summary, sync, train_screen, wait_for
from glo.config import RunConfig
from glo.events import Step
from glo.store.runs import RunStore
from glo.view.images import resize
from tui.app import create_app
from tui.bridge import EventPump
from tui.messages import CoreEvents, NewestImages
from tui.widgets.chart import MAX_POINTS, Downsampler
from tui.widgets.recon import layout

# --- pieces without the app ---

def test_downsampler_keeps_few_points_and_the_mean():
    ds = Downsampler()
    for i in range(10_000):
        ds.add(i, 1.0 + (i % 2))
    xs, ys = ds.points()
    assert len(xs) <= MAX_POINTS + 1
    assert abs(sum(ys) / len(ys) - 1.5) < 0.01
    assert xs == sorted(xs)


def test_pump_coalesces_steps_by_time_and_keeps_order():
    now = [0.0]
    posted = []
    pump = EventPump(posted.append, RunConfig(), clock=lambda: now[0])
    for i in range(1, 101):
        now[0] = i * 0.01  # 100 steps in one second
        pump.feed(Step(i, 1, i, 0.5, 100.0))
    from glo.events import Finished

    end = Finished("completed", {})
    pump.feed(end)
    steps = [m for m in posted if all(isinstance(e, Step) for e in m.events)]
    assert 1 <= len(steps) <= 3  # about one per glo.events.STEPS_S (1 s)
    assert sum(len(m.events) for m in steps) == 100  # no step dropped
    assert posted[-1].events == (end,) and posted[-2] is steps[-1]


def test_pump_coalesces_images_but_always_shows_the_last():
    import numpy as np

    from glo.events import Epoch, Finished, Images

    now = [0.0]
    posted = []
    pump = EventPump(posted.append, RunConfig(), clock=lambda: now[0])
    img = np.zeros((2, 28, 28), dtype=np.uint8)
    for epoch in range(1, 11):  # ten epochs in one second
        now[0] = epoch * 0.1
        pump.feed(Epoch(epoch, {"epoch": epoch, "recon_loss": 0.1}))
        pump.feed(Images(epoch, img, img))
    pump.feed(Finished("completed", {}))
    shown = [m.images.epoch for m in posted if isinstance(m, NewestImages)]
    assert shown[0] == 1 and shown[-1] == 10  # the first at once, the newest at the end
    assert len(shown) <= 3  # at most about one per glo.events.IMAGES_S in between
    assert isinstance(posted[-1], CoreEvents) and isinstance(posted[-1].events[0], Finished)


def test_recon_layout_fits_and_resizes():
    size, per, shown = layout(10, 46, 11)
    assert shown >= 4 and per * size + per - 1 <= 46 and 2 * ((size + 1) // 2) <= 11
    import numpy as np

    img = np.full((3, 28, 28), 200, dtype=np.uint8)
    assert resize(img, 10).shape == (3, 10, 10) and int(resize(img, 10).max()) == 200


# --- the app ---

@sync
async def test_run_feeds_chart_images_and_status(tmp_path, split, monkeypatch):
    monkeypatch.setattr("glo.events.IMAGES_S", 0.0)  # tiny epochs: show every one
    app = create_app(tmp_path, config=small(), load=lambda cfg: split)
    async with app.run_test(size=SIZE) as pilot:
        screen = train_screen(app)
        await pilot.press("s")
        await wait_for(pilot, lambda: screen.last_status is not None, what="run end")
        assert screen.last_status == "completed"
        xs, ys = screen.chart.train.points()
        assert len(xs) >= 1 and all(y > 0 for y in ys)
        assert screen.chart.recon[0] == [1.0, 2.0, 3.0]
        assert screen.recon.updates == 4  # before training and after each epoch
        assert screen.recon.epoch == 3
        assert screen.recon.reconstructions.shape == (10, 28, 28)
        run = screen.status.run
        assert (run.epoch, run.epochs, run.step, run.total_steps) == (3, 3, 15, 15)
        assert run.state == "completed" and run.error is None
        assert not screen.running and not screen.form.query_one("#start").disabled
        run_dir = tmp_path / run.run_id
        assert summary(run_dir)["status"] == "completed"
        await pilot.press("a", "l")  # ASCII images (no colour needed) and log-scale chart
        assert screen.recon.ascii and screen.chart.log_scale
        assert "\u2580" not in "".join(str(t) for t in screen.recon.render().renderables)


@sync
async def test_pause_live_sigma_change_resume_and_stop(tmp_path, split):
    app = create_app(tmp_path, config=small(epochs=500), load=lambda cfg: split)
    async with app.run_test(size=SIZE) as pilot:
        screen = train_screen(app)
        await pilot.press("s")
        await wait_for(pilot, lambda: screen.status.run.step > 0, what="first steps")
        assert screen.chart.plotted  # the first losses are drawn at once, not at the next 3-s redraw
        await pilot.press("p")
        await wait_for(pilot, lambda: screen.status.run.state == "paused", what="paused")
        paused_at = screen.status.run.step
        await pilot.pause(0.3)
        assert screen.controls.paused
        sigma = screen.form.widget("sigma")
        assert not sigma.disabled and screen.form.widget("epochs").disabled
        sigma.focus()
        sigma.value = "0.7"
        await pilot.press("enter")
        await pilot.press("escape")
        await pilot.press("p")  # resume: the change applies before the next step
        await wait_for(pilot, lambda: screen.status.run.live.get("sigma") == 0.7, what="live change")
        assert screen.chart.changes and "0.7" in screen.chart.changes[0][1]
        await wait_for(pilot, lambda: screen.status.run.step > paused_at + 2, what="steps after resume")
        await pilot.press("x")
        await wait_for(pilot, lambda: screen.last_status is not None, what="stop")
        assert screen.last_status == "stopped"
        run_dir = tmp_path / screen.status.run.run_id
        records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
        changes = [r for r in records if r["event"] == "change"]
        assert [(c["param"], c["new"]) for c in changes] == [("sigma", 0.7)]
        assert changes[0]["step"] == paused_at + 1
        assert summary(run_dir)["status"] == "stopped"
        assert RunStore(tmp_path).get(run_dir.name).status() == "stopped"


@sync
async def test_inputs_validate_as_you_type(tmp_path, split):
    app = create_app(tmp_path, config=small(), load=lambda cfg: split)
    async with app.run_test(size=SIZE) as pilot:
        screen = train_screen(app)
        form = screen.form
        message = form.query_one("#form-message")
        form.widget("sigma").value = "-1"
        await pilot.pause()
        assert "sigma" in form.errors and "sigma must be >= 0" in str(message.render())
        assert form.widget("sigma").has_class("-invalid") and form.query_one("#start").disabled
        await pilot.press("s")
        await pilot.pause()
        assert screen.worker is None  # refused: nothing started
        form.widget("sigma").value = "0.2"
        form.widget("batch_size").value = "0"
        await pilot.pause()
        assert list(form.errors) == ["batch_size"] and "batch_size must be >= 1" in form.errors["batch_size"]
        form.widget("batch_size").value = "abc"
        await pilot.pause()
        assert "whole number" in form.errors["batch_size"]
        form.widget("batch_size").value = "8"
        form.widget("n_images").value = "5"
        await pilot.pause()
        assert "n_images must be at least 10" in form.errors["n_images"]
        form.widget("n_images").value = "40"
        await pilot.pause()
        assert form.errors == {} and not form.query_one("#start").disabled
        form.widget("combine").value = "adain"  # the generator's combination is a form field too
        await pilot.pause()
        assert form.config().combine == "adain" and form.config().sigma == 0.2
        assert list(tmp_path.iterdir()) == []  # validation never creates a run folder


@sync
async def test_failing_run_shows_error_and_app_stays_usable(tmp_path, split, monkeypatch):
    import glo.train.loop

    def broken(*args, **kwargs):
        raise RuntimeError("injected fault")

    monkeypatch.setattr(glo.train.loop, "objective", broken)
    app = create_app(tmp_path, config=small(), load=lambda cfg: split)
    async with app.run_test(size=SIZE) as pilot:
        screen = train_screen(app)
        await pilot.press("s")
        await wait_for(pilot, lambda: screen.last_status is not None, what="failure")
        assert screen.last_status == "failed"
        assert "RuntimeError: injected fault" in screen.status.run.error
        assert "injected fault" in str(screen.status.render())
        assert not screen.running and not screen.form.query_one("#start").disabled
        monkeypatch.undo()
        await pilot.press("s")  # usable: a second run trains to the end
        await wait_for(pilot, lambda: screen.last_status == "completed", what="second run")
        assert screen.status.run.error is None


@pytest.mark.parametrize("key", ["q", "ctrl+c"])
@sync
async def test_quit_during_a_run_stops_it_cleanly(tmp_path, split, key):
    app = create_app(tmp_path, config=small(epochs=500), load=lambda cfg: split)
    async with app.run_test(size=SIZE) as pilot:
        screen = train_screen(app)
        await pilot.press("s")
        await wait_for(pilot, lambda: screen.status.run.step > 0, what="first steps")
        run_id = screen.status.run.run_id
        worker = screen.worker
        await pilot.press(key)
        await wait_for(pilot, lambda: not app.is_running, what="exit")
    assert worker.is_finished
    assert not [t for t in threading.enumerate() if "glo" in t.name.lower() and t.is_alive()]
    assert app.return_code == 0
    run = RunStore(tmp_path).get(run_id)
    assert run.status() == "stopped" and run.has_checkpoint()
    from tui.app import resume_hints  # what glo-tui prints on the way out

    assert resume_hints(app) == [f"run {run_id} stopped: resume it with  glo run --resume {run_id}"]


@sync
async def test_prepared_run_starts_on_mount(tmp_path, split):
    from glo.train.prepare import PreparedRun

    cfg = small(epochs=2)
    prepared = PreparedRun(cfg, RunStore(tmp_path).create(cfg), split, False)
    app = create_app(tmp_path, prepared=prepared)
    async with app.run_test(size=SIZE) as pilot:
        screen = train_screen(app)
        await wait_for(pilot, lambda: screen.last_status is not None, what="run end")
        assert screen.last_status == "completed"
        assert screen.status.run.run_id == prepared.run.id


@sync
async def test_help_screen_and_command_palette_entries(tmp_path):
    from tui.screens.help import HelpScreen

    app = create_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {"Start run", "Start sweep", "Pause / resume run", "Stop run", "Saved runs",
                "Toggle log scale"} <= titles


# --- one event path: the core's events reach the console as they are ---

def _fields(cls: type) -> set[str]:
    """A dataclass's fields, or the instance attributes a class annotates itself."""
    import dataclasses
    import inspect

    if dataclasses.is_dataclass(cls):
        return {f.name for f in dataclasses.fields(cls)}
    return {name for name, kind in inspect.get_annotations(cls).items() if "ClassVar" not in str(kind)}


def _tui_classes() -> list[type]:
    """Every class defined in a module of tui/."""
    import importlib
    import inspect
    import pkgutil

    import tui

    classes = []
    for info in pkgutil.walk_packages(tui.__path__, "tui."):
        module = importlib.import_module(info.name)
        classes += [c for _, c in inspect.getmembers(module, inspect.isclass) if c.__module__ == info.name]
    return classes


def mirrors(cls: type, event: type) -> bool:
    """CLS repeats EVENT's fields: a message carrying at least two of them and half of them, or any
    class with exactly its fields."""
    from textual.message import Message

    mine, theirs = _fields(cls), _fields(event)
    shared = mine & theirs
    if theirs and mine == theirs:
        return True
    return issubclass(cls, Message) and len(shared) >= 2 and 2 * len(shared) >= len(theirs)


def test_no_console_class_mirrors_a_core_event():
    import dataclasses
    import inspect

    from glo import events as ev

    core = [c for _, c in inspect.getmembers(ev, inspect.isclass)
            if c.__module__ == ev.__name__ and dataclasses.is_dataclass(c)]
    names = {c.__name__ for c in core}
    assert {"Started", "Step", "Epoch", "Finished", "SweepPoint", "SweepFinished", "Placed"} <= names
    found = [(cls.__qualname__, event.__name__) for cls in _tui_classes() for event in core if mirrors(cls, event)]
    assert found == []


def test_the_mirror_check_would_catch_a_mirrored_message():
    from dataclasses import dataclass

    from textual.message import Message

    from glo import events as ev

    @dataclass
    class StepsDone(Message):  # what tui/messages.py held before: Step's fields, field by field
        losses: tuple
        step: int
        epoch: int
        batch: int
        images_per_s: float

    @dataclass
    class RunFinished(Message):
        status: str
        error: str | None = None
        summary: dict | None = None

    assert mirrors(StepsDone, ev.Step) and mirrors(RunFinished, ev.Finished)
    assert not mirrors(StepsDone, ev.Finished)


def test_the_pump_posts_the_core_s_own_events():
    import numpy as np

    from glo import events as ev

    now = [0.0]
    posted = []
    cfg = RunConfig()
    pump = EventPump(posted.append, cfg, clock=lambda: now[0])
    img = np.zeros((2, 28, 28), dtype=np.uint8)
    fed = [ev.Started("r", "/r", 0, 2, 3, "cpu"), ev.Images(0, img, img),
           *(ev.Step(i, 1, i, 0.5, 9.0) for i in (1, 2, 3)),
           ev.Epoch(1, {"epoch": 1}), ev.Checkpoint(1, 3, "/r/checkpoint.pt"), ev.Paused(3, 2), ev.Resumed(3, 2),
           ev.Changed(4, 2, "sigma", 0.1, 0.2), ev.Step(4, 2, 1, 0.4, 9.0), ev.Finished("completed", {})]
    for event in fed:
        now[0] += 0.01
        pump.feed(event)
    got = [e for msg in posted if isinstance(msg, CoreEvents) for e in msg.events]
    got += [msg.images for msg in posted if isinstance(msg, NewestImages)]
    assert sorted(map(id, got)) == sorted(map(id, fed))  # each one, the very object, nothing made up
    assert all(msg.cfg is cfg for msg in posted if isinstance(msg, CoreEvents))
    batches = [msg.events for msg in posted if isinstance(msg, CoreEvents)]
    assert [[type(e).__name__ for e in b] for b in batches] == [
        ["Started"], ["Step"] * 3, ["Epoch"], ["Checkpoint"], ["Paused"], ["Resumed"], ["Changed"], ["Step"],
        ["Finished"]]  # the Checkpoint (nothing to show) waits for the next batch


def test_newest_images_and_points_rows_replace_older_queued_ones():
    from glo import events as ev
    from tui.messages import PointsUpdate

    images = NewestImages(None)
    assert images.can_replace(NewestImages(None)) and not images.can_replace(CoreEvents((ev.Paused(1, 1),)))
    rows = PointsUpdate([("a",)], [])
    assert rows.can_replace(PointsUpdate([("b",)], [])) and not CoreEvents(()).can_replace(CoreEvents(()))
    with_images = PointsUpdate([("a",)], [], ("a", None, None))
    assert not with_images.can_replace(PointsUpdate([("b",)], []))  # its images would be lost
    assert with_images.can_replace(PointsUpdate([("b",)], [], ("b", None, None)))


@sync
async def test_the_train_screen_receives_core_event_classes(tmp_path, split, monkeypatch):
    from glo import events as ev
    from tui.screens.train import TrainScreen

    seen: list[type] = []
    handle = TrainScreen.on_core_events

    def spy(self, msg):
        seen.extend(type(e) for e in msg.events)
        handle(self, msg)

    monkeypatch.setattr(TrainScreen, "on_core_events", spy)
    app = create_app(tmp_path, config=small(), load=lambda cfg: split)
    async with app.run_test(size=SIZE) as pilot:
        screen = train_screen(app)
        await pilot.press("s")
        await wait_for(pilot, lambda: screen.last_status is not None, what="run end")
    assert {ev.Started, ev.Step, ev.Epoch, ev.Finished} <= set(seen)
    assert all(cls.__module__ == "glo.events" for cls in seen)

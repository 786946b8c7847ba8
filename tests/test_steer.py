"""Watching and steering a run another process trains: the control channel (glo.train.channel),
the watcher (glo.store.watch), ``glo runs watch|pause|resume-training|stop|set`` and the console
attaching (tui.watch). The slow tests use real processes: a headless run steered from the CLI and
from a Pilot console in another process, the console quitting while the run trains on, and a killed
run's leftover request."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import small, wait_until
from glo.errors import GloError
from glo.events import Changed, Epoch, Finished, Paused, Resumed, Started, Step
from glo.store.runs import RunStore
from glo.store.steplog import MAX_RECORDS, StepLog, read_steps
from glo.train import channel
from glo.train.channel import NotRunning, answer, ask
from glo.train.controls import Controls

ROOT = Path(__file__).resolve().parents[1]


def glo_cli(*args: str, runs: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "glo", *args, "--runs-dir", str(runs)], env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def metrics(run) -> list[dict]:
    return run.read_metrics()


# --- the channel in one process: a run trained in a thread-free loop, asked between its steps ---

def _live_run(tmp_path, split, **kw):
    """A run mid-training in this process: (run, controls, the event generator), at its first step."""
    from glo.train.loop import train

    cfg = small(epochs=50, **kw)
    run = RunStore(tmp_path).create(cfg)
    controls = Controls()
    events = train(cfg, run, controls, split)
    for ev in events:
        if isinstance(ev, Step):
            break
    return run, controls, events


def _steps(events, n: int) -> list:
    seen = []
    for ev in events:
        seen.append(ev)
        if sum(isinstance(e, Step) for e in seen) >= n:
            break
    return seen


def test_requests_apply_at_the_next_steps_and_are_acknowledged(tmp_path, split, monkeypatch):
    monkeypatch.setattr(channel, "POLL_S", 0.0)  # look at every step
    run, _, events = _live_run(tmp_path, split)
    folder = run.file("control")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    sent = ask(run, "set", {"sigma": 0.7, "loss": "l1"}, "test")
    assert stat.S_IMODE(next(folder.glob("*.json")).stat().st_mode) == 0o600
    seen = _steps(events, 2)
    changes = [e for e in seen if isinstance(e, Changed)]
    assert {(c.param, c.new) for c in changes} == {("sigma", 0.7), ("loss", "l1")}
    ack = answer(sent, timeout=1)
    assert ack["event"] == "request" and ack["action"] == "set" and ack["from"] == "test"
    recorded = [r for r in metrics(run) if r.get("event") == "change"]
    assert all(r["from"] == "test" for r in recorded)
    ask(run, "pause")
    seen = []
    for ev in events:  # pauses: the loop waits, still reading requests; a resume request lets it go on
        seen.append(ev)
        if isinstance(ev, Paused):
            ask(run, "resume")
        if isinstance(ev, Resumed):
            break
    assert [r["event"] for r in metrics(run) if r["event"] in ("pause", "resume")] == ["pause", "resume"]
    ask(run, "stop")
    last = list(events)[-1]
    assert isinstance(last, Finished) and last.status == "stopped"
    assert not list(folder.glob("*.json"))


def test_damaged_and_invalid_requests_are_refused_with_a_warning(tmp_path, split, monkeypatch):
    monkeypatch.setattr(channel, "POLL_S", 0.0)
    run, controls, events = _live_run(tmp_path, split)
    folder = run.file("control")
    (folder / f"{time.time_ns()}-aaaa.json").write_text("{not json")
    body = {"id": "bbbb", "action": "set", "params": {"sigma": -1}, "time": time.time()}
    (folder / f"{time.time_ns()}-bbbb.json").write_text(json.dumps(body))
    body = {"id": "cccc", "action": "exec", "params": {"code": "import os"}, "time": time.time()}
    (folder / f"{time.time_ns()}-cccc.json").write_text(json.dumps(body))
    _steps(events, 3)
    warnings = {r["request"]: r["message"] for r in metrics(run) if r.get("event") == "warning"}
    assert set(warnings) == {"aaaa", "bbbb", "cccc"}
    assert "sigma must be >= 0" in warnings["bbbb"] and "unknown request" in warnings["cccc"]
    assert not controls.stop_requested and not controls.paused  # training goes on
    controls.stop()
    assert list(events)[-1].status == "stopped"


def test_asking_a_run_that_is_not_running_is_refused(tmp_path, split):
    from conftest import stopped_run

    run = stopped_run(tmp_path)
    with pytest.raises(NotRunning, match="not running \\(stopped\\)"):
        ask(run, "pause")
    with pytest.raises(GloError, match="cannot be changed"):
        ask(run, "set", {"lr": 1})
    run.file("running.json").write_text(json.dumps({"pid": os.getpid(), "host": "elsewhere", "since": 0}))
    with pytest.raises(NotRunning, match="trains on elsewhere"):
        ask(run, "stop")
    result = glo_cli("runs", "pause", run.id, runs=tmp_path)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "elsewhere" in result.stderr


def test_step_log_is_bounded_and_read_incrementally(tmp_path):
    log = StepLog(tmp_path, steps_per_epoch=100)
    for s in range(1, 101):
        log.add(Step(s, (s - 1) // 100 + 1, 0, 1.0 / s, 10.0))
    log.flush()
    per_epoch, stride, steps, offset = read_steps(tmp_path / "steps.bin")
    assert (per_epoch, stride, len(steps), steps[-1].batch) == (100, 1, 100, 100)
    log.add(Step(101, 2, 1, 0.5, 10.0))
    log.flush()
    assert [s.step for s in read_steps(tmp_path / "steps.bin", offset)[2]] == [101]
    for s in range(102, 3 * MAX_RECORDS):
        log.add(Step(s, (s - 1) // 100 + 1, 0, 0.5, 10.0))
        if s % 1000 == 0:
            log.flush()
    log.close()
    per_epoch, stride, steps, _ = read_steps(tmp_path / "steps.bin")
    assert stride >= 2 and len(steps) < MAX_RECORDS and steps[-1].step > 2 * MAX_RECORDS
    assert os.path.getsize(tmp_path / "steps.bin") <= 16 * (MAX_RECORDS + 1)
    StepLog(tmp_path, steps_per_epoch=100, keep_until=50).close()  # a resume drops what came after
    assert max(s.step for s in read_steps(tmp_path / "steps.bin")[2]) <= 50


def test_watcher_replays_a_run_as_its_events(tmp_path, split):
    from glo.store.watch import RunWatcher
    from glo.train.loop import train

    cfg = small(epochs=2)
    run = RunStore(tmp_path).create(cfg)
    controls = Controls()
    trained = []
    for ev in train(cfg, run, controls, split):
        trained.append(ev)
        if isinstance(ev, Step) and ev.step == 2:
            controls.set(sigma=0.9)
    watched = RunWatcher(run).poll()
    assert isinstance(watched[0], Started) and watched[0].steps_per_epoch == 5 and watched[0].epoch == 0
    assert [e.step for e in watched if isinstance(e, Step)] == [e.step for e in trained if isinstance(e, Step)]
    assert [e.epoch for e in watched if isinstance(e, Epoch)] == [1, 2]
    assert [(e.step, e.new) for e in watched if isinstance(e, Changed)] == [(3, 0.9)]
    assert isinstance(watched[-1], Finished) and watched[-1].status == "completed"


# --- real processes ---

def _headless(runs: Path, name: str, epochs: int = 2000) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "glo", "run", "--headless", "--threads", "1", "--n-images", "40",
                             "--batch-size", "8", "--epochs", str(epochs), "--name", name, "--runs-dir", str(runs)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _running(runs: Path, name: str):
    def ready():
        try:
            run = RunStore(runs).get(name)
        except GloError:
            return None
        return run if run.is_live() and run.file("control").is_dir() and run.file("steps.bin").exists() else None

    return wait_until(ready, 120, f"run {name} training")


@pytest.mark.slow
def test_headless_run_steered_from_the_command_line(tmp_path):
    proc = _headless(tmp_path, "cli")
    try:
        run = _running(tmp_path, "cli")
        result = glo_cli("runs", "set", "cli", "sigma=0.5", "loss=l1", runs=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "uses sigma=0.5 loss=l1 from step" in result.stdout
        assert glo_cli("runs", "set", "cli", "sigma=-2", runs=tmp_path).returncode == 2
        result = glo_cli("runs", "pause", "latest", runs=tmp_path)
        assert result.returncode == 0 and "pauses from step" in result.stdout
        paused_at = os.path.getsize(run.file("steps.bin"))
        time.sleep(1.0)
        assert os.path.getsize(run.file("steps.bin")) == paused_at  # paused: no steps
        assert glo_cli("runs", "resume-training", "--where", "name=cli", runs=tmp_path).returncode == 0
        result = glo_cli("runs", "stop", "cli", runs=tmp_path)
        assert result.returncode == 0 and "stops" in result.stdout
        assert proc.wait(60) == 0
        assert run.status() == "stopped"
        events = [r.get("event") for r in run.read_metrics()]
        assert events.count("request") == 4 and "pause" in events and "resume" in events
        result = glo_cli("runs", "stop", "cli", runs=tmp_path)
        assert result.returncode == 2 and "not running (stopped)" in result.stderr
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.slow
def test_watch_stops_watching_on_ctrl_c_and_the_run_goes_on(tmp_path):
    proc = _headless(tmp_path, "w")
    try:
        run = _running(tmp_path, "w")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        watch = subprocess.Popen([sys.executable, "-m", "glo", "runs", "watch", "w", "--runs-dir", str(tmp_path)],
                                 env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(4)
        watch.send_signal(signal.SIGINT)
        out, err = watch.communicate(timeout=30)
        assert watch.returncode == 0, err
        assert "watching" in out and "epoch 1/2000" in out and "trains on" in out
        assert run.is_live()
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.slow
def test_a_killed_runs_leftover_request_is_not_applied_on_resume(tmp_path):
    proc = _headless(tmp_path, "k")
    run = _running(tmp_path, "k")
    wait_until(lambda: run.has_checkpoint(), 120, "a checkpoint")
    os.kill(proc.pid, signal.SIGSTOP)  # frozen: it cannot take the request before it dies
    sent = ask(run, "stop", source="test")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert list(run.file("control").glob("*.json"))  # left behind
    resumed = subprocess.Popen([sys.executable, "-m", "glo", "run", "--headless", "--resume", run.id,
                                "--runs-dir", str(tmp_path)], env={**os.environ, "PYTHONPATH": str(ROOT)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: any(r.get("request") == sent.id for r in run.read_metrics()), 120, "the leftover's record")
        record = next(r for r in run.read_metrics() if r.get("request") == sent.id)
        assert record["event"] == "warning" and "left by an earlier process" in record["message"]
        time.sleep(1)
        assert resumed.poll() is None and run.is_live()  # not stopped: it trains on
        assert glo_cli("runs", "stop", run.id, runs=tmp_path).returncode == 0  # asked again, it stops
        assert resumed.wait(60) == 0 and run.status() == "stopped"
    finally:
        resumed.kill()
        resumed.wait()


def _console(runs: Path, run_id: str, actions: str) -> dict:
    """A Pilot console in its own process (tests/steer_console.py): what it saw."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, str(ROOT / "tests" / "steer_console.py"), str(runs), run_id, actions],
                            env=env, capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_consoles_in_other_processes_watch_steer_and_leave_the_run_training(tmp_path):
    proc = _headless(tmp_path, "tui")
    try:
        run = _running(tmp_path, "tui")
        wait_until(lambda: run.last_epoch()[0] >= 2, 120, "two epochs")
        seen = _console(tmp_path, run.id, "pause-set-resume")
        assert seen["attached_at_epoch"] >= 2 and seen["chart_points"] > 2  # history from steps.bin
        assert seen["paused"] and any("0.7" in c for c in seen["changes"])
        assert run.is_live() and proc.poll() is None  # the console quit; the run trains on
        records = run.read_metrics()
        assert [r["event"] for r in records if r["event"] in ("pause", "resume")] == ["pause", "resume"]
        change = next(r for r in records if r["event"] == "change")
        assert change["new"] == 0.7 and change["from"].startswith("console (")
        steps = os.path.getsize(run.file("steps.bin"))
        time.sleep(1)
        assert os.path.getsize(run.file("steps.bin")) > steps
        seen = _console(tmp_path, run.id, "stop")  # a second console stops it
        assert seen["last_status"] == "stopped"
        assert proc.wait(60) == 0 and run.status() == "stopped"
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.slow
def test_a_local_sweep_is_steered_through_its_driver_and_point_by_point(tmp_path):
    from glo.sweep.manifest import SweepStore

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "glo", "sweep", "--param", "sigma", "--values", "0.1,0.5,2",
                             "--workers", "2", "--threads", "1", "--n-images", "40", "--batch-size", "8",
                             "--epochs", "3000", "--headless", "--runs-dir", str(tmp_path)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        store = RunStore(tmp_path)
        wait_until(lambda: len([r for r in store.runs() if r.is_live() and r.file("steps.bin").exists()]) == 2,
                   120, "two points training")
        sweep = SweepStore(store).get("latest")
        result = glo_cli("sweeps", "set", sweep.id, "sigma=1", runs=tmp_path)
        assert result.returncode == 2 and "what sweep" in result.stderr  # the swept setting stays
        result = glo_cli("sweeps", "pause", sweep.id, runs=tmp_path)
        assert result.returncode == 0 and "every running point pauses" in result.stdout
        first, second = [r for r in store.runs() if r.is_live()]
        wait_until(lambda: all(any(r["event"] == "pause" for r in run.read_metrics()) for run in (first, second)),
                   30, "both points paused")
        assert glo_cli("sweeps", "resume-training", sweep.id, runs=tmp_path).returncode == 0
        assert glo_cli("runs", "set", first.id, "decay=0.01", runs=tmp_path).returncode == 0  # one point alone
        assert glo_cli("runs", "stop", first.id, runs=tmp_path).returncode == 0
        wait_until(lambda: first.status() == "stopped", 60, "the point stopped")
        third = wait_until(lambda: next((r for r in store.runs() if r.is_live() and r.id != second.id), None), 60,
                           "the next point taking the freed slot")
        assert third.id not in (first.id, second.id) and second.is_live()
        assert [r["param"] for r in first.read_metrics() if r["event"] == "change"] == ["decay"]
        assert not [r for r in second.read_metrics() if r["event"] == "change"]
        assert glo_cli("sweeps", "stop", sweep.id, runs=tmp_path).returncode == 0
        proc.wait(60)
        assert SweepStore(store).get(sweep.id).statuses(store) == ["stopped", "stopped", "stopped"]
        assert glo_cli("sweeps", "pause", sweep.id, runs=tmp_path).returncode == 2
    finally:
        proc.kill()
        proc.wait()


def test_a_request_folder_in_the_way_is_reported_once(tmp_path, split, monkeypatch):
    monkeypatch.setattr(channel, "POLL_S", 0.0)
    run, controls, events = _live_run(tmp_path, split)
    (run.file("control") / f"{time.time_ns()}-dddd.json").mkdir()
    _steps(events, 5)
    assert [r["request"] for r in metrics(run) if r.get("event") == "warning"] == ["dddd"]
    controls.stop()
    assert list(events)[-1].status == "stopped"


def test_console_attaches_to_a_run_trained_elsewhere_and_quits_leaving_it(tmp_path, split):
    """In one process for speed: the run trains in a thread (its own Controls), the console attaches."""
    import asyncio
    import threading

    from textual.widgets import DataTable

    from conftest import wait_for
    from glo.train.loop import train
    from tui.app import create_app
    from tui.screens.runs import RunsScreen

    cfg = small(epochs=5000)
    run = RunStore(tmp_path).create(cfg)
    controls, ended = Controls(), []
    thread = threading.Thread(target=lambda: ended.extend(train(cfg, run, controls, split)), daemon=True)
    thread.start()
    wait_until(lambda: run.file("steps.bin").exists() and run.last_epoch()[0] >= 2, 60, "two epochs")

    async def attach_and_quit() -> None:
        app = create_app(tmp_path, config=small(), load=lambda c: split, analyzer=None)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = app.screen_stack[0]
            await pilot.press("r")
            await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen), what="runs")
            await wait_for(pilot, lambda: app.screen.query_one(DataTable).row_count == 1, what="the run")
            await pilot.press("enter")
            await wait_for(pilot, lambda: screen.status.run.run_id == run.id and screen.chart.recon[0], what="attached")
            await pilot.press("p")
            await wait_for(pilot, lambda: screen.status.run.state == "paused", what="paused")
            assert controls.paused  # the request reached the training loop
            await pilot.press("p")
            await wait_for(pilot, lambda: screen.status.run.state == "training", what="training")
            await pilot.press("q")

    asyncio.run(attach_and_quit())
    time.sleep(0.5)
    assert thread.is_alive() and not controls.stop_requested  # quitting the console left it training
    controls.stop()
    thread.join(60)
    assert ended[-1].status == "stopped"

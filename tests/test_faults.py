"""Crashes and signals: real training subprocesses killed at the dangerous moments, then resumed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from glo.store.runs import RunStore

pytestmark = pytest.mark.slow  # real processes started, killed and resumed: seconds each

# one fixed thread: a resumed run must equal an uninterrupted one bit for bit (see glo/host/threads.py)
ARGS = ["--headless", "--epochs", "4", "--n-images", "60", "--batch-size", "20", "--device", "cpu", "--threads", "1"]


def glo(*args: str, env: dict | None = None, **kw) -> subprocess.Popen:
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.Popen([sys.executable, "-m", "glo", *args], env=full_env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def wait_for(predicate, timeout: float = 90, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def only_run(root: Path):
    runs = RunStore(root).runs()
    assert len(runs) == 1
    return runs[0]


def every_json_file_parses(run_dir: Path) -> None:
    for name in ("config.json", "summary.json"):
        if (run_dir / name).exists():
            json.loads((run_dir / name).read_text())


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> float:
    root = tmp_path_factory.mktemp("clean")
    proc = glo("run", *ARGS, "--runs-dir", str(root))
    assert proc.wait(120) == 0, proc.stderr.read()
    return only_run(root).epochs()[-1]["recon_loss"]


@pytest.mark.parametrize(
    "fault",
    ["step:5", "metrics:3", "write-checkpoint.pt:2", "write-images.npz:3", "write-summary.json:1"],
    ids=["during-a-step", "mid-metrics-line", "mid-checkpoint", "mid-images", "mid-final-summary"],
)
def test_kill_9_then_resume_loses_nothing(tmp_path, uninterrupted, fault):
    marker = tmp_path / "reached"
    proc = glo("run", *ARGS, "--runs-dir", str(tmp_path / "runs"),
               env={"GLO_FAULT": fault, "GLO_FAULT_MARKER": str(marker)})
    wait_for(lambda: marker.exists() or proc.poll() is not None, what=f"fault point {fault}")
    assert proc.poll() is None, proc.stderr.read()
    proc.kill()  # SIGKILL at the dangerous moment
    proc.wait(30)

    run = only_run(tmp_path / "runs")
    assert run.status() == "interrupted" and run.read_summary() is None
    every_json_file_parses(run.path)
    resumed = glo("run", "--headless", "--resume", run.id, "--runs-dir", str(tmp_path / "runs"))
    _out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert json.loads((run.path / "summary.json").read_text())["status"] == "completed"
    lines = [json.loads(x) for x in (run.path / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in lines if r["event"] == "epoch"] == [1, 2, 3, 4]  # each exactly once
    assert run.epochs()[-1]["recon_loss"] == uninterrupted  # same quality: bit-identical on the CPU
    assert not [p for p in run.path.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("fault", ["step:2", "write-running.json:1"], ids=["in-the-first-epoch", "while-starting"])
def test_a_run_killed_before_its_first_checkpoint_starts_over(tmp_path, uninterrupted, fault):
    """--resume of a run with no checkpoint yet trains it from epoch 0 in the same folder."""
    marker, runs = tmp_path / "reached", tmp_path / "runs"
    proc = glo("run", *ARGS, "--runs-dir", str(runs), env={"GLO_FAULT": fault, "GLO_FAULT_MARKER": str(marker)})
    wait_for(lambda: marker.exists() or proc.poll() is not None, what=f"fault point {fault}")
    assert proc.poll() is None, proc.stderr.read()
    proc.kill()
    proc.wait(30)

    run = only_run(runs)
    assert run.status() == "interrupted" and not run.has_checkpoint()
    resumed = glo("run", "--headless", "--resume", run.id, "--runs-dir", str(runs))
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert "starting it over from epoch 0" in out
    assert json.loads((run.path / "summary.json").read_text())["status"] == "completed"
    lines = [json.loads(x) for x in (run.path / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in lines if r["event"] == "epoch"] == [1, 2, 3, 4]  # each exactly once
    assert run.epochs()[-1]["recon_loss"] == uninterrupted  # the same run as one never killed
    assert [r.id for r in RunStore(runs).runs()] == [run.id]  # in the same folder


def test_a_run_killed_before_its_settings_were_saved_is_cleaned_up(tmp_path):
    """Killed while its config.json was being written: nothing to resume, so --resume removes it."""
    marker, runs = tmp_path / "reached", tmp_path / "runs"
    proc = glo("run", *ARGS, "--runs-dir", str(runs),
               env={"GLO_FAULT": "write-config.json:1", "GLO_FAULT_MARKER": str(marker)})
    wait_for(lambda: marker.exists() or proc.poll() is not None, what="config being written")
    proc.kill()
    proc.wait(30)
    (folder,) = [p for p in runs.iterdir() if p.is_dir()]
    resumed = glo("run", "--headless", "--resume", folder.name, "--runs-dir", str(runs))
    _out, err = resumed.communicate(timeout=60)
    assert resumed.returncode == 2 and err.count("\n") == 1 and "its empty folder is removed" in err
    assert not folder.exists()


def _start_long_run(tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    proc = glo("run", "--headless", "--epochs", "500", "--n-images", "60", "--batch-size", "20",
               "--device", "cpu", "--runs-dir", str(tmp_path))
    wait_for(lambda: any(tmp_path.glob("*/metrics.jsonl")), what="first epoch")
    return proc, next(tmp_path.glob("*/metrics.jsonl")).parent


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGHUP, signal.SIGTERM], ids=["ctrl-c", "hangup", "term"])
def test_signal_stops_cleanly_and_run_resumes(tmp_path, sig):
    proc, run_dir = _start_long_run(tmp_path)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, err  # as shells expect: `glo run ... && next` does not go on
    assert "Traceback" not in err and f"glo run --resume {run_dir.name}" in out
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "stopped"
    assert RunStore(tmp_path).get(run_dir.name).status() == "stopped"


def test_ctrl_c_stops_a_sweep_resumably_with_exit_130(tmp_path):
    from glo.sweep.manifest import SweepStore

    proc = glo("sweep", "--headless", "--param", "sigma", "--values", "0.1,2", "--epochs", "500", "--n-images", "60",
               "--batch-size", "20", "--device", "cpu", "--workers", "1", "--runs-dir", str(tmp_path))
    wait_for(lambda: any(tmp_path.glob("*/metrics.jsonl")), what="first epoch")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    sweep = SweepStore(RunStore(tmp_path)).get("latest")
    assert f"glo sweep --resume {sweep.id}" in out
    assert sweep.statuses(RunStore(tmp_path)) == ["stopped", "pending"]


def test_second_ctrl_c_exits_at_once_without_damage(tmp_path):
    """Ctrl-C while a slow checkpoint write holds the run up; a second Ctrl-C quits at once."""
    marker = tmp_path / "reached"
    proc = glo("run", *ARGS, "--runs-dir", str(tmp_path / "runs"),
               env={"GLO_FAULT": "write-checkpoint.pt:2", "GLO_FAULT_MARKER": str(marker)})
    wait_for(marker.exists, what="checkpoint write")
    proc.send_signal(signal.SIGINT)
    time.sleep(0.5)
    assert proc.poll() is None  # still held up by the write: the first Ctrl-C waits for it
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)
    assert proc.returncode == 130
    run = only_run(tmp_path / "runs")
    every_json_file_parses(run.path)
    assert run.status() == "interrupted" and [r["epoch"] for r in run.epochs()] == [1, 2]
    resumed = glo("run", "--headless", "--resume", run.id, "--runs-dir", str(tmp_path / "runs"))
    assert resumed.wait(120) == 0
    assert run.status() == "completed" and [r["epoch"] for r in run.epochs()] == [1, 2, 3, 4]


def test_concurrent_runs_never_share_a_folder(tmp_path):
    procs = [glo("run", "--headless", "--epochs", "1", "--n-images", "20", "--device", "cpu",
                 "--runs-dir", str(tmp_path)) for _ in range(3)]
    for p in procs:
        assert p.wait(120) == 0
    runs = RunStore(tmp_path).runs()
    assert len(runs) == 3 and all(r.status() == "completed" for r in runs)


def test_console_saves_the_run_when_the_ssh_session_closes(tmp_path):
    """`glo run` (the console) on a pseudo-terminal gets SIGHUP mid-run: the run is saved as
    stopped, resumable, and the process leaves (it used to hang restoring the dead terminal)."""
    import pty

    master, slave = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"}
    proc = subprocess.Popen([sys.executable, "-m", "glo", "run", "--epochs", "500", "--n-images", "60",
                             "--batch-size", "20", "--device", "cpu", "--runs-dir", str(tmp_path)],
                            stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    try:
        drained = []
        def has_epochs():
            try:
                drained.append(os.read(master, 65536))  # keep the terminal's buffer from filling
            except OSError:
                pass
            runs = RunStore(tmp_path).runs()
            return bool(runs and runs[0].epochs())
        os.set_blocking(master, False)
        wait_for(has_epochs, what="console training")
        proc.send_signal(signal.SIGHUP)
        os.close(master)
        proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
    run = only_run(tmp_path)
    assert run.status() == "stopped"
    assert json.loads((run.path / "summary.json").read_text())["status"] == "stopped"

"""Sweeps with --workers: points side by side in real worker processes, killed and resumed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import wait_until
from glo.store.runs import RunStore
from glo.sweep.manifest import SweepStore

pytestmark = pytest.mark.slow  # worker processes start (torch loads in each), are killed and resumed

BASE = ["--epochs", "6", "--n-images", "60", "--batch-size", "20", "--device", "cpu", "--threads", "1"]
SWEEP = ["sweep", "--param", "sigma", "--values", "0.1,0.5,2", "--headless", *BASE]


def glo(*args: str, **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "glo", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def finished(proc: subprocess.Popen, timeout: float = 300) -> str:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out[-2000:] + err[-2000:]
    return out


def epochs_of(run) -> list[int]:
    lines = [json.loads(x) for x in run.file("metrics.jsonl").read_text().splitlines()]
    return [r["epoch"] for r in lines if r["event"] == "epoch"]


def finals(root: Path) -> dict[str, float]:
    """Each point's final recon loss, by its label (sigma0.1, ...)."""
    store = RunStore(root)
    sweep = SweepStore(store).get("latest")
    return {sweep.point_label(i): run.epochs()[-1]["recon_loss"] for i, run in enumerate(sweep.runs(store))}


def _children(pid: int) -> list[tuple[int, bytes]]:
    """(pid, command line) of each child of PID."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append((int(entry.name), cmd))
    return found


def workers_of(pid: int) -> list[int]:
    """The sweep's worker processes: forks of the fork server that the sweep of PID started."""
    servers = [child for child, cmd in _children(pid) if b"multiprocessing.forkserver" in cmd]
    return [worker for server in servers for worker, _ in _children(server)]


def test_two_workers_give_the_serial_numbers_and_every_epoch_once(tmp_path):
    out = finished(glo(*SWEEP, "--workers", "2", "--runs-dir", str(tmp_path / "par")))
    assert "3 runs (sigma 0.1, 0.5, 2), 2 at once" in out and "sweep completed: 3/3" in out
    finished(glo(*SWEEP, "--workers", "1", "--runs-dir", str(tmp_path / "ser")))
    store = RunStore(tmp_path / "par")
    for run in SweepStore(store).get("latest").runs(store):
        assert run.status() == "completed" and epochs_of(run) == [1, 2, 3, 4, 5, 6]
    # one thread each, as the serial sweep's: the same numbers bit for bit
    assert finals(tmp_path / "par") == finals(tmp_path / "ser")


def test_a_killed_worker_is_replaced_and_its_point_goes_on_from_its_checkpoint(tmp_path):
    root = tmp_path / "runs"
    proc = glo(*SWEEP[:-len(BASE)], *BASE[:1], "40", *BASE[2:], "--workers", "2", "--runs-dir", str(root))
    checkpointed = lambda: list(root.glob("*/checkpoint.pt"))  # noqa: E731
    wait_until(lambda: checkpointed() and len(workers_of(proc.pid)) == 2, what="a point's first checkpoint")
    victim = wait_until(lambda: workers_of(proc.pid), what="workers")[0]
    os.kill(victim, signal.SIGKILL)
    out = finished(proc)
    assert "its worker died: resuming from its checkpoint" in out and "sweep completed: 3/3" in out
    store = RunStore(root)
    for run in SweepStore(store).get("latest").runs(store):
        assert run.status() == "completed" and epochs_of(run) == list(range(1, 41))  # each epoch once


def test_ctrl_c_stops_every_point_and_resume_completes_them(tmp_path):
    root = tmp_path / "runs"
    proc = glo(*SWEEP[:-len(BASE)], *BASE[:1], "400", *BASE[2:], "--workers", "2", "--runs-dir", str(root),
               start_new_session=True)
    wait_until(lambda: len(list(root.glob("*/checkpoint.pt"))) == 2, what="both points' first checkpoints")
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole process group
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    store = RunStore(root)
    sweep = SweepStore(store).get("latest")
    assert sweep.statuses(store)[:2] == ["stopped", "stopped"] and "glo sweep --resume" in out
    resumed = glo("sweep", "--resume", sweep.id, "--headless", "--workers", "2", "--epochs", "1",
                  "--runs-dir", str(root))
    out, err = resumed.communicate(timeout=60)
    assert resumed.returncode == 2 and "drop --epochs" in err  # a resume keeps the sweep's settings
    for run in sweep.runs(store):  # finish quickly: the runs were meant to be long
        cfg = run.read_config()
        cfg.epochs = 3
        run.write_config(cfg)
    sweep.base["epochs"] = 3
    sweep.save()
    finished(glo("sweep", "--resume", sweep.id, "--headless", "--workers", "2", "--runs-dir", str(root)))
    assert SweepStore(store).get(sweep.id).statuses(store) == ["completed"] * 3


@pytest.mark.parametrize("argv,message", [(["--workers", "-1"], "--workers must be"),
                                          (["--threads", "-2"], "threads must be >= 0"),
                                          (["--workers", "two"], "Invalid value for '--workers'")])
def test_bad_workers_or_threads_are_one_line_and_exit_2(tmp_path, argv, message):
    proc = glo(*SWEEP, *argv, "--runs-dir", str(tmp_path))
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and message in err and err.count("\n") == 1, err
    assert not (tmp_path / "sweeps").exists()

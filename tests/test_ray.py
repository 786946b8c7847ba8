"""Sweeps on a Ray cluster (glo sweep --ray): a real cluster on this machine, no mocks.

One cluster for the module: a head with no CPUs and two 1-CPU worker nodes, each `ray start
--block` in its own session, so that one node can be killed alone. Ray runs offline (no usage
stats, no dashboard, token authentication with a fresh token, a small object store) and every
process of every node is killed at the end, even when a test fails. The driver is a real
`glo sweep` subprocess; the points train on the bundled data (40 images, one thread: exact).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import wait_until
from glo.config import RunConfig
from glo.store.runs import RunStore
from glo.sweep.manifest import SweepStore
from glo.sweep.run import run_sweep

pytest.importorskip("ray")
pytestmark = pytest.mark.slow  # a Ray cluster starts, nodes are killed, real drivers are interrupted

RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16),
           "RAY_memory_monitor_refresh_ms": "0", "RAY_DISABLE_DOCKER_CPU_WARNING": "1"}
STORE = "--object-store-memory=80000000"
BASE = ["--n-images", "40", "--batch-size", "10", "--device", "cpu", "--threads", "1"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Node:
    """One `ray start --block` in its own session: killing the session kills the node."""

    def __init__(self, args: list[str], log: Path) -> None:
        ray = str(Path(sys.executable).with_name("ray"))
        self.log = log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen([ray, "start", *args, "--block"], stdout=out, stderr=subprocess.STDOUT,
                                         env={**os.environ, **RAY_ENV}, start_new_session=True)
        deadline = time.monotonic() + 90
        while b"Ray runtime started" not in log.read_bytes():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"ray start failed: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.2)

    def pids(self) -> list[int]:
        """Every process of the node's session (Ray's workers leave its process group, not the session)."""
        found, sid = [], self.proc.pid
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[3]) == sid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
        return found

    def kill(self) -> None:
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """(address, [worker nodes]): the head has no CPUs, so points run on the two workers."""
    logs = tmp_path_factory.mktemp("ray-logs")
    port, nodes = _free_port(), []
    address = f"127.0.0.1:{port}"
    try:
        nodes.append(Node(["--head", f"--port={port}", "--node-ip-address=127.0.0.1", "--num-cpus=0",
                           "--include-dashboard=false", "--disable-usage-stats", STORE], logs / "head.log"))
        for n in (1, 2):  # one after another: two starting at once race for the same ports
            nodes.append(Node([f"--address={address}", "--node-ip-address=127.0.0.1", "--num-cpus=1", STORE],
                              logs / f"worker{n}.log"))
        yield address, nodes[1:]
    finally:
        for node in reversed(nodes):
            node.kill()


def glo(*args: str, env: dict | None = None, **kw) -> subprocess.Popen:
    env = {**os.environ, **RAY_ENV, "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.Popen([sys.executable, "-m", "glo", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def finished(proc: subprocess.Popen, timeout: float = 240) -> str:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out[-3000:] + err[-3000:]
    return out


def epochs_of(run) -> list[int]:
    return [r["epoch"] for r in run.read_metrics() if r["event"] == "epoch"]


def environment(run) -> list[dict]:
    return [json.loads(line) for line in run.file("environment.jsonl").read_text().splitlines()]


def latest(root: Path):
    store = RunStore(root)
    return store, SweepStore(store).get("latest")


def test_a_sweep_runs_across_both_nodes_with_the_numbers_of_a_local_sweep(cluster, tmp_path):
    address, _ = cluster
    root = tmp_path / "ray"
    out = finished(glo("sweep", "--param", "sigma", "--values", "0.1,0.5,1,2", "--epochs", "3", *BASE,
                       "--headless", "--ray", address, "--runs-dir", str(root)))
    assert f"4 runs (sigma 0.1, 0.5, 1, 2), on the Ray cluster at {address}" in " ".join(out.split())
    assert "sweep completed: 4/4" in out and out.count(": on node ") == 4
    store, sweep = latest(root)
    runs = sweep.runs(store)
    nodes = {environment(run)[0]["ray_node"] for run in runs}
    assert len(nodes) == 2  # both worker nodes trained points
    for run in runs:  # the driver wrote whole run folders
        assert run.status() == "completed" and epochs_of(run) == [1, 2, 3] and not run.file("running.json").exists()
        assert {"config.json", "metrics.jsonl", "checkpoint.pt", "images.npz", "recon.png", "summary.json",
                "environment.jsonl"} <= {p.name for p in run.path.iterdir()}
    # the same points trained here, one after another: the same numbers, bit for bit (one thread each)
    local = RunStore(tmp_path / "local")
    base = RunConfig.from_dict(sweep.base)
    here = SweepStore(local).create(base, sweep.params)
    for _ in run_sweep(here, local, workers=1):
        pass
    for ray_run, local_run in zip(runs, here.runs(local), strict=False):
        assert ray_run.epochs() and [
            {k: r[k] for k in ("train_loss", "recon_loss", "step")} for r in ray_run.epochs()] == [
            {k: r[k] for k in ("train_loss", "recon_loss", "step")} for r in local_run.epochs()]
        assert ray_run.file("images.npz").read_bytes() == local_run.file("images.npz").read_bytes()


def test_ctrl_c_stops_every_remote_point_and_resume_completes_them(cluster, tmp_path):
    address, _ = cluster
    root = tmp_path / "runs"
    proc = glo("sweep", "--param", "sigma", "--values", "0.1,2", "--epochs", "400", *BASE, "--headless",
               "--ray", address, "--runs-dir", str(root), start_new_session=True)
    wait_until(lambda: len(list(root.glob("*/checkpoint.pt"))) == 2, what="both points' first checkpoints")
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole process group
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, out[-2000:] + err[-2000:]
    store, sweep = latest(root)
    assert sweep.statuses(store) == ["stopped", "stopped"] and "glo sweep --resume" in out
    for run in sweep.runs(store):  # saved as stopped: a checkpoint, and epochs recorded once each
        epochs = epochs_of(run)
        assert epochs == list(range(1, len(epochs) + 1)) and run.read_summary()["status"] == "stopped"
        cfg = run.read_config()  # finish quickly: the runs were meant to be long
        cfg.epochs = epochs[-1] + 2
        run.write_config(cfg)
    finished(glo("sweep", "--resume", sweep.id, "--headless", "--ray", address, "--runs-dir", str(root)))
    for run in SweepStore(store).get(sweep.id).runs(store):
        assert run.status() == "completed" and epochs_of(run) == list(range(1, run.read_config().epochs + 1))
        assert [r["event"] for r in environment(run)] == ["start", "resume"]


def _steer(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "glo", *args], env={**os.environ, **RAY_ENV}, capture_output=True,
                          text=True, timeout=60, check=False)


def test_a_remote_sweep_is_steered_whole_and_point_by_point_from_another_terminal(cluster, tmp_path):
    """(Before the test that kills a node: both points must train at once.) glo sweeps
    pause/resume-training/stop act through the driver on every remote point; glo runs
    set/pause/resume-training on one point reach its copy on the worker, which answers in its metrics."""
    address, _ = cluster
    root = tmp_path / "runs"
    proc = glo("sweep", "--param", "sigma", "--values", "0.1,2", "--epochs", "400", *BASE, "--headless",
               "--ray", address, "--runs-dir", str(root))
    try:
        wait_until(lambda: len(list(root.glob("*/checkpoint.pt"))) == 2, what="both points' first checkpoints")
        store, sweep = latest(root)
        one, other = sweep.runs(store)
        where = ("--runs-dir", str(root), "--timeout", "20")
        result = _steer("runs", "set", one.id, "loss=l1", *where)
        assert result.returncode == 0 and "uses loss=l1" in result.stdout, result.stdout + result.stderr
        assert _steer("runs", "pause", one.id, *where).returncode == 0
        done = len(epochs_of(one))
        time.sleep(3)
        assert len(epochs_of(one)) <= done + 1 and one.status() == "running"  # paused alone
        assert _steer("runs", "resume-training", one.id, *where).returncode == 0
        wait_until(lambda: len(epochs_of(one)) > done + 1, what="the point going on")
        change = next(r for r in one.read_metrics() if r["event"] == "change")
        assert (change["param"], change["new"]) == ("loss", "l1") and change["from"].startswith("glo runs set")
        assert not [r for r in other.read_metrics() if r["event"] == "change"]  # the other point: untouched
        result = _steer("sweeps", "pause", sweep.id, *where)
        assert result.returncode == 0 and "every running point pauses" in result.stdout
        wait_until(lambda: all(any(r["event"] == "pause" for r in run.read_metrics()[-3:]) for run in (one, other)),
                   60, "both points paused")
        assert _steer("sweeps", "stop", sweep.id, *where).returncode == 0
        out, err = proc.communicate(timeout=120)
        assert sweep.statuses(store) == ["stopped", "stopped"], out[-2000:] + err[-2000:]
        assert _steer("sweeps", "stop", sweep.id, *where).returncode == 2
    finally:
        proc.kill()
        proc.wait()


def test_a_killed_node_s_point_goes_on_from_its_checkpoint_on_the_other_node(cluster, tmp_path):
    address, workers = cluster
    root = tmp_path / "runs"
    proc = glo("sweep", "--param", "sigma", "--values", "0.1,2", "--epochs", "15", *BASE, "--headless",
               "--ray", address, "--runs-dir", str(root))
    # a third epoch's metrics line comes after the second epoch's checkpoint (metrics, images, then
    # the checkpoint, mirrored in that order): each point then has a checkpoint of epoch 2 or later
    wait_until(lambda: all(len(epochs_of(r)) >= 3 for r in RunStore(root).runs()) and len(RunStore(root).runs()) == 2,
             what="both points past their third epoch")
    workers[0].kill()  # mid-point: each node trains one of the two
    out = finished(proc)
    assert "its worker died: resuming from its checkpoint" in out and "sweep completed: 2/2" in out
    store, sweep = latest(root)
    resumed = []
    for run in sweep.runs(store):
        assert run.status() == "completed" and epochs_of(run) == list(range(1, 16))  # each epoch once
        records = environment(run)
        if len(records) > 1:
            resumed.append(records)
    assert len(resumed) == 1
    start, resume = resumed[0]
    assert resume["event"] == "resume" and resume["epoch"] >= 2  # from its checkpoint, not from epoch 1
    assert resume["ray_node"] != start["ray_node"]


def test_an_unreachable_cluster_is_one_line_and_exit_2_and_writes_nothing(tmp_path):
    proc = glo("sweep", "--param", "sigma", "--values", "0.1,2", "--headless", "--ray", f"127.0.0.1:{_free_port()}",
               "--runs-dir", str(tmp_path / "runs"))
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "cannot reach the Ray cluster" in err and err.count("\n") == 1, err
    assert not (tmp_path / "runs").exists()


def test_ray_missing_is_one_line_naming_the_extra_and_exit_2(tmp_path):
    (tmp_path / "site").mkdir()  # a sitecustomize that makes `import ray` fail, as where it is not installed
    (tmp_path / "site" / "sitecustomize.py").write_text("import sys\nsys.modules['ray'] = None\n")
    env = {"PYTHONPATH": os.pathsep.join([str(tmp_path / "site"), os.environ.get("PYTHONPATH", "")])}
    proc = glo("sweep", "--param", "sigma", "--values", "0.1,2", "--headless", "--ray", "127.0.0.1:6379",
               "--runs-dir", str(tmp_path / "runs"), env=env)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and 'pip install "glo[ray]"' in err and err.count("\n") == 1, err
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("argv,message", [(["--gpus-per-run", "-0.5"], "--gpus-per-run must be 0 or more"),
                                          (["--gpus-per-run", "1.5"], "--gpus-per-run must be a fraction"),
                                          (["--gpus-per-run", "lots"], "Invalid value for '--gpus-per-run'"),
                                          (["--cpus-per-run", "0"], "--cpus-per-run must be more than 0")])
def test_bad_resources_per_run_are_one_line_and_exit_2(tmp_path, argv, message):
    proc = glo("sweep", "--param", "sigma", "--values", "0.1,2", "--headless", "--ray", "127.0.0.1:6379", *argv,
               "--runs-dir", str(tmp_path / "runs"))
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and message in err and err.count("\n") == 1, err
    assert not (tmp_path / "runs").exists()


def test_a_gpu_the_cluster_lacks_is_waited_for_and_wait_stops_the_sweep_resumable(cluster, tmp_path):
    address, _ = cluster  # an autoscaling cluster would add a GPU node: glo waits, says so, and --wait gives up
    proc = glo("sweep", "--param", "sigma", "--values", "0.1,2", "--headless", "--ray", address, *BASE,
               "--gpus-per-run", "0.25", "--wait", "2", "--runs-dir", str(tmp_path / "runs"))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 75, out[-2000:] + err[-2000:]
    assert "waiting for a node with 0.25 free GPUs: the cluster has 0 GPUs; add a node" in out
    said = " ".join(out.split())  # as one line, however rich wrapped it
    assert "sweep stopped: its points waited 2 s for a node (--wait); resume it with glo sweep --resume" in said
    assert f"--ray {address} --headless" in said
    store, sweep = latest(tmp_path / "runs")
    assert sweep.statuses(store) == ["pending", "pending"]


# --- a cluster whose worker nodes come and go: its own head, with no CPUs and no worker node at first ---

@pytest.fixture(scope="module")
def bare(tmp_path_factory):
    """(address, start a 1-CPU worker node: a Node): a head alone; each test adds the nodes it needs."""
    logs = tmp_path_factory.mktemp("ray-bare")
    port, nodes = _free_port(), []
    address = f"127.0.0.1:{port}"

    def add() -> Node:
        nodes.append(Node([f"--address={address}", "--node-ip-address=127.0.0.1", "--num-cpus=1", STORE],
                          logs / f"worker{len(nodes)}.log"))
        return nodes[-1]

    try:
        nodes.append(Node(["--head", f"--port={port}", "--node-ip-address=127.0.0.1", "--num-cpus=0",
                           "--include-dashboard=false", "--disable-usage-stats", STORE], logs / "head.log"))
        yield address, add
    finally:
        for node in reversed(nodes):
            node.kill()


def glo_to(out: Path, *args: str) -> subprocess.Popen:
    """glo in its own session, its output (stdout and stderr) to OUT, to be read while it runs."""
    with open(out, "w") as f:
        return subprocess.Popen([sys.executable, "-m", "glo", *args], stdout=f, stderr=subprocess.STDOUT, text=True,
                                env={**os.environ, **RAY_ENV, "PYTHONUNBUFFERED": "1"}, start_new_session=True)


def no_ray_text(out: str) -> None:
    """glo speaks, Ray does not: no colour escapes, no raylet or node-id lines in glo's output."""
    assert "\x1b[" not in out and "raylet" not in out.lower() and "node id" not in out.lower(), out[-3000:]


def test_a_sigterm_while_points_wait_for_a_node_stops_the_sweep_at_once(bare, tmp_path):
    address, _ = bare
    root, log = tmp_path / "runs", tmp_path / "out.txt"
    proc = glo_to(log, "sweep", "--param", "sigma", "--values", "0.1,2", "--epochs", "30", *BASE, "--headless",
                  "--ray", address, "--runs-dir", str(root))
    wait_until(lambda: "waiting for a node" in log.read_text(), timeout=60, what="the waiting line")
    assert "sigma0.1, sigma2: waiting for a node with 1 free CPU: the cluster has 0 CPUs; add a node" in log.read_text()
    start = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    wait_until(lambda: "sweep stopped" in log.read_text(), timeout=30, what="the sweep's end")
    stopped_in = time.monotonic() - start
    proc.wait(30)
    out = log.read_text()
    assert stopped_in < 2 and proc.returncode == 128 + signal.SIGTERM, out[-2000:]
    assert f"glo sweep --resume {latest(root)[1].id} --ray {address}" in " ".join(out.split())
    no_ray_text(out)


def test_after_the_last_node_died_a_new_node_takes_the_waiting_point_from_its_checkpoint(bare, tmp_path):
    address, add = bare
    first = add()
    root, log = tmp_path / "runs", tmp_path / "out.txt"
    proc = glo_to(log, "sweep", "--param", "sigma", "--values", "0.1,2", "--epochs", "200", *BASE, "--headless",
                  "--ray", address, "--runs-dir", str(root))
    wait_until(lambda: [len(epochs_of(r)) >= 3 for r in RunStore(root).runs()] == [True], what="a third epoch")
    first.kill()  # the cluster's last worker node
    wait_until(lambda: "the cluster has 0 CPUs" in log.read_text(), timeout=90, what="the waiting line")
    store, sweep = latest(root)
    for run in sweep.runs(store):  # finish quickly once a node is back: the runs were meant to be long
        cfg = run.read_config()
        cfg.epochs = len(epochs_of(run)) + 3
        run.write_config(cfg)
    add()
    proc.wait(240)
    out = log.read_text()
    assert proc.returncode == 0 and "sweep completed: 2/2" in out, out[-3000:]
    assert "a node of the cluster was lost" in out
    no_ray_text(out)
    records = environment(sweep.runs(store)[0])
    assert [r["event"] for r in records] == ["start", "resume"] and records[1]["epoch"] >= 2
    assert records[0]["ray_node"] != records[1]["ray_node"] and records[1]["ray_address"] == address

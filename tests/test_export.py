"""glo export tensorboard / csv, and --tensorboard DIR while training: the event files are read
back with a strict reader (tests/tbevents.py: TFRecord framing and CRCs, TensorBoard's protobufs)."""

from __future__ import annotations

import csv
import io
import json
import os

import pytest

from conftest import make_runs, small
from glo.cli.app import main
from glo.events import Finished
from glo.export.tensorboard import Sink, follow, live
from glo.store import notes
from glo.store.runs import RunStore
from glo.train.controls import Controls
from glo.train.loop import train
from tbevents import read_run


@pytest.fixture
def runs(tmp_path, split):
    return tmp_path / "runs", make_runs(tmp_path / "runs", split)


def cli(root, *argv) -> int:
    return main([*argv, "--runs-dir", str(root)])


def test_export_tensorboard_one_run_per_glo_run(runs, tmp_path, capsys):
    root, (a, _b, c) = runs
    logdir = tmp_path / "tb"
    assert cli(root, "export", "tensorboard", str(logdir), a, "--where", "status=stopped") == 0
    assert sorted(os.listdir(logdir)) == sorted([a, c])
    got = read_run(logdir / a)
    assert got["files"] == 1
    assert sorted(got["scalars"]["loss/recon_loss"]) == [1, 2]  # every epoch
    record = [json.loads(x) for x in (root / a / "metrics.jsonl").read_text().splitlines()][-1]
    assert got["scalars"]["loss/recon_loss"][2] == pytest.approx(record["recon_loss"], rel=1e-6)
    for tag in ("loss/train_loss", "quality/psnr", "live/sigma", "speed/images_per_s"):
        assert tag in got["scalars"]
    assert got["hparams"]["sigma"] == pytest.approx(0.1) and got["hparams"]["loss"] == "l1+l2"
    assert [s for s, _, _ in got["images"]["images/reconstructions"]] == [2]
    assert not [p for p in os.listdir(logdir) if p.startswith(".")]  # no temp folder left
    # exported again: the run's folder holds one file, not two copies of every point
    assert cli(root, "export", "tensorboard", str(logdir), a) == 0
    assert read_run(logdir / a)["files"] == 1


def test_export_tensorboard_bad_folders(runs, tmp_path, capsys, monkeypatch):
    root, (a, _, _) = runs
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert cli(root, "export", "tensorboard", str(afile), a) == 2
    assert "is a file" in capsys.readouterr().err
    locked = tmp_path / "locked"
    locked.mkdir()
    os.chmod(locked, 0o500)
    try:
        if os.access(locked, os.W_OK):  # root may write anywhere: the folder says it is read-only
            import glo.export.tensorboard as tb

            real = os.access
            monkeypatch.setattr(tb.os, "access", lambda p, mode: False if str(p) == str(locked) else real(p, mode))
        assert cli(root, "export", "tensorboard", str(locked / "tb"), a) == 2
        err = capsys.readouterr().err
        assert "not writable" in err and err.count("\n") == 1
        assert not (locked / "tb").exists()
    finally:
        os.chmod(locked, 0o700)


def test_export_csv_and_jsonl(runs, tmp_path, capsys):
    root, (a, b, c) = runs
    notes.tag(str(root / a), ["best"])
    out = tmp_path / "all.csv"
    assert cli(root, "export", "csv", str(out), a, b, c) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    epochs = {rid: len([x for x in (root / rid / "metrics.jsonl").read_text().splitlines() if '"epoch", "epoch"' in x])
              for rid in (a, b, c)}
    assert len(rows) == sum(epochs.values())
    first = rows[0]
    assert first["run"] == a and first["tags"] == "best" and first["sigma"] == "0.1" and first["epoch"] == "1"
    for col in ("sweep", "loss", "batch_size", "recon_loss", "train_loss", "psnr", "live_sigma"):
        assert col in first
    jl = tmp_path / "all.jsonl"
    assert cli(root, "export", "csv", str(jl), "--format", "jsonl", "--where", "tag=best") == 0
    lines = [json.loads(x) for x in jl.read_text().splitlines()]
    assert {x["run"] for x in lines} == {a} and lines[-1]["epoch"] == 2 and lines[-1]["sigma"] == 0.1
    assert cli(root, "export", "csv", str(tmp_path / "x.csv"), "--format", "xml", a) == 2
    assert cli(root, "export", "csv", str(tmp_path), a) == 2  # a folder
    assert cli(root, "export", "csv", str(tmp_path / "no" / "x.csv"), a) == 2
    assert cli(root, "export", "csv", str(tmp_path / "y.csv"), "--where", "tag=nothing") == 2
    assert not (tmp_path / "y.csv").exists()


def test_live_sink_writes_each_epoch_as_it_comes(tmp_path, split):
    store = RunStore(tmp_path / "runs")
    cfg = small(epochs=3)
    run = store.create(cfg)
    logdir = tmp_path / "live"
    controls = Controls()
    seen = []
    for ev in live(train(cfg, run, controls, split), logdir):
        if type(ev).__name__ == "Epoch":
            # flushed at each epoch: a reader sees it before the next epoch starts
            seen.append(sorted(read_run(logdir / run.id)["scalars"]["loss/recon_loss"]))
            if ev.epoch == 1:
                controls.set(sigma=0.9)
    assert seen == [[1], [1, 2], [1, 2, 3]]
    got = read_run(logdir / run.id)
    assert got["scalars"]["live/sigma"][3] == pytest.approx(0.9)
    assert any("sigma 0.3 -> 0.9" in t for _, t in got["texts"])
    assert [s for s, _, _ in got["images"]["images/reconstructions"]] == [0, 1, 2, 3]
    assert got["hparams"]["epochs"] == 3


def test_closing_the_wrapped_loop_still_saves_the_run(tmp_path, split):
    store = RunStore(tmp_path / "runs")
    cfg = small(epochs=3)
    run = store.create(cfg)
    events = follow(train(cfg, run, Controls(), split), Sink(tmp_path / "tb"))
    for ev in events:
        if type(ev).__name__ == "Epoch":
            break
    events.close()
    assert run.status() == "stopped" and run.has_checkpoint()


def test_glo_run_and_sweep_with_tensorboard(tmp_path, capsys):
    root, logdir = tmp_path / "runs", tmp_path / "tb"
    common = ["--epochs", "2", "--n-images", "20", "--batch-size", "10", "--threads", "1"]
    assert cli(root, "run", "--headless", *common, "--tensorboard", str(logdir)) == 0
    assert cli(root, "sweep", "--param", "sigma", "--values", "0.1,2", "--headless", "--workers", "2", *common,
               "--tensorboard", str(logdir)) == 0
    ids = sorted(os.listdir(logdir))
    assert len(ids) == 3 and sorted(os.listdir(root))[:3] == ids
    for rid in ids:
        assert sorted(read_run(logdir / rid)["scalars"]["loss/recon_loss"]) == [1, 2]
    (tmp_path / "afile").write_text("")
    assert cli(root, "run", "--headless", *common, "--tensorboard", str(tmp_path / "afile")) == 2
    assert len(os.listdir(root)) == 4  # 3 runs and the sweeps folder: nothing new


def test_a_failing_sink_never_stops_training(tmp_path, split, monkeypatch):
    store = RunStore(tmp_path / "runs")
    cfg = small(epochs=2)
    run = store.create(cfg)
    import glo.export.tensorboard as tb

    def broken(self, *a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tb.RunWriter, "epoch", broken)
    said = []
    final = list(live(train(cfg, run, Controls(), split), tmp_path / "tb", said.append))[-1]
    assert isinstance(final, Finished) and final.status == "completed"
    assert said and "No space left" in said[0]


def test_export_reads_runs_without_torch(runs, tmp_path):
    """glo export reads run folders without torch (tensorboardX would import it: 3 s)."""
    import subprocess
    import sys

    root, (a, _, _) = runs
    code = ("import sys\nfrom glo.cli.app import main\n"
            f"assert main(['export', 'tensorboard', {str(tmp_path / 'tb')!r}, {a!r}, "
            f"'--runs-dir', {str(root)!r}]) == 0\n"
            f"assert main(['export', 'csv', {str(tmp_path / 'a.csv')!r}, {a!r}, '--runs-dir', {str(root)!r}]) == 0\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert sorted(read_run(tmp_path / "tb" / a)["scalars"]["loss/recon_loss"]) == [1, 2]


def test_sink_of_a_cluster_point_reads_settings_from_the_drivers_runs_folder(tmp_path, split):
    """A Ray point's events name its folder on the worker; the driver's copy gives the hparams."""
    from glo.events import PointEvent

    store = RunStore(tmp_path / "driver")
    cfg = small(epochs=1, sigma=0.7)
    run = store.create(cfg)
    worker = RunStore(tmp_path / "worker")  # the point's private copy (elsewhere on a real cluster)
    copy = worker.create(cfg)
    sink = Sink(tmp_path / "tb", runs_root=store.root)
    for ev in train(cfg, copy, split=split):
        if type(ev).__name__ == "Started":
            ev = type(ev)(run.id, "/nowhere/" + run.id, *[getattr(ev, f) for f in ("epoch", "epochs",
                          "steps_per_epoch", "device", "resumed", "live")])
        sink.feed(PointEvent(0, run.id, ev))
    sink.close()
    got = read_run(tmp_path / "tb" / run.id)
    assert got["hparams"]["sigma"] == pytest.approx(0.7) and sorted(got["scalars"]["loss/recon_loss"]) == [1]

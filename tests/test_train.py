import json
import threading

import torch

from glo.config import RunConfig
from glo.events import (
    Changed,
    Checkpoint,
    Epoch,
    Finished,
    Images,
    Paused,
    Resumed,
    Started,
    Step,
)
from glo.model import checkpoint
from glo.store.runs import CHECKPOINT, RunStore
from glo.train.controls import Controls
from glo.train.loop import train


def collect(events):
    return list(events)


def test_loop_yields_typed_events_in_order(split, tiny_cfg):
    events = collect(train(tiny_cfg, split=split))
    assert isinstance(events[0], Started) and events[0].steps_per_epoch == 5
    steps = [e for e in events if isinstance(e, Step)]
    assert [s.step for s in steps] == list(range(1, 11))
    epochs = [e for e in events if isinstance(e, Epoch)]
    assert [e.epoch for e in epochs] == [1, 2]
    rec = epochs[-1].record
    for key in ("epoch", "elapsed_s", "train_loss", "recon_loss", "sigma", "decay", "loss_type", "images_per_s"):
        assert key in rec
    images = [e for e in events if isinstance(e, Images)]
    assert len(images) == 3  # before training and after each epoch
    assert images[-1].originals.shape == (10, 28, 28) and images[-1].reconstructions.dtype.name == "uint8"
    assert images[0].labels == tuple(range(10))
    assert isinstance(events[-1], Finished) and events[-1].status == "completed"


def test_training_reduces_loss(split):
    cfg = RunConfig(n_images=40, epochs=15, batch_size=8, device="cpu", threads=1)
    recs = [e.record for e in train(cfg, split=split) if isinstance(e, Epoch)]
    assert recs[-1]["recon_loss"] < 0.7 * recs[0]["recon_loss"]


def test_deterministic_on_cpu(split, tiny_cfg):
    a = [e.loss for e in train(tiny_cfg, split=split) if isinstance(e, Step)]
    b = [e.loss for e in train(tiny_cfg, split=split) if isinstance(e, Step)]
    assert a == b


def test_controls_from_another_thread(split, tmp_path):
    cfg = RunConfig(n_images=40, epochs=50, batch_size=8, device="cpu", threads=1)
    run = RunStore(tmp_path).create(cfg)
    controls = Controls()
    events = []
    first_step, changed = threading.Event(), threading.Event()

    def consume():
        for ev in train(cfg, run, controls, split):
            events.append(ev)
            if isinstance(ev, Step) and ev.step == 1:
                first_step.set()
            if isinstance(ev, Changed):
                changed.set()

    worker = threading.Thread(target=consume)
    worker.start()
    assert first_step.wait(30)
    controls.pause()
    controls.set(sigma=0.7, loss="l1")
    controls.resume()
    assert changed.wait(30)
    controls.stop()
    worker.join(30)
    assert not worker.is_alive()
    changes = {(e.param, e.new) for e in events if isinstance(e, Changed)}
    assert changes == {("sigma", 0.7), ("loss", "l1")}
    assert isinstance(events[-1], Finished) and events[-1].status == "stopped"
    lines = [json.loads(line) for line in run.file("metrics.jsonl").read_text().splitlines()]
    assert {(r["param"], r["new"]) for r in lines if r["event"] == "change"} == changes
    assert json.loads(run.file("summary.json").read_text())["status"] == "stopped"
    state = checkpoint.load(run.file(CHECKPOINT))
    assert state["live"]["sigma"] == 0.7 and state["live"]["loss"] == "l1"


def test_pause_blocks_until_resumed(split, tiny_cfg):
    controls = Controls()
    controls.pause()
    gen = train(tiny_cfg, controls=controls, split=split)
    seen = []
    threading.Timer(0.3, controls.resume).start()
    for ev in gen:
        seen.append(type(ev))
        if ev.__class__ is Step:
            break
    assert Paused in seen and Resumed in seen
    gen.close()


def test_stop_then_resume_matches_uninterrupted_run(split, tmp_path):
    cfg = RunConfig(n_images=40, epochs=3, batch_size=8, device="cpu", threads=1)
    full = [e.record["recon_loss"] for e in train(cfg, split=split) if isinstance(e, Epoch)]

    run = RunStore(tmp_path).create(cfg)
    controls = Controls()
    for ev in train(cfg, run, controls, split):
        if isinstance(ev, Step) and ev.step == 7:  # mid-way through epoch 2
            controls.stop()
    assert json.loads(run.file("summary.json").read_text())["status"] == "stopped"
    events = list(train(cfg, run, Controls(), split, resume=True))
    assert events[0].resumed and events[0].epoch == 1
    assert isinstance(events[-1], Finished) and events[-1].status == "completed"
    resumed = [r["recon_loss"] for r in run.epochs()]
    assert len(resumed) == 3
    assert resumed == full  # bit-identical on the CPU


def test_failure_is_reported_not_raised(split, tmp_path, monkeypatch):
    import glo.train.loop as train_mod

    real, calls = train_mod.objective, []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 7:
            raise RuntimeError("injected fault")
        return real(*args, **kwargs)

    monkeypatch.setattr(train_mod, "objective", flaky)
    cfg = RunConfig(n_images=40, epochs=3, batch_size=8, device="cpu", threads=1)
    run = RunStore(tmp_path).create(cfg)
    events = list(train(cfg, run, split=split))
    fin = events[-1]
    assert isinstance(fin, Finished) and fin.status == "failed"
    assert fin.error == "RuntimeError: injected fault"
    summary = json.loads(run.file("summary.json").read_text())
    assert summary["status"] == "failed" and summary["epochs_done"] == 1
    assert not run.file("running.json").exists()


def test_checkpoint_rebuilds_model(split, tmp_path, tiny_cfg):
    run = RunStore(tmp_path).create(tiny_cfg)
    ck = [e for e in train(tiny_cfg, run, split=split) if isinstance(e, Checkpoint)]
    assert ck and ck[-1].epoch == 2
    model, cfg = checkpoint.build_model(checkpoint.load(ck[-1].path))
    assert cfg.epochs == 2
    out, _ = model(torch.arange(3), torch.tensor([0, 1, 2]))
    assert out.shape == (3, 1, 28, 28)

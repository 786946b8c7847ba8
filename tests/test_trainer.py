"""The Trainer on its own: no run folder, no controls, no front end."""

import torch

from glo.events import Step
from glo.model import checkpoint
from glo.train.loop import train
from glo.train.trainer import Trainer

STATE_KEYS = ["config", "model_args", "model", "optimizer", "rng", "live", "epoch", "step", "batch_pos", "perm",
              "elapsed_s", "best_recon_loss"]


def run_steps(trainer: Trainer, steps: int | None = None) -> list[float]:
    """Train until ``steps`` more steps were taken (or to the end); returns their losses."""
    losses = []
    for epoch in trainer.epochs_left():
        for b in trainer.start_epoch(epoch):
            losses.append(trainer.train_batch(b).loss)
            if steps is not None and len(losses) == steps:
                return losses
        trainer.end_epoch()
    return losses


def test_trainer_alone_matches_the_loop_and_writes_nothing(split, tiny_cfg, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = torch.get_num_threads()
    torch.set_num_threads(tiny_cfg.threads)  # as the loop sets them (glo.host.threads): the sums split alike
    try:
        trainer = Trainer(tiny_cfg, split)
        losses = run_steps(trainer)
    finally:
        torch.set_num_threads(before)
    assert losses == [e.loss for e in train(tiny_cfg, split=split) if isinstance(e, Step)]
    assert trainer.epoch_done == 2 and trainer.step == 10 and trainer.last_record["epoch"] == 2
    assert trainer.reconstructions().shape == (10, 28, 28)
    assert list(tmp_path.iterdir()) == []


def test_state_dict_restore_round_trip_continues_exactly(split, tiny_cfg, tmp_path):
    full = run_steps(Trainer(tiny_cfg, split))
    first = Trainer(tiny_cfg, split)
    head = run_steps(first, 7)  # mid-way through epoch 2
    state = first.state_dict()
    assert list(state) == STATE_KEYS and state["batch_pos"] == 2 and state["step"] == 7
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(checkpoint.to_bytes(state))
    resumed = Trainer(tiny_cfg, split, state=checkpoint.load(path))
    assert (resumed.epoch_done, resumed.step, resumed.batch_pos) == (1, 7, 2)
    tail = run_steps(resumed)
    assert head + tail == full  # bit-identical on the CPU
    assert resumed.state_dict()["epoch"] == 2


def test_live_changes_apply_in_order_and_sigma_zero_draws_no_noise(split, tiny_cfg):
    trainer = Trainer(tiny_cfg, split)
    trainer.start_epoch(1)
    records = list(trainer.apply_changes({"sigma": 0.0, "decay": tiny_cfg.decay, "loss": "l1"}))
    assert [(r["param"], r["old"], r["new"], r["step"]) for r in records] == [
        ("sigma", tiny_cfg.sigma, 0.0, 1), ("loss", tiny_cfg.loss, "l1", 1)]
    assert trainer.live == {"sigma": 0.0, "decay": tiny_cfg.decay, "loss": "l1"}
    before = trainer.rng.get_state()
    trainer.train_batch(0)
    assert torch.equal(trainer.rng.get_state(), before)
    record = trainer.end_epoch()
    assert record["sigma"] == 0.0 and record["loss_type"] == "l1" and trainer.batch_pos == 0

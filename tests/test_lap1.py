"""--loss lap1: the GLO paper's Laplacian-pyramid L1, a training loss like the others and switchable
while a run trains."""

import json

import pytest
import torch

from glo.config import RunConfig
from glo.events import Changed, Epoch
from glo.model.losses import lap1, laplacian_pyramid, recon_loss
from glo.store.runs import RunStore
from glo.train.controls import Controls, validate_live
from glo.train.loop import train


def test_pyramid_bands_sum_back_to_the_image_scale_by_scale():
    x = torch.rand(2, 3, 32, 32)
    levels = laplacian_pyramid(x)
    assert [t.shape[-1] for t in levels] == [32, 16, 8, 4]
    assert torch.allclose(levels[0].mean(), torch.tensor(0.0), atol=0.05)  # a band-pass has ~no mean


def test_lap1_is_zero_on_equal_images_and_weighs_edges_more_than_l1():
    torch.manual_seed(0)
    sharp = (torch.rand(4, 1, 28, 28) > 0.5).float()
    flat = sharp.mean(dim=(2, 3), keepdim=True).expand_as(sharp)  # the same mean, no edges
    shifted = sharp * 0.8 + 0.1  # the edges kept, a contrast change
    assert lap1(sharp, sharp).item() == 0.0
    assert recon_loss(flat, sharp, "lap1") > recon_loss(shifted, sharp, "lap1")
    # L1 finds the blank image closer than Lap1 does, relative to the contrast change
    ratio_l1 = recon_loss(flat, sharp, "l1") / recon_loss(shifted, sharp, "l1")
    ratio_lap = recon_loss(flat, sharp, "lap1") / recon_loss(shifted, sharp, "lap1")
    assert ratio_lap > ratio_l1


def test_lap1_has_gradients():
    out = torch.rand(2, 3, 16, 16, requires_grad=True)
    lap1(out, torch.rand(2, 3, 16, 16)).backward()
    assert out.grad is not None and torch.isfinite(out.grad).all() and out.grad.abs().sum() > 0


def test_lap1_is_a_live_loss():
    assert validate_live("loss", "lap1") == "lap1"
    RunConfig(loss="lap1").validate()


def test_switching_to_lap1_while_training(tmp_path, split):
    cfg = RunConfig(n_images=40, epochs=2, batch_size=8, device="cpu", threads=1)
    run = RunStore(tmp_path).create(cfg)
    controls = Controls()
    changes, epochs = [], []
    for ev in train(cfg, run, controls, split):
        if isinstance(ev, Epoch):
            epochs.append(ev.record)
            controls.set(loss="lap1")
        elif isinstance(ev, Changed):
            changes.append(ev)
    assert [(c.param, c.old, c.new) for c in changes] == [("loss", "l1+l2", "lap1")]
    assert [r["loss_type"] for r in epochs] == ["l1+l2", "lap1"]
    lines = [json.loads(x) for x in run.file("metrics.jsonl").read_text().splitlines()]
    assert any(r.get("event") == "change" and r["new"] == "lap1" for r in lines)


@pytest.mark.parametrize("loss", ["l1", "l2", "l1+l2"])
def test_the_other_losses_are_unchanged(loss):
    a, b = torch.rand(3, 1, 28, 28), torch.rand(3, 1, 28, 28)
    diff = a - b
    expected = {"l1": diff.abs().mean(), "l2": diff.pow(2).mean(), "l1+l2": diff.abs().mean() + diff.pow(2).mean()}
    assert torch.equal(recon_loss(a, b, loss), expected[loss])

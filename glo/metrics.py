"""Reconstruction losses and noise-free evaluation over a whole image set."""

from __future__ import annotations

import math

import torch

from glo.model import GLO


def recon_loss(output: torch.Tensor, target: torch.Tensor, loss_type: str) -> torch.Tensor:
    """Training reconstruction loss: mean L1, mean squared error, or their sum."""
    diff = output - target
    if loss_type == "l1":
        return diff.abs().mean()
    if loss_type == "l2":
        return diff.pow(2).mean()
    if loss_type == "l1+l2":
        return diff.abs().mean() + diff.pow(2).mean()
    raise ValueError(f"unknown loss {loss_type!r}")


@torch.inference_mode()
def evaluate(model: GLO, images: torch.Tensor, labels: torch.Tensor, chunk: int = 500) -> dict[str, float]:
    """Noise-free reconstruction of every image: mean L1, mean L2, their sum, and PSNR (dB)."""
    was_training = model.training
    model.eval()
    l1 = l2 = 0.0
    n = len(images)
    for start in range(0, n, chunk):
        index = torch.arange(start, min(n, start + chunk), device=images.device)
        out, _ = model(index, labels[index])
        diff = out - images[index]
        l1 += diff.abs().sum().item()
        l2 += diff.pow(2).sum().item()
    model.train(was_training)
    return scores(l1, l2, images.numel())


def scores(l1_sum: float, l2_sum: float, pixels: int) -> dict[str, float]:
    """The reported metrics from summed absolute and squared errors over ``pixels`` pixels.

    One definition for training images and for new images fitted later, so they compare.
    """
    l1, l2 = l1_sum / pixels, l2_sum / pixels
    psnr = 10 * math.log10(1.0 / l2) if l2 > 0 else float("inf")
    return {"recon_loss": l1 + l2, "recon_l1": l1, "recon_l2": l2, "psnr": psnr}


@torch.inference_mode()
def reconstruct(model: GLO, index: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Noise-free reconstructions of the given training images (float, K x 1 x 28 x 28)."""
    was_training = model.training
    model.eval()
    out, _ = model(index, labels)
    model.train(was_training)
    return out

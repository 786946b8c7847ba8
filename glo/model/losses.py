"""Reconstruction losses and noise-free evaluation over a whole image set."""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from glo.imaging.shown import as_tensor
from glo.model.nets import GLO

_BLUR = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16  # binomial 5-tap, close to a Gaussian
LAP_MIN = 4  # the pyramid stops before a level would be smaller than this many pixels


def _blur(x: torch.Tensor) -> torch.Tensor:
    """A separable 5x5 Gaussian blur of every channel, edges reflected."""
    c = x.shape[1]
    k = _BLUR.to(x.device, x.dtype)
    x = F.pad(x, (2, 2, 2, 2), mode="reflect")
    x = F.conv2d(x, k.view(1, 1, 1, 5).expand(c, 1, 1, 5), groups=c)
    return F.conv2d(x, k.view(1, 1, 5, 1).expand(c, 1, 5, 1), groups=c)


def laplacian_pyramid(x: torch.Tensor, levels: int = 5) -> list[torch.Tensor]:
    """Band-pass levels of N x C x H x W images, finest first (each: the image minus its blurred,
    halved and re-enlarged self), then the low-pass rest; at most LEVELS bands."""
    bands = []
    for _ in range(levels):
        if min(x.shape[-2:]) // 2 < LAP_MIN:
            break
        low = _blur(x)[..., ::2, ::2]
        bands.append(x - F.interpolate(low, size=x.shape[-2:], mode="bilinear", align_corners=False))
        x = low
    return [*bands, x]


def lap1(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The GLO paper's Laplacian-pyramid L1 (Bojanowski et al. 2018, eq. 3): the sum over pyramid
    levels j of 2^(2j) |L_j(x) - L_j(x')|_1, divided by the image's pixels, i.e. each level's mean
    absolute difference, summed. Edges (the fine bands) count as much as the coarse layout."""
    levels = zip(laplacian_pyramid(output), laplacian_pyramid(target), strict=True)
    return sum(((a - b).abs().mean() for a, b in levels),
               output.new_zeros(()))


def recon_loss(output: torch.Tensor, target: torch.Tensor, loss_type: str) -> torch.Tensor:
    """Training reconstruction loss: mean L1, mean squared error, their sum, or Lap1."""
    if loss_type == "lap1":
        return lap1(output, target)
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
    """Noise-free reconstruction of every image: mean L1, mean L2, their sum, and PSNR (dB). IMAGES
    are floats N x C x H x W in [0, 1], or uint8 as a Split holds them (N x H x W or N x H x W x 3:
    made floats one chunk at a time, so the set is never held as floats)."""
    was_training = model.training
    model.eval()
    l1 = l2 = 0.0
    n = len(images)
    for start in range(0, n, chunk):
        index = torch.arange(start, min(n, start + chunk), device=images.device)
        out, _ = model(index, labels[index])
        target = images[start:start + chunk]
        diff = out.float() - (as_tensor(target, target.device) if target.dtype == torch.uint8 else target)
        l1 += diff.abs().sum().item()
        l2 += diff.pow(2).sum().item()
    model.train(was_training)
    return scores(l1, l2, images.numel())  # uint8 N x H x W (x 3): as many pixels as N x C x H x W


def scores(l1_sum: float, l2_sum: float, pixels: int) -> dict[str, float]:
    """The reported metrics from summed absolute and squared errors over ``pixels`` pixels.

    One definition for training images and for new images fitted later, so they compare.
    """
    l1, l2 = l1_sum / pixels, l2_sum / pixels
    psnr = 10 * math.log10(1.0 / l2) if l2 > 0 else float("inf")
    return {"recon_loss": l1 + l2, "recon_l1": l1, "recon_l2": l2, "psnr": psnr}


@torch.inference_mode()
def reconstruct(model: GLO, index: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Noise-free reconstructions of the given training images (float, K x C x H x W)."""
    was_training = model.training
    model.eval()
    out: torch.Tensor = model(index, labels)[0]
    model.train(was_training)
    return out

"""What a trained GLO model's latent space does: codes for new images, style transfer, samples.

GLO has no encoder: an image the model never trained on gets a content code only by fitting one
with the generator frozen. How well that fits (against the same fit on training images) is how
well the generator generalises. Swapping class codes under a fixed content code shows whether
the content code holds style rather than class, and a Gaussian fitted to the learnt content
codes (as in the GLO paper) turns the model into a sampler.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import torch

from glo.data.sets import Split, balanced_indices
from glo.imaging.shown import as_tensor, to_uint8
from glo.model.losses import scores
from glo.model.nets import GLO, project_to_ball_
from glo.store.analyses import FIT_BATCH, FIT_LR, FIT_STEPS  # the measured defaults

Images = np.ndarray | torch.Tensor  # uint8 N x H x W (x 3) (as a Split holds them) or floats N x C x H x W
Labels = Sequence[int] | np.ndarray | torch.Tensor


def balanced_subset(images: np.ndarray, labels: np.ndarray, n: int,
                    n_classes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The first images of each class, n in all, class-balanced (fewer if a class runs short).

    Balanced so a score does not drift with the class mix; the first of each class so that every
    analysis of runs on the same data set fits the very same images.
    """
    classes = n_classes or (int(labels.max()) + 1 if len(labels) else 1)
    per_class = int(np.bincount(labels, minlength=classes).min()) if len(labels) else 0
    if per_class > 0 and n >= classes:
        idx = balanced_indices(labels, min(n, per_class * classes), classes)
    else:  # some class has no image at all: balance is impossible, take the first n
        idx = np.arange(min(n, len(labels)))
    return images[idx], labels[idx]


def heldout_subset(split: Split, n: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``n`` held-out images (never trained on) and their labels, class-balanced."""
    return balanced_subset(split.heldout_images, split.heldout_labels, n, split.n_classes)


@contextmanager
def frozen(model: GLO) -> Iterator[GLO]:
    """The model in eval mode with every parameter's gradient off, restored afterwards, so code
    fitting can neither change nor accumulate gradients into the generator or the class codes."""
    flags = [p.requires_grad for p in model.parameters()]
    was_training = model.training
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    try:
        yield model
    finally:
        for p, flag in zip(model.parameters(), flags, strict=True):
            p.requires_grad_(flag)
        model.train(was_training)


def _device(model: GLO) -> torch.device:
    return next(model.parameters()).device


def _as_images(images: Images, device: torch.device) -> torch.Tensor:
    """N x C x H x W floats in [0, 1] from uint8 arrays (as a Split holds them) or float tensors."""
    if isinstance(images, np.ndarray) or images.dtype == torch.uint8:
        return as_tensor(images, device)
    if images.ndim == 3:
        images = images.unsqueeze(1)
    return images.to(device=device, dtype=torch.float32)


def _as_labels(labels: Labels, device: torch.device) -> torch.Tensor:
    return torch.as_tensor(np.asarray(labels) if not isinstance(labels, torch.Tensor) else labels,
                           dtype=torch.long).to(device)


def fit_content(model: GLO, images: Images, labels: Labels,
                steps: int = FIT_STEPS, lr: float = FIT_LR, radius: float = 2.0, batch_size: int = FIT_BATCH,
                seed: int = 0) -> torch.Tensor:
    """Fresh content codes (N x content_dim) fitted to ``images`` with the model frozen.

    Codes start at zero (the generator's class average for that class), Adam with a cosine-decayed
    learning rate on mean L1 + mean L2 (the reported measure), minibatches in a seeded order, and
    the run's radius projection after every step as in training. No noise: this asks how well
    the generator *can* draw the image, not how robust the code is.
    """
    device = _device(model)
    x, y = _as_images(images, device), _as_labels(labels, device)
    n = len(x)
    codes = torch.zeros(n, model.content_codes.embedding_dim, device=device, requires_grad=True)
    if n == 0 or steps <= 0:
        return codes.detach()
    opt = torch.optim.Adam([codes], lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)))
    gen = torch.Generator().manual_seed(seed)
    bs = min(batch_size, n)
    order = torch.empty(0, dtype=torch.long)
    with frozen(model), torch.enable_grad():
        class_code = model.class_codes.weight[y]
        for _ in range(steps):
            if len(order) < bs:  # a new pass over the images, in a fresh seeded order
                order = torch.cat([order, torch.randperm(n, generator=gen)])
            idx, order = order[:bs].to(device), order[bs:]
            diff = model.decode(class_code[idx], codes[idx]) - x[idx]
            loss = diff.abs().mean() + diff.pow(2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            if radius > 0:
                project_to_ball_(codes, radius)
    return codes.detach()


@torch.inference_mode()
def recon_scores(model: GLO, images: Images, labels: Labels, content: torch.Tensor,
                 chunk: int = 500) -> dict[str, float]:
    """Noise-free reconstruction metrics of ``images`` from the given content codes (as evaluate)."""
    device = _device(model)
    x, y = _as_images(images, device), _as_labels(labels, device)
    l1 = l2 = 0.0
    with frozen(model):
        for start in range(0, len(x), chunk):
            sl = slice(start, start + chunk)
            diff = model.decode(model.class_codes(y[sl]), content[sl].to(device)) - x[sl]
            l1 += diff.abs().sum().item()
            l2 += diff.pow(2).sum().item()
    return scores(l1, l2, max(x.numel(), 1))


def fit_heldout(model: GLO, images: Images, labels: Labels, steps: int = FIT_STEPS, lr: float = FIT_LR,
                radius: float = 2.0, batch_size: int = FIT_BATCH, seed: int = 0) -> dict[str, float]:
    """Fit content codes to images the model never trained on (or, as a baseline, to ones it did),
    then score the reconstructions: recon_loss (L1 + L2), recon_l1, recon_l2, psnr, and n."""
    codes = fit_content(model, images, labels, steps, lr, radius, batch_size, seed)
    return {**recon_scores(model, images, labels, codes), "n": len(codes)}


@torch.inference_mode()
def transfer_grid(model: GLO, content_codes: torch.Tensor) -> np.ndarray:
    """Each content code (a row) drawn with every class code (the columns): uint8 R x C x H x W (x 3).

    If the content code holds style, a row is one hand writing every digit.
    """
    device = _device(model)
    content = content_codes.to(device)
    rows, n_classes = len(content), model.class_codes.num_embeddings
    with frozen(model):
        classes = model.class_codes.weight.repeat(rows, 1)  # row-major: code r with classes 0..C-1
        images = model.decode(classes, content.repeat_interleave(n_classes, dim=0))
    out = to_uint8(images)
    return out.reshape(rows, n_classes, *out.shape[1:])


@torch.no_grad()
def sample_codes(model: GLO, n: int, seed: int = 0, ridge: float = 1e-3) -> torch.Tensor:
    """``n`` new content codes from a Gaussian fitted to the learnt ones (mean, full covariance).

    ``ridge`` (relative to the mean variance) keeps the covariance invertible when codes are few
    or collapsed. Drawn on the CPU from a seeded generator: the same seed gives the same codes.
    """
    codes = model.content_codes.weight.detach().cpu().double()
    mean = codes.mean(0)
    centred = codes - mean
    cov = centred.T @ centred / max(len(codes) - 1, 1)
    dim = cov.shape[0]
    cov += (ridge * cov.trace() / dim + 1e-12) * torch.eye(dim, dtype=cov.dtype)
    chol = torch.linalg.cholesky(cov)
    noise = torch.randn(n, dim, generator=torch.Generator().manual_seed(seed), dtype=cov.dtype)
    sampled: torch.Tensor = (mean + noise @ chol.T).float()
    return sampled


@torch.inference_mode()
def samples(model: GLO, labels: Labels, seed: int = 0) -> np.ndarray:
    """Novel images (uint8 N x H x W (x 3)): sampled content codes drawn with the given classes."""
    device = _device(model)
    y = _as_labels(labels, device)
    content = sample_codes(model, len(y), seed).to(device)
    with frozen(model):
        images = model.decode(model.class_codes(y), content)
    return to_uint8(images)

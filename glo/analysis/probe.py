"""Class-from-content probes: how much a digit's class can be read off its content codes.

GLO's noise and code constraint are meant to keep class information out of the content codes
(the class code carries it). A probe trained to predict the class from content codes measures
how far that worked: chance (1 / classes) means the content codes hold none of it.

Two probes, both cross-validated over the same stratified folds so that every number is a
held-out accuracy: a linear one (multinomial logistic regression, the usual disentanglement
measure) and a k-nearest-neighbour one, which also sees class information laid out non-linearly.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn import functional as F


def stratified_folds(labels: torch.Tensor, folds: int, seed: int = 0) -> torch.Tensor:
    """Fold number (0..folds-1) per sample: each class shuffled, then dealt round-robin, so every
    fold holds each class in the same proportion (within one sample)."""
    if folds < 2:
        raise ValueError(f"folds must be at least 2, got {folds}")
    if len(labels) < folds:
        raise ValueError(f"{len(labels)} samples cannot make {folds} folds")
    gen = torch.Generator().manual_seed(seed)
    fold = torch.empty(len(labels), dtype=torch.long)
    offset = 0
    for c in torch.unique(labels).tolist():
        idx = torch.nonzero(labels == c).flatten()
        idx = idx[torch.randperm(len(idx), generator=gen)]
        # continue the deal where the last class stopped, so small classes don't all land in fold 0
        fold[idx] = (torch.arange(len(idx)) + offset) % folds
        offset += len(idx)
    return fold


def _standardise(train: torch.Tensor, test: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Scale both with the training fold's statistics only (the test fold must stay unseen)."""
    mean, std = train.mean(0), train.std(0).clamp_min(1e-8)
    return (train - mean) / std, (test - mean) / std


def _fit_linear(x: torch.Tensor, y: torch.Tensor, n_classes: int, l2: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Multinomial logistic regression, full batch with L-BFGS: deterministic and, for a few
    thousand codes of a few dozen dimensions, converged in tens of milliseconds."""
    weight = torch.zeros(x.shape[1], n_classes, dtype=x.dtype, requires_grad=True)
    bias = torch.zeros(n_classes, dtype=x.dtype, requires_grad=True)
    opt = torch.optim.LBFGS([weight, bias], lr=1.0, max_iter=200, tolerance_grad=1e-6,
                            line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(x @ weight + bias, y) + l2 * weight.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return weight.detach(), bias.detach()


# predict(x_train, y_train, x_test, n_classes): the predicted classes of x_test
Predictor = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, int], torch.Tensor]


def cross_validated(codes: torch.Tensor, labels: torch.Tensor, predict: Predictor, folds: int = 5,
                    seed: int = 0) -> float:
    """Mean accuracy over stratified folds of ``predict(x_train, y_train, x_test, n_classes)``,
    with features standardised by the training fold's mean and spread."""
    x, y = _as_inputs(codes, labels)
    n_classes = int(y.max()) + 1
    fold = stratified_folds(y, folds, seed)
    correct = 0.0
    for f in range(folds):
        train, test = fold != f, fold == f
        xtr, xte = _standardise(x[train], x[test])
        correct += (predict(xtr, y[train], xte, n_classes) == y[test]).double().mean().item()
    return correct / folds


def probe_accuracy(codes: torch.Tensor, labels: torch.Tensor, folds: int = 5, seed: int = 0,
                   l2: float = 1e-3) -> float:
    """Mean held-out-fold accuracy of a linear classifier predicting ``labels`` from ``codes``."""
    def predict(xtr: torch.Tensor, ytr: torch.Tensor, xte: torch.Tensor, n_classes: int) -> torch.Tensor:
        with torch.enable_grad():
            weight, bias = _fit_linear(xtr, ytr, n_classes, l2)
        return (xte @ weight + bias).argmax(1)

    return cross_validated(codes, labels, predict, folds, seed)


def knn_accuracy(codes: torch.Tensor, labels: torch.Tensor, k: int = 10, folds: int = 5, seed: int = 0) -> float:
    """Mean held-out-fold accuracy of a k-nearest-neighbour vote (standardised Euclidean distance).

    A linear probe at chance does not prove the class is gone: it may sit in the codes along
    curved boundaries. The neighbour vote catches that.
    """
    def predict(xtr: torch.Tensor, ytr: torch.Tensor, xte: torch.Tensor, n_classes: int) -> torch.Tensor:
        near = torch.cdist(xte, xtr).topk(min(k, len(xtr)), largest=False).indices
        votes = F.one_hot(ytr[near], n_classes).sum(1)  # ties go to the lower class
        return votes.argmax(1)

    return cross_validated(codes, labels, predict, folds, seed)


def _as_inputs(codes: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    codes = torch.as_tensor(codes).detach().cpu().double()
    labels = torch.as_tensor(labels).detach().cpu().long()
    if codes.ndim != 2 or labels.ndim != 1 or len(codes) != len(labels):
        raise ValueError(f"codes must be N x D and labels N; got {tuple(codes.shape)} and {tuple(labels.shape)}")
    return codes, labels

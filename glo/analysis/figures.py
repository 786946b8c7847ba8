"""Figures of a trained run as arrays, built once for every place that shows them.

The transfer grid: source training images, and each one's content code drawn with every class
code (``glo.analysis.latent.transfer_grid``), over all the data set's classes (views fold long rows).
``glo transfer`` and the console draw it in the terminal, ``--png`` and ``scripts/results.py`` write
it as a PNG; all of them take it from here. torch loads only when a grid is built.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from glo.analysis.analyze import Trained


@dataclass
class TransferRows:
    """Source images and their content codes drawn as every class (uint8 arrays)."""

    labels: list[int]  # each source image's class
    sources: np.ndarray  # R x H x W (x 3): the training images
    drawn: np.ndarray  # R x C x H x W (x 3): source r's content code with class code c
    classes: tuple[str, ...] = ()  # class names by label (empty: the labels themselves)

    def name(self, label: int) -> str:
        return self.classes[label] if label < len(self.classes) else str(label)

    @property
    def span(self) -> str:
        """The classes a row is drawn as, for titles: '0..9', or 'all 10 classes' for named ones."""
        n = self.drawn.shape[1]
        if not self.classes or list(self.classes) == [str(c) for c in range(n)]:
            return f"0..{n - 1}"
        return f"all {n} classes"

    @property
    def full(self) -> np.ndarray:
        """R x (1 + C) x H x W: each row's source first, then it drawn as every class."""
        import numpy as np

        return np.concatenate([self.sources[:, None], self.drawn], axis=1)

    def titled(self, title: str = "a {label} -> {classes}", with_source: bool = True) -> list[tuple[str, np.ndarray]]:
        """(TITLE with the source's class name and the classes drawn filled in, the row) per
        source; WITH_SOURCE: the row starts with its source image."""
        images = self.full if with_source else self.drawn
        return [(title.format(label=self.name(label), classes=self.span), row)
                for label, row in zip(self.labels, images, strict=False)]


def transfer_rows(trained: Trained, n: int = 6, indices: Sequence[int] | None = None) -> TransferRows:
    """The transfer grid of a trained run (``glo.analysis.analyze.load_trained``): N training images, one
    of each class first (as the run shows its reconstructions), or the images at INDICES."""
    import numpy as np

    from glo.analysis.latent import transfer_grid
    from glo.imaging.shown import display_indices

    split, model = trained.split, trained.model
    idx = display_indices(split.labels, min(n, len(split.labels))) if indices is None else np.asarray(indices)
    drawn = transfer_grid(model, model.content_codes.weight[idx].detach())
    return TransferRows([int(split.labels[i]) for i in idx], split.images[idx], drawn, tuple(split.classes))


def sample_grid(trained: Trained, classes: Sequence[int], n: int, seed: int = 0) -> np.ndarray:
    """Novel images of a trained run: N content codes drawn from a Gaussian fitted to the learnt
    ones (``glo.analysis.latent.samples``) for each of CLASSES, as a len(CLASSES) x N x H x W (x 3) uint8 grid."""
    from glo.analysis.latent import samples

    drawn = samples(trained.model, [c for c in classes for _ in range(n)], seed)
    return drawn.reshape(len(classes), n, *drawn.shape[1:])

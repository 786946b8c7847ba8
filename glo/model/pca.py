"""Content codes from a PCA of the training images (``--init pca``, as tneumann/minimal_glo starts).

The principal axes come from an evenly spaced sample of at most ``SAMPLE`` images, fewer for large
images so the sample's floats stay near ``BUDGET`` bytes (a full SVD of 50,000 x 3,072 floats would
need a float copy of the whole set); every image is then projected onto them one chunk at a time,
from its uint8 pixels. The codes are scaled by one factor so their
root-mean-square length is the code ball's radius (as the random init's are), then projected into
the ball: their geometry is the images', their scale the codes'.
"""

from __future__ import annotations

import numpy as np
import torch

from glo.imaging.shown import as_tensor
from glo.model.nets import project_to_ball_

SAMPLE = 4096  # images whose SVD gives the principal axes (all of them when there are fewer)
BUDGET = 64 << 20  # bytes of float32 pixels in that sample at most (64x64 colour: 1,365 images)
CHUNK = 256  # images made floats at a time when projecting


def _flat(images: np.ndarray) -> torch.Tensor:
    """uint8 images (N x H x W or N x H x W x 3) as floats N x (C*H*W) in [0, 1]."""
    return as_tensor(images).flatten(1)


@torch.no_grad()
def pca_codes(images: np.ndarray, dim: int, radius: float) -> torch.Tensor:
    """N x DIM content codes: the images' coordinates on their DIM leading principal axes, scaled
    into the ball of RADIUS (0: 2.0). DIM must be at most the images and their pixels."""
    n = len(images)
    pixels = int(np.prod(images.shape[1:]))
    if not 1 <= dim <= min(n, pixels):
        raise ValueError(f"pca needs 1 <= content_dim <= min(images, pixels) = {min(n, pixels)}; got {dim}")
    size = min(n, max(dim, min(SAMPLE, BUDGET // (4 * pixels))))
    pick = np.unique(np.linspace(0, n - 1, num=size).round().astype(np.int64))
    sample = _flat(images[pick])
    mean = sample.mean(dim=0)
    _, _, vh = torch.linalg.svd(sample - mean, full_matrices=False)
    axes = vh[:dim].T  # pixels x dim
    codes = torch.cat([(_flat(images[s:s + CHUNK]) - mean) @ axes for s in range(0, n, CHUNK)])
    radius = radius or 2.0
    rms = codes.pow(2).sum(dim=1).mean().sqrt().clamp_min(1e-12)
    codes = codes * (radius / rms)
    project_to_ball_(codes, radius)
    return codes

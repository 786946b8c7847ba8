"""GLO modules: learnable class and content codes feeding a convolutional generator."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


@torch.no_grad()
def project_to_ball_(codes: torch.Tensor, radius: float) -> None:
    """Scale rows of ``codes`` longer than ``radius`` back onto the ball, in place.

    Shared by training and by fitting codes for new images, so both live in the same ball.
    """
    codes.mul_((radius / codes.norm(dim=1, keepdim=True).clamp_min(1e-12)).clamp(max=1.0))


class Generator(nn.Module):
    """Maps a latent vector to a 28x28 image in [0, 1]: Linear to 7x7 maps, two 2x up-convolutions."""

    def __init__(self, latent_dim: int, width: int = 64) -> None:
        super().__init__()
        self.width = width
        self.fc = nn.Linear(latent_dim, width * 7 * 7)
        self.up1 = nn.ConvTranspose2d(width, width // 2, kernel_size=4, stride=2, padding=1)  # 14x14
        self.up2 = nn.ConvTranspose2d(width // 2, 1, kernel_size=4, stride=2, padding=1)  # 28x28
        self.act = nn.LeakyReLU(0.2)
        # channels-last kernels run the transposed convolutions about 25% faster on CPU
        self.to(memory_format=torch.channels_last)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.act(self.fc(z)).view(-1, self.width, 7, 7)
        h = self.act(self.up1(h))
        return torch.sigmoid(self.up2(h))


class AdaINGenerator(Generator):
    """The same layers, but only the content code enters at the bottom; the class code sets the
    scale and bias of every instance-normalised feature map (adaptive instance norm, as in LORD).

    Instance norm removes each map's own mean and spread, so the content code can only decide
    *where* strokes go, and the class code decides how strongly each feature is drawn.
    """

    def __init__(self, class_dim: int, content_dim: int, width: int = 64) -> None:
        super().__init__(content_dim, width)
        self.sizes = (width, width // 2)
        self.style = nn.Linear(class_dim, 2 * sum(self.sizes))  # a scale and a bias per channel per map

    @staticmethod
    def adain(h: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        h = F.instance_norm(h, eps=1e-5)
        return h * (1 + scale[:, :, None, None]) + bias[:, :, None, None]

    def forward(self, class_code: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
        s1, b1, s2, b2 = self.style(class_code).split([self.sizes[0], self.sizes[0], self.sizes[1], self.sizes[1]], 1)
        h = self.fc(content).view(-1, self.width, 7, 7)
        h = self.act(self.adain(h, s1, b1))
        h = self.act(self.adain(self.up1(h), s2, b2))
        return torch.sigmoid(self.up2(h))


class GLO(nn.Module):
    """A class code (shared by a digit's images) and a content code per image, combined by
    concatenation (``concat``) or by the class code modulating the generator (``adain``)."""

    def __init__(
        self,
        n_images: int,
        n_classes: int = 10,
        class_dim: int = 25,
        content_dim: int = 25,
        width: int = 64,
        init_std: float = 0.4,
        combine: str = "concat",
    ) -> None:
        super().__init__()
        self.combine = combine
        self.class_codes = nn.Embedding(n_classes, class_dim)
        self.content_codes = nn.Embedding(n_images, content_dim)
        nn.init.normal_(self.class_codes.weight, std=init_std)
        nn.init.normal_(self.content_codes.weight, std=init_std)
        if combine == "concat":
            self.generator: nn.Module = Generator(class_dim + content_dim, width)
        elif combine == "adain":
            self.generator = AdaINGenerator(class_dim, content_dim, width)
        else:
            raise ValueError(f"unknown combine {combine!r}")

    def decode(self, class_code: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
        """Images from any class codes and content codes (one row each): the generator proper."""
        if self.combine == "adain":
            return self.generator(class_code, content)
        return self.generator(torch.cat([class_code, content], dim=1))

    def codes(self, index: torch.Tensor, label: torch.Tensor, noise: torch.Tensor | None = None):
        """(class codes, content codes fed to the generator, clean content codes) of a batch.

        ``noise`` (same shape as the content codes) is added to the content codes only; callers
        pass it while training and leave it out to reconstruct.
        """
        content = self.content_codes(index)
        return self.class_codes(label), content if noise is None else content + noise, content

    def forward(self, index: torch.Tensor, label: torch.Tensor, noise: torch.Tensor | None = None):
        class_code, fed, content = self.codes(index, label, noise)
        return self.decode(class_code, fed), content

    @torch.no_grad()
    def project_content_(self, radius: float) -> None:
        """Scale content codes longer than ``radius`` back onto the ball (GLO's code constraint).

        A bounded code makes sigma a noise-to-signal ratio: noise far larger than the code
        drowns it, and the generator falls back on the class code (the class average).
        """
        project_to_ball_(self.content_codes.weight, radius)

    def latent_parameters(self) -> list[nn.Parameter]:
        return [self.class_codes.weight, self.content_codes.weight]

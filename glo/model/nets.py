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


def layout(image_size: int, width: int) -> tuple[int, list[int]]:
    """(base side, feature channels per level) of a generator drawing IMAGE_SIZE pixels: a 7x7 or
    8x8 base doubled once per level, channels halving per level and ending at width // 2 (so the
    28x28 model is Linear to 64 x 7 x 7, then 64 -> 32 -> 1 channels, as it always was)."""
    for base in (7, 8):
        ups = (image_size // base).bit_length() - 1
        if ups >= 1 and base << ups == image_size:
            top = width << max(ups - 2, 0) if ups >= 2 else width // 2
            return base, [top >> i for i in range(ups)]
    raise ValueError(f"image size {image_size} is not 7 or 8 pixels doubled (14, 16, 28, 32, 56, 64, ...)")


class Generator(nn.Module):
    """Maps a latent vector to an image in [0, 1]: Linear to 7x7 (or 8x8) maps, then one 2x
    up-convolution per doubling up to ``image_size``, ``channels`` out (1 grey, 3 colour)."""

    def __init__(self, latent_dim: int, width: int = 64, image_size: int = 28, channels: int = 1) -> None:
        super().__init__()
        self.base, self.sizes = layout(image_size, width)
        self.width = self.sizes[0]
        self.fc = nn.Linear(latent_dim, self.width * self.base * self.base)
        outs = [*self.sizes[1:], channels]
        for i, (c_in, c_out) in enumerate(zip(self.sizes, outs, strict=True), start=1):  # up1, up2, ... (28x28: two)
            setattr(self, f"up{i}", nn.ConvTranspose2d(c_in, c_out, kernel_size=4, stride=2, padding=1))
        self.ups = [getattr(self, f"up{i}") for i in range(1, len(outs) + 1)]
        self.act = nn.LeakyReLU(0.2)
        # channels-last kernels run the transposed convolutions about 25% faster on CPU
        self.to(memory_format=torch.channels_last)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.act(self.fc(z)).view(-1, self.width, self.base, self.base)
        for up in self.ups[:-1]:
            h = self.act(up(h))
        return torch.sigmoid(self.ups[-1](h))


class AdaINGenerator(Generator):
    """The same layers, but only the content code enters at the bottom; the class code sets the
    scale and bias of every instance-normalised feature map (adaptive instance norm, as in LORD).

    Instance norm removes each map's own mean and spread, so the content code can only decide
    *where* strokes go, and the class code decides how strongly each feature is drawn.
    """

    def __init__(self, class_dim: int, content_dim: int, width: int = 64, image_size: int = 28,
                 channels: int = 1) -> None:
        super().__init__(content_dim, width, image_size, channels)
        self.style = nn.Linear(class_dim, 2 * sum(self.sizes))  # a scale and a bias per channel per map

    @staticmethod
    def adain(h: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        h = F.instance_norm(h, eps=1e-5)
        return h * (1 + scale[:, :, None, None]) + bias[:, :, None, None]

    # two codes in, where Generator takes one: GLO.decode calls each with its own arguments
    def forward(self, class_code: torch.Tensor, content: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        styles = self.style(class_code).split([s for s in self.sizes for _ in (0, 1)], 1)
        h = self.fc(content).view(-1, self.width, self.base, self.base)
        for i, up in enumerate([None, *self.ups[:-1]]):
            h = self.act(self.adain(h if up is None else up(h), styles[2 * i], styles[2 * i + 1]))
        return torch.sigmoid(self.ups[-1](h))


class GLO(nn.Module):
    """A class code (shared by a class's images) and a content code per image, combined by
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
        image_size: int = 28,
        channels: int = 1,
    ) -> None:
        super().__init__()
        self.combine = combine
        self.class_codes = nn.Embedding(n_classes, class_dim)
        self.content_codes = nn.Embedding(n_images, content_dim)
        nn.init.normal_(self.class_codes.weight, std=init_std)
        nn.init.normal_(self.content_codes.weight, std=init_std)
        if combine == "concat":
            self.generator: nn.Module = Generator(class_dim + content_dim, width, image_size, channels)
        elif combine == "adain":
            self.generator = AdaINGenerator(class_dim, content_dim, width, image_size, channels)
        else:
            raise ValueError(f"unknown combine {combine!r}")

    def decode(self, class_code: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
        """Images from any class codes and content codes (one row each): the generator proper."""
        images: torch.Tensor
        if self.combine == "adain":
            images = self.generator(class_code, content)
        else:
            images = self.generator(torch.cat([class_code, content], dim=1))
        return images

    def codes(self, index: torch.Tensor, label: torch.Tensor, noise: torch.Tensor | None = None
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(class codes, content codes fed to the generator, clean content codes) of a batch.

        ``noise`` (same shape as the content codes) is added to the content codes only; callers
        pass it while training and leave it out to reconstruct.
        """
        content = self.content_codes(index)
        return self.class_codes(label), content if noise is None else content + noise, content

    def forward(self, index: torch.Tensor, label: torch.Tensor, noise: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        class_code, fed, content = self.codes(index, label, noise)
        return self.decode(class_code, fed), content

    @torch.no_grad()
    def project_content_(self, radius: float) -> None:
        """Scale content codes longer than ``radius`` back onto the ball (GLO's code constraint).

        A bounded code makes sigma a noise-to-signal ratio: noise far larger than the code
        drowns it, and the generator falls back on the class code (the class average).
        """
        project_to_ball_(self.content_codes.weight, radius)

    def latent_parameters(self) -> list[torch.Tensor]:
        return [self.class_codes.weight, self.content_codes.weight]

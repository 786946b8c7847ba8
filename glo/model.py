"""GLO modules: learnable class and content codes feeding a convolutional generator."""

from __future__ import annotations

import torch
from torch import nn


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


class GLO(nn.Module):
    """A class code (shared by a digit's images) and a content code per image, concatenated."""

    def __init__(
        self,
        n_images: int,
        n_classes: int = 10,
        class_dim: int = 25,
        content_dim: int = 25,
        width: int = 64,
        init_std: float = 0.4,
    ) -> None:
        super().__init__()
        self.class_codes = nn.Embedding(n_classes, class_dim)
        self.content_codes = nn.Embedding(n_images, content_dim)
        nn.init.normal_(self.class_codes.weight, std=init_std)
        nn.init.normal_(self.content_codes.weight, std=init_std)
        self.generator = Generator(class_dim + content_dim, width)

    def latent(self, index: torch.Tensor, label: torch.Tensor, noise: torch.Tensor | None = None):
        """The generator input and the clean content codes (for the decay penalty).

        ``noise`` (same shape as the content codes) is added to the content codes only; callers
        pass it while training and leave it out to reconstruct.
        """
        content = self.content_codes(index)
        noisy = content if noise is None else content + noise
        return torch.cat([self.class_codes(label), noisy], dim=1), content

    def forward(self, index: torch.Tensor, label: torch.Tensor, noise: torch.Tensor | None = None):
        z, content = self.latent(index, label, noise)
        return self.generator(z), content

    @torch.no_grad()
    def project_content_(self, radius: float) -> None:
        """Scale content codes longer than ``radius`` back onto the ball (GLO's code constraint).

        A bounded code makes sigma a noise-to-signal ratio: noise far larger than the code
        drowns it, and the generator falls back on the class code (the class average).
        """
        w = self.content_codes.weight
        w.mul_((radius / w.norm(dim=1, keepdim=True).clamp_min(1e-12)).clamp(max=1.0))

    def latent_parameters(self) -> list[nn.Parameter]:
        return [self.class_codes.weight, self.content_codes.weight]

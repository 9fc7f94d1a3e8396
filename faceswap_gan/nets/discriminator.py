"""The conditional patch discriminator (spec §1.5): [image, warped input] (B, 6, R, R) -> (B, 1, 8, 8)
unbounded scores (least-squares GAN). Its width does not depend on the model's capacity."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from faceswap_gan.config import ModelConfig
from faceswap_gan.nets.blocks import ConvBlockD, SelfAttention


class Discriminator(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        norm, sa = config.norm, config.self_attention
        layers: list[nn.Module] = [ConvBlockD(6, 64, "none"), ConvBlockD(64, 128, norm), ConvBlockD(128, 256, norm)]
        layers += [SelfAttention(256)] if sa else []
        size = config.resolution // 8
        while size > 8:
            layers += [ConvBlockD(256, 256, norm)] + ([SelfAttention(256)] if sa else [])
            size //= 2
        self.body = nn.Sequential(*layers)
        self.out = nn.Conv2d(256, 1, 4, bias=False)  # no bias: as the original

    def forward(self, image: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        x = self.body(torch.cat([image, condition], dim=1))
        return self.out(F.pad(x, (1, 2, 1, 2)))  # TensorFlow "same" for k4 s1: 1 before, 2 after

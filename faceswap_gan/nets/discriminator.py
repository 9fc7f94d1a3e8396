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


class CodeDiscriminator(nn.Module):
    """Tells person A's codes from person B's: (B, C, 8, 8) encoder output -> (B, 1) score, 1 for B (not in the
    original). The encoder is trained to leave it at 0.5 (LossWeights.w_code): a code that does not say
    whose face it is leaves each decoder nothing to draw but its own person. Measured, it keeps the
    swaps the other person's early in a run, where they would fall back to the input's identity, but
    at first as that person's average face: expression suffers (docs/quality-findings.md). DeepFaceLab's
    "true face power" is the same idea."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, 128, 3, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(128, 128, 3, 2, padding=1), nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Linear(128 * 16, 1),
        )  # fmt: skip

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        # A linear output, as the image discriminators'. Its loss spikes now and then (to 100-180 on codes
        # of large norm), and the swaps go back to the input person for a few hundred iterations. Two
        # fixes made it worse: a sigmoid output saturated within 200 iterations and stopped teaching;
        # scaling codes to unit RMS let the encoder shrink them to nothing, and training collapsed
        # (docs/quality-findings.md).
        return self.body(code)

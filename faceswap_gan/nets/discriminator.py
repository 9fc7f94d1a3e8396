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
    """Tells person A's codes from person B's: (B, C, 8, 8) encoder output -> (B, 1) logit, high for B (not
    in the original). The encoder is trained to leave it at 0, "cannot tell" (LossWeights.w_code): a code
    that does not say whose face it is leaves each decoder nothing to draw but its own person. DeepFaceLab's
    "true face power" is the same idea (docs/quality-findings.md has the measurements)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        # Spectrally normalised, so that its score can change only as fast as the code does. Its first form,
        # plain layers with an unbounded linear output and square losses, spiked now and then (losses of
        # 100-40,000 on codes of large norm) and each spike threw the swaps back to the input person, or
        # wrecked a run started from a prior. Two earlier fixes made it worse: a sigmoid output with square
        # losses saturated within 200 iterations; codes scaled to unit RMS let the encoder shrink them to
        # nothing. Normalised, with logistic losses (training/losses.py), it has not spiked since.
        sn = nn.utils.parametrizations.spectral_norm
        self.body = nn.Sequential(
            sn(nn.Conv2d(channels, 128, 3, padding=1)), nn.LeakyReLU(0.2),
            sn(nn.Conv2d(128, 128, 3, 2, padding=1)), nn.LeakyReLU(0.2),
            nn.Flatten(), sn(nn.Linear(128 * 16, 1)),
        )  # fmt: skip

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        return self.body(code)

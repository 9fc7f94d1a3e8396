"""The generator: one shared encoder and two decoders (spec §1.3-1.4). Images are (B, 3, R, R) RGB in
[-1, 1]; each decoder returns an alpha mask in [0, 1] and a colour face in [-1, 1], plus lower-resolution
colour faces (deep supervision) when R > 64."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from faceswap_gan.config import ModelConfig
from faceswap_gan.nets.blocks import ConvBlock, ResBlock, SelfAttention, UpscaleNN, UpscalePS


def _upscale(config: ModelConfig, c_in: int, f: int) -> nn.Module:
    return (UpscaleNN if config.capacity == "lite" else UpscalePS)(c_in, f, config.norm)


class Encoder(nn.Module):
    """(B, 3, R, R) -> (B, 512/coef, 8, 8) through an 4x4 dense bottleneck."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        c, norm, sa = config.coef, config.norm, config.self_attention
        top = 1024 // c**2
        self.stem = nn.Conv2d(3, 64 // c, 5, padding=2, bias=False)  # no bias, no L2: as the original
        layers: list[nn.Module] = [ConvBlock(64 // c, 128 // c, "none"), ConvBlock(128 // c, 256 // c, norm)]
        layers += [SelfAttention(256 // c)] if sa else []
        layers += [ConvBlock(256 // c, 512 // c, norm)]
        layers += [SelfAttention(512 // c)] if sa else []
        layers += [ConvBlock(512 // c, top, norm)]
        size = config.resolution // 16
        while size > 4:
            layers.append(ConvBlock(top, top, norm))
            size //= 2
        self.down = nn.Sequential(*layers)
        latent = config.latent_width
        self.dense1 = nn.Linear(16 * top, latent)
        self.dense2 = nn.Linear(latent, 16 * top)
        self.top = top
        self.up = _upscale(config, top, 512 // c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.down(self.stem(x)).flatten(1)
        x = self.dense2(self.dense1(x)).view(-1, self.top, 4, 4)
        return self.up(x)


@dataclass
class DecoderOutput:
    alpha: torch.Tensor  # (B, 1, R, R) in [0, 1]
    colour: torch.Tensor  # (B, 3, R, R) in [-1, 1]
    aux: list[torch.Tensor]  # (B, 3, 64, 64)[, (B, 3, 128, 128)] in [-1, 1], for R > 64

    def composite(self, background: torch.Tensor) -> torch.Tensor:
        """The masked face: alpha * colour + (1 - alpha) * background."""
        return self.alpha * self.colour + (1 - self.alpha) * background


class Decoder(nn.Module):
    """(B, 512/coef, 8, 8) -> DecoderOutput at the model's resolution."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        c, sa = config.coef, config.self_attention
        w = 64 // c
        layers = [_upscale(config, 512 // c, 256 // c), _upscale(config, 256 // c, 128 // c)]
        layers += [SelfAttention(128 // c)] if sa else []
        layers += [_upscale(config, 128 // c, w), ResBlock(w)]
        layers += [SelfAttention(w) if sa else ConvBlock(w, w, "none", stride=1)]
        self.body = nn.Sequential(*layers)  # -> (B, w, 64, 64)
        self.aux_heads, self.stages = nn.ModuleList(), nn.ModuleList()
        size = 64
        while size < config.resolution:
            self.aux_heads.append(nn.Conv2d(w, 3, 5, padding=2))
            self.stages.append(nn.Sequential(_upscale(config, w, w), ConvBlock(w, w, "none", stride=1)))
            size *= 2
        self.alpha_head = nn.Conv2d(w, 1, 5, padding=2)
        self.colour_head = nn.Conv2d(w, 3, 5, padding=2)

    def forward(self, z: torch.Tensor) -> DecoderOutput:
        x, aux = self.body(z), []
        for head, stage in zip(self.aux_heads, self.stages, strict=True):
            aux.append(torch.tanh(head(x)))
            x = stage(x)
        # Both heads in one conv: a 5x5 conv with 1 or 3 outputs is bound by reading x, so one pass
        # with 4 outputs costs about what each of them did. oneDNN runs this 4-output conv (forward and
        # backward) 1.6x faster on a channels-last input, which is worth the copy (a no-op on CUDA).
        heads = (self.alpha_head, self.colour_head)
        weight, bias = torch.cat([h.weight for h in heads]), torch.cat([h.bias for h in heads])
        x = x.contiguous(memory_format=torch.channels_last)
        alpha, colour = F.conv2d(x, weight, bias, padding=2).contiguous().split([1, 3], dim=1)
        return DecoderOutput(torch.sigmoid(alpha), torch.tanh(colour), aux)

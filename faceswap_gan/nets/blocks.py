"""Building blocks of the faceswap-GAN networks (spec §1.2), NCHW.

Normalisation options reproduce what the original *does*, not what its names say:

=============  =====================================================================================
``none``       nothing
``instancenorm``  per sample over all of (C, H, W) together, ``(x - mean) / (std + 1e-3)``, one scalar
               gamma and beta per layer (``ScalarNorm``; really a layer norm)
``layernorm``  GroupNorm with ``group`` groups, eps 1e-6: per-channel instance norm where C == group,
               groups of 4 channels inside the sub-pixel upsampler (C == 4 * group)
``groupnorm``  GroupNorm with 16 groups, eps 1e-6
``batchnorm``  BatchNorm2d(eps 1e-3, momentum 0.01 = Keras' 0.99); running statistics *are* updated
               here (the original never updated them, spec §11.5)
``hybrid``     first group // 2 channels through a 1x1 conv, the rest through ``ScalarNorm``
=============  =====================================================================================

Convolutions that the original regularises with L2 (1e-4) are ``RegConv2d``; the optimiser gives
exactly those weights a coupled weight decay of 2e-4, which is the gradient of 1e-4 * sum(w^2).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from faceswap_gan.config import NORMS
from faceswap_gan.nets.attention import attention


class RegConv2d(nn.Conv2d):
    """A Conv2d whose kernel carries the original's L2 penalty; He-normal (truncated) initialised."""


def he_normal_(weight: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Keras' he_normal: normal with std sqrt(2 / fan_in), truncated at two standard deviations."""
    fan_in = weight.shape[1] * weight[0, 0].numel()
    std = math.sqrt(2.0 / fan_in)
    return nn.init.trunc_normal_(weight, 0.0, std, -2 * std, 2 * std, generator=generator)


def glorot_(module: nn.Conv2d | nn.Linear, generator: torch.Generator | None = None) -> None:
    """Keras' default initialisation: glorot-uniform kernel, zero bias. A spectrally normalised layer gets
    it on its raw weight, and its power iteration starts at that weight's exact singular vectors (PyTorch
    draws them from the global generator, which would make a seeded model differ from run to run)."""
    if parametrize.is_parametrized(module, "weight"):
        weight = module.parametrizations.weight.original
        nn.init.xavier_uniform_(weight, generator=generator)
        norm = module.parametrizations.weight[0]
        u, _, vh = torch.linalg.svd(weight.flatten(1), full_matrices=False)
        norm._u.copy_(u[:, 0]), norm._v.copy_(vh[0])
    else:
        nn.init.xavier_uniform_(module.weight, generator=generator)
    if module.bias is not None:
        nn.init.zeros_(module.bias)


def reg_conv(
    c_in: int, c_out: int, k: int, stride: int = 1, padding: int | None = None, bias: bool = False
) -> RegConv2d:
    """A regularised conv; "same" padding (k // 2) unless given. For stride 2 and k3, TensorFlow pads
    0 before / 1 after, PyTorch 1 / 1: the same size, half a pixel apart, immaterial when training."""
    return RegConv2d(c_in, c_out, k, stride, k // 2 if padding is None else padding, bias=bias)


class ScalarNorm(nn.Module):
    """The original's "instancenorm": per sample over (C, H, W), std + 1e-3, scalar affine."""

    def __init__(self, affine: bool = True) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(1)) if affine else None
        self.beta = nn.Parameter(torch.zeros(1)) if affine else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        var, mean = torch.var_mean(x, dim=(1, 2, 3), correction=0, keepdim=True)
        # gamma * (x - mean) / (std + eps) + beta as x * scale + shift with per-sample scalars: one pass
        # over x instead of four, forward and backward.
        scale = 1 / (var.sqrt() + 1e-3)
        if self.gamma is None:
            return torch.addcmul(-mean * scale, x, scale)
        scale = scale * self.gamma
        return torch.addcmul(self.beta - mean * scale, x, scale)


class HybridNorm(nn.Module):
    """Un-normalised 1x1-conv path for the first group // 2 channels (keeps style), ScalarNorm for the rest."""

    def __init__(self, group: int) -> None:
        super().__init__()
        if group % 2:
            raise ValueError(f"hybrid normalisation needs an even group, got {group}")
        self.split = group // 2
        self.conv = reg_conv(self.split, self.split, 1, bias=True)
        self.norm = ScalarNorm()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.conv(x[:, : self.split]), self.norm(x[:, self.split :])], dim=1)


def make_norm(norm: str, channels: int, group: int) -> nn.Module:
    """The normalisation layer ``norm`` for a tensor of ``channels`` in a block of ``group`` filters."""
    if norm == "none":
        return nn.Identity()
    if norm == "instancenorm":
        return ScalarNorm()
    if norm == "layernorm":
        return nn.GroupNorm(group, channels, eps=1e-6)
    if norm == "groupnorm":
        return nn.GroupNorm(16, channels, eps=1e-6)
    if norm == "batchnorm":
        return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01)
    if norm == "hybrid":
        return HybridNorm(group)
    raise ValueError(f"norm must be one of {', '.join(NORMS)}, got {norm!r}")


class ConvBlock(nn.Sequential):
    """Conv k3 (no bias) -> ReLU -> norm: the generator's down/refine block (norm *after* the activation)."""

    def __init__(self, c_in: int, c_out: int, norm: str, stride: int = 2) -> None:
        super().__init__(reg_conv(c_in, c_out, 3, stride), nn.ReLU(inplace=True), make_norm(norm, c_out, c_out))


class ConvBlockD(nn.Sequential):
    """Conv k4 s2 (no bias) -> LeakyReLU(0.2) -> norm: the discriminator's block."""

    def __init__(self, c_in: int, c_out: int, norm: str) -> None:
        super().__init__(reg_conv(c_in, c_out, 4, 2, padding=1), nn.LeakyReLU(0.2, True), make_norm(norm, c_out, c_out))


class ResBlock(nn.Module):
    """Two k3 convs with LeakyReLU(0.2), input added before the second activation; never normalised."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = reg_conv(channels, channels, 3)
        self.conv2 = reg_conv(channels, channels, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv2(F.leaky_relu(self.conv1(x), 0.2))
        return F.leaky_relu(y + x, 0.2)


def icnr_(weight: torch.Tensor, scale: int = 2, generator: torch.Generator | None = None) -> torch.Tensor:
    """ICNR: every group of scale^2 consecutive output kernels starts identical, so that after
    PixelShuffle the initial output is a nearest-neighbour upsampling. Base kernels ~ N(0, 0.02)."""
    base = torch.empty(weight.shape[0] // scale**2, *weight.shape[1:])
    nn.init.normal_(base, 0.0, 0.02, generator=generator)
    with torch.no_grad():
        return weight.copy_(base.repeat_interleave(scale**2, dim=0))


class UpscalePS(nn.Module):
    """Standard upsampler: conv k3 to 4f (bias, ICNR) -> LeakyReLU(0.2) -> norm on 4f -> PixelShuffle(2)."""

    def __init__(self, c_in: int, f: int, norm: str) -> None:
        super().__init__()
        self.conv = reg_conv(c_in, 4 * f, 3, bias=True)
        self.norm = make_norm(norm, 4 * f, f)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pixel_shuffle(self.norm(F.leaky_relu(self.conv(x), 0.2)), 2)


class UpscaleNN(nn.Module):
    """Lite upsampler: nearest x2 -> reflect pad -> conv k3 (bias) -> norm. No activation (as the original).

    Computed without the upsampled image: an output pixel of phase (a, b) (its row and column parity)
    sees a 2x2 window of the input, so the 3x3 kernel folds into four 2x2 kernels, one conv at the
    input's size does all four phases, and a pixel shuffle interleaves them. 16 instead of 36
    multiply-adds per four outputs, no 4x-sized intermediates: 5x faster at 64x64, forward and
    backward. Reflect padding of the upsampled image is replicate padding of the input."""

    def __init__(self, c_in: int, f: int, norm: str) -> None:
        super().__init__()
        self.conv = reg_conv(c_in, f, 3, padding=0, bias=True)
        self.norm = make_norm(norm, f, f)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[2:]
        y = F.conv2d(
            _replicate_pad(x),
            _phase_kernels(self.conv.weight),
            self.conv.bias.repeat_interleave(4),
        )
        # y (B, 4F, H+1, W+1): phase (a, b) is channel block 2a+b, read at offset (a, b)
        phases = [y[:, (2 * a + b) :: 4, a : a + height, b : b + width] for a in (0, 1) for b in (0, 1)]
        return self.norm(F.pixel_shuffle(torch.stack(phases, 2).flatten(1, 2), 2))


def _replicate_pad(x: torch.Tensor) -> torch.Tensor:
    """``F.pad(x, (1, 1, 1, 1), mode="replicate")`` of a (B, C, H, W) map, by concatenating its edges: the
    same values in x's memory format. Under torch.compile PyTorch's replication-pad backward of a
    channels-last map fails its own stride check (torch 2.13); this backward is a plain sum of slices."""
    x = torch.cat([x[:, :, :1], x, x[:, :, -1:]], 2)
    return torch.cat([x[:, :, :, :1], x, x[:, :, :, -1:]], 3)


def _phase_kernels(weight: torch.Tensor) -> torch.Tensor:
    """(F, C, 3, 3) -> (4F, C, 2, 2). Along each axis, phase 0 reads input (i-1, i) with the taps
    (0, 1+2), phase 1 reads (i, i+1) with (0+1, 2). Output channel 4f + 2a + b is filter f's phase
    (a, b), the order pixel_shuffle expects."""

    def fold(w: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
        t0, t1, t2 = w.unbind(dim)
        return torch.stack([t0, t1 + t2], dim), torch.stack([t0 + t1, t2], dim)

    phases = [both for row in fold(weight, 2) for both in fold(row, 3)]  # (0, 0), (0, 1), (1, 0), (1, 1)
    return torch.stack(phases, 1).flatten(0, 1)


class SelfAttention(nn.Module):
    """SAGAN self-attention as the original: queries g, keys f (C/8 each), values h (C), softmax over
    keys with no 1/sqrt(d) scaling, output gamma * attention + x with gamma starting at 0. The
    (HW x HW) matrix (4096 x 4096 per image at 64x64) is never stored whole (see nets/attention.py)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        if channels < 8:
            raise ValueError(f"self-attention needs >= 8 channels, got {channels}")
        self.f = RegConv2d(channels, channels // 8, 1, bias=True)
        self.g = RegConv2d(channels, channels // 8, 1, bias=True)
        self.h = RegConv2d(channels, channels, 1, bias=True)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, height, width = x.shape
        q = self.g(x).flatten(2).transpose(1, 2)  # (B, HW, C/8)
        k = self.f(x).flatten(2).transpose(1, 2)  # (B, HW, C/8)
        v = self.h(x).flatten(2).transpose(1, 2)  # (B, HW, C)
        out = attention(q, k, v)  # (B, HW, C)
        return x + self.gamma * out.transpose(1, 2).reshape(b, c, height, width)


@torch.no_grad()
def init_weights(model: nn.Module, generator: torch.Generator | None = None) -> None:
    """The original's initialisers, drawn from ``generator``: ICNR for sub-pixel convs, glorot for the
    attention 1x1 convs and every plain (unregularised) conv or dense layer, truncated He-normal for
    the other regularised convs; zero biases; norm layers keep their defaults (gamma 1, beta 0)."""
    special: set[nn.Module] = set()
    for module in model.modules():
        if isinstance(module, UpscalePS):
            icnr_(module.conv.weight, generator=generator)
            nn.init.zeros_(module.conv.bias)
            special.add(module.conv)
        elif isinstance(module, SelfAttention):
            for conv in (module.f, module.g, module.h):
                glorot_(conv, generator)
                special.add(conv)
    for module in model.modules():
        if module in special:
            continue
        if isinstance(module, RegConv2d):
            he_normal_(module.weight, generator)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, (nn.Conv2d, nn.Linear)):
            glorot_(module, generator)

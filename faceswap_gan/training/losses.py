"""Loss terms (spec §2) as small pure functions of tensors. Images are (B, C, H, W); "L1"/"MSE" are
means over all elements, as in the original. Weights are passed in; composition is in ``objective``."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F


def diff_v(t: torch.Tensor) -> torch.Tensor:
    """|t[y, x] - t[y+1, x]| on the (H-1, W-1) top-left crop."""
    return (t[..., :-1, :-1] - t[..., 1:, :-1]).abs()


def diff_h(t: torch.Tensor) -> torch.Tensor:
    """|t[y, x] - t[y, x+1]| on the (H-1, W-1) top-left crop."""
    return (t[..., :-1, :-1] - t[..., :-1, 1:]).abs()


def l1(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a - b).abs().mean()


def masked_l1(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """mean(|mask * (a - b)|) over a's elements; a (B, 1, H, W) mask broadcasts over the channels."""
    return (mask * (a - b)).abs().mean()


def reconstruction_loss(
    colour: torch.Tensor, target: torch.Tensor, eyes: torch.Tensor, w_recon: float, w_eyes: float
) -> torch.Tensor:
    """On the raw colour output: w_recon * L1 + w_eyes * eye-region L1 (spec §2.2)."""
    return w_recon * l1(colour, target) + w_eyes * masked_l1(colour, target, eyes)


def deep_supervision_loss(aux: Sequence[torch.Tensor], target: torch.Tensor, w_recon: float) -> torch.Tensor:
    """w_recon * L1 of each low-resolution output against the bilinearly reduced target (spec §2.3)."""
    total = target.new_zeros(())
    for out in aux:
        small = F.interpolate(target, size=out.shape[-2:], mode="bilinear", align_corners=False)
        total = total + w_recon * l1(out, small)
    return total


def edge_loss(
    colour: torch.Tensor, target: torch.Tensor, eyes: torch.Tensor, w_edge: float, w_eyes: float
) -> torch.Tensor:
    """L1 between first-order differences, plus the same in the eye region with weight w_eyes (spec §2.4)."""
    size = colour.shape[-1] - 1
    eyes_small = F.interpolate(eyes, size=(size, size), mode="bilinear", align_corners=False)
    loss = colour.new_zeros(())
    for diff in (diff_v, diff_h):
        dc, dt = diff(colour), diff(target)
        loss = loss + w_edge * l1(dc, dt) + w_eyes * masked_l1(dc, dt, eyes_small)
    return loss


def mask_l1_loss(alpha: torch.Tensor) -> torch.Tensor:
    """0.01 * mean|alpha|: pushes the mask towards passing the input through (spec §2.6)."""
    return 0.01 * alpha.abs().mean()


def mask_hinge_loss(alpha: torch.Tensor, margin: float) -> torch.Tensor:
    """0.1 * mean(max(0, margin - alpha)): pushes the mask to at least ``margin``."""
    return 0.1 * F.relu(margin - alpha).mean()


def mask_tv_loss(alpha: torch.Tensor) -> torch.Tensor:
    """Total variation of the mask, 0.1 per direction."""
    return 0.1 * diff_v(alpha).mean() + 0.1 * diff_h(alpha).mean()


def lsgan(prediction: torch.Tensor, target: float | torch.Tensor) -> torch.Tensor:
    """Least-squares GAN term: mean((D - target)^2)."""
    return ((prediction - target) ** 2).mean()


def ralsgan_d_loss(real: torch.Tensor, composite: torch.Tensor, raw: torch.Tensor) -> torch.Tensor:
    """Discriminator loss of the original's relativistic option: plain LSGAN on the composite, relativistic
    average LSGAN (against batch means, per output position) on the raw output (spec §2.1)."""
    mean_real, mean_raw = real.mean(0, keepdim=True), raw.mean(0, keepdim=True)
    return 0.5 * (lsgan(real, 1) + lsgan(composite, 0) + lsgan(real - mean_raw, 1) + lsgan(raw - mean_real, 0))


def ralsgan_g_loss(real: torch.Tensor, composite: torch.Tensor, raw: torch.Tensor) -> torch.Tensor:
    """The generator's side of ``ralsgan_d_loss`` (before the w_D weight)."""
    mean_real, mean_raw = real.mean(0, keepdim=True), raw.mean(0, keepdim=True)
    return lsgan(composite, 1) + 0.5 * (lsgan(real - mean_raw, 0) + lsgan(raw - mean_real, 1))


def code_discriminator_loss(scores_a: torch.Tensor, scores_b: torch.Tensor) -> torch.Tensor:
    """The code discriminator's logistic loss on its logits: A's codes low, B's high (2 ln 2 at "cannot
    tell"). Unlike a square loss it never pulls a score back from the right side, however far."""
    return F.softplus(scores_a).mean() + F.softplus(-scores_b).mean()


def code_confusion_loss(scores_a: torch.Tensor, scores_b: torch.Tensor) -> torch.Tensor:
    """The encoder's side: every code at probability 1/2 (logit 0), so that it does not say whose face it is.
    The cross-entropy with 1/2, less its minimum 2 ln 2: zero at "cannot tell", and its gradient per score
    is bounded (|sigmoid(s) - 1/2| < 1/2), where a square loss grew with the score."""
    s = torch.cat([scores_a, scores_b])
    return 2 * (F.softplus(s) - 0.5 * s).mean() - 2 * math.log(2)


def feature_normalise(x: torch.Tensor) -> torch.Tensor:
    """Per sample over (C, H, W): (x - mean) / (std + 1e-3), the parameter-free form of "instancenorm"."""
    var, mean = torch.var_mean(x, dim=tuple(range(1, x.ndim)), correction=0, keepdim=True)
    return (x - mean) / (var.sqrt() + 1e-3)


def perceptual_loss(
    fake: Sequence[torch.Tensor], real: Sequence[torch.Tensor], weights: Sequence[float]
) -> torch.Tensor:
    """sum_i w_i * MSE(normalise(fake_i), normalise(real_i)) over the backbone's taps (spec §2.5)."""
    total = fake[0].new_zeros(())
    for f, r, w in zip(fake, real, weights, strict=True):
        total = total + w * F.mse_loss(feature_normalise(f), feature_normalise(r))
    return total

"""The objective's named terms: an optional term appears under its own name, and only when switched on."""

import torch

from faceswap_gan.config import LossWeights
from faceswap_gan.nets.autoencoder import DecoderOutput
from faceswap_gan.training.objective import Side, generator_loss
from faceswap_gan.training.schedule import LossPhase


def _side(alpha: float) -> Side:
    target = torch.zeros(2, 3, 8, 8)
    warped = torch.ones(2, 3, 8, 8)  # the distorted input: far from the target
    out = DecoderOutput(torch.full((2, 1, 8, 8), alpha), torch.zeros(2, 3, 8, 8), [])  # colour == target
    return Side(warped, target, torch.zeros(2, 1, 8, 8), out, torch.zeros(2, 4, 8, 8))


def _discriminators(*inputs):
    return tuple(torch.ones(len(inputs[i]), 1, 2, 2) for i in (0, 2))


def test_the_optional_composite_term_appears_under_its_own_name_with_its_value():
    phase = LossPhase(0, False, False, 0.0, 1.0)
    plain = generator_loss(_discriminators, _side(0.2), _side(0.2), 0.5, "mixup_lsgan", LossWeights(), phase)
    assert "composite" not in plain  # the original's objective: no such term
    weights = LossWeights(w_composite=1.0)
    low = generator_loss(_discriminators, _side(0.2), _side(0.2), 0.5, "mixup_lsgan", weights, phase)["composite"]
    high = generator_loss(_discriminators, _side(0.9), _side(0.9), 0.5, "mixup_lsgan", weights, phase)["composite"]
    # |alpha * 0 + (1 - alpha) * 1 - 0| summed over both sides: 2 * 0.8 and 2 * 0.1
    assert abs(float(low) - 1.6) < 1e-6 and abs(float(high) - 0.2) < 1e-6


def test_w_mask_scales_the_mask_terms_and_the_hinge_pushes_alpha_up():
    phase = LossPhase(0, False, True, 0.9, 1.0)  # hinge at 0.9: 0.1 * mean(max(0, 0.9 - alpha)) per side

    def mask(alpha: float, w_mask: float) -> float:
        weights = LossWeights(w_mask=w_mask)
        return float(
            generator_loss(_discriminators, _side(alpha), _side(alpha), 0.5, "mixup_lsgan", weights, phase)["mask"]
        )

    assert abs(mask(0.4, 1.0) - 2 * 0.1 * 0.5) < 1e-6  # a flat mask has no smoothness term
    assert abs(mask(0.4, 10.0) - 10 * mask(0.4, 1.0)) < 1e-5
    assert mask(0.95, 10.0) == 0.0

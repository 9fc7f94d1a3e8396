"""Each loss term against values computed by hand."""

import pytest
import torch

from faceswap_gan.training import losses as L


def test_first_order_differences_on_a_ramp():
    t = torch.tensor([[0.0, 1, 3], [2, 2, 2], [5, 5, 5]])[None, None]
    assert L.diff_v(t)[0, 0].tolist() == [[2, 1], [3, 3]]
    assert L.diff_h(t)[0, 0].tolist() == [[1, 2], [0, 0]]


def test_reconstruction_is_l1_plus_eye_weighted_l1():
    colour, target = torch.zeros(2, 3, 4, 4), torch.ones(2, 3, 4, 4)
    eyes = torch.zeros(2, 1, 4, 4)
    eyes[:, :, :2, :2] = 1  # a quarter of the pixels
    assert L.reconstruction_loss(colour, target, eyes, 1.0, 30.0).item() == pytest.approx(1 + 30 * 0.25)


def test_deep_supervision_is_zero_for_the_reduced_target_and_l1_otherwise():
    target = torch.rand(1, 3, 8, 8)
    exact = torch.nn.functional.interpolate(target, size=(4, 4), mode="bilinear", align_corners=False)
    assert L.deep_supervision_loss([exact], target, 1.0).item() == pytest.approx(0, abs=1e-7)
    assert L.deep_supervision_loss([exact + 0.5], target, 2.0).item() == pytest.approx(1.0)


def test_edge_loss_sees_edges_not_levels():
    flat, ramp = torch.zeros(1, 3, 5, 5), torch.arange(5.0).view(1, 1, 5, 1).expand(1, 3, 5, 5)
    no_eyes = torch.zeros(1, 1, 5, 5)
    assert L.edge_loss(flat + 0.7, flat, no_eyes, 0.1, 30.0).item() == 0  # same edges, other level
    # Vertical differences of the ramp are 1 everywhere, horizontal ones 0: L1 = 1 in one direction.
    assert L.edge_loss(ramp, flat, no_eyes, 0.1, 30.0).item() == pytest.approx(0.1)
    assert L.edge_loss(ramp, flat, torch.ones(1, 1, 5, 5), 0.1, 30.0).item() == pytest.approx(0.1 + 30)


def test_mask_regularisers():
    alpha = torch.tensor([0.0, 0.2, 0.6, 1.0]).view(1, 1, 2, 2)
    assert L.mask_l1_loss(alpha).item() == pytest.approx(0.01 * 0.45)
    assert L.mask_hinge_loss(alpha, 0.5).item() == pytest.approx(0.1 * (0.5 + 0.3) / 4)
    # TV on the 1x1 top-left crop: |0 - 0.6| vertically, |0 - 0.2| horizontally.
    assert L.mask_tv_loss(alpha).item() == pytest.approx(0.1 * 0.6 + 0.1 * 0.2)


def test_lsgan_and_relativistic_terms():
    real, composite, raw = torch.tensor([[1.0], [3.0]]), torch.tensor([[0.0], [2.0]]), torch.tensor([[1.0], [1.0]])
    assert L.lsgan(composite, 1).item() == pytest.approx((1 + 1) / 2)
    # mean(real) = 2, mean(raw) = 1
    d = 0.5 * (
        ((real - 1) ** 2).mean() + (composite**2).mean() + ((real - 1 - 1) ** 2).mean() + ((raw - 2) ** 2).mean()
    )
    assert L.ralsgan_d_loss(real, composite, raw).item() == pytest.approx(d.item())
    g = ((composite - 1) ** 2).mean() + 0.5 * (((real - 1) ** 2).mean() + ((raw - 2 - 1) ** 2).mean())
    assert L.ralsgan_g_loss(real, composite, raw).item() == pytest.approx(g.item())


def test_perceptual_loss_ignores_per_sample_scale_and_shift():
    torch.manual_seed(0)
    features = [torch.randn(2, 4, 3, 3) for _ in range(4)]
    same = [f * 3 + 1 for f in features]
    assert L.perceptual_loss(same, features, (0.01, 0.1, 0.3, 0.1)).item() == pytest.approx(0, abs=1e-4)
    other = [torch.randn(2, 4, 3, 3) for _ in range(4)]
    assert L.perceptual_loss(other, features, (1, 0, 0, 0)).item() > 0.5

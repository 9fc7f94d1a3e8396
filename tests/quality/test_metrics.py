"""Every quality measure on hand-made inputs with a known answer."""

import numpy as np
import pytest

from faceswap_gan.quality.metrics import (
    expression_error,
    identity_transfer,
    inter_ocular,
    reconstruction,
    stability_ratio,
)


def _face(rng=None) -> np.ndarray:
    """68 landmarks of a face whose eye centres are 40 px apart."""
    rng = rng or np.random.default_rng(0)
    points = rng.uniform(0, 100, (68, 2))
    points[36:42] = [50 - 20, 50] + rng.normal(0, 1, (6, 2))
    points[42:48] = [50 + 20, 50] + rng.normal(0, 1, (6, 2))
    points[36:42] += [50 - 20, 50] - points[36:42].mean(axis=0)
    points[42:48] += [50 + 20, 50] - points[42:48].mean(axis=0)
    return points


def test_identity_transfer_of_a_persons_own_faces_is_zero_and_of_the_other_one():
    rng = np.random.default_rng(1)
    a = rng.normal(0, 0.05, (20, 128)) + 0.3
    b = rng.normal(0, 0.05, (20, 128)) - 0.3
    own = identity_transfer(a, a, b)
    assert own.fraction == 0.0 and own.margin < 0 and own.distance_a < own.distance_b
    other = identity_transfer(b, a, b)
    assert other.fraction == 1.0 and other.margin > 0 and other.a_to_b == pytest.approx(0.6 * np.sqrt(128), rel=0.05)
    half = identity_transfer(np.concatenate([a[:10], b[:10]]), a, b)
    assert half.fraction == 0.5


def test_expression_error_of_a_known_shift():
    face = _face()
    assert inter_ocular(face[None])[0] == pytest.approx(40)
    moved = face.copy()
    moved[48:68] += [0, 4]  # only the mouth, 4 px = 0.1 eye distances; brows and eyes stay
    expected = (20 * 4 / 42) / 40  # 20 of the 42 expression points moved 4 px
    assert expression_error(face[None], moved[None]) == pytest.approx(expected)
    assert expression_error(face[None], face[None]) == 0.0


def test_stability_of_identical_frames_is_one_and_jitter_raises_it():
    face = _face()
    still = np.repeat(face[None], 10, axis=0)
    assert stability_ratio(still, still) == 1.0
    walking = still + np.arange(10)[:, None, None] * [1.5, 0]  # steady motion: no acceleration
    shaking = walking + np.random.default_rng(2).normal(0, 1, walking.shape)
    jitter = walking + np.random.default_rng(3).normal(0, 3, walking.shape)
    assert stability_ratio(shaking, jitter) == pytest.approx(3.0, rel=0.3)
    with pytest.raises(ValueError, match="at least 3"):
        stability_ratio(still[:2], still[:2])


def test_reconstruction_is_perfect_for_the_same_image_and_worse_for_noise():
    rng = np.random.default_rng(4)
    image = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    noisy = np.clip(image + rng.normal(0, 20, image.shape), 0, 255).astype(np.uint8)
    psnr, ssim = reconstruction([image], [noisy])
    assert 20 < psnr < 25 and ssim < 0.98
    assert reconstruction([image], [image])[1] == pytest.approx(1.0)

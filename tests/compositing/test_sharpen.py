"""The band-pass sharpening of the model's face: features gain contrast, the upsampling grid hardly does."""

import numpy as np
import pytest

from faceswap_gan.compositing.sharpen import sharpen
from faceswap_gan.converter import ConverterConfig


def _stripes(size: int, period: float, amplitude: float = 20.0) -> np.ndarray:
    """Vertical sinusoidal stripes around grey 128, (size, size, 3) uint8 RGB."""
    x = np.arange(size)
    row = 128 + amplitude * np.cos(2 * np.pi * x / period)
    return np.repeat(np.broadcast_to(row, (size, size))[..., None], 3, axis=2).round().astype(np.uint8)


def _gain(before: np.ndarray, after: np.ndarray) -> float:
    """Growth of the stripes' amplitude, away from the borders."""
    centre = (slice(16, -16), slice(16, -16))
    return float(np.std(after[centre].astype(float)) / np.std(before[centre].astype(float)))


def test_nothing_changes_at_amount_zero_or_on_a_flat_face():
    face = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    assert sharpen(face, 0.0) is face
    flat = np.full((64, 64, 3), 90, np.uint8)
    assert np.array_equal(sharpen(flat, 2.0), flat)


def test_feature_sized_detail_gains_contrast_and_the_two_pixel_grid_hardly_any():
    grid, eyes = _stripes(64, 2), _stripes(64, 8)
    assert _gain(grid, sharpen(grid, 1.0)) < 1.25  # an unsharp mask of the same strength: 1.99
    assert 1.4 < _gain(eyes, sharpen(eyes, 1.0)) < 1.7
    assert _gain(eyes, sharpen(eyes, 2.0)) > _gain(eyes, sharpen(eyes, 1.0)) + 0.4


def test_the_band_is_the_same_part_of_the_face_at_every_resolution():
    small, large = _stripes(64, 8), _stripes(128, 16)
    assert _gain(small, sharpen(small, 1.0)) == pytest.approx(_gain(large, sharpen(large, 1.0)), abs=0.03)


def test_the_setting_is_checked():
    assert ConverterConfig().sharpen == 1.0
    with pytest.raises(ValueError, match=r"^sharpen: must be in \[0, 4\]"):
        ConverterConfig(sharpen=-0.5)

"""Swap quality as numbers: pure functions on descriptors, landmarks and images (no models here).

Conventions: descriptors are (N, D) float; landmarks are dlib's 68 points, (N, 68, 2) float (x, y) in
pixels; images are (H, W, 3) uint8 RGB.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

# dlib's 68 points: brows 17-26, eyes 36-47, mouth 48-67 (what an expression moves); eye corners 36, 45
EXPRESSION_POINTS = np.r_[17:27, 36:48, 48:68]
LEFT_EYE, RIGHT_EYE = slice(36, 42), slice(42, 48)


@dataclass(frozen=True)
class IdentityTransfer:
    fraction: float  # swapped faces closer to B than to A
    margin: float  # mean of (distance to A - distance to B): > 0 leans to B, in the descriptor's units
    distance_a: float  # mean distance of the swapped faces to A's mean
    distance_b: float  # mean distance to B's mean
    a_to_b: float  # distance between A's and B's means (the scale of the two above)


def identity_transfer(swapped: np.ndarray, real_a: np.ndarray, real_b: np.ndarray) -> IdentityTransfer:
    """How far the swapped faces moved from person A to person B, relative to the two people's mean
    descriptors: never a fixed threshold (dlib puts some different people below its 0.6)."""
    mean_a, mean_b = real_a.mean(axis=0), real_b.mean(axis=0)
    to_a = np.linalg.norm(swapped - mean_a, axis=1)
    to_b = np.linalg.norm(swapped - mean_b, axis=1)
    return IdentityTransfer(
        float(np.mean(to_b < to_a)),
        float(np.mean(to_a - to_b)),
        float(to_a.mean()),
        float(to_b.mean()),
        float(np.linalg.norm(mean_a - mean_b)),
    )


def inter_ocular(landmarks: np.ndarray) -> np.ndarray:
    """(N,) distance between the eye centres."""
    return np.linalg.norm(landmarks[:, LEFT_EYE].mean(axis=1) - landmarks[:, RIGHT_EYE].mean(axis=1), axis=1)


def expression_error(source: np.ndarray, swapped: np.ndarray) -> float:
    """Mean distance of brows, eyes and mouth between source and swap, in inter-ocular distances of the
    source (0: the expression is kept exactly)."""
    distances = np.linalg.norm(source[:, EXPRESSION_POINTS] - swapped[:, EXPRESSION_POINTS], axis=2)
    return float((distances.mean(axis=1) / inter_ocular(source)).mean())


def _acceleration(landmarks: np.ndarray) -> float:
    """Mean size of the second difference over time of every point (N >= 3 frames)."""
    return float(np.linalg.norm(np.diff(landmarks, n=2, axis=0), axis=2).mean())


def stability_ratio(source: np.ndarray, swapped: np.ndarray) -> float:
    """Mean landmark acceleration of the swap over that of the source, for consecutive frames: 1.0 is as
    steady as the source, more is jitter the swap added. A source that does not move at all gives 1.0 when
    the swap does not move either."""
    if len(source) < 3:
        raise ValueError("stability needs at least 3 consecutive frames")
    a_source, a_swap = _acceleration(source), _acceleration(swapped)
    if a_source == 0:
        return 1.0 if a_swap == 0 else float("inf")
    return a_swap / a_source


def reconstruction(originals: list[np.ndarray], reconstructed: list[np.ndarray]) -> tuple[float, float]:
    """Mean PSNR (dB) and SSIM of reconstructions against their originals (uint8 RGB, equal sizes)."""
    with np.errstate(divide="ignore"):  # identical images: an infinite PSNR, as it should be
        psnr = [peak_signal_noise_ratio(o, r, data_range=255) for o, r in zip(originals, reconstructed, strict=True)]
    ssim = [
        structural_similarity(o, r, channel_axis=2, data_range=255)
        for o, r in zip(originals, reconstructed, strict=True)
    ]
    return float(np.mean(psnr)), float(np.mean(ssim))

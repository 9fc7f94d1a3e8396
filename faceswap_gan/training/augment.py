"""Training-data augmentation (spec §3.2), as pure functions of an explicit ``np.random.Generator``.

Images are float32 (H, W, C) arrays; faces in [0, 255] RGB before ``to_unit_range``; the eye mask
travels as extra channels so that it gets exactly the same geometry as the face.
"""

from __future__ import annotations

import cv2
import numpy as np

from faceswap_gan.faces.alignment import umeyama

BASE = 256  # every training image is resized to this before augmentation, as the original


def colour_match(image: np.ndarray, reference: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Move ``image``'s per-channel mean/std part of the way towards ``reference``'s (both BASE^2 uint8 RGB).

    Statistics come from the central region [60:-60, 60:-60]; with probability 0.5 the transfer is done
    in CIE XYZ. The target statistics are ``u * reference + (1 - u) * image`` with u ~ U(0, 1). The
    original's "skip if no variance" check never fired; here a flat channel is simply left as it is.
    """
    xyz = rng.random() < 0.5
    src, ref = (cv2.cvtColor(im, cv2.COLOR_RGB2XYZ) if xyz else im for im in (image, reference))
    src, ref = src.astype(np.float32), ref.astype(np.float32)
    centre = (slice(60, -60), slice(60, -60))
    mu_s, sd_s = src[centre].mean((0, 1)), src[centre].std((0, 1))
    mu_r, sd_r = ref[centre].mean((0, 1)), ref[centre].std((0, 1))
    u = rng.random()
    mu_t, sd_t = u * mu_r + (1 - u) * mu_s, u * sd_r + (1 - u) * sd_s
    out = np.where(sd_s > 1e-7, sd_t * (src - mu_s) / (sd_s + 1e-7) + mu_t, src)
    if out.min() < 0:
        out = out - out.min()
    if out.max() > 255:
        out = out * (255 / out.max())
    out = out.astype(np.uint8)
    return cv2.cvtColor(out, cv2.COLOR_XYZ2RGB) if xyz else out


def random_affine(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rotation U(-10, 10) deg, scale U(0.9, 1.1), shift U(-0.05, 0.05) * size about the centre
    (replicated border), then a horizontal flip with p = 0.5."""
    size = image.shape[0]
    angle, scale = rng.uniform(-10, 10), rng.uniform(0.9, 1.1)
    tx, ty = rng.uniform(-0.05, 0.05, 2) * size
    matrix = cv2.getRotationMatrix2D((size / 2, size / 2), angle, scale)
    matrix[:, 2] += (tx, ty)
    out = cv2.warpAffine(image, matrix, (size, size), borderMode=cv2.BORDER_REPLICATE)
    out = out.reshape(image.shape)  # warpAffine drops a trailing channel of 1
    return out[:, ::-1] if rng.random() < 0.5 else out


def random_warp(
    image: np.ndarray, resolution: int, rng: np.random.Generator, strength: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """The original's ``random_warp_rev`` on a BASE^2 image -> (warped input, target), both R x R.

    A 5x5 grid spanning 128 +- c (c in [78, 97]) gets N(0, s^2) noise (s ~ U(5, 6.2)); the input samples
    the image through that smoothly distorted grid; the target is the same region through the
    similarity (Umeyama) that best maps the noisy grid to a regular one, so input and target show the
    same face, one locally warped. ``strength`` scales the noise; at 0 the input is the target (the same
    draws are made, so that the region and the rest of the augmentation do not change with it).
    """
    s = resolution // 64
    c = 78 + rng.integers(0, 20)
    sigma = rng.uniform(5.0, 6.2) * strength
    line = np.linspace(BASE / 2 - c, BASE / 2 + c, 5)
    grid_x = np.broadcast_to(line, (5, 5)) + rng.normal(0, sigma, (5, 5))
    grid_y = np.broadcast_to(line, (5, 5)).T + rng.normal(0, sigma, (5, 5))
    regular = np.mgrid[0 : 65 * s : 16 * s, 0 : 65 * s : 16 * s]  # (2, 5, 5): rows, cols
    source = np.stack([grid_x.ravel(), grid_y.ravel()], axis=1)
    target_points = np.stack([regular[1].ravel(), regular[0].ravel()], axis=1)
    matrix = umeyama(source, target_points)[:2]
    target = cv2.warpAffine(image, matrix, (resolution, resolution)).reshape(resolution, resolution, -1)
    if strength == 0:  # the input is the target itself: even an unwarped grid samples it 1/32 of a cell off
        return target.copy(), target
    # Upsampling the 5x5 grid to 80s^2 and keeping [8s:72s] spans the grid's corners exactly.
    window = slice(8 * s, 72 * s)
    map_x = cv2.resize(grid_x.astype(np.float32), (80 * s, 80 * s))[window, window]
    map_y = cv2.resize(grid_y.astype(np.float32), (80 * s, 80 * s))[window, window]
    warped = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR).reshape(resolution, resolution, -1)
    return warped, target


def motion_blur_kernel(rng: np.random.Generator) -> np.ndarray:
    """A k x k line kernel (k in 5, 7, 9, 11) at a random angle, normalised to sum 1."""
    k = int(rng.choice([5, 7, 9, 11]))
    kernel = np.zeros((k, k), np.float32)
    kernel[k // 2, :] = 1
    rotation = cv2.getRotationMatrix2D((k / 2 - 0.5, k / 2 - 0.5), rng.uniform(-180, 180), 1.0)
    kernel = np.clip(cv2.warpAffine(kernel, rotation, (k, k)), 0, 1)
    return kernel / kernel.sum()


def to_unit_range(image: np.ndarray) -> np.ndarray:
    """[0, 255] -> [-1, 1] float32."""
    return image.astype(np.float32) / 127.5 - 1.0

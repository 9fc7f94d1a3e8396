"""Built-in sample clips: a virtual camera moving over a photo that ships inside a package we
depend on, so the tool can be tried with no files at all.

- ``astronaut``: Eileen Collins, ``skimage.data.astronaut()`` (scikit-image, public domain).
- ``grace_hopper``: Grace Hopper, ``sample_data/grace_hopper.jpg`` of matplotlib.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from faceswap_gan.errors import UserError
from faceswap_gan.faces.mtcnn import MTCNNDetector
from faceswap_gan.io.atomic import check_output
from faceswap_gan.io.media import read_image
from faceswap_gan.io.video import VideoWriter

SAMPLES = ("astronaut", "grace_hopper")


def sample_photo(name: str) -> np.ndarray:
    """The named built-in photo as (H, W, 3) uint8 RGB."""
    if name == "astronaut":
        import skimage.data

        return np.ascontiguousarray(skimage.data.astronaut())
    if name == "grace_hopper":
        import matplotlib

        return read_image(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg")
    raise UserError(f"unknown sample {name!r}; choose one of {', '.join(SAMPLES)}")


def _smooth_noise(rng: np.random.Generator, n: int, amplitude: float) -> np.ndarray:
    """A smooth random curve of n points in about [-amplitude, amplitude] (three random sinusoids)."""
    t = np.linspace(0, 1, n)
    waves = [np.sin(2 * np.pi * rng.uniform(0.3, 1.5) * t + rng.uniform(0, 2 * np.pi)) for _ in range(3)]
    return amplitude * np.mean(waves, axis=0) * 1.5


def make_sample_clip(name: str, path: str | os.PathLike, seconds: float = 4.0, fps: int = 25, size: int = 384,
                     seed: int = 0, overwrite: bool = False) -> Path:  # fmt: skip
    """Render ``seconds`` of a virtual camera over sample photo ``name`` into ``path`` (H.264, ``size``^2);
    an existing ``path`` is replaced only with ``overwrite``.

    The camera frames the face at about 40 % of the picture and drifts, zooms, rolls slightly and
    changes exposure smoothly, so that each frame is a different view of the same person.
    """
    check_output(path, (), overwrite)
    photo = sample_photo(name)
    faces = MTCNNDetector().detect_one(photo)
    if not faces:
        raise UserError(f"sample {name}: no face found in the photo")
    face = faces[0]
    centre = (face.box[:2] + face.box[2:]) / 2
    base_zoom = size / (2.5 * max(face.box[2] - face.box[0], face.box[3] - face.box[1]))
    rng = np.random.default_rng(seed)
    n = max(1, round(seconds * fps))
    dx, dy = _smooth_noise(rng, n, size * 0.06), _smooth_noise(rng, n, size * 0.06)
    zoom, roll = 1 + _smooth_noise(rng, n, 0.08), _smooth_noise(rng, n, 5.0)
    gain, bias = 1 + _smooth_noise(rng, n, 0.12), _smooth_noise(rng, n, 12.0)
    path = Path(path)
    with VideoWriter(path, fps, size, size) as writer:
        for i in range(n):
            # Rotate and scale about the face centre, then move it to the picture centre plus drift.
            matrix = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), float(roll[i]), base_zoom * zoom[i])
            matrix[:, 2] += np.array([size / 2 + dx[i], size / 2 + dy[i]]) - centre
            frame = cv2.warpAffine(photo, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            writer.write(np.clip(frame.astype(np.float32) * gain[i] + bias[i], 0, 255).astype(np.uint8))
    return path

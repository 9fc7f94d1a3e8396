"""Detail of the model's face restored before it is enlarged into the frame (not in the original).

A 64 px face is enlarged several times to the size of the face it replaces, and a decoder trained for
minutes rather than hours draws it smooth: a real face of B blurred by 2 px at 64 px already reads as A
in the frame (docs/quality-findings.md). ``sharpen`` adds back ``amount`` times the face's band between
two Gaussian blurs, 0.7 and 2 pixels of a 64 px face: eyes, brows, nostrils and lips more than the
pixel-level grid of the decoder's upsampling. At amount 1, stripes 8 pixels apart (an eye's height) gain
56 % in contrast and a 2-pixel grid 20 %; an unsharp mask (the image minus its 1-pixel blur) gains 27 %
and 99 %, and showed the grid on our models' faces.
"""

from __future__ import annotations

import cv2
import numpy as np

FINE, COARSE = 0.7, 2.0  # Gaussian sigmas in pixels of a 64 px face; scaled with the model's resolution


def sharpen(face: np.ndarray, amount: float) -> np.ndarray:
    """(R, R, 3) uint8 RGB at the model's resolution R -> the same, with ``amount`` (>= 0; 0: unchanged)
    times its band-passed detail added. A flat image is unchanged at any amount."""
    if amount == 0:
        return face
    scale = face.shape[0] / 64
    image = face.astype(np.float32)
    detail = cv2.GaussianBlur(image, (0, 0), FINE * scale) - cv2.GaussianBlur(image, (0, 0), COARSE * scale)
    return np.clip(image + amount * detail, 0, 255).round().astype(np.uint8)

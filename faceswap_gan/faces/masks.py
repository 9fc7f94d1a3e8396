"""Eye masks for the eye-weighted training losses (spec §3.4-3.5).

Masks are (size, size) uint8 in {0..255}, the same size as the aligned face they belong to.
Method 1 ("dlib"): 68 landmarks -> filled convex hulls of both eyes -> dilate -> blur.
Method 2 ("rect"): rectangles around the two MTCNN eye points, warped with the face.
"""

from __future__ import annotations

import cv2
import numpy as np

from faceswap_gan.faces.alignment import TEMPLATE
from faceswap_gan.faces.dlib_models import landmarks_68

# Where dlib's own HOG detector puts the face box on our aligned faces (x0, y0, x1, y1 as fractions
# of the size; measured on 85 aligned faces from 13 clips, std <= 0.02). The 68-point predictor is
# given this box, so it sees the face framed as in its training data.
ALIGNED_FACE_BOX = np.array([0.072, 0.078, 0.940, 0.945])
LEFT_EYE, RIGHT_EYE = slice(36, 42), slice(42, 48)  # dlib's 68-point indices, image-left first
# dlib's eye centres farther than this (fraction of the eye distance) from the MTCNN eyes mean the
# landmarks failed on this face.
MAX_EYE_DISAGREEMENT = 0.25


def _scaled_odd(k: int, size: int) -> int:
    """The original's kernel sizes are for 256 px faces; keep them proportional, odd, >= 1."""
    return max(1, round(k * size / 256) // 2 * 2 + 1)


def _dilate_blur(mask: np.ndarray) -> np.ndarray:
    size = mask.shape[0]
    k = _scaled_odd(13, size)
    mask = cv2.dilate(mask, np.ones((k, k), np.uint8), iterations=1)
    b = _scaled_odd(7, size)
    return cv2.GaussianBlur(mask, (b, b), 0)


def eye_mask_from_landmarks(points68: np.ndarray, size: int) -> np.ndarray:
    """Method 1 from 68 landmarks in aligned pixels."""
    mask = np.zeros((size, size), np.uint8)
    for eye in (LEFT_EYE, RIGHT_EYE):
        hull = cv2.convexHull(np.round(points68[eye]).astype(np.int32))
        cv2.fillConvexPoly(mask, hull, 255)
    return _dilate_blur(mask)


def eye_mask_rectangles(eyes: np.ndarray, size: int) -> np.ndarray:
    """Method 2 from the two eye points (2, 2) in aligned pixels: rectangles eye_y +- size/15,
    eye_x +- size/8. The original drew them in the face crop and warped the mask with the face; the
    aligned face is that crop resized, so the sizes agree and only the rectangles' slight rotation
    (the face's roll) is not reproduced."""
    mask = np.zeros((size, size), np.uint8)
    dy, dx = size / 15, size / 8
    for x, y in eyes:
        cv2.rectangle(mask, (round(x - dx), round(y - dy)), (round(x + dx), round(y + dy)), 255, thickness=-1)
    return mask


def eye_mask(face: np.ndarray, eyes: np.ndarray | None = None) -> tuple[np.ndarray, str]:
    """Eye mask of an aligned face (size, size, 3) RGB: method 1, or method 2 when the landmarks fail.

    ``eyes`` (2, 2) are the detector's eye points in aligned pixels; the template's eyes when None.
    Returns the mask and the method used ("dlib" or "rect").
    """
    size = face.shape[0]
    if eyes is None:
        eyes = TEMPLATE[:2] * size
    points = landmarks_68(face, ALIGNED_FACE_BOX * size)
    found = np.stack([points[LEFT_EYE].mean(0), points[RIGHT_EYE].mean(0)])
    eye_distance = np.linalg.norm(eyes[1] - eyes[0])
    if np.linalg.norm(found - eyes, axis=1).max() <= MAX_EYE_DISAGREEMENT * eye_distance:
        return eye_mask_from_landmarks(points, size), "dlib"
    return eye_mask_rectangles(eyes, size), "rect"


# dlib 68-point groups of the face parts that conversion can replace alone.
PARTS = {
    "eyes": [list(range(36, 42)), list(range(42, 48))],
    "nose": [list(range(27, 36))],
    "mouth": [list(range(48, 60))],
    "face": [list(range(0, 27))],  # jaw line and eyebrows: the whole face
}


def part_mask(points68: np.ndarray, parts: tuple[str, ...], size: int) -> np.ndarray:
    """(size, size) float32 in [0, 1]: the convex hulls of ``parts``, outlined with a thick contour,
    filled, dilated and feathered, so that only those parts of the face are replaced."""
    mask = np.zeros((size, size), np.uint8)
    thickness = max(1, round(size / 40))
    for part in parts:
        for group in PARTS[part]:
            hull = cv2.convexHull(np.round(points68[group]).astype(np.int32))
            cv2.fillConvexPoly(mask, hull, 255)
            cv2.polylines(mask, [hull], True, 255, thickness)
    k = _scaled_odd(13, size)
    mask = cv2.dilate(mask, np.ones((k, k), np.uint8))
    b = _scaled_odd(15, size)
    return cv2.GaussianBlur(mask, (b, b), 0).astype(np.float32) / 255.0

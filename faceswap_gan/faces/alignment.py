"""Five-point face alignment (spec §4.3): a least-squares similarity (Umeyama) from the MTCNN
landmarks to a fixed template, applied with ``cv2.warpAffine``.

Deliberate differences from the original, which cropped the face box, warped the crop to a
crop-sized image and later resized it: we map the frame straight to the template at the requested
size. The geometry is the same; the face is resampled once instead of twice, pixels outside the box
are real ones instead of replicated crop edges, and the landmarks are not truncated to integers.
The inverse is the exact inverse matrix, not a second Umeyama fit in the other direction.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# (x, y) as fractions of the aligned face's width and height, in Detection.landmarks order:
# image-left eye, image-right eye, nose tip, image-left and image-right mouth corners.
TEMPLATE = np.array(
    [
        [0.32592693, 0.31339227],
        [0.72284537, 0.31075140],
        [0.51872969, 0.55236831],
        [0.37262484, 0.77524200],
        [0.67729576, 0.77596136],
    ]
)


def umeyama(src: np.ndarray, dst: np.ndarray, estimate_scale: bool = True) -> np.ndarray:
    """Least-squares similarity ``T`` (3x3, homogeneous) with ``T @ [src, 1] ~= [dst, 1]``.

    Umeyama, "Least-squares estimation of transformation parameters between two point patterns",
    PAMI 1991. ``src`` and ``dst`` are (N, D) arrays of corresponding points. Reflections are
    excluded. Raises ValueError when ``src`` has no spread (all points equal).
    """
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    n, dim = src.shape
    mu_src, mu_dst = src.mean(0), dst.mean(0)
    src_c, dst_c = src - mu_src, dst - mu_dst
    var_src = (src_c**2).sum() / n
    if var_src == 0:
        raise ValueError("umeyama: source points are all equal")
    cov = dst_c.T @ src_c / n
    u, s, vt = np.linalg.svd(cov)
    d = np.ones(dim)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:  # best rotation, never a reflection
        d[-1] = -1
    rotation = u @ np.diag(d) @ vt
    scale = (s * d).sum() / var_src if estimate_scale else 1.0
    transform = np.eye(dim + 1)
    transform[:dim, :dim] = scale * rotation
    transform[:dim, dim] = mu_dst - scale * rotation @ mu_src
    return transform


def apply_affine(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Map (N, 2) points with a 2x3 affine matrix."""
    points = np.asarray(points, np.float64)
    return points @ matrix[:, :2].T + matrix[:, 2]


@dataclass(frozen=True)
class AlignedFace:
    image: np.ndarray  # (size, size, 3) uint8 RGB
    matrix: np.ndarray  # (2, 3) frame -> aligned pixels
    inverse: np.ndarray  # (2, 3) aligned -> frame pixels
    landmarks: np.ndarray  # (5, 2) the detection's landmarks in aligned pixels

    @property
    def size(self) -> int:
        return self.image.shape[0]


def alignment_matrix(landmarks: np.ndarray, size: int) -> np.ndarray:
    """The 2x3 similarity taking frame landmarks (5, 2) to the template at ``size`` pixels."""
    return umeyama(landmarks, TEMPLATE * size)[:2]


def align_face(frame: np.ndarray, landmarks: np.ndarray, size: int = 256) -> AlignedFace:
    """Warp ``frame`` (H, W, 3) so that the five ``landmarks`` (x, y) land on the template.
    Bilinear, replicated border (spec §4.3)."""
    matrix = alignment_matrix(landmarks, size)
    image = cv2.warpAffine(frame, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return AlignedFace(image, matrix, cv2.invertAffineTransform(matrix), apply_affine(matrix, landmarks))

"""Who a face looks like, two ways.

1. dlib's 128-D face descriptor (``faces/dlib_models.py``): a strong identity network, but the default
   perceptual loss trains our model against that very network, so a swap could fool it.
2. A second opinion the training never sees: a linear classifier of HOG features (histograms of oriented
   gradients of the grey face, scikit-image), fitted on the user's own real faces of A and B. Like the
   LBPH recogniser it stands in for (OpenCV's needs opencv-contrib), it judges shape and texture, not the
   features of any network the model was trained against.
"""

from __future__ import annotations

import cv2
import numpy as np
from skimage.feature import hog

from faceswap_gan.faces.dlib_models import face_descriptor

CROP = 64  # HOG input side


def descriptors(images: list[np.ndarray], boxes: list[np.ndarray]) -> np.ndarray:
    """(N, 128) dlib descriptors of the face inside each box."""
    return np.stack([face_descriptor(image, box) for image, box in zip(images, boxes, strict=True)])


def hog_features(images: list[np.ndarray], boxes: list[np.ndarray]) -> np.ndarray:
    """(N, F) HOG of each box's grey face at CROP x CROP."""
    features = []
    for image, box in zip(images, boxes, strict=True):
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        h, w = image.shape[:2]
        crop = image[max(y0, 0) : min(y1, h), max(x0, 0) : min(x1, w)]
        grey = cv2.cvtColor(cv2.resize(crop, (CROP, CROP), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
        features.append(hog(grey, orientations=9, pixels_per_cell=(8, 8), cells_per_block=(2, 2)))
    return np.stack(features)


class LinearJudge:
    """Ridge regression of +1 (B) / -1 (A) on standardised features: which of two people a face is."""

    def __init__(self, features_a: np.ndarray, features_b: np.ndarray, ridge: float = 1.0) -> None:
        x = np.concatenate([features_a, features_b])
        y = np.concatenate([-np.ones(len(features_a)), np.ones(len(features_b))])
        self.mean, self.scale = x.mean(axis=0), x.std(axis=0) + 1e-6
        z = np.c_[(x - self.mean) / self.scale, np.ones(len(x))]
        self.weights = np.linalg.solve(z.T @ z + ridge * np.eye(z.shape[1]), z.T @ y)

    def score(self, features: np.ndarray) -> np.ndarray:
        """(N,) > 0: B, < 0: A."""
        return np.c_[(features - self.mean) / self.scale, np.ones(len(features))] @ self.weights

    def fraction_b(self, features: np.ndarray) -> float:
        return float(np.mean(self.score(features) > 0))

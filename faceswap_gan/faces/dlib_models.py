"""dlib's models from ``face-recognition-models``: 68 landmarks (eye masks, face parts) and
128-D face descriptors (who is who). Both take RGB uint8 images.

The 68-point model was trained on iBUG 300-W, whose licence excludes commercial use.
"""

from __future__ import annotations

import os
from functools import cache

import dlib
import numpy as np

from faceswap_gan.errors import UserError
from faceswap_gan.nets.dlib_resnet import model_path

# The same tolerance dlib documents for its descriptor: below it, usually the same person.
SAME_PERSON_DISTANCE = 0.6


@cache
def _predictor(name: str) -> dlib.shape_predictor:
    return dlib.shape_predictor(str(model_path(name)))


@cache
def _describer() -> dlib.face_recognition_model_v1:
    return dlib.face_recognition_model_v1(str(model_path("dlib_face_recognition_resnet_model_v1.dat")))


def _rect(box: np.ndarray) -> dlib.rectangle:
    x0, y0, x1, y1 = (round(float(v)) for v in box)
    return dlib.rectangle(x0, y0, x1, y1)


def landmarks_68(image: np.ndarray, box: np.ndarray) -> np.ndarray:
    """dlib's 68 landmarks (68, 2) float (x, y) of the face inside ``box`` (x0, y0, x1, y1)."""
    shape = _predictor("shape_predictor_68_face_landmarks.dat")(np.ascontiguousarray(image), _rect(box))
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)


def face_descriptor(image: np.ndarray, box: np.ndarray) -> np.ndarray:
    """dlib's 128-D identity descriptor of the face inside ``box``; distances < 0.6 suggest one person."""
    image = np.ascontiguousarray(image)
    shape = _predictor("shape_predictor_5_face_landmarks.dat")(image, _rect(box))
    return np.asarray(_describer().compute_face_descriptor(image, shape), dtype=np.float64)


def reference_descriptor(path: str | os.PathLike, detector, max_pixels: int | None = None) -> np.ndarray:
    """The descriptor of the largest face in a reference photo (``detector``: any ``Detector``)."""
    from faceswap_gan.io.media import read_image

    image = read_image(path, max_pixels)
    faces = detector.detect([image])[0]
    if not faces:
        raise UserError(f"{path}: no face found in the reference photo; use a clear frontal photo")
    return face_descriptor(image, max(faces, key=lambda d: d.area).box)

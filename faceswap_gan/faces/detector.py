"""Face detection, whatever the detector: what a detector returns (``Detection``), what it is told
(``DetectorSettings``), what it must do (the ``Detector`` protocol), and ``VideoDetector``, which follows
faces through a video: a whole-frame search every few frames, a cheaper search near the last faces
between, where the detector offers one (``NearDetector``).

The detector of the original is MTCNN (``faces/mtcnn.py``). Another detector is one new file with a
class that has ``detect``; the stages take any ``Detector``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from faceswap_gan.faces.boxes import square_face_box

LANDMARK_NAMES = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")  # "left" = image left


@dataclass(frozen=True)
class Detection:
    box: np.ndarray  # (4,) float: x0, y0, x1, y1 of MTCNN's refined box, in frame pixels
    score: float  # O-Net face probability
    landmarks: np.ndarray  # (5, 2) float (x, y), in LANDMARK_NAMES order

    def face_box(self, width: int, height: int) -> np.ndarray:
        """The square crop box the original uses for raw faces and alignment (spec §4.2)."""
        return square_face_box(self.box, width, height)

    @property
    def area(self) -> float:
        return float((self.box[2] - self.box[0]) * (self.box[3] - self.box[1]))


@dataclass(frozen=True)
class DetectorSettings:
    """What the detector is told. The defaults are MTCNN's own, for scripts that use the detector directly;
    the stages build theirs from the same-named fields of ``ExtractConfig`` and ``ConverterConfig``."""

    min_size: int = 20  # smallest face side searched for, in pixels of the (downscaled) frame
    detection_threshold: float = 0.7  # O-Net threshold; P-Net and R-Net use 0.6 and 0.7 as in the original
    factor: float = 0.709  # pyramid scale step
    auto_downscale: bool = False  # detect on a reduced copy of large frames (spec §4.2 step 1)
    min_face_area: int = 0  # faces with a smaller box (full-resolution pixels) are dropped


def downscale_factor(height: int, width: int) -> int:
    """The original's auto-downscaling by pixel count: 1080p -> 4, 720p -> 3, 480p -> 2, else 1."""
    pixels = height * width
    for limit, factor in ((1920 * 1080, 4), (1280 * 720, 3), (858 * 480, 2)):
        if pixels >= limit:
            return factor
    return 1


class Detector(Protocol):
    """Finds faces: RGB uint8 frames (H, W, 3), of any sizes -> per frame, the faces found in that frame's
    pixel coordinates, best score first."""

    def detect(self, images: Sequence[np.ndarray]) -> list[list[Detection]]: ...


@runtime_checkable
class NearDetector(Detector, Protocol):
    """A detector that can also look only near known boxes, cheaply (used between whole-frame searches)."""

    def detect_near(self, image: np.ndarray, boxes: np.ndarray) -> list[Detection]:
        """Faces in ``image`` close to ``boxes`` (K, 4), e.g. the previous frame's faces."""
        ...


class VideoDetector:
    """Detection on consecutive frames of a video: the whole-frame search on every ``full_every``-th frame,
    and whenever a face was lost or none is known; in between, ``detect_near`` the previous frame's faces
    (with a ``NearDetector``; other detectors search every frame). ``full_every=1`` is the original's full
    detection on every frame. A face that enters the picture is found at the next full detection, at most
    ``full_every - 1`` frames late."""

    def __init__(self, detector: Detector, full_every: int = 1) -> None:
        # Without a cheap near search, every frame gets the whole-frame search.
        self.detector = detector
        self.full_every = full_every if isinstance(detector, NearDetector) else 1
        self._previous: list[Detection] = []
        self._since_full = 0

    def detect(self, frames: Sequence[np.ndarray]) -> list[list[Detection]]:
        """The faces of each of the next frames of the video, in order."""
        if self.full_every == 1:
            return self.detector.detect(frames)  # every frame in one batch: faster than one by one
        return [self._next(frame) for frame in frames]

    def _next(self, frame: np.ndarray) -> list[Detection]:
        faces = None
        if self._previous and self._since_full < self.full_every:
            faces = self.detector.detect_near(frame, np.stack([d.box for d in self._previous]))
            if len(faces) < len(self._previous):  # someone left or moved too fast: look everywhere
                faces = None
        if faces is None:
            faces, self._since_full = self.detector.detect([frame])[0], 0
        self._since_full += 1
        self._previous = faces
        return faces

"""Temporal smoothing of every face in a video, each with its own state (spec §5.3, without the
original's single global state shared by all faces).

A face is tracked by its box overlap from frame to frame. Its box corners and five landmarks are
smoothed together: the landmarks decide the alignment, so smoothing them is what removes jitter
(the original smoothed only the crop box, and its landmarks still jittered).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from faceswap_gan.faces.boxes import box_iou
from faceswap_gan.faces.detector import Detection


class KalmanPoints:
    """Constant-velocity Kalman filter for N 2-D points at once: per point the state (x, y, vx, vy),
    transition dt = 1, process noise ``noise`` * I, measurement noise I (OpenCV's defaults), as the
    original. ``update`` corrects with the new measurement, then returns the one-step prediction, as
    the original did (it offsets some of the lag of heavy smoothing)."""

    def __init__(self, points: np.ndarray, noise: float) -> None:
        n = len(points)
        self.filter = cv2.KalmanFilter(4 * n, 2 * n)
        block = np.array([[1, 0, 1, 0], [0, 1, 0, 1], [0, 0, 1, 0], [0, 0, 0, 1]], np.float32)
        self.filter.transitionMatrix = np.kron(np.eye(n, dtype=np.float32), block)
        self.filter.measurementMatrix = np.kron(np.eye(n, dtype=np.float32), np.eye(2, 4, dtype=np.float32))
        self.filter.processNoiseCov = noise * np.eye(4 * n, dtype=np.float32)
        self.filter.measurementNoiseCov = np.eye(2 * n, dtype=np.float32)
        self.filter.errorCovPost = np.zeros((4 * n, 4 * n), np.float32)
        for _ in range(200):  # the original's warm-up: let the uncertainty grow so that tracking starts fast
            self.filter.predict()
        state = np.zeros((4 * n, 1), np.float32)
        state[0::4, 0], state[1::4, 0] = points[:, 0], points[:, 1]
        self.filter.statePost = state
        self.filter.statePre = state.copy()

    def update(self, points: np.ndarray) -> np.ndarray:
        self.filter.correct(points.astype(np.float32).reshape(-1, 1))
        state = self.filter.predict()
        return np.stack([state[0::4, 0], state[1::4, 0]], axis=1).astype(np.float64)


class MovingAverage:
    """new = coef * previous + (1 - coef) * current (the original's alternative to the Kalman filter)."""

    def __init__(self, points: np.ndarray, coef: float) -> None:
        self.value, self.coef = points.astype(np.float64), coef

    def update(self, points: np.ndarray) -> np.ndarray:
        self.value = self.coef * self.value + (1 - self.coef) * points
        return self.value.copy()


@dataclass
class Track:
    id: int
    smoother: KalmanPoints | MovingAverage | None
    box: np.ndarray  # last raw box, for matching
    missed: int = 0
    extra: dict = field(default_factory=dict)  # per-face facts computed once (e.g. "is the reference person")


class FaceTracker:
    """Matches each frame's detections to tracks and returns them smoothed."""

    def __init__(self, kalman: bool = True, noise: float = 1e-3, coef: float = 0.65, smooth: bool = True,
                 min_overlap: float = 0.3, max_missed: int = 5) -> None:  # fmt: skip
        self.kalman, self.noise, self.coef, self.smooth = kalman, noise, coef, smooth
        self.min_overlap, self.max_missed = min_overlap, max_missed
        self.tracks: list[Track] = []
        self._next_id = 0

    def update(self, detections: list[Detection]) -> list[tuple[Track, Detection]]:
        """Each detection with its track, its box and landmarks smoothed."""
        unmatched = list(range(len(self.tracks)))
        out = []
        for det in sorted(detections, key=lambda d: -d.score):
            track = self._match(det, unmatched)
            points = np.concatenate([det.box.reshape(2, 2), det.landmarks])
            if track is None:
                track = Track(self._next_id, self._smoother(points), det.box)
                self._next_id += 1
                self.tracks.append(track)
                smoothed = points
            else:
                unmatched.remove(self.tracks.index(track))
                smoothed = track.smoother.update(points) if track.smoother else points
            track.box, track.missed = det.box, 0
            out.append((track, Detection(smoothed[:2].ravel(), det.score, smoothed[2:])))
        for i in unmatched:
            self.tracks[i].missed += 1
        self.tracks = [t for t in self.tracks if t.missed <= self.max_missed]
        return out

    def _match(self, det: Detection, candidates: list[int]) -> Track | None:
        if not candidates:
            return None
        boxes = np.stack([self.tracks[i].box for i in candidates])
        overlaps = box_iou(det.box, boxes)
        best = int(np.argmax(overlaps))
        return self.tracks[candidates[best]] if overlaps[best] >= self.min_overlap else None

    def _smoother(self, points: np.ndarray) -> KalmanPoints | MovingAverage | None:
        if not self.smooth:
            return None
        return KalmanPoints(points, self.noise) if self.kalman else MovingAverage(points, self.coef)

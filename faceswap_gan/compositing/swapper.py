"""One face through the model and back into its frame (spec §5.4), in three steps so that the model can
run once for every face of a batch of frames:

1. ``prepare``: align the face to the template at about its own size, keep the central ``roi_coverage``
   part (the region training targets cover) and resize it to the model's resolution;
2. the model (``FaceSwapModel.swap`` on all ROIs at once);
3. ``finish``: sharpen, colour-correct, restrict to face parts if asked, feather the ROI's border, and warp colour
   and alpha back to the frame, where ``composite`` blends them in.
Images are (H, W, 3) uint8 RGB; alpha masks (H, W) float32 in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from faceswap_gan.compositing.color import COLOR_CORRECTION
from faceswap_gan.compositing.sharpen import sharpen
from faceswap_gan.converter import ConverterConfig
from faceswap_gan.faces.alignment import TEMPLATE, AlignedFace, align_face, apply_affine
from faceswap_gan.faces.detector import Detection
from faceswap_gan.faces.dlib_models import landmarks_68
from faceswap_gan.faces.masks import ALIGNED_FACE_BOX, part_mask

MAX_WORK_SIZE = 512  # aligned faces larger than this are worked on at this size


@dataclass
class PreparedFace:
    aligned: AlignedFace
    inset: int  # ROI = aligned.image[inset:-inset, inset:-inset]
    model_input: np.ndarray  # (R, R, 3) uint8 RGB

    @property
    def roi(self) -> np.ndarray:
        return self.aligned.image[self.inset : -self.inset, self.inset : -self.inset]


@dataclass
class SwappedFace:
    x0: int  # where the patch goes in the frame
    y0: int
    colour: np.ndarray  # (h, w, 3) float32 RGB
    alpha: np.ndarray  # (h, w) float32 in [0, 1], feathered, zero outside the ROI


def prepare(frame: np.ndarray, face: Detection, config: ConverterConfig) -> PreparedFace | None:
    """None when the face is too small to leave an ROI border at this ``roi_coverage``."""
    height, width = frame.shape[:2]
    box = face.face_box(width, height)
    size = int(min(max(box[2] - box[0], box[3] - box[1]), MAX_WORK_SIZE)) // 2 * 2
    inset = int(size * (1 - config.roi_coverage))
    if size < 16 or inset == 0:
        return None
    return _with_model_input(align_face(frame, face.landmarks, size), inset, config.resolution)


def prepare_aligned(face: np.ndarray, config: ConverterConfig) -> PreparedFace:
    """A face already aligned to the template at its own size ((S, S, 3) uint8 RGB, as `prepare`'s data
    folders hold them) made ready exactly as ``prepare`` makes a frame's face: what training's held-out
    judge converts, so that it measures what ``convert`` would show."""
    size = face.shape[0]
    identity = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    aligned = AlignedFace(face, identity, identity, TEMPLATE * size)
    return _with_model_input(aligned, max(int(size * (1 - config.roi_coverage)), 1), config.resolution)


def _with_model_input(aligned: AlignedFace, inset: int, resolution: int) -> PreparedFace:
    roi = aligned.image[inset:-inset, inset:-inset]
    r = resolution
    model_input = cv2.resize(roi, (r, r), interpolation=cv2.INTER_AREA if roi.shape[0] > r else cv2.INTER_LINEAR)
    return PreparedFace(aligned, inset, model_input)


def paste(prepared: PreparedFace, alpha: np.ndarray, colour: np.ndarray, config: ConverterConfig) -> np.ndarray:
    """``finish`` and ``composite`` into the aligned face itself: (S, S, 3) uint8 RGB, the swapped face as
    ``convert`` would leave it in a frame, in aligned coordinates (for ``prepare_aligned``'s faces)."""
    image = prepared.aligned.image
    return composite(image, [finish(prepared, alpha, colour, config, image.shape)])[0]


def feather_mask(size: int, coverage: float) -> np.ndarray:
    """The original's ROI feathering: ones inset by size * (1 - coverage), blurred 15x15 (sigma 10)."""
    mask = np.zeros((size, size), np.float32)
    inset = int(size * (1 - coverage))
    mask[inset : size - inset, inset : size - inset] = 1
    return cv2.GaussianBlur(mask, (15, 15), 10)


def finish(
    prepared: PreparedFace, alpha: np.ndarray, colour: np.ndarray, config: ConverterConfig, frame_shape: tuple[int, ...]
) -> SwappedFace:
    """The model's (R, R) alpha and (R, R, 3) colour for ``prepared``, made ready to blend into the frame."""
    roi = prepared.roi
    side = roi.shape[0]
    colour = cv2.resize(sharpen(colour, config.sharpen), (side, side), interpolation=cv2.INTER_CUBIC)
    colour = COLOR_CORRECTION[config.color_correction.value](colour, roi)
    alpha = cv2.resize(alpha, (side, side), interpolation=cv2.INTER_LINEAR) * feather_mask(side, config.roi_coverage)
    if config.segmentation.parts:
        size, inset = prepared.aligned.size, prepared.inset
        points = landmarks_68(prepared.aligned.image, ALIGNED_FACE_BOX * size)
        alpha = alpha * part_mask(points, config.segmentation.parts, size)[inset:-inset, inset:-inset]
    # Back to the frame: ROI pixels -> aligned pixels (+inset) -> frame pixels (inverse alignment).
    to_frame = prepared.aligned.inverse.copy()
    to_frame[:, 2] += to_frame[:, :2] @ [prepared.inset, prepared.inset]
    corners = apply_affine(to_frame, np.array([[0, 0], [side, 0], [0, side], [side, side]], float))
    x0, y0 = np.maximum(np.floor(corners.min(0)).astype(int), 0)
    x1 = min(int(np.ceil(corners[:, 0].max())), frame_shape[1])
    y1 = min(int(np.ceil(corners[:, 1].max())), frame_shape[0])
    to_patch = to_frame.copy()
    to_patch[:, 2] -= (x0, y0)
    size = (max(x1 - x0, 1), max(y1 - y0, 1))
    colour = cv2.warpAffine(
        colour.astype(np.float32), to_patch, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    alpha = cv2.warpAffine(alpha.astype(np.float32), to_patch, size, flags=cv2.INTER_LINEAR, borderValue=0)
    return SwappedFace(int(x0), int(y0), colour, alpha)


def composite(frame: np.ndarray, faces: list[SwappedFace], enhance: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Blend swapped faces into a copy of ``frame``: alpha * colour + (1 - alpha) * frame, then the
    original's contrast ``enhance`` of what changed. Returns the result and the combined alpha map."""
    out = frame.copy()
    alpha_map = np.zeros(frame.shape[:2], np.float32)
    if not faces:
        return out, alpha_map
    # Only the box around the faces can change, so only it goes through float: the same arithmetic as
    # over the whole frame (elsewhere (1 + e) f - e f rounds back to f), at a tenth of the cost at 720p.
    top, left = min(face.y0 for face in faces), min(face.x0 for face in faces)
    bottom = max(face.y0 + face.alpha.shape[0] for face in faces)
    right = max(face.x0 + face.alpha.shape[1] for face in faces)
    box = (slice(top, bottom), slice(left, right))
    patch = frame[box].astype(np.float32)
    for face in faces:
        h, w = face.alpha.shape
        region = (slice(face.y0 - top, face.y0 - top + h), slice(face.x0 - left, face.x0 - left + w))
        a = face.alpha[..., None]
        patch[region] = a * face.colour + (1 - a) * patch[region]
        in_frame = (slice(face.y0, face.y0 + h), slice(face.x0, face.x0 + w))
        alpha_map[in_frame] = np.maximum(alpha_map[in_frame], face.alpha)
    if enhance:
        patch = (1 + enhance) * patch - enhance * frame[box]
    out[box] = np.clip(patch, 0, 255).round().astype(np.uint8)
    return out, alpha_map

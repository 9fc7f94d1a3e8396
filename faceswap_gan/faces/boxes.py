"""Box arithmetic shared by the detector and the tracker. Boxes are float arrays (N, 4) of
(x0, y0, x1, y1) in pixels, x = column, y = row (the original's swapped naming is not kept)."""

from __future__ import annotations

import numpy as np

NMS_CHUNK = 512  # candidates compared at once: a (512, 512) overlap matrix


def box_iou(a: np.ndarray, b: np.ndarray, mode: str = "union") -> np.ndarray:
    """Overlap of one box ``a`` (4,) with boxes ``b`` (N, 4): intersection over union, or over the
    smaller area when ``mode == "min"``. Areas use MTCNN's inclusive pixel convention (+1)."""
    return pairwise_iou(a[None], b, mode)[0]


def pairwise_iou(a: np.ndarray, b: np.ndarray, mode: str = "union") -> np.ndarray:
    """``box_iou`` of every box in ``a`` (M, 4) with every box in ``b`` (N, 4): (M, N)."""
    a, b = a[:, None], b[None]
    xx0, yy0 = np.maximum(a[..., 0], b[..., 0]), np.maximum(a[..., 1], b[..., 1])
    xx1, yy1 = np.minimum(a[..., 2], b[..., 2]), np.minimum(a[..., 3], b[..., 3])
    inter = np.maximum(0.0, xx1 - xx0 + 1) * np.maximum(0.0, yy1 - yy0 + 1)
    area_a = (a[..., 2] - a[..., 0] + 1) * (a[..., 3] - a[..., 1] + 1)
    area_b = (b[..., 2] - b[..., 0] + 1) * (b[..., 3] - b[..., 1] + 1)
    if mode == "min":
        return inter / np.minimum(area_a, area_b)
    if mode == "union":
        return inter / (area_a + area_b - inter)
    raise ValueError(f"mode must be 'union' or 'min', got {mode!r}")


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float, mode: str = "union") -> np.ndarray:
    """Greedy non-maximum suppression. Returns the indices kept, best score first."""
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    for start in range(0, len(order), NMS_CHUNK):
        # The overlaps of a chunk of candidates with each other in one array operation; earlier
        # chunks' winners first remove what they overlap (the same result as one box at a time).
        chunk = order[start : start + NMS_CHUNK]
        if keep:
            chunk = chunk[(pairwise_iou(boxes[keep], boxes[chunk], mode) <= threshold).all(0)]
        overlap = pairwise_iou(boxes[chunk], boxes[chunk], mode) > threshold
        suppressed = np.zeros(len(chunk), dtype=bool)
        for i in range(len(chunk)):
            if not suppressed[i]:
                keep.append(int(chunk[i]))
                suppressed |= overlap[i]
    return np.asarray(keep, dtype=np.int64)


def to_square(boxes: np.ndarray) -> np.ndarray:
    """MTCNN's ``rerec``: grow each box to a square of side max(w, h) about its centre."""
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    x0 = boxes[:, 0] + (w - side) / 2
    y0 = boxes[:, 1] + (h - side) / 2
    return np.stack([x0, y0, x0 + side, y0 + side], axis=1)


def regress(boxes: np.ndarray, offsets: np.ndarray, inclusive: bool = True) -> np.ndarray:
    """Apply MTCNN box-regression offsets (N, 4), given as fractions of width and height."""
    extra = 1.0 if inclusive else 0.0
    w = boxes[:, 2] - boxes[:, 0] + extra
    h = boxes[:, 3] - boxes[:, 1] + extra
    return boxes + offsets * np.stack([w, h, w, h], axis=1)


def square_face_box(box: np.ndarray, width: int, height: int) -> np.ndarray:
    """The original's face box (spec §4.2 step 3): a square of side (w + h) / 2 centred on the
    detection, truncated to integers and clipped to the image (so it may be non-square at borders)."""
    x0, y0, x1, y1 = box
    cx, cy = int((x0 + x1) / 2), int((y0 + y1) / 2)
    half = int(((x1 - x0) + (y1 - y0)) / 2) // 2
    return np.array(
        [max(cx - half, 0), max(cy - half, 0), min(cx + half, width), min(cy + half, height)],
        dtype=np.float64,
    )

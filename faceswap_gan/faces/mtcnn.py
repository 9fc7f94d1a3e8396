"""MTCNN, the original's face detector (spec §4.1-4.2), with the original weights (``mtcnn_nets.py``).

``MTCNNDetector.detect`` takes RGB uint8 frames (H, W, 3) and returns, per frame, the faces found
as ``Detection`` values in that frame's pixel coordinates. Frames of equal size are processed as a
batch: the proposal net runs once per pyramid scale for all of them, and the two refinement nets
run once per call on every candidate of every frame. ``detect_near`` runs only the refinement nets
on known boxes, which makes it a ``NearDetector`` for ``VideoDetector``.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch

from faceswap_gan.faces.boxes import nms, regress, to_square
from faceswap_gan.faces.detector import Detection, DetectorSettings, downscale_factor
from faceswap_gan.faces.mtcnn_nets import load_mtcnn_nets


def _normalise(images: np.ndarray) -> torch.Tensor:
    """(N, H, W, 3) uint8 RGB -> (N, 3, H, W) float32 in MTCNN's input range."""
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float()
    return (x - 127.5) * 0.0078125


def _crop_resized(image: np.ndarray, boxes: np.ndarray, size: int) -> np.ndarray:
    """Crops of integer boxes (N, 4), zero-padded where they leave the image, resized to size x size."""
    h, w = image.shape[:2]
    out = np.empty((len(boxes), size, size, 3), dtype=np.uint8)
    for i, (x0, y0, x1, y1) in enumerate(boxes.astype(np.int64)):
        patch = np.zeros((y1 - y0 + 1, x1 - x0 + 1, 3), dtype=np.uint8)
        sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x1 + 1, w), min(y1 + 1, h)
        if sx1 > sx0 and sy1 > sy0:
            patch[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = image[sy0:sy1, sx0:sx1]
        out[i] = cv2.resize(patch, (size, size), interpolation=cv2.INTER_AREA)
    return out


class MTCNNDetector:
    """The MTCNN cascade with the original weights. Thread count and device are torch's defaults (CPU)."""

    PNET_THRESHOLD = 0.6
    RNET_THRESHOLD = 0.7
    PNET_PIXELS_PER_CALL = 400_000  # measured: larger P-Net batches run slower on a 2-core CPU

    def __init__(self, settings: DetectorSettings | None = None) -> None:
        self.settings = settings or DetectorSettings()
        self.pnet, self.rnet, self.onet = load_mtcnn_nets()

    def detect_one(self, image: np.ndarray) -> list[Detection]:
        return self.detect([image])[0]

    @torch.inference_mode()
    def detect_near(self, image: np.ndarray, boxes: np.ndarray) -> list[Detection]:
        """Faces in ``image`` close to ``boxes`` (K, 4), full-resolution ``Detection.box`` values such as
        the previous frame's faces: R-Net and O-Net on those boxes only, without the P-Net pyramid
        that costs most of a detection. A face that moved by more than about a quarter of its size
        between the two frames is not found."""
        return self._detect_same_size([image], [boxes])[0]

    @torch.inference_mode()
    def detect(self, images: Sequence[np.ndarray]) -> list[list[Detection]]:
        """Faces in each RGB uint8 frame, best score first. Frames may differ in size."""
        results: list[list[Detection]] = [[] for _ in images]
        by_shape: dict[tuple[int, ...], list[int]] = {}
        for i, image in enumerate(images):
            by_shape.setdefault(image.shape, []).append(i)
        for indices in by_shape.values():
            for i, faces in zip(indices, self._detect_same_size([images[i] for i in indices]), strict=True):
                results[i] = faces
        return results

    # -- the cascade ---------------------------------------------------------------------------------

    def _detect_same_size(
        self, frames: list[np.ndarray], hints: list[np.ndarray] | None = None
    ) -> list[list[Detection]]:
        s = self.settings
        height, width = frames[0].shape[:2]
        # 1. Optional downscaling for detection only; results are mapped back at the end.
        scale = downscale_factor(height, width) if s.auto_downscale else 1
        small = [cv2.resize(f, (width // scale, height // scale)) if scale > 1 else f for f in frames]
        # 2. P-Net proposals over the pyramid, all frames at once (or the hinted boxes, squared as P-Net's
        #    proposals are); then R-Net and O-Net on every frame's candidates.
        if hints is None:
            candidates = self._propose(np.stack(small))
        else:
            candidates = [np.column_stack([np.fix(to_square(h / scale)), np.ones(len(h))]) for h in hints]
        candidates = self._refine(small, candidates)
        faces = self._output(small, candidates)
        # 3. Back to full resolution, small faces dropped, best first.
        out = []
        for dets in faces:
            kept = [
                Detection(box * scale, score, points * scale)
                for box, score, points in dets
                if (box[2] - box[0]) * (box[3] - box[1]) * scale * scale >= s.min_face_area
            ]
            out.append(sorted(kept, key=lambda d: -d.score))
        return out

    def _scales(self, height: int, width: int) -> list[float]:
        m = 12.0 / self.settings.min_size
        side, scales = min(height, width) * m, []
        while side >= 12:
            scales.append(m * self.settings.factor ** len(scales))
            side *= self.settings.factor
        return scales

    def _propose(self, batch: np.ndarray) -> list[np.ndarray]:
        """P-Net over the image pyramid -> per frame, square integer boxes (K, 5) with scores."""
        n, height, width = batch.shape[:3]
        per_frame: list[list[np.ndarray]] = [[] for _ in range(n)]
        level = batch
        for scale in self._scales(height, width):
            hs, ws = int(np.ceil(height * scale)), int(np.ceil(width * scale))
            # Each level is resized from the previous one: INTER_AREA from the full frame costs 5x more
            # and changes the level's pixels by less than the network's quantisation of them.
            level = np.stack([cv2.resize(f, (ws, hs), interpolation=cv2.INTER_AREA) for f in level])
            prob, offsets = self._pnet_chunked(level)
            for i in range(n):
                ys, xs = np.nonzero(prob[i] >= self.PNET_THRESHOLD)
                if not len(ys):
                    continue
                # Each output cell sees a 12x12 window at stride 2 of the scaled image.
                x0, y0 = np.fix((2 * xs + 1) / scale), np.fix((2 * ys + 1) / scale)
                x1, y1 = np.fix((2 * xs + 12) / scale), np.fix((2 * ys + 12) / scale)
                cand = np.stack([x0, y0, x1, y1, prob[i, ys, xs], *offsets[i, :, ys, xs].T], axis=1)
                per_frame[i].append(cand[nms(cand[:, :4], cand[:, 4], 0.5)])
        out = []
        for parts in per_frame:
            if not parts:
                out.append(np.zeros((0, 5)))
                continue
            cand = np.concatenate(parts)
            cand = cand[nms(cand[:, :4], cand[:, 4], 0.7)]
            boxes = np.fix(to_square(regress(cand[:, :4], cand[:, 5:9], inclusive=False)))
            out.append(np.concatenate([boxes, cand[:, 4:5]], axis=1))
        return out

    def _pnet_chunked(self, level: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """P-Net on a batch of frames, in chunks small enough to keep activations in cache."""
        chunk = max(1, self.PNET_PIXELS_PER_CALL // (level.shape[1] * level.shape[2]))
        outs = [self.pnet(_normalise(level[i : i + chunk])) for i in range(0, len(level), chunk)]
        return torch.cat([o[0] for o in outs]).numpy(), torch.cat([o[1] for o in outs]).numpy()

    def _run_stage(self, frames: list[np.ndarray], candidates: list[np.ndarray], size: int, net):
        """Crop every candidate of every frame, run ``net`` once on all of them, split per frame."""
        counts = [len(c) for c in candidates]
        if not sum(counts):
            return counts, None
        crops = np.concatenate(
            [_crop_resized(f, c[:, :4], size) for f, c in zip(frames, candidates, strict=True) if len(c)]
        )
        # Pad the batch to a bucket size: every new batch size makes oneDNN build and cache new kernels,
        # and with a different candidate count in every frame a long video grew memory without bound.
        n = len(crops)
        bucket = 1 << max(n - 1, 0).bit_length() if n <= 256 else -(-n // 256) * 256
        crops = np.concatenate([crops, np.zeros((bucket - n, *crops.shape[1:]), crops.dtype)])
        return counts, [o[:n].numpy() for o in net(_normalise(crops))]

    def _refine(self, frames: list[np.ndarray], candidates: list[np.ndarray]) -> list[np.ndarray]:
        """R-Net: rescore and regress the proposals."""
        counts, outputs = self._run_stage(frames, candidates, 24, self.rnet)
        if outputs is None:
            return candidates
        prob, offsets = outputs
        out, start = [], 0
        for cand, count in zip(candidates, counts, strict=True):
            p, o = prob[start : start + count], offsets[start : start + count]
            start += count
            keep = p > self.RNET_THRESHOLD
            boxes, p, o = cand[keep, :4], p[keep], o[keep]
            keep = nms(boxes, p, 0.7)
            boxes = np.fix(to_square(regress(boxes[keep], o[keep])))
            out.append(np.concatenate([boxes, p[keep, None]], axis=1))
        return out

    def _output(self, frames: list[np.ndarray], candidates: list[np.ndarray]):
        """O-Net: final score, box and five landmarks -> per frame [(box, score, points)]."""
        counts, outputs = self._run_stage(frames, candidates, 48, self.onet)
        if outputs is None:
            return [[] for _ in candidates]
        prob, offsets, points = outputs
        out, start = [], 0
        for cand, count in zip(candidates, counts, strict=True):
            p, o, pts = (a[start : start + count] for a in (prob, offsets, points))
            start += count
            keep = p > self.settings.detection_threshold
            boxes, p, o, pts = cand[keep, :4], p[keep], o[keep], pts[keep]
            w = (boxes[:, 2] - boxes[:, 0] + 1)[:, None]
            h = (boxes[:, 3] - boxes[:, 1] + 1)[:, None]
            xs = w * pts[:, :5] + boxes[:, :1] - 1
            ys = h * pts[:, 5:] + boxes[:, 1:2] - 1
            boxes = regress(boxes, o)
            keep = nms(boxes, p, 0.7, mode="min")
            out.append([(boxes[k], float(p[k]), np.stack([xs[k], ys[k]], axis=1)) for k in keep])
        return out

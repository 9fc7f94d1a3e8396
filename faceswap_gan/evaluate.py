"""``faceswap-gan evaluate``: how good a swap is, in numbers and in a picture.

SOURCE (a clip of A) is converted with the model (or ``swapped`` is read) and the first ``frames``
consecutive frames of both are compared:
- identity transfer: the fraction of swapped faces closer to B than to A, relative to the mean dlib
  descriptors of real faces of A and B, and the mean margin; and a second opinion from a HOG classifier
  fitted on those real faces, which the training loss never sees (``quality/identity.py``);
- expression kept: brows, eyes and mouth of the swap against the source, in inter-ocular distances;
- temporal stability: landmark acceleration of the swap over that of the source (1.0 = as steady);
- face still found: the fraction of swapped frames where dlib's HOG detector (not our MTCNN) sees a face;
- reconstruction: PSNR and SSIM of each decoder on the given faces of its own person.
Written to OUT: ``report.json`` (schema ``REPORT_SCHEMA``, version 1), ``report.md``, ``strip.png``.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import dlib
import numpy as np

from faceswap_gan.convert import convert_video
from faceswap_gan.converter import ConverterConfig
from faceswap_gan.errors import UserError
from faceswap_gan.faces.dlib_models import landmarks_68
from faceswap_gan.faces.masks import ALIGNED_FACE_BOX
from faceswap_gan.faces.mtcnn import MTCNNDetector
from faceswap_gan.io.atomic import atomic_write
from faceswap_gan.io.checkpoint import load_model
from faceswap_gan.io.media import iter_frames, iter_source, write_image
from faceswap_gan.quality.identity import LinearJudge, descriptors, hog_features
from faceswap_gan.quality.metrics import expression_error, identity_transfer, reconstruction, stability_ratio

REPORT_SCHEMA = {
    "version": "1",
    "identity_transfer": "fraction of swapped faces closer to B than to A (dlib descriptors, relative to each "
    "person's mean); 0 = all still A, 1 = all B",
    "identity_margin": "mean of (distance to A - distance to B); > 0 leans to B",
    "identity_transfer_hog": "the same fraction by a HOG classifier fitted on real A and B faces",
    "expression_error": "mean brows/eyes/mouth landmark distance, source vs swap, in inter-ocular distances",
    "stability_ratio": "landmark acceleration of the swap / of the source (1.0 = as steady as the source)",
    "face_found": "fraction of swapped frames in which dlib's HOG detector finds a face",
    "reconstruction": "PSNR (dB) and SSIM of each decoder on faces of its own person",
}
MAX_REFERENCE_FACES = 60


@dataclass
class QualityReport:
    version: int
    direction: str
    frames: int
    identity_transfer: float
    identity_margin: float
    identity_distances: dict
    identity_transfer_hog: float
    expression_error: float
    stability_ratio: float
    face_found: float
    reconstruction: dict

    def describe(self) -> str:
        r = self.reconstruction
        return "\n".join([
            f"identity transfer {self.identity_transfer:.2f} (margin {self.identity_margin:+.3f}; "
            f"HOG second opinion {self.identity_transfer_hog:.2f}) over {self.frames} frames, {self.direction}",
            f"expression error {self.expression_error:.3f} inter-ocular, stability {self.stability_ratio:.2f}x the "
            f"source's, face still found in {self.face_found:.0%}",
            f"reconstruction: A {r['a']['psnr']:.1f} dB / SSIM {r['a']['ssim']:.3f}, "
            f"B {r['b']['psnr']:.1f} dB / SSIM {r['b']['ssim']:.3f}",
        ])  # fmt: skip


def _faces_of(source: str | os.PathLike, detector: MTCNNDetector, who: str) -> tuple[list, list]:
    """Up to MAX_REFERENCE_FACES (image, box) of one person: aligned faces of `prepare` (the template's
    face box when MTCNN does not take a tight crop for a face), photos, or a clip."""
    images, boxes = [], []
    for frame in iter_source(source, every=3, skipped=[]):
        found = detector.detect([frame.image])[0]
        if found:
            box = max(found, key=lambda d: d.area).box
        elif frame.image.shape[0] == frame.image.shape[1]:
            box = ALIGNED_FACE_BOX * frame.image.shape[0]
        else:
            continue
        images.append(frame.image)
        boxes.append(box)
        if len(images) == MAX_REFERENCE_FACES:
            break
    if len(images) < 2:
        raise UserError(f"{source}: fewer than 2 faces of person {who}; give --{who.lower()} faces or a clip of them")
    return images, boxes


def evaluate_model(
    model_path: str | os.PathLike,
    source: str | os.PathLike,
    faces_a: str | os.PathLike,
    faces_b: str | os.PathLike,
    out_dir: str | os.PathLike,
    direction: str = "AtoB",
    swapped: str | os.PathLike | None = None,
    frames: int = 48,
) -> QualityReport:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    detector = MTCNNDetector()
    # 1. Real faces of both people: the references.
    a_images, a_boxes = _faces_of(faces_a, detector, "A")
    b_images, b_boxes = _faces_of(faces_b, detector, "B")
    # 2. The swap: converted now, or given.
    if swapped is None:
        swapped = out_dir / "swapped.mp4"
        convert_video(source, model_path, swapped, ConverterConfig(image_shape=None, output_type="single",
                      direction=direction), end=None, progress=False, overwrite=True)  # fmt: skip
    pairs = list(zip(iter_frames(source), iter_frames(swapped), strict=False))[:frames]
    # 3. Per frame: the source's face box, the same box in the swap (the swap is in place).
    kept = []
    for before, after in pairs:
        found = detector.detect([before.image])[0]
        if found:
            kept.append((before.image, after.image, max(found, key=lambda d: d.area).box))
    if len(kept) < 3:
        raise UserError(
            f"{source}: a face in fewer than 3 of the first {len(pairs)} frames; evaluate a clip of the person"
        )
    sources, swaps, boxes = (list(x) for x in zip(*kept, strict=True))
    d_a, d_b = descriptors(a_images, a_boxes), descriptors(b_images, b_boxes)
    d_swap = descriptors(swaps, boxes)
    real_from, real_to = (d_a, d_b) if direction == "AtoB" else (d_b, d_a)
    identity = identity_transfer(d_swap, real_from, real_to)
    hog_a, hog_b = hog_features(a_images, a_boxes), hog_features(b_images, b_boxes)
    judge = LinearJudge(hog_a, hog_b) if direction == "AtoB" else LinearJudge(hog_b, hog_a)
    marks_source = np.stack([landmarks_68(image, box) for image, box in zip(sources, boxes, strict=True)])
    marks_swap = np.stack([landmarks_68(image, box) for image, box in zip(swaps, boxes, strict=True)])
    hog_detector = dlib.get_frontal_face_detector()
    found = np.mean([len(hog_detector(np.ascontiguousarray(image), 1)) > 0 for image in swaps])
    report = QualityReport(
        version=1,
        direction=direction,
        frames=len(kept),
        identity_transfer=identity.fraction,
        identity_margin=identity.margin,
        identity_distances={"to_a": identity.distance_a, "to_b": identity.distance_b, "a_to_b": identity.a_to_b},
        identity_transfer_hog=judge.fraction_b(hog_features(swaps, boxes)),
        expression_error=expression_error(marks_source, marks_swap),
        stability_ratio=stability_ratio(marks_source, marks_swap),
        face_found=float(found),
        reconstruction=_reconstruction(model_path, a_images, a_boxes, b_images, b_boxes),
    )
    # 4. The report, three ways.
    with atomic_write(out_dir / "report.json") as tmp:
        tmp.write_text(json.dumps({"schema": REPORT_SCHEMA, **asdict(report)}, indent=2))
    with atomic_write(out_dir / "report.md") as tmp:
        tmp.write_text(f"# Swap quality: {source}\n\n```\n{report.describe()}\n```\n\n![strip](strip.png)\n")
    with atomic_write(out_dir / "strip.png") as tmp:
        write_image(tmp, _strip([p[0].image for p in pairs], [p[1].image for p in pairs]))
    return report


def _reconstruction(model_path, a_images, a_boxes, b_images, b_boxes) -> dict:
    """Each decoder on its own person's faces: the face box resized to the model's input, raw colour."""
    model = load_model(model_path, "cpu")
    r = model.config.resolution
    result = {}
    for side, images, boxes, direction in (("a", a_images, a_boxes, "BtoA"), ("b", b_images, b_boxes, "AtoB")):
        crops = []
        for image, box in zip(images, boxes, strict=True):
            x0, y0, x1, y1 = (int(round(v)) for v in box)
            crop = image[max(y0, 0) : y1, max(x0, 0) : x1]
            crops.append(cv2.resize(crop, (r, r), interpolation=cv2.INTER_AREA))
        _, colours = model.swap(np.stack(crops), direction)  # decoder of the faces' own person
        psnr, ssim = reconstruction(crops, list(colours))
        result[side] = {"psnr": psnr, "ssim": ssim}
    return result


def _strip(sources: list[np.ndarray], swaps: list[np.ndarray], count: int = 8, height: int = 160) -> np.ndarray:
    """``count`` evenly spaced frames: sources on top, swaps below."""
    picks = np.linspace(0, len(sources) - 1, min(count, len(sources))).round().astype(int)
    scale = height / sources[0].shape[0]
    size = (round(sources[0].shape[1] * scale), height)
    row = lambda frames: np.hstack([cv2.resize(frames[i], size, interpolation=cv2.INTER_AREA) for i in picks])  # noqa: E731
    return np.vstack([row(sources), row(swaps)])

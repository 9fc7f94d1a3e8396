"""Stage 1: faces out of videos (or image folders) -> aligned faces, raw crops, eye masks.

``extract_faces`` writes the original's layout (``faces/{raw_faces,aligned_faces,binary_masks_eyes}``)
plus ``alignments.json``; ``prepare_dataset`` writes the training layout for two people;
``compute_masks`` (re)computes eye masks for face folders that already exist.
Results are built in a hidden staging folder and moved into place at the end, so an interrupted
or failed run never leaves a half-written result where a good one was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from faceswap_gan.config import ExtractConfig, save_config
from faceswap_gan.errors import StreamBroken, UserError, warn
from faceswap_gan.faces.alignment import TEMPLATE, align_face
from faceswap_gan.faces.detector import Detection, DetectorSettings
from faceswap_gan.faces.dlib_models import SAME_PERSON_DISTANCE, face_descriptor, reference_descriptor
from faceswap_gan.faces.masks import eye_mask, eye_mask_rectangles
from faceswap_gan.faces.mtcnn import MTCNNDetector
from faceswap_gan.io.alignments_file import write_alignments
from faceswap_gan.io.atomic import is_within, publish_all, staging_folder
from faceswap_gan.io.layout import SIDES, DataFolder, ExtractFolder, hold_out
from faceswap_gan.io.media import (
    Frame,
    count_source,
    is_video,
    iter_source,
    list_images,
    probe_video,
    read_image,
    write_image,
)
from faceswap_gan.runtime import flush_denormals


@dataclass
class ExtractSummary:
    frames_read: int = 0
    faces_written: int = 0
    skipped: Counter = field(default_factory=Counter)  # frames skipped, by reason
    rect_masks: int = 0  # eye masks that fell back to rectangles
    seconds: float = 0.0
    unreadable: list[str] = field(default_factory=list)  # images of a folder that could not be read, skipped
    held_out: int = 0  # faces kept out of training (prepare --holdout)
    warnings: list[str] = field(default_factory=list)  # e.g. the video broke part-way: what was read is kept

    def describe(self) -> str:
        reasons = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(self.skipped.items())) or "none"
        unreadable = f", {len(self.unreadable)} unreadable images skipped" if self.unreadable else ""
        return (
            f"{self.frames_read} frames read{unreadable}, {self.faces_written} faces written"
            + (f" ({self.held_out} of them held out of training)" if self.held_out else "")
            + ", frames skipped: "
            f"{reasons}; {self.rect_masks} eye masks from rectangles; {self.seconds:.1f} s"
        ) + "".join(f"\nwarning: {w}" for w in [*self.unreadable, *self.warnings])


@dataclass(frozen=True)
class _Outputs:
    aligned: Path
    masks: Path
    raw: Path | None = None

    def make(self) -> None:
        for folder in (self.aligned, self.masks, self.raw):
            if folder is not None:
                folder.mkdir(parents=True, exist_ok=True)


def extract_faces(
    source: str | os.PathLike,
    out_dir: str | os.PathLike,
    config: ExtractConfig,
    overwrite: bool = False,
    progress: bool = True,
) -> ExtractSummary:
    """Video or image folder -> ``out_dir/faces/...``, ``out_dir/alignments.json``, ``out_dir/extract_config.yaml``."""
    flush_denormals()
    out_dir, folder = Path(out_dir), ExtractFolder(out_dir)
    # 1. Check the input and the destination before any work.
    count_source(source, config.every, config.max_pixels)
    _claim(out_dir, [folder.faces.name, folder.alignments.name], overwrite, [source])
    # 2. Extract into a staging folder laid out like the result.
    with staging_folder(out_dir, "extract") as root:
        staged = ExtractFolder(root)
        outputs = _Outputs(staged.aligned, staged.masks, staged.faces / folder.RAW)
        summary, frames = _run(source, outputs, config, MTCNNDetector(_detector_settings(config)), progress)
        write_alignments(staged.alignments, _alignments(source, config, frames))
        save_config(config, staged.settings)
        # 3. Publish: faces, alignments and settings replace the old ones together, only now that all are complete.
        publish_all(
            [(staged.faces, folder.faces), (staged.alignments, folder.alignments), (staged.settings, folder.settings)]
        )
    return summary


def prepare_dataset(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    data_dir: str | os.PathLike,
    config: ExtractConfig,
    overwrite: bool = False,
    progress: bool = True,
) -> dict[str, ExtractSummary]:
    """Two people's videos (or image folders) -> the training layout: ``face_src/``, ``face_dst/``,
    ``binary_masks/face_{src,dst}_eyes/`` (mask names equal face names), ``alignments_{src,dst}.json``."""
    flush_denormals()
    data_dir, folder = Path(data_dir), DataFolder(data_dir)
    sides = dict(zip(SIDES, (src, dst), strict=True))
    for source in sides.values():
        count_source(source, config.every, config.max_pixels)
    _claim(data_dir, [p for s in sides for p in folder.parts(s)], overwrite, list(sides.values()))
    detector = MTCNNDetector(_detector_settings(config))
    summaries = {}
    # Both people into one staging folder: a failure on either side publishes nothing.
    with staging_folder(data_dir, "prepare") as root:
        staged = DataFolder(root)
        for side, source in sides.items():
            outputs = _Outputs(staged.faces(side), staged.masks(side))
            summaries[side], frames = _run(source, outputs, config, detector, progress, label=side)
            summaries[side].held_out = hold_out(staged, side, config.holdout)
            write_alignments(staged.alignments(side), _alignments(source, config, frames))
        save_config(config, staged.settings)
        parts = []
        for s in sides:
            parts += [(staged.faces(s), folder.faces(s)), (staged.masks(s), folder.masks(s))]
            parts += [(staged.alignments(s), folder.alignments(s))]
            if staged.holdout(s).is_dir():
                parts += [(staged.holdout(s), folder.holdout(s)), (staged.holdout_masks(s), folder.holdout_masks(s))]
        publish_all(parts + [(staged.settings, folder.settings)])
        for s in sides:  # a held-out slice of an earlier prepare, which this one did not replace, is stale
            if not summaries[s].held_out:
                for old in (folder.holdout(s), folder.holdout_masks(s)):
                    shutil.rmtree(old, ignore_errors=True)
    return summaries


def compute_masks(
    data_dir: str | os.PathLike, method: str = ExtractConfig.mask_method, progress: bool = True
) -> dict[str, int]:
    """(Re)compute eye masks for every face folder found under ``data_dir`` (training or extract layout).
    Returns how many masks each face folder got."""
    flush_denormals()
    data_dir, data, extracted = Path(data_dir), DataFolder(data_dir), ExtractFolder(data_dir)
    pairs = [(data.faces(s), data.masks(s)) for s in SIDES] + [(data.holdout(s), data.holdout_masks(s)) for s in SIDES]
    pairs += [(extracted.aligned, extracted.masks)]
    pairs = [(faces, masks) for faces, masks in pairs if faces.is_dir()]
    if not pairs:
        raise UserError(
            f"{data_dir}: no face folders (face_src/, face_dst/ or faces/aligned_faces/); run prepare or extract"
        )
    counts, parts = {}, []
    with staging_folder(data_dir, "masks") as root:  # every folder's new masks, published together
        for i, (faces_dir, masks_dir) in enumerate(pairs):
            files = list_images(faces_dir)
            if not files:
                raise UserError(f"{faces_dir}: the folder has no images")
            staged, written = root / str(i), 0
            staged.mkdir()
            for file in tqdm(files, desc=f"masks {faces_dir.name}", unit="face", disable=not progress):
                try:
                    face = read_image(file)
                except UserError as exc:  # one bad file does not cost the others their masks
                    warn(f"{exc}; skipped")
                    continue
                mask = (
                    eye_mask(face)[0]
                    if method == "dlib"
                    else eye_mask_rectangles(TEMPLATE[:2] * face.shape[0], face.shape[0])
                )
                write_image(staged / file.name, mask)
                written += 1
            parts.append((staged, masks_dir))
            counts[str(faces_dir)] = written
        publish_all(parts)
    return counts


# -- the work ---------------------------------------------------------------------------------------


def _run(
    source, outputs: _Outputs, config: ExtractConfig, detector: MTCNNDetector, progress: bool, label: str = "extract"
) -> tuple[ExtractSummary, list[dict]]:
    """Detect, select, align, mask and write every face of ``source``; returns the summary and per-frame records."""
    start, summary, records = time.perf_counter(), ExtractSummary(), []
    reference = reference_descriptor(config.reference, detector, config.max_pixels) if config.reference else None
    outputs.make()
    declared = count_source(source, config.every)
    bar = tqdm(total=declared, desc=label, unit="frame", disable=not progress)
    try:
        for batch in _batches(source, config, summary):
            records += _process(batch, detector.detect([f.image for f in batch]), outputs, config, reference, summary)
            bar.update(len(batch))
    finally:
        bar.close()
    summary.seconds = time.perf_counter() - start
    read = summary.frames_read + len(summary.unreadable)
    if is_video(source) and not summary.warnings and read < 0.95 * declared - 1:
        summary.warnings.append(
            f"{source}: read {read} of the {declared} frames expected from what its container declares; "
            "the file may be cut short"
        )
    if not summary.faces_written:
        raise UserError(
            f"{source}: no usable face in {summary.frames_read} frames ({summary.describe()}); "
            "check the input, or lower --detection-threshold / --min-face-area"
        )
    return summary, records


def _batches(source, config: ExtractConfig, summary: ExtractSummary) -> Iterator[list[Frame]]:
    """Frames in lists of ``config.batch_size``; a video that breaks part-way ends the stream with a warning."""
    batch: list[Frame] = []
    try:
        for frame in iter_source(source, config.every, config.max_pixels, summary.unreadable):
            batch.append(frame)
            if len(batch) == config.batch_size:
                yield batch
                batch = []
    except StreamBroken as exc:
        summary.warnings.append(f"{exc}; the frames before it were used")
    if batch:
        yield batch


def _process(
    frames: list[Frame],
    detections: list[list[Detection]],
    outputs: _Outputs,
    config: ExtractConfig,
    reference: np.ndarray | None,
    summary: ExtractSummary,
) -> list[dict]:
    records = []
    for frame, found in zip(frames, detections, strict=True):
        summary.frames_read += 1
        faces, reason = _select(frame.image, found, config, reference)
        record = {
            "index": frame.index,
            "name": frame.name,
            "time": frame.time,
            "skipped": reason,
            "faces": [],
        }
        if reason:
            summary.skipped[reason] += 1
        for i, det in enumerate(faces):
            record["faces"].append(_write_face(frame, det, f"{frame.name}face{i}.png", outputs, config, summary))
        records.append(record)
    return records


def _select(
    image: np.ndarray, found: list[Detection], config: ExtractConfig, reference: np.ndarray | None
) -> tuple[list[Detection], str | None]:
    """The faces to keep in one frame, or the reason the frame is skipped."""
    if not found:
        return [], "no_face"
    faces = [d for d in found if d.area >= config.min_face_area]
    if not faces:
        return [], "too_small"
    if reference is not None:
        distances = [np.linalg.norm(face_descriptor(image, d.box) - reference) for d in faces]
        best = int(np.argmin(distances))
        return ([faces[best]], None) if distances[best] < SAME_PERSON_DISTANCE else ([], "not_reference")
    if len(faces) > 1 and config.several_faces == "skip":
        return [], "several_faces"
    return faces, None


def _write_face(
    frame: Frame, det: Detection, name: str, outputs: _Outputs, config: ExtractConfig, summary: ExtractSummary
) -> dict:
    """Align one face, write its files, and return its alignments record."""
    height, width = frame.image.shape[:2]
    face_box = det.face_box(width, height)
    aligned = align_face(frame.image, det.landmarks, config.size)
    if config.mask_method == "dlib":
        mask, method = eye_mask(aligned.image, aligned.landmarks[:2])
    else:
        mask, method = eye_mask_rectangles(aligned.landmarks[:2], config.size), "rect"
    summary.rect_masks += method == "rect"
    write_image(outputs.aligned / name, aligned.image)
    write_image(outputs.masks / name, mask)
    x0, y0, x1, y1 = face_box.astype(int)
    if outputs.raw is not None and x1 > x0 and y1 > y0:
        write_image(outputs.raw / name, frame.image[y0:y1, x0:x1])
    summary.faces_written += 1
    return {
        "file": name,
        "box": det.box.tolist(),
        "face_box": face_box.tolist(),
        "score": det.score,
        "landmarks": det.landmarks.tolist(),
        "matrix": aligned.matrix.tolist(),
        "inverse": aligned.inverse.tolist(),
        "mask_method": method,
    }


# -- helpers ----------------------------------------------------------------------------------------


def _detector_settings(config: ExtractConfig) -> DetectorSettings:
    # The small-face filter is applied by _select, which counts the frames it skips.
    return DetectorSettings(config.min_size, config.detection_threshold, config.factor, config.auto_downscale, 0)


def _claim(out_dir: Path, names: list[str], overwrite: bool, sources: list) -> None:
    """Refuse to mix a new run with an old one unless ``overwrite``, and to replace a folder that holds an
    input (re-extracting a face folder into itself); make sure we can write there."""
    for source in sources:
        for name in names:
            if is_within(source, out_dir / name):
                raise UserError(f"{source}: is inside {out_dir / name}, which this would replace; choose another --out")
    existing = [n for n in names if (out_dir / n).exists()]
    if existing and not overwrite:
        raise UserError(f"{out_dir}: already holds {', '.join(existing)}; use --overwrite to replace, or another --out")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out_dir):  # a unique name: nothing planted there is touched
            pass
    except OSError as exc:
        raise UserError(f"{out_dir}: cannot write there ({exc.strerror}); choose another --out") from exc


def _alignments(source, config: ExtractConfig, frames: list[dict]) -> dict:
    video = None
    if is_video(source):
        info = probe_video(source)
        video = {"width": info.width, "height": info.height, "fps": info.fps, "frame_count": info.frame_count}
    return {"source": str(source), "video": video, "config": asdict(config), "frames": frames}

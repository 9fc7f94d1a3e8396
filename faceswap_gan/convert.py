"""Stage 3: swap the faces of a video (or an image) with a trained model (spec §5).

Per frame: detect -> track and smooth each face -> align -> model -> colour correction -> feathered
alpha blending -> enhance -> layout. Frames are processed in small batches (one model call per batch)
and streamed, with decoding and encoding, finding faces, and swapping them running side by side:
memory does not grow with the video, the sound is carried over, and the output file appears only
once complete.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
from tqdm import tqdm

from faceswap_gan.compositing.layouts import LAYOUTS
from faceswap_gan.compositing.swapper import PreparedFace, composite, finish, prepare
from faceswap_gan.compositing.thread_map import ordered_map, split_cores
from faceswap_gan.config import save_config
from faceswap_gan.converter import ConverterConfig
from faceswap_gan.errors import UserError
from faceswap_gan.faces.detector import DetectorSettings, VideoDetector
from faceswap_gan.faces.dlib_models import SAME_PERSON_DISTANCE, face_descriptor, reference_descriptor
from faceswap_gan.faces.mtcnn import MTCNNDetector
from faceswap_gan.faces.tracking import FaceTracker
from faceswap_gan.io.atomic import atomic_write, check_output
from faceswap_gan.io.checkpoint import load_model
from faceswap_gan.io.media import (
    IMAGE_EXTENSIONS,
    Frame,
    check_video_pixels,
    iter_av,
    probe_video,
    read_image,
    write_image,
)
from faceswap_gan.io.video import VideoWriter, check_video_path
from faceswap_gan.nets.attention import bf16_products
from faceswap_gan.nets.onnx_graph import OnnxModel
from faceswap_gan.runtime import setup_runtime, usable_cores

T = TypeVar("T")
U = TypeVar("U")

RENDER_WORKERS = 4  # threads that swap batches side by side, at most: on two cores two (measured: one was slower)


@dataclass
class ConvertSummary:
    frames: int = 0
    frames_swapped: int = 0  # frames with at least one face swapped
    faces_swapped: int = 0
    seconds: float = 0.0
    warning: str | None = None  # e.g. the input ended before its container said it would

    def count(self, faces_per_frame: list[int]) -> None:
        self.frames += len(faces_per_frame)
        self.frames_swapped += sum(n > 0 for n in faces_per_frame)
        self.faces_swapped += sum(faces_per_frame)

    def describe(self) -> str:
        rate = self.frames / self.seconds if self.seconds else 0.0
        return (
            f"{self.frames} frames, {self.frames_swapped} with a face swapped ({self.faces_swapped} faces), "
            f"{self.seconds:.1f} s ({rate:.1f} frames/s)"
        ) + (f"\nwarning: {self.warning}" if self.warning else "")


@dataclass
class _Located:
    frames: list[Frame]
    prepared: list[PreparedFace]  # the faces to swap, in frame order
    owners: list[int]  # the index in ``frames`` of each prepared face


@dataclass
class _Rendered:
    images: list[np.ndarray]  # the output images, one per frame
    faces: list[int]  # faces swapped in each frame


class FramePipeline:
    """The per-frame work, shared by videos and images: ``locate`` (in video order) then ``render`` (any order).
    ``config.image_shape`` None is resolved to the model's resolution (``self.config``)."""

    def __init__(self, model_path: str | os.PathLike, config: ConverterConfig, reference: str | None = None) -> None:
        self.model = load_model(model_path, setup_runtime(config.device).device)
        if config.backend == "onnx":  # the same graph `faceswap-gan export` writes, on onnxruntime
            self.model = OnnxModel(self.model.cpu(), config.direction.value)
        r = self.model.config.resolution
        if config.image_shape is None:
            config = dataclasses.replace(config, image_shape=(r, r, 3))
        elif config.resolution != r:
            raise UserError(
                f"{model_path}: the model works on {r} px faces, but image_shape is {config.image_shape}; "
                f"use image_shape=({r}, {r}, 3) or None"
            )
        self.config = config
        self.detector = MTCNNDetector(
            DetectorSettings(
                config.min_size, config.detection_threshold, config.factor, config.auto_downscale, config.min_face_area
            )
        )
        self.video_detector = VideoDetector(self.detector, config.full_detection_every)
        self.tracker = FaceTracker(
            config.use_kalman_filter, config.kf_noise_coef, config.bbox_moving_avg_coef, config.use_smoothed_bbox
        )
        self.reference = reference_descriptor(reference, self.detector, config.max_pixels) if reference else None

    def run(self, frames: list[Frame], summary: ConvertSummary) -> list[np.ndarray]:
        """The output images (per the layout) of consecutive frames."""
        rendered = self.render(self.locate(frames))
        summary.count(rendered.faces)
        return rendered.images

    def locate(self, frames: list[Frame]) -> _Located:
        """Detect, track and align the faces of consecutive frames (in video order: tracking has state)."""
        prepared, owners = [], []
        for i, (frame, found) in enumerate(
            zip(frames, self.video_detector.detect([f.image for f in frames]), strict=True)
        ):
            for track, face in self.tracker.update(found):
                if self.reference is not None and not self._is_reference(track, frame.image, face):
                    continue
                ready = prepare(frame.image, face, self.config)
                if ready is not None:
                    prepared.append(ready)
                    owners.append(i)
        return _Located(frames, prepared, owners)

    def render(self, located: _Located) -> _Rendered:
        """Swap the located faces and lay the results out. Keeps no state: batches may run at once."""
        frames, prepared, owners = located.frames, located.prepared, located.owners
        swapped: list[list] = [[] for _ in frames]
        if prepared:
            with bf16_products(self.config.precision == "auto"):  # ConverterConfig.precision says why
                alphas, colours = self.model.swap(
                    np.stack([p.model_input for p in prepared]), self.config.direction.value
                )
            for p, owner, alpha, colour in zip(prepared, owners, alphas, colours, strict=True):
                swapped[owner].append(finish(p, alpha, colour, self.config, frames[owner].image.shape))
        images = []
        for frame, faces in zip(frames, swapped, strict=True):
            result, alpha = composite(frame.image, faces, self.config.enhance) if faces else (frame.image, None)
            images.append(LAYOUTS[self.config.output_type].compose(frame.image, result, alpha))
        return _Rendered(images, [len(faces) for faces in swapped])

    def _is_reference(self, track, image: np.ndarray, face) -> bool:
        """Whether a track is the reference person: decided once, on the track's first frame."""
        if "reference" not in track.extra:
            distance = np.linalg.norm(face_descriptor(image, face.box) - self.reference)
            track.extra["reference"] = distance < SAME_PERSON_DISTANCE
        return track.extra["reference"]


def convert_video(
    source: str | os.PathLike,
    model_path: str | os.PathLike,
    out_path: str | os.PathLike,
    config: ConverterConfig,
    start: float = 0.0,
    end: float | None = None,
    reference: str | None = None,
    progress: bool = True,
    batch_size: int = 4,
    overwrite: bool = False,
) -> ConvertSummary:
    """``source`` video -> ``out_path`` video of the same frame rate, with the source's sound; the resolved
    settings beside it (``settings_path``). An existing ``out_path`` is replaced only with ``overwrite``."""
    began, summary = time.perf_counter(), ConvertSummary()
    # 1. Inputs and the output first, before any work: the video, the model, the settings.
    info = probe_video(source)
    check_video_pixels(info, config.max_pixels)
    check_video_path(out_path)
    check_output(out_path, (source, model_path, reference), overwrite)
    if end is not None and end <= start:
        raise UserError(f"--end ({end}) must be after --start ({start})")
    if info.duration and start >= info.duration:
        raise UserError(f"--start {start:g} s is past the end of {source} ({info.duration:.1f} s long)")
    pipeline = FramePipeline(model_path, config, reference)
    width, height = LAYOUTS[config.output_type].panels * info.width, info.height
    audio_rate = info.audio_rate
    expected = round(((end if end is not None else info.duration) - start) * info.fps)

    # 2. Stream, in three stages side by side (compositing/thread_map.py): this thread decodes and encodes, one worker
    #    finds and tracks faces (in order: tracking has state), the others swap. Audio frames travel with
    #    the video frames they arrived with, so that the encoder receives both in order.
    def batches() -> Iterator[tuple[list[Frame], list]]:
        frames, audio = [], []
        for item in iter_av(source, start, end):
            if isinstance(item, Frame):
                frames.append(item)
                if len(frames) == batch_size:
                    yield frames, audio
                    frames, audio = [], []
            elif audio_rate:
                audio.append(item)
        if frames or audio:
            yield frames, audio

    workers, threads = split_cores(RENDER_WORKERS)
    located = ordered_map(batches(), _carrying(pipeline.locate))
    bar = tqdm(total=max(expected, 0), desc="convert", unit="frame", disable=not progress)
    size = (width + width % 2, height + height % 2)
    with VideoWriter(out_path, info.fps, *size, config.crf, audio_rate, threads=encoder_threads()) as writer:
        for rendered, audio in ordered_map(located, _carrying(pipeline.render), workers, threads):
            for item in audio:
                writer.write_audio(item)
            for image in rendered.images:
                writer.write(_even(image))
            summary.count(rendered.faces)
            bar.update(len(rendered.images))
    bar.close()
    save_config(pipeline.config, settings_path(out_path))
    summary.seconds = time.perf_counter() - began
    if summary.frames < 0.95 * expected - 1:  # the file ends before its container says it does
        summary.warning = (
            f"{source}: decoded {summary.frames} of the {expected} frames its container declares; "
            "the file may be cut short, and the output is as short"
        )
    return summary


def convert_image(
    source: str | os.PathLike,
    model_path: str | os.PathLike,
    out_path: str | os.PathLike,
    config: ConverterConfig,
    reference: str | None = None,
    overwrite: bool = False,
) -> ConvertSummary:
    """One image -> ``out_path`` (format from its extension), written atomically; the settings beside it.
    An existing ``out_path`` is replaced only with ``overwrite``."""
    began, summary = time.perf_counter(), ConvertSummary()
    if Path(out_path).suffix.lower() not in IMAGE_EXTENSIONS:
        raise UserError(f"{out_path}: an image output needs one of the extensions {', '.join(IMAGE_EXTENSIONS)}")
    check_output(out_path, (source, model_path, reference), overwrite)
    image = read_image(source, config.max_pixels)
    pipeline = FramePipeline(model_path, config, reference)
    [result] = pipeline.run([Frame(0, 0.0, image, Path(source).stem)], summary)
    with atomic_write(out_path) as tmp:
        write_image(tmp, result)
    save_config(pipeline.config, settings_path(out_path))
    summary.seconds = time.perf_counter() - began
    return summary


def encoder_threads() -> int:
    """The H.264 encoder's threads in conversion: on two cores or fewer, one (in the calling thread), as the
    other stages keep the cores busy and x264's own threads (three and a look-ahead there) only add
    switching. Zen 4 EPYC, 2026-12-02, 720p, alternating runs: 0.1-1.3 frames/s more in five pairs out of
    five, 1-3 ms less CPU a frame. Elsewhere x264's own choice (0)."""
    return 1 if usable_cores() <= 2 else 0


def settings_path(out_path: str | os.PathLike) -> Path:
    """Where the resolved settings of an output are saved: ``swapped.mp4`` -> ``swapped.mp4.convert.yaml``
    (readable again with ``convert --config``)."""
    out_path = Path(out_path)
    return out_path.with_name(out_path.name + ".convert.yaml")


def _carrying(fn: Callable[[T], U]) -> Callable[[tuple[T, list]], tuple[U, list]]:
    """``fn`` on the first of a pair, the second (a batch's audio frames) carried along unchanged."""
    return lambda pair: (fn(pair[0]), pair[1])


def _even(image: np.ndarray) -> np.ndarray:
    """H.264 in yuv420p needs even sizes: odd ones get one replicated row or column."""
    h, w = image.shape[:2]
    if h % 2 or w % 2:
        image = np.pad(image, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    return image

"""Reading videos and still images.

Conventions owned here: every image handed to the rest of the package is a C-contiguous
``uint8`` array of shape (H, W, 3) in **RGB** order. BGR exists only inside the OpenCV calls below.
Videos are streamed frame by frame with PyAV; a whole video is never held in memory.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from faceswap_gan.errors import StreamBroken, UserError, os_error_message

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    width: int
    height: int
    fps: float
    frame_count: int  # from the container; an estimate (duration x fps) when the container lacks it
    duration: float  # seconds
    audio_rate: int | None  # samples per second of the first audio stream; None without sound

    @property
    def has_audio(self) -> bool:
        return self.audio_rate is not None


@dataclass(frozen=True)
class Frame:
    index: int  # 0-based position in the stream (or in the sorted folder)
    time: float  # presentation time in seconds (0 for still images)
    image: np.ndarray  # (H, W, 3) uint8 RGB
    name: str = ""  # stem for output files: "frame{index}" for videos, the file stem for images


def _check_exists(path: Path) -> None:
    if not path.exists():
        raise UserError(f"{path}: no such file; check the path")
    if path.is_dir():
        raise UserError(f"{path}: is a folder, expected a video file")


def open_video(path: Path) -> av.container.InputContainer:
    """The opened container; UserError for a missing file, a non-media file, or no video stream."""
    _check_exists(path)
    try:
        container = av.open(str(path))
    except (av.FFmpegError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not a readable video ({exc.__class__.__name__}); check the file") from exc
    if not container.streams.video:
        container.close()
        raise UserError(f"{path}: contains no video stream")
    return container


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """Size, rate, length and audio presence of a video, without decoding it."""
    path = Path(path)
    with open_video(path) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or stream.guessed_rate or 0) or 25.0
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        else:
            duration = 0.0
        frames = stream.frames or round(duration * fps)
        ctx = stream.codec_context
        audio_rate = container.streams.audio[0].rate if container.streams.audio else None
        return VideoInfo(path, ctx.width, ctx.height, fps, frames, duration, audio_rate)


def iter_av(
    path: str | os.PathLike, start: float = 0.0, end: float | None = None, audio: bool = True
) -> Iterator[Frame | av.AudioFrame]:
    """The one video decoder: video frames (as RGB ``Frame``, index counted from ``start``) and, with
    ``audio``, audio frames in demuxing order, for presentation times in [start, end). Memory does not grow
    with the video's length. A stream that breaks mid-way raises ``StreamBroken`` naming the last good
    frame; everything yielded before stays valid."""
    path = Path(path)
    with open_video(path) as container:
        video = container.streams.video[0]
        video.thread_type = "AUTO"  # frame-threaded decoding: the decoder is often the bottleneck
        rate = float(video.average_rate or 25)
        streams = [video] + (list(container.streams.audio[:1]) if audio else [])
        if start > 0:
            container.seek(int(start / video.time_base), stream=video, backward=True)
        index = 0
        try:
            for packet in container.demux(*streams):
                for frame in packet.decode():
                    # Frames without a timestamp (rare, raw streams) are placed by their index.
                    time = float(frame.pts * frame.time_base) if frame.pts is not None else start + index / rate
                    if time < start - 1e-6:
                        continue
                    if end is not None and time >= end - 1e-6:
                        if packet.stream is video:
                            return
                        continue
                    if packet.stream is video:
                        yield Frame(index, time, frame.to_ndarray(format="rgb24"), f"frame{index}")
                        index += 1
                    else:
                        yield frame
        except av.FFmpegError as exc:
            last = index - 1
            raise StreamBroken(f"{path}: the stream breaks after frame {last} ({exc.strerror or exc})") from exc


def iter_frames(path: str | os.PathLike, every: int = 1) -> Iterator[Frame]:
    """Every ``every``-th video frame (indices 0, every, 2*every, ...) as RGB uint8 (``iter_av`` without
    the sound)."""
    if every < 1:
        raise ValueError(f"every must be >= 1, got {every}")
    for frame in iter_av(path, audio=False):
        if frame.index % every == 0:
            yield frame


def _image_pixels(path: Path) -> tuple[str, int] | None:
    """The size its header declares, without decoding the image: ("WxH", pixels); None if Pillow does not
    know the format (then OpenCV gets to try, and to say so)."""
    from PIL import Image  # Pillow reads headers lazily; OpenCV has no way to ask for the size alone

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's own decompression-bomb warning: we decide below
            with Image.open(path) as image:
                width, height = image.size
                return f"{width}x{height}", width * height
    except Image.DecompressionBombError as exc:  # over twice Pillow's own limit; the count is in the message
        pixels = int(re.search(r"\d+", str(exc)).group())
        return f"{pixels} pixels", pixels
    except Exception:
        return None


def check_pixels(path: str | os.PathLike, size: str, pixels: int, max_pixels: int | None) -> None:
    if max_pixels is not None and pixels > max_pixels:
        raise UserError(
            f"{path}: {size} is {pixels / 1e6:.0f} megapixels, over the limit of {max_pixels / 1e6:.0f}; "
            "scale it down, or raise --max-pixels if the memory is there"
        )


def check_video_pixels(info: VideoInfo, max_pixels: int | None) -> None:
    check_pixels(info.path, f"{info.width}x{info.height}", info.width * info.height, max_pixels)


def read_image(path: str | os.PathLike, max_pixels: int | None = None) -> np.ndarray:
    """Read a still image as (H, W, 3) uint8 RGB.

    Accepts 8- and 16-bit, grayscale, and RGBA/BGRA (alpha is dropped: composited onto black would
    invent content, so the colour channels are kept as stored). An image whose header declares more
    than ``max_pixels`` is refused before it is decoded (decoding a forged header can take gigabytes).
    """
    path = Path(path)
    _check_exists(path)
    declared = _image_pixels(path)
    if declared is not None:
        check_pixels(path, *declared, max_pixels)
    data = np.fromfile(str(path), dtype=np.uint8)  # works with non-ASCII paths, unlike cv2.imread
    try:
        image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    except cv2.error:  # a header OpenCV refuses (sizes beyond its own limits)
        image = None
    if image is None:
        raise UserError(f"{path}: not a readable image; check the file")
    if image.dtype == np.uint16:
        image = (image.astype(np.float32) / 257.0).round().astype(np.uint8)
    elif image.dtype != np.uint8:
        image = cv2.normalize(image, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    elif image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    else:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return np.ascontiguousarray(image)


def write_image(path: str | os.PathLike, image: np.ndarray, quality: int = 95) -> None:
    """Write an RGB (H, W, 3) or grayscale (H, W) uint8 image; the format follows the extension."""
    path = Path(path)
    data = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if path.suffix.lower() in (".jpg", ".jpeg") else []
    ok, buffer = cv2.imencode(path.suffix, data, params)
    if not ok:
        raise UserError(f"{path}: cannot encode an image with this extension")
    try:
        with open(path, "wb") as f:
            f.write(buffer.tobytes())
    except OSError as exc:
        raise UserError(os_error_message(exc, path)) from exc


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files directly inside ``folder``, sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder}: no such folder")
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())


def is_video(path: str | os.PathLike) -> bool:
    return Path(path).is_file() and Path(path).suffix.lower() not in IMAGE_EXTENSIONS


def iter_source(
    path: str | os.PathLike, every: int = 1, max_pixels: int | None = None, skipped: list[str] | None = None
) -> Iterator[Frame]:
    """Frames of a video (every ``every``-th), the images of a folder (all), or one image. In a folder an
    image that cannot be read is skipped and its message appended to ``skipped`` (if given, else raised)."""
    path = Path(path)
    if path.is_dir():
        for index, file in enumerate(list_images(path)):
            try:
                image = read_image(file, max_pixels)
            except UserError as exc:
                if skipped is None:
                    raise
                skipped.append(str(exc))
                continue
            yield Frame(index, 0.0, image, file.stem)
    elif path.suffix.lower() in IMAGE_EXTENSIONS:
        yield Frame(0, 0.0, read_image(path, max_pixels), path.stem)
    else:
        yield from iter_frames(path, every)  # its size was checked by count_source, before any decoding


def count_source(path: str | os.PathLike, every: int = 1, max_pixels: int | None = None) -> int:
    """How many frames ``iter_source`` will yield (from the container's count for videos).
    Raises UserError for a missing or unreadable source, an empty folder, and a single image or a video
    over ``max_pixels``."""
    path = Path(path)
    if path.is_dir():
        count = len(list_images(path))
        if not count:
            raise UserError(f"{path}: the folder has no images ({', '.join(IMAGE_EXTENSIONS)})")
        return count
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        _check_exists(path)
        declared = _image_pixels(path)
        if declared is not None:
            check_pixels(path, *declared, max_pixels)
        return 1
    info = probe_video(path)
    check_video_pixels(info, max_pixels)
    return -(-info.frame_count // every)

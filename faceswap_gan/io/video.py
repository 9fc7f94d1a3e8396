"""Writing videos with their sound, atomically, in the containers of ``CONTAINERS``. Images are (H, W, 3)
uint8 RGB. (Reading is ``io/media.py``'s ``iter_av``.)"""

from __future__ import annotations

import contextlib
import os
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from faceswap_gan.errors import UserError, os_error_message
from faceswap_gan.io.atomic import discard, temporary_path

# Output containers by extension: (format, video codec, its options, audio codec).
CONTAINERS = {
    ".mp4": ("mp4", "libx264", {}, "aac"),
    ".mov": ("mov", "libx264", {}, "aac"),
    ".mkv": ("matroska", "libx264", {}, "aac"),
    ".webm": ("webm", "libvpx-vp9", {"row-mt": "1", "deadline": "realtime", "cpu-used": "8"}, "libopus"),
}
VIDEO_EXTENSIONS = tuple(CONTAINERS)


def check_video_path(path: str | os.PathLike) -> None:
    """A UserError naming the extensions that work, for an output path we cannot write a video to."""
    if Path(path).suffix.lower() not in CONTAINERS:
        raise UserError(f"{path}: a video output needs one of the extensions {', '.join(VIDEO_EXTENSIONS)}")


def rgb_to_yuv420(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB, H and W even -> the planar YUV 4:2:0 (I420) image the encoders take, as one
    (H * 3 / 2, W) uint8 array: BT.601, limited range, what FFmpeg's swscale makes of rgb24 by default (luma
    within one level; chroma, whose 2x2 subsampling filters differ, within three at a few edges, 0.2 on
    average). OpenCV's conversion, because swscale, which the encoder would otherwise call, has no fast
    path for rgb24 -> yuv420p: 6.3 against 0.5 ms for a 720p frame on the Zen 4 EPYC, a third of encoding."""
    return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2YUV_I420)


# veryfast with sub-pixel motion search at level 1 (veryfast's own is 2): a third less encoding (720p,
# crf 18, one thread, Zen 4 EPYC 2026-12-03: 10.3-10.8 -> 6.4-7.2 ms a frame) for files 6 % larger and
# 0.1 dB further from the source (48.65 -> 48.52 dB). superfast, which also drops partitions and the
# macroblock tree, made files 2.6x larger.
X264_PRESET, X264_PARAMS = "veryfast", "subme=1"


class VideoWriter:
    """H.264 (VP9 for .webm) video with AAC (Opus) sound, published atomically: it writes a new temporary
    file beside ``path``, renamed to ``path`` only by a clean ``close()``; on error the temporary file is
    removed and whatever was at ``path`` stays as it was. Frames must all have one even size. ``threads``:
    the H.264 encoder's threads, 0 for its own choice (1 encodes in the calling thread); ``preset`` and
    ``x264_params`` its speed settings (x264's own names)."""

    def __init__(self, path: str | os.PathLike, fps: float, width: int, height: int, crf: int = 18,
                 audio_rate: int | None = None, preset: str = X264_PRESET, threads: int = 0,
                 x264_params: str = X264_PARAMS) -> None:  # fmt: skip
        self.path = Path(path)
        check_video_path(self.path)
        fmt, codec, options, audio_codec = CONTAINERS[self.path.suffix.lower()]
        self.tmp = temporary_path(self.path)
        try:
            self.container = av.open(str(self.tmp), mode="w", format=fmt)
        except OSError as exc:
            discard(self.tmp)
            raise UserError(os_error_message(exc, self.path)) from exc
        self.rate = Fraction(fps).limit_denominator(1001)
        self.stream = self.container.add_stream(codec, rate=self.rate)
        self.stream.width, self.stream.height = width, height
        self.stream.pix_fmt = "yuv420p"
        if codec == "libx264":
            self.stream.options = {"crf": str(crf), "preset": preset, "threads": str(threads),
                                   "x264-params": x264_params}  # fmt: skip
        else:  # VP9's constant quality: crf with no bitrate cap; its scale is 0-63
            self.stream.options = {"crf": str(min(63, round(crf * 63 / 51))), "b": "0", **options}
        self.frames = 0
        self.audio = None
        if audio_rate:
            rate = 48000 if audio_codec == "libopus" else audio_rate  # Opus takes 48 kHz (and a few others)
            self.audio = self.container.add_stream(audio_codec, rate=rate)
            self.resampler = av.AudioResampler(format=self.audio.codec_context.codec.audio_formats[0].name,
                                               layout="stereo", rate=rate)  # fmt: skip
            self.samples = 0

    def write(self, image: np.ndarray) -> None:
        frame = av.VideoFrame.from_ndarray(rgb_to_yuv420(image), format="yuv420p")
        frame.pts, frame.time_base = self.frames, 1 / self.rate
        self.frames += 1
        self._mux(self.stream.encode(frame))

    def _mux(self, packets) -> None:
        try:
            self.container.mux(packets)
        except OSError as exc:  # a full disk, a file size limit: name the output, not FFmpeg's temporary file
            raise UserError(os_error_message(exc, self.path)) from exc

    def write_audio(self, frame: av.AudioFrame | None) -> None:
        """Re-encode one decoded audio frame (any format and layout), timed from the start; None flushes the
        resampler."""
        for out in self.resampler.resample(frame):
            out.pts, out.time_base = self.samples, Fraction(1, out.sample_rate)
            self.samples += out.samples
            self._mux(self.audio.encode(out))

    def close(self, publish: bool = True) -> None:
        """Finish and publish the file (``publish``), or discard it. Whatever fails, the temporary file goes."""
        try:
            try:
                if publish:
                    self._mux(self.stream.encode(None))
                    if self.audio is not None:
                        self.write_audio(None)
                        self._mux(self.audio.encode(None))
            finally:
                try:
                    self.container.close()
                except OSError as exc:
                    raise UserError(os_error_message(exc, self.path)) from exc
            if publish:
                os.replace(self.tmp, self.path)
        finally:
            discard(self.tmp)  # gone after the rename; still there after any failure

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
            return
        # The error that stopped the writing is the one to report, not a second one from closing.
        with contextlib.suppress(Exception):
            self.close(publish=False)
        discard(self.tmp)

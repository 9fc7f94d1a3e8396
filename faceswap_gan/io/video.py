"""Video files with their sound: streamed reading of video and audio frames in one pass (optionally a
time range), and an atomic H.264 + AAC writer. Images are (H, W, 3) uint8 RGB."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from faceswap_gan.errors import UserError
from faceswap_gan.io.atomic import partial_path


class VideoWriter:
    """H.264 (and optionally AAC) writer that publishes atomically: it writes a hidden temporary file
    renamed to ``path`` only by a clean ``close()``; on error the temporary file is removed and
    whatever was at ``path`` stays as it was. Frames must all have one even size."""

    def __init__(self, path: str | os.PathLike, fps: float, width: int, height: int, crf: int = 18,
                 audio_rate: int | None = None, preset: str = "veryfast") -> None:  # fmt: skip
        self.path = Path(path)
        self.tmp = partial_path(self.path)
        try:
            self.container = av.open(str(self.tmp), mode="w")
        except (OSError, av.FFmpegError) as exc:
            raise UserError(f"{self.path}: cannot write a video there ({exc})") from exc
        self.rate = Fraction(fps).limit_denominator(1001)
        self.stream = self.container.add_stream("libx264", rate=self.rate)
        self.stream.width, self.stream.height = width, height
        self.stream.pix_fmt = "yuv420p"
        self.stream.options = {"crf": str(crf), "preset": preset}
        self.frames = 0
        self.audio = None
        if audio_rate:
            self.audio = self.container.add_stream("aac", rate=audio_rate)
            self.resampler = av.AudioResampler(format="fltp", layout="stereo", rate=audio_rate)
            self.samples = 0

    def write(self, image: np.ndarray) -> None:
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        frame.pts, frame.time_base = self.frames, 1 / self.rate
        self.frames += 1
        self.container.mux(self.stream.encode(frame))

    def write_audio(self, frame: av.AudioFrame | None) -> None:
        """Re-encode one decoded audio frame (any format and layout) as AAC, timed from the start;
        None flushes the resampler."""
        for out in self.resampler.resample(frame):
            out.pts, out.time_base = self.samples, Fraction(1, out.sample_rate)
            self.samples += out.samples
            self.container.mux(self.audio.encode(out))

    def close(self, publish: bool = True) -> None:
        try:
            if publish:
                self.container.mux(self.stream.encode(None))
                if self.audio is not None:
                    self.write_audio(None)
                    self.container.mux(self.audio.encode(None))
        finally:
            self.container.close()
        if publish:
            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(publish=exc_type is None)

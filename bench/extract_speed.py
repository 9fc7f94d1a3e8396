"""Face detection and extraction speed on a 1280x720 clip (../shared/data/clips/s18.mp4).

Prints frames/s of our MTCNN (decoded frames in memory, batches of 8) at full resolution and with
auto-downscaling, then of the whole `extract` pipeline (decode, detect, align, eye masks, write).
Reference on the 2-core development machine: facenet-pytorch's MTCNN with the same weights and
thresholds does 8.5 frames/s at 1280x720 and 25.6 frames/s at 426x240.

    .venv/bin/python bench/extract_speed.py [--frames 96]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from faceswap_gan.benchmark import cpu_line
from faceswap_gan.config import ExtractConfig
from faceswap_gan.extract import extract_faces
from faceswap_gan.faces.detector import DetectorSettings
from faceswap_gan.faces.mtcnn import MTCNNDetector
from faceswap_gan.io.media import iter_frames

CLIP = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "clips" / "s18.mp4"


def detection_rate(frames, auto_downscale: bool, batch: int = 8, repeats: int = 3) -> tuple[float, int]:
    """Median frames/s over ``repeats`` passes (this machine's timings vary by +-15 % run to run)."""
    detector = MTCNNDetector(DetectorSettings(detection_threshold=0.7, auto_downscale=auto_downscale))
    detector.detect(frames[:batch])  # warm-up
    rates = []
    for _ in range(repeats):
        start, faces = time.perf_counter(), 0
        for i in range(0, len(frames), batch):
            faces += sum(len(f) for f in detector.detect(frames[i : i + batch]))
        rates.append(len(frames) / (time.perf_counter() - start))
    return float(np.median(rates)), faces


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=96)
    args = parser.parse_args()
    frames = [f.image for f in iter_frames(CLIP) if f.index < args.frames]
    print(cpu_line())
    print(f"clip {CLIP.name}: {frames[0].shape[1]}x{frames[0].shape[0]}, {len(frames)} frames, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")  # fmt: skip
    for downscale in (False, True):
        rate, faces = detection_rate(frames, downscale)
        label = "auto-downscaled (426x240)" if downscale else "full resolution"
        print(f"detection, {label:26s}: {rate:6.1f} frames/s, median of 3  ({faces} faces per pass)")
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        summary = extract_faces(CLIP, Path(tmp) / "out", ExtractConfig(every=1), progress=False)
        rate = summary.frames_read / (time.perf_counter() - start)
    print(f"extract (every frame, dlib eye masks, PNG output): {rate:6.1f} frames/s  ({summary.describe()})")


if __name__ == "__main__":
    main()

"""Shared fixtures. Real media comes from ../shared/data (never copied into the repository)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = (REPO / ".." / "shared" / "data").resolve()
CLIPS = DATA / "clips"
PHOTOS = DATA / "photos"


# Tests prove behaviour on real media: without it they fail loudly rather than skip quietly.
assert CLIPS.is_dir(), f"sample media not found at {DATA} (the tests read ../shared/data beside the repository)"


@pytest.fixture(scope="session")
def detector():
    from faceswap_gan.faces.detector import MTCNNDetector

    return MTCNNDetector()


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    import skimage.data

    return np.ascontiguousarray(skimage.data.astronaut())


@pytest.fixture(scope="session")
def blank_video(tmp_path_factory) -> Path:
    """A real H.264 clip of 12 flat grey frames: a video without faces."""
    from faceswap_gan.io.video import VideoWriter

    path = tmp_path_factory.mktemp("media") / "blank.mp4"
    with VideoWriter(path, 25, 160, 128) as writer:
        for i in range(12):
            writer.write(np.full((128, 160, 3), 60 + 5 * i, np.uint8))
    return path

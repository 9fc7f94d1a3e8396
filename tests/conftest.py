"""Shared fixtures and the three test tiers.

- fast (no mark): pure functions and tiny models; no sample media, runs in a plain clone;
- ``media``: reads the real clips and photos of ../shared/data beside the repository (or the folder in
  FACESWAP_GAN_TEST_DATA); skipped, with that reason, where they are missing;
- ``slow``: end-to-end runs through the CLI, the demo and the notebooks.

``make test-fast`` runs ``-m "not slow"``; ``make test`` (and CI) runs them all.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FACESWAP_GAN_TEST_DATA", REPO / ".." / "shared" / "data")).resolve()
CLIPS = DATA / "clips"
PHOTOS = DATA / "photos"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if CLIPS.is_dir():
        return
    skip = pytest.mark.skip(reason=f"needs the sample media of ../shared/data (not found at {DATA})")
    for item in items:
        if "media" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def detector():
    from faceswap_gan.faces.mtcnn import MTCNNDetector

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


def cut_short_video(folder: Path) -> Path:
    """d18.mp4 remuxed with its index first (faststart) and cut to 30 %: the container still declares every
    frame, the data for most of them is gone (a download that stopped)."""
    import av

    full, cut = folder / "faststart.mp4", folder / "cut.mp4"
    with av.open(str(CLIPS / "d18.mp4")) as source, av.open(str(full), "w", options={"movflags": "faststart"}) as out:
        stream = out.add_stream_from_template(source.streams.video[0])
        for packet in source.demux(source.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    cut.write_bytes(full.read_bytes()[: int(full.stat().st_size * 0.3)])
    return cut

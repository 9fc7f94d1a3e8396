"""The README's pictures, made only from the built-in photos (scikit-image's astronaut, matplotlib's
Grace Hopper) and a `faceswap-gan demo` run (the built-in pair: it continues from the shipped model):

    .venv/bin/faceswap-gan demo --out demo_out
    .venv/bin/python docs/make_pictures.py demo_out
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

from faceswap_gan.convert import convert_image
from faceswap_gan.converter import ConverterConfig
from faceswap_gan.faces.alignment import align_face
from faceswap_gan.faces.mtcnn import MTCNNDetector
from faceswap_gan.io.media import iter_frames, list_images, read_image, write_image
from faceswap_gan.sample_clips import sample_photo
from faceswap_gan.training.part_augment import swap_parts

IMAGES = Path(__file__).resolve().parent / "images"


def _aligned(name: str, detector: MTCNNDetector) -> np.ndarray:
    photo = sample_photo(name)
    return align_face(photo, detector.detect_one(photo)[0].landmarks, 256).image


def _shrink(image: np.ndarray, width: int) -> np.ndarray:
    scale = width / image.shape[1]
    return cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else image


def main(demo: Path) -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    detector = MTCNNDetector()
    # Training: the latest preview grid and the loss plot.
    write_image(IMAGES / "preview.png", read_image(list_images(demo / "run" / "previews")[-1]))
    write_image(IMAGES / "loss_plot.png", _shrink(read_image(demo / "run" / "loss_plot.png"), 900))
    # Conversion: a frame of the side-by-side video (source | result | mask map).
    frame = next(f.image for f in iter_frames(demo / "side_by_side.mp4") if f.index == 50)
    write_image(IMAGES / "side_by_side.jpg", _shrink(frame, 900))
    # Method 1: Grace Hopper's eyes and mouth on Eileen Collins's face (a part-swapped training image).
    source, donor = _aligned("astronaut", detector), _aligned("grace_hopper", detector)
    image, mask = swap_parts(source, donor, ("eyes", "mouth"))
    mask = (np.repeat(mask[..., None], 3, axis=2) * 255).astype(np.uint8)
    write_image(IMAGES / "method1_part_swap.jpg", np.hstack([source, donor, image, mask]))
    # Method 2: conversion that replaces only the eyes and mouth (source | result | mask map).
    photo = demo / "astronaut.png"
    write_image(photo, sample_photo("astronaut"))
    config = ConverterConfig(
        image_shape=None, output_type="triple", segmentation="eyes_and_mouth", color_correction="adain"
    )
    convert_image(photo, demo / "run", demo / "method2.jpg", config, overwrite=True)
    write_image(IMAGES / "method2_segmentation.jpg", _shrink(read_image(demo / "method2.jpg"), 900))
    print("pictures in", IMAGES)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "demo_out"))

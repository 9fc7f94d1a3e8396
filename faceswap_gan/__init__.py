"""faceswap-gan: face swapping with a shared-encoder GAN (a PyTorch re-creation of faceswap-GAN v2.2).

The public API, importable from here; each name is loaded on first use, so that ``import faceswap_gan``
(and the command line's start-up) does not pay for torch, OpenCV and PyAV until they are needed::

    from faceswap_gan import ExtractConfig, ModelConfig, TrainConfig, ConverterConfig
    from faceswap_gan import prepare_dataset, train_model, convert_video

    prepare_dataset("alice.mp4", "bob.mp4", "data/ab", ExtractConfig())
    train_model("data/ab", "runs/ab", ModelConfig(), TrainConfig(iterations=18000))
    convert_video("alice_talk.mp4", "runs/ab", "alice_as_bob.mp4", ConverterConfig(image_shape=None))
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# Public name -> the module that defines it.
_API = {
    # the stages
    "extract_faces": "faceswap_gan.extract",
    "prepare_dataset": "faceswap_gan.extract",
    "compute_masks": "faceswap_gan.extract",
    "train_model": "faceswap_gan.train",
    "convert_video": "faceswap_gan.convert",
    "convert_image": "faceswap_gan.convert",
    "convert_many": "faceswap_gan.batch",
    "run_demo": "faceswap_gan.demo",
    "run_benchmark": "faceswap_gan.benchmark",
    "export_model": "faceswap_gan.export",
    "evaluate_model": "faceswap_gan.evaluate",
    # their settings
    "ExtractConfig": "faceswap_gan.config",
    "ModelConfig": "faceswap_gan.config",
    "TrainConfig": "faceswap_gan.config",
    "LossWeights": "faceswap_gan.config",
    "ConverterConfig": "faceswap_gan.converter",
    "ColorCorrectionType": "faceswap_gan.converter",
    "ImageOutputType": "faceswap_gan.converter",
    "TransformDirection": "faceswap_gan.converter",
    "SegmentationType": "faceswap_gan.converter",
    # the pieces a script uses directly
    "FaceSwapModel": "faceswap_gan.nets.model",
    "load_model": "faceswap_gan.io.checkpoint",
    "MTCNNDetector": "faceswap_gan.faces.mtcnn",
    "Detection": "faceswap_gan.faces.detector",
    "make_sample_clip": "faceswap_gan.sample_clips",
    "UserError": "faceswap_gan.errors",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name not in _API:
        raise AttributeError(f"module 'faceswap_gan' has no attribute {name!r}")
    return getattr(importlib.import_module(_API[name]), name)


def __dir__() -> list[str]:
    return sorted(__all__)

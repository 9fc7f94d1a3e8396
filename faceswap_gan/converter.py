"""Conversion settings: the ``ConverterConfig`` API the original README shows its users, with its enums.

from faceswap_gan.converter import (ConverterConfig, ColorCorrectionType, ImageOutputType,
                                    TransformDirection, SegmentationType)
config = ConverterConfig(image_shape=(64, 64, 3), color_correction=ColorCorrectionType.HISTMATCH,
                         output_type=ImageOutputType.COMBINED, direction=TransformDirection.AtoB)
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import Enum

from faceswap_gan.config import DEVICES, MAX_PIXELS, MAX_PIXELS_DOC, check_choices, setting


class ColorCorrectionType(str, Enum):
    HISTMATCH = "hist_match"
    ADAIN = "adain"
    ADAIN_XYZ = "adain_xyz"
    NONE = "none"


class ImageOutputType(str, Enum):
    SINGLE = "single"  # the result only
    COMBINED = "combined"  # source | result
    TRIPLE = "triple"  # source | result | mask map


class TransformDirection(str, Enum):
    AtoB = "AtoB"  # faces of A become B (decoder B)  # noqa: N815 - the original's names
    BtoA = "BtoA"  # noqa: N815


class SegmentationType(str, Enum):
    """Which part of the face is replaced. NONE: the whole face through the learned alpha mask (the
    original); the others restrict the alpha mask to those parts, found with dlib's 68 landmarks."""

    NONE = "none"
    EYES_ONLY = "eyes"
    NOSE_ONLY = "nose"
    MOUTH_ONLY = "mouth"
    EYES_AND_MOUTH = "eyes_and_mouth"
    FACE = "face"

    @property
    def parts(self) -> tuple[str, ...]:
        return {"none": (), "eyes_and_mouth": ("eyes", "mouth")}.get(self.value, (self.value,))


def _enum(cls: type[Enum], value, field: str):
    try:
        return value if isinstance(value, cls) else cls(value)
    except ValueError:
        allowed = ", ".join(m.value for m in cls)
        raise ValueError(f"{field}: must be one of {allowed}, got {value!r}") from None


@dataclass(frozen=True)
class ConverterConfig:
    """Everything ``convert`` can be told, with the original's names where it had the setting (its
    ``use_auto_downscaling`` and ``detec_threshold`` are ``auto_downscale`` and ``detection_threshold``
    here, the names ``extract`` uses). Saved beside every output as ``<output>.convert.yaml``."""

    image_shape: tuple[int, int, int] | None = setting(
        (64, 64, 3), "the model's input (R, R, 3); None: the checkpoint's"
    )
    use_smoothed_bbox: bool = setting(True, "smooth each face's box and landmarks over time")
    use_kalman_filter: bool = setting(True, "Kalman filter; off: a moving average with bbox_moving_avg_coef")
    auto_downscale: bool = setting(False, "detect on a reduced copy of frames of 480p and larger (faster)")
    full_detection_every: int = setting(
        16, "search the whole frame every N frames, only near the last faces between (faster); 1: every frame"
    )
    bbox_moving_avg_coef: float = setting(0.65, "weight of the previous position in the moving average")
    min_size: int = setting(20, "smallest face side searched for, in pixels of the (downscaled) frame")
    factor: float = setting(0.709, "MTCNN's pyramid scale step")
    min_face_area: int = setting(35 * 35, "faces with a smaller box (pixels^2) are left as they are")
    kf_noise_coef: float = setting(1e-3, "Kalman process noise: x10 if the face lags behind, /10 if it jitters")
    color_correction: ColorCorrectionType = setting(ColorCorrectionType.HISTMATCH, "colour correction of the new face")
    sharpen: float = setting(
        1.0, "detail of the new face restored before it is enlarged (0: off, as the original; 2: stronger, halos)"
    )
    detection_threshold: float = setting(
        0.8, "MTCNN's O-Net threshold: lower it if faces are missed, raise it against false ones"
    )
    roi_coverage: float = setting(0.9, "central part of the aligned face that is replaced (0.85-0.95 suggested)")
    enhance: float = setting(0.0, "contrast boost of the changed region (0-0.4 suggested)")
    output_type: ImageOutputType = setting(
        ImageOutputType.COMBINED, "the result, source | result, or source | result | mask map"
    )
    direction: TransformDirection = setting(
        TransformDirection.AtoB, "AtoB puts B's face on the faces of A (decoder B), BtoA the reverse"
    )
    segmentation: SegmentationType = setting(SegmentationType.NONE, "replace only these parts of the face")
    crf: int = setting(18, "H.264 quality of a video output, 0-51 (lower: better, larger)")
    device: str = setting("auto", "where the model runs", DEVICES)
    precision: str = setting(
        "auto",
        "auto: the self-attention's products in bf16 dot products on CPUs with avx512_bf16 (a face about a "
        "quarter faster, colours within one level), float32 elsewhere; fp32: float32 throughout",
        ("auto", "fp32"),
    )
    max_pixels: int = setting(MAX_PIXELS, MAX_PIXELS_DOC)
    backend: str = setting("torch", "run the model with PyTorch, or its exported DFM graph on onnxruntime (CPU)",
                           ("torch", "onnx"))  # fmt: skip

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "color_correction", _enum(ColorCorrectionType, self.color_correction, "color_correction"))
        set_(self, "output_type", _enum(ImageOutputType, self.output_type, "output_type"))
        set_(self, "direction", _enum(TransformDirection, self.direction, "direction"))
        set_(self, "segmentation", _enum(SegmentationType, self.segmentation, "segmentation"))
        shape = None if self.image_shape is None else tuple(self.image_shape)
        set_(self, "image_shape", shape)
        valid = shape is None or (len(shape) == 3 and shape[0] == shape[1] in (64, 128, 256) and shape[2] == 3)
        if not valid:
            raise ValueError(f"image_shape: must be (R, R, 3) with R in 64, 128, 256, got {shape}")
        checks = {
            "bbox_moving_avg_coef": 0 <= self.bbox_moving_avg_coef <= 1,
            "detection_threshold": 0 <= self.detection_threshold <= 1,
            "roi_coverage": 0 < self.roi_coverage < 1,
            "kf_noise_coef": self.kf_noise_coef > 0,
            "min_face_area": self.min_face_area >= 0,
            "enhance": 0 <= self.enhance <= 1,
            "sharpen": 0 <= self.sharpen <= 4,
            "full_detection_every": self.full_detection_every >= 1,
            "min_size": self.min_size >= 12,
            "factor": 0.1 <= self.factor < 1,
            "crf": 0 <= self.crf <= 51,
            "max_pixels": self.max_pixels >= 1,
        }
        ranges = {"bbox_moving_avg_coef": "[0, 1]", "detection_threshold": "[0, 1]", "roi_coverage": "(0, 1)",
                  "kf_noise_coef": "> 0", "min_face_area": ">= 0", "enhance": "[0, 1]", "sharpen": "[0, 4]",
                  "full_detection_every": ">= 1", "min_size": ">= 12 (P-Net's window)", "factor": "[0.1, 1)",
                  "crf": "[0, 51]", "max_pixels": ">= 1"}  # fmt: skip
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"{name}: must be in {ranges[name]}, got {getattr(self, name)}")
        check_choices(self)

    @property
    def resolution(self) -> int | None:
        return None if self.image_shape is None else self.image_shape[0]

    def to_dict(self) -> dict:
        """Plain values (enums by value, tuples as lists): what YAML and JSON can hold."""
        return {
            f.name: (lambda v: v.value if isinstance(v, Enum) else list(v) if isinstance(v, tuple) else v)(
                getattr(self, f.name)
            )
            for f in fields(self)
        }

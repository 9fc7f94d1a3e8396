"""Run configurations: frozen dataclasses, one per stage, validated on construction, saved as YAML
next to their outputs. Each field's comment is its documentation (the CLI help repeats it)."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

from faceswap_gan.errors import UserError

T = TypeVar("T")


def _check(ok: bool, field: str, message: str) -> None:
    if not ok:
        raise ValueError(f"{field}: {message}")


@dataclass(frozen=True)
class ExtractConfig:
    every: int = 6  # keep every N-th frame of a video (the original's save_interval)
    size: int = 256  # side of the aligned faces and eye masks, in pixels
    min_size: int = 30  # smallest face side MTCNN searches for, in pixels (the notebook's minsize)
    threshold: float = 0.9  # MTCNN's O-Net threshold; the original's Colab extraction uses 0.9 (spec §4.5)
    factor: float = 0.709  # MTCNN pyramid scale step
    auto_downscale: bool = False  # detect on a reduced copy of frames of 480p and larger
    min_face_area: int = 25 * 25  # faces with a smaller box (pixels^2) are skipped as too small
    several_faces: str = "skip"  # frames with several faces: "skip" them, or keep "all" faces
    reference: str | None = None  # photo of the person to keep; other faces are ignored
    mask_method: str = "dlib"  # eye masks: "dlib" (68 landmarks, rectangles where they fail) or "rect"
    batch_size: int = 8  # frames detected together

    def __post_init__(self) -> None:
        _check(self.every >= 1, "every", f"must be >= 1, got {self.every}")
        _check(32 <= self.size <= 1024, "size", f"must be in [32, 1024], got {self.size}")
        _check(self.min_size >= 12, "min_size", f"must be >= 12 (P-Net's window), got {self.min_size}")
        _check(0.0 < self.threshold < 1.0, "threshold", f"must be in (0, 1), got {self.threshold}")
        _check(0.1 <= self.factor < 1.0, "factor", f"must be in [0.1, 1), got {self.factor}")
        _check(self.min_face_area >= 0, "min_face_area", f"must be >= 0, got {self.min_face_area}")
        _check(
            self.several_faces in ("skip", "all"),
            "several_faces",
            f"must be skip or all, got {self.several_faces!r}",
        )
        _check(
            self.mask_method in ("dlib", "rect"),
            "mask_method",
            f"must be dlib or rect, got {self.mask_method!r}",
        )
        _check(self.batch_size >= 1, "batch_size", f"must be >= 1, got {self.batch_size}")


def save_config(config: Any, path: str | os.PathLike) -> None:
    """Write a config dataclass as YAML (atomically)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(yaml.safe_dump(dataclasses.asdict(config), sort_keys=False))
    os.replace(tmp, path)


def load_config(cls: type[T], path: str | os.PathLike, **overrides: Any) -> T:
    """Read a YAML config of ``cls``; ``overrides`` that are not None win over the file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise UserError(f"{path}: cannot read the config ({exc})") from exc
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping of config fields")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - known
    if unknown:
        raise UserError(f"{path}: unknown config field(s) {', '.join(sorted(unknown))}")
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return cls(**data)
    except (TypeError, ValueError) as exc:
        raise UserError(f"{path}: {exc}") from exc


@dataclass(frozen=True)
class ModelConfig:
    """The architecture; saved inside every checkpoint so a model is rebuilt from the file alone."""

    resolution: int = 64  # face size the model sees and produces: 64, 128 or 256
    capacity: str = "lite"  # "standard" (the original's default) or "lite" (half the widths, nearest upsampling)
    norm: str = "hybrid"  # none, instancenorm, layernorm, groupnorm, batchnorm, hybrid (spec §1.2 semantics)
    self_attention: bool = True  # SAGAN blocks in encoder, decoders and discriminators

    def __post_init__(self) -> None:
        from faceswap_gan.nets.blocks import NORMS

        _check(self.resolution in (64, 128, 256), "resolution", f"must be 64, 128 or 256, got {self.resolution}")
        _check(self.capacity in ("standard", "lite"), "capacity", f"must be standard or lite, got {self.capacity!r}")
        _check(self.norm in NORMS, "norm", f"must be one of {', '.join(NORMS)}, got {self.norm!r}")

    @property
    def coef(self) -> int:
        """Width divisor: 1 for standard, 2 for lite."""
        return 2 if self.capacity == "lite" else 1

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
from faceswap_gan.io.atomic import atomic_write

T = TypeVar("T")

# The normalisations of the original (spec §1.2); nets/blocks.py builds each of them.
NORMS = ("none", "instancenorm", "layernorm", "groupnorm", "batchnorm", "hybrid")


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
    with atomic_write(path) as tmp:
        tmp.write_text(yaml.safe_dump(dataclasses.asdict(config), sort_keys=False))


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
        _check(self.resolution in (64, 128, 256), "resolution", f"must be 64, 128 or 256, got {self.resolution}")
        _check(self.capacity in ("standard", "lite"), "capacity", f"must be standard or lite, got {self.capacity!r}")
        _check(self.norm in NORMS, "norm", f"must be one of {', '.join(NORMS)}, got {self.norm!r}")

    @property
    def coef(self) -> int:
        """Width divisor: 1 for standard, 2 for lite."""
        return 2 if self.capacity == "lite" else 1


@dataclass(frozen=True)
class LossWeights:
    """The original's ``loss_weights`` (spec §2.8)."""

    w_D: float = 0.1  # generator adversarial weight  # noqa: N815 - the original's name
    w_recon: float = 1.0  # L1 reconstruction and deep supervision
    w_edge: float = 0.1  # edge loss
    w_eyes: float = 30.0  # eye-region L1 and eye-region edge terms
    w_pl: tuple[float, float, float, float] = (0.01, 0.1, 0.3, 0.1)  # perceptual taps, deepest first

    def __post_init__(self) -> None:
        object.__setattr__(self, "w_pl", tuple(float(w) for w in self.w_pl))
        _check(len(self.w_pl) == 4, "w_pl", f"needs 4 weights, got {len(self.w_pl)}")
        for name in ("w_D", "w_recon", "w_edge", "w_eyes"):
            _check(getattr(self, name) >= 0, name, "must be >= 0")


@dataclass(frozen=True)
class TrainConfig:
    iterations: int = 40000  # total iterations; the loss schedule is scaled to it
    batch_size: int = 8  # faces per person per iteration
    schedule: str = "train"  # loss schedule: "train" (the train notebook's) or "colab" (the Colab demo's)
    gan: str = "mixup_lsgan"  # adversarial loss: "mixup_lsgan" or "relativistic_avg_lsgan"
    perceptual: str = "dlib"  # perceptual backbone: "dlib", "vggface2" (needs perceptual_weights) or "none"
    perceptual_weights: str | None = None  # rcmalli_vggface_tf_notop_resnet50.h5 for "vggface2"
    perceptual_before_activation: bool = False  # tap residual sums before their ReLU (the Colab choice)
    cycle_loss: bool = False  # the original's optional cycle-consistency loss (weight 10)
    lr_d: float = 2e-4  # discriminator learning rate (times the schedule's lr_factor)
    lr_g: float = 1e-4  # generator learning rate (times the schedule's lr_factor)
    display_every: int = 300  # iterations between loss rows, previews and checkpoints
    backup_every: int = 5000  # iterations between kept checkpoint copies
    prob_colour_match: float = 0.5  # probability of the random colour-match augmentation
    motion_blur: bool = False  # motion-blur augmentation (recommended for faces from videos)
    eye_masks: bool = True  # use the eye masks of the data folder (zeros otherwise)
    part_augmentation: bool = False  # mix the part-swapped faces of `augment-parts` (face_src_aug) into A's faces
    seed: int = 0  # everything random (initialisation, data, mixup) derives from it
    workers: int = -1  # data-loading processes; -1 = one per spare CPU core (at least 1)
    device: str = "auto"  # auto, cpu, cuda or mps

    def __post_init__(self) -> None:
        _check(self.iterations >= 1, "iterations", f"must be >= 1, got {self.iterations}")
        _check(
            self.batch_size >= 2 and self.batch_size % 2 == 0,
            "batch_size",
            f"must be even and >= 2, got {self.batch_size}",
        )
        _check(self.schedule in ("train", "colab"), "schedule", f"must be train or colab, got {self.schedule!r}")
        _check(self.gan in ("mixup_lsgan", "relativistic_avg_lsgan"), "gan", f"unknown adversarial loss {self.gan!r}")
        _check(
            self.perceptual in ("dlib", "vggface2", "none"),
            "perceptual",
            f"must be dlib, vggface2 or none, got {self.perceptual!r}",
        )
        _check(
            self.perceptual != "vggface2" or bool(self.perceptual_weights),
            "perceptual_weights",
            "required for vggface2",
        )
        _check(self.lr_d > 0 and self.lr_g > 0, "lr_d", "learning rates must be > 0")
        _check(self.display_every >= 1, "display_every", f"must be >= 1, got {self.display_every}")
        _check(self.backup_every >= 1, "backup_every", f"must be >= 1, got {self.backup_every}")
        _check(0 <= self.prob_colour_match <= 1, "prob_colour_match", "must be in [0, 1]")
        _check(self.workers >= -1, "workers", f"must be >= -1, got {self.workers}")
        _check(
            self.device in ("auto", "cpu", "cuda", "mps"),
            "device",
            f"must be auto, cpu, cuda or mps, got {self.device!r}",
        )

"""Run configurations: frozen dataclasses, one per stage, validated on construction, saved as YAML
next to their outputs. Each field is a ``setting`` with its one-line doc: the one owner of that knob's
name and default, which the CLI reads for its options and help."""

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
DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "fp32", "bf16")  # runtime.resolve_precision decides what auto means on a device
COMPILE = ("auto", "on", "off")  # training/compiled.py decides what auto means for a run
MASK_METHODS = ("dlib", "rect")  # eye masks: dlib's 68 landmarks, or rectangles around MTCNN's eyes
# Images and frames larger than this are refused before decoding: a 1 MB PNG can declare 20000x20000
# pixels, which takes 9 GB to decode and detect on. 100 MP covers 8K video and most camera photos.
MAX_PIXELS = 100_000_000
MAX_PIXELS_DOC = "refuse images and videos with more pixels than this (decoding them needs the memory)"


def _check(ok: bool, field: str, message: str) -> None:
    if not ok:
        raise ValueError(f"{field}: {message}")


def setting(default: Any, doc: str, choices: tuple | None = None) -> Any:
    """A config field with its one-line doc (and its allowed values, if a fixed few): the field is the
    setting's one owner; the CLI builds its option's help, ``[default: ...]`` and choices from it
    (``describe``), and ``check_choices`` validates it."""
    if isinstance(default, (list, dict, set)):
        raise TypeError("mutable defaults are not settings; use a tuple")
    return dataclasses.field(default=default, metadata={"doc": doc, "choices": choices})


def choices(cls: type, name: str) -> tuple | None:
    """The allowed values of field ``name`` of ``cls`` (None: any value its checks accept)."""
    return next(f for f in dataclasses.fields(cls) if f.name == name).metadata.get("choices")


def check_choices(config: Any) -> None:
    """Raise ``ValueError`` naming the first field whose value is not one of its ``choices``."""
    for f in dataclasses.fields(config):
        allowed, value = f.metadata.get("choices"), getattr(config, f.name)
        if allowed is not None and value not in allowed:
            _check(False, f.name, f"must be one of {', '.join(map(str, allowed))}, got {value!r}")


def describe(cls: type, name: str) -> str:
    """The help of field ``name`` of config class ``cls``: its doc and its default."""
    field = next(f for f in dataclasses.fields(cls) if f.name == name)
    default = field.default
    shown = (
        {True: "on", False: "off", None: "none"}.get(default, default) if not isinstance(default, float) else default
    )
    shown = getattr(shown, "value", shown)  # enums by their value
    doc = field.metadata.get("doc", "")
    if doc and doc.split()[0].isalpha():  # a sentence, not a file name or a field name
        doc = doc[0].upper() + doc[1:]
    return f"{doc}. [default: {shown}]" if doc else f"[default: {shown}]"


@dataclass(frozen=True)
class ExtractConfig:
    every: int = setting(6, "keep every N-th frame of a video (the original's save_interval)")
    size: int = setting(256, "side of the aligned faces and eye masks, in pixels")
    min_size: int = setting(30, "smallest face side searched for, in pixels (the original notebook's minsize)")
    # Stricter than conversion's 0.8: a false face in the training data costs more than a missed frame.
    detection_threshold: float = setting(
        0.9, "MTCNN's O-Net threshold; raise it against false detections, lower it if faces are missed"
    )
    factor: float = setting(0.709, "MTCNN's pyramid scale step")
    auto_downscale: bool = setting(False, "detect on a reduced copy of frames of 480p and larger (faster)")
    min_face_area: int = setting(25 * 25, "skip faces whose box is smaller (pixels^2)")
    several_faces: str = setting("skip", "frames with several faces: skip them, or keep all faces", ("skip", "all"))
    reference: str | None = setting(None, "photo of the person to keep; other faces are ignored")
    mask_method: str = setting(
        "dlib", "eye masks from dlib's 68 landmarks (rectangles where they fail), or rectangles", MASK_METHODS
    )
    batch_size: int = setting(8, "frames detected together")
    max_pixels: int = setting(MAX_PIXELS, MAX_PIXELS_DOC)
    holdout: float = setting(
        0.05, "prepare: the share of each person's faces kept out of training to measure it (at least 8, at most half)"
    )

    def __post_init__(self) -> None:
        _check(0 <= self.holdout <= 0.5, "holdout", f"must be in [0, 0.5], got {self.holdout}")
        _check(self.max_pixels >= 1, "max_pixels", f"must be >= 1, got {self.max_pixels}")
        _check(self.every >= 1, "every", f"must be >= 1, got {self.every}")
        _check(32 <= self.size <= 1024, "size", f"must be in [32, 1024], got {self.size}")
        _check(self.min_size >= 12, "min_size", f"must be >= 12 (P-Net's window), got {self.min_size}")
        _check(
            0.0 < self.detection_threshold < 1.0,
            "detection_threshold",
            f"must be in (0, 1), got {self.detection_threshold}",
        )
        _check(0.1 <= self.factor < 1.0, "factor", f"must be in [0.1, 1), got {self.factor}")
        _check(self.min_face_area >= 0, "min_face_area", f"must be >= 0, got {self.min_face_area}")
        _check(self.batch_size >= 1, "batch_size", f"must be >= 1, got {self.batch_size}")
        check_choices(self)


def _plain(value: Any) -> Any:
    """Enums by their value, tuples as lists: what ``yaml.safe_dump`` can write."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return getattr(value, "value", value)


def save_config(config: Any, path: str | os.PathLike) -> None:
    """Write a config dataclass as YAML (atomically)."""
    with atomic_write(path) as tmp:
        tmp.write_text(yaml.safe_dump(_plain(dataclasses.asdict(config)), sort_keys=False))


def load_config(cls: type[T], path: str | os.PathLike, defaults: dict | None = None, **overrides: Any) -> T:
    """Read a YAML config of ``cls`` over ``defaults``; ``overrides`` that are not None win over the file."""
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
    data = (defaults or {}) | data | {k: v for k, v in overrides.items() if v is not None}
    try:
        return cls(**data)
    except (TypeError, ValueError) as exc:
        raise UserError(f"{path}: {exc}") from exc


@dataclass(frozen=True)
class ModelConfig:
    """The architecture; saved inside every checkpoint so a model is rebuilt from the file alone."""

    resolution: int = setting(64, "face size the model sees and produces", (64, 128, 256))
    capacity: str = setting(
        "lite", "network width: standard (the original's) or lite (half the widths)", ("standard", "lite")
    )
    norm: str = setting("hybrid", "normalisation, with the original's semantics (spec §1.2)", NORMS)
    self_attention: bool = setting(True, "SAGAN blocks in encoder, decoders and discriminators")
    # The shared code both decoders read: the narrower, the less of the input's identity it can carry, so
    # the more each decoder must draw its own person (issue 12 measures what that does to identity transfer).
    latent: int | None = setting(
        None, "width of the shared bottleneck; none: the original's (1024; 2048 for lite above 64 px)",
        (None, 128, 256, 512, 1024, 2048),
    )  # fmt: skip

    def __post_init__(self) -> None:
        check_choices(self)

    def differences(self, other: ModelConfig) -> list[str]:
        """The names of the fields whose values differ from ``other``'s: what keeps weights of one from
        fitting the other (a resumed checkpoint, a prior)."""
        return [f.name for f in dataclasses.fields(self) if getattr(self, f.name) != getattr(other, f.name)]

    @property
    def latent_width(self) -> int:
        """The bottleneck's width: ``latent``, or the original's for this resolution and capacity."""
        if self.latent is not None:
            return self.latent
        return 2048 if self.capacity == "lite" and self.resolution > 64 else 1024

    @property
    def coef(self) -> int:
        """Width divisor: 1 for standard, 2 for lite."""
        return 2 if self.capacity == "lite" else 1


@dataclass(frozen=True)
class LossWeights:
    """The original's ``loss_weights`` (spec §2.8)."""

    w_D: float = setting(0.1, "generator adversarial weight")  # noqa: N815 - the original's name
    w_recon: float = setting(1.0, "L1 reconstruction and deep supervision")
    w_edge: float = setting(0.1, "edge loss")
    w_eyes: float = setting(30.0, "eye-region L1 and eye-region edge terms")
    w_mask: float = setting(
        1.0, "multiplier of the mask terms (L1 sparsity or hinge, and smoothness), times the schedule's factor"
    )
    w_composite: float = setting(
        0.0,
        "L1 of the masked composite against the target: asks the mask to let the face through (not in the original)",
    )
    w_pl: tuple[float, float, float, float] = setting((0.01, 0.1, 0.3, 0.1), "perceptual taps, deepest first")
    w_code: float = setting(
        0.0,
        "code discriminator: the encoder learns to hide whose face it encodes, so that each decoder can only "
        "draw its own person; early in a run at the cost of expression (not in the original)",
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "w_pl", tuple(float(w) for w in self.w_pl))
        _check(len(self.w_pl) == 4, "w_pl", f"needs 4 weights, got {len(self.w_pl)}")
        for name in ("w_D", "w_recon", "w_edge", "w_eyes", "w_mask", "w_composite", "w_code"):
            _check(getattr(self, name) >= 0, name, "must be >= 0")


@dataclass(frozen=True)
class TrainConfig:
    iterations: int = setting(40000, "total iterations; the loss schedule is scaled to it")
    batch_size: int = setting(8, "faces per person per iteration (even)")
    schedule: str = setting(
        "train",
        "loss schedule: the train notebook's, the Colab demo's, or fast (not the original's: perceptual loss "
        "and a strong mask hinge from the start, so the swap shows within minutes)",
        ("train", "colab", "fast"),
    )
    gan: str = setting("mixup_lsgan", "adversarial loss", ("mixup_lsgan", "relativistic_avg_lsgan"))
    perceptual: str = setting(
        "dlib", "perceptual-loss network (vggface2 needs perceptual_weights)", ("dlib", "vggface2", "none")
    )
    perceptual_weights: str | None = setting(None, "rcmalli_vggface_tf_notop_resnet50.h5, for perceptual vggface2")
    perceptual_before_activation: bool = setting(False, "tap residual sums before their ReLU (the Colab choice)")
    cycle_loss: bool = setting(False, "the original's optional cycle-consistency loss (weight 10)")
    lr_d: float = setting(2e-4, "discriminator learning rate (times the schedule's lr_factor)")
    lr_g: float = setting(1e-4, "generator learning rate (times the schedule's lr_factor)")
    display_every: int = setting(300, "iterations between loss rows, previews and checkpoints")
    backup_every: int = setting(5000, "iterations between kept checkpoint copies")
    prob_colour_match: float = setting(0.5, "probability of the random colour-match augmentation")
    motion_blur: bool = setting(False, "motion-blur augmentation (recommended for faces from videos)")
    warp: float = setting(1.0, "strength of the random warp of the inputs (its grid noise, times the original's)")
    warp_until: int | None = setting(
        None,
        "iteration from which inputs are no longer randomly warped (input = target: sharper faces late in a run, "
        "as DeepFaceLab's random-warp switch); None: warped throughout, as the original",
    )
    eye_masks: bool = setting(True, "use the eye masks of the data folder (zeros otherwise)")
    part_augmentation: bool = setting(False, "mix in the part-swapped A faces of `augment-parts` (face_src_aug)")
    seed: int = setting(0, "seed of everything random: initialisation, data order, augmentation, mixup")
    workers: int = setting(-1, "data-loading processes; -1: one per spare CPU core (at least 1)")
    device: str = setting("auto", "where to compute", DEVICES)
    precision: str = setting(
        "auto",
        "arithmetic of convolutions and matrix products: bf16 autocast or float32; auto: bf16 on GPUs that "
        "support it and CPUs with bf16 dot products (amx_bf16 or avx512_bf16), float32 elsewhere",
        PRECISIONS,
    )
    compile: str = setting(
        "auto",
        "torch.compile the generator and discriminators (1-2 minutes before the first step, then faster steps); "
        "auto: on CPU under bf16 for runs of 2000 iterations or more (in float32 it measured no faster)",
        COMPILE,
    )
    prior: str | None = setting(
        None,
        "weights to start from: a `pretrain` output, builtin (the package's face prior, 64 px lite hybrid) or a run's "
        "checkpoint; a resumed run keeps its own",
    )
    until_identity: float | None = setting(
        None, "stop once identity transfer on the held-out faces reaches this both ways, two display intervals in a row"
    )
    average: float = setting(
        0.995, "decay of the moving average of the generator's weights that is shown and saved; 0: the last weights"
    )

    def __post_init__(self) -> None:
        _check(self.iterations >= 1, "iterations", f"must be >= 1, got {self.iterations}")
        _check(
            self.batch_size >= 2 and self.batch_size % 2 == 0,
            "batch_size",
            f"must be even and >= 2, got {self.batch_size}",
        )
        check_choices(self)
        _check(
            self.perceptual != "vggface2" or bool(self.perceptual_weights),
            "perceptual_weights",
            "required for vggface2",
        )
        _check(self.lr_d > 0 and self.lr_g > 0, "lr_d", "learning rates must be > 0")
        _check(self.display_every >= 1, "display_every", f"must be >= 1, got {self.display_every}")
        _check(self.backup_every >= 1, "backup_every", f"must be >= 1, got {self.backup_every}")
        _check(0 <= self.prob_colour_match <= 1, "prob_colour_match", "must be in [0, 1]")
        _check(self.warp >= 0, "warp", f"must be >= 0, got {self.warp}")
        _check(self.warp_until is None or self.warp_until >= 0, "warp_until", f"must be >= 0, got {self.warp_until}")
        _check(self.workers >= -1, "workers", f"must be >= -1, got {self.workers}")
        _check(0 <= self.average < 1, "average", f"must be in [0, 1), got {self.average}")
        _check(
            self.until_identity is None or 0 <= self.until_identity <= 1,
            "until_identity",
            f"must be in [0, 1], got {self.until_identity}",
        )

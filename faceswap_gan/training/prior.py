"""A face prior: the generator of a model trained on the faces of many people (``faceswap-gan pretrain``),
from which a pair's training starts instead of from random weights (``train --prior``).

Why: a fresh 64 px model spends its first thousands of iterations learning what every face has (skin,
eyes, a mouth, light), blurry for most of an hour on a 2-core CPU; started from a prior, the decoders
draw faces from the first iteration and the pair's minutes go into the two people. DeepFaceLab's
pretrain mode and faceswap's loaded encoder are the same idea.

A prior file is one of our checkpoints (``io/checkpoint.py``: versioned, read without executing code)
holding ``kind: "prior"``, the model config, the generator's weights in float16 (half the size; the
training that starts from them runs in float32) and ``about``: what it was trained on and for how long.
A run's own checkpoint is accepted as a prior too (its generator, in full precision).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import torch

from faceswap_gan.config import ModelConfig
from faceswap_gan.errors import UserError
from faceswap_gan.io.checkpoint import load_checkpoint, save_checkpoint

KIND = "prior"
BUILTIN = "builtin"  # ``--prior builtin``: the prior shipped inside the package
BUILTIN_PATH = Path(__file__).resolve().parent.parent / "priors" / "faces64.pt"
BUILTIN_MODEL = ModelConfig()  # the built-in prior's model: the defaults (64 px, lite, hybrid, self-attention)


def save_prior(path: str | os.PathLike, generator: torch.nn.Module, config: ModelConfig, about: dict[str, Any]) -> None:
    """Write ``generator``'s weights (floating point ones as float16) as a prior of ``config``."""
    weights = {
        k: v.detach().cpu().half() if v.is_floating_point() else v.cpu() for k, v in generator.state_dict().items()
    }
    save_checkpoint(path, kind=KIND, model_config=dataclasses.asdict(config), generator=weights, about=about)


def is_prior(path: Path) -> bool:
    """Whether ``path`` is a prior file written by ``save_prior``."""
    try:
        return load_checkpoint(path).get("kind") == KIND
    except UserError:
        return False


def resolve_prior(prior: str | os.PathLike) -> Path:
    """The file of ``prior``: ``builtin`` names the package's own."""
    if str(prior) == BUILTIN:
        if not BUILTIN_PATH.is_file():
            raise UserError(
                f"{BUILTIN_PATH}: the built-in prior is missing from this installation; reinstall faceswap-gan"
            )
        return BUILTIN_PATH
    return Path(prior)


def load_prior(prior: str | os.PathLike, config: ModelConfig) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The generator weights (float32) of a prior or run checkpoint for a model of ``config``, and what the
    file says about itself; a UserError naming the file when it is not one or holds another architecture."""
    path = resolve_prior(prior)
    data = load_checkpoint(path)
    if "generator" not in data or "model_config" not in data:
        raise UserError(f"{path}: holds no generator weights; give a file written by `faceswap-gan pretrain`")
    try:
        saved = ModelConfig(**data["model_config"])
    except (TypeError, ValueError) as exc:
        raise UserError(f"{path}: its model settings are not ours ({exc})") from exc
    if saved != config:
        shown = ", ".join(
            f"{name} {getattr(saved, name)} (the run: {getattr(config, name)})" for name in saved.differences(config)
        )
        raise UserError(
            f"{path}: a prior for another model ({shown}); train with its settings or pretrain one for yours"
        )
    weights = {k: v.float() if v.is_floating_point() else v for k, v in data["generator"].items()}
    return weights, dict(data.get("about") or {})


def apply_prior(generator: torch.nn.Module, weights: dict[str, torch.Tensor], source: str) -> None:
    """Load ``weights`` into ``generator``; a UserError naming ``source`` when they do not fit."""
    try:
        generator.load_state_dict(weights)
    except RuntimeError as exc:
        raise UserError(f"{source}: its weights do not fit this model ({str(exc).splitlines()[0]})") from exc

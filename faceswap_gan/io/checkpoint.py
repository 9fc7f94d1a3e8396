"""Checkpoints: one versioned dict of plain data and tensors, written atomically (temporary file + rename)
and read with ``torch.load(weights_only=True)``, which never executes code from the file.

Layout (version 1): ``{"format": "faceswap-gan", "version": 1, "iteration": int, "model_config": dict,
"train_config": dict, "generator": state_dict, "discriminators": state_dict, "opt_g": state_dict,
"opt_d": state_dict}``. Nothing random needs saving: data and mixup draws derive from (seed, iteration).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from faceswap_gan.errors import UserError, short_error
from faceswap_gan.io.atomic import atomic_write

if TYPE_CHECKING:
    from faceswap_gan.nets.model import FaceSwapModel

FORMAT, VERSION = "faceswap-gan", 1
# torch.load(weights_only=True) is what keeps a checkpoint from running code; it can be bypassed before
# torch 2.6 (CVE-2025-32434), and 2.10 fixes a later advisory (CVE-2026-24747).
SAFE_TORCH = "2.10"


def _check_torch() -> None:
    if torch.__version__ < SAFE_TORCH:  # TorchVersion compares as a version, not as text
        raise UserError(
            f"torch {torch.__version__} cannot read checkpoints safely (a crafted file could run code); "
            f"install torch >= {SAFE_TORCH}"
        )


def save_checkpoint(path: str | os.PathLike, **content: Any) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_write(path) as tmp:
            torch.save({"format": FORMAT, "version": VERSION, **content}, tmp)
    except RuntimeError as exc:  # torch's zip writer reports a failed write ("unexpected pos") this way
        free = shutil.disk_usage(path.parent).free
        raise UserError(
            f"{path}: the checkpoint could not be written ({short_error(exc, 80)}); {free / 2**20:.0f} MB are "
            "free there: free some space (or raise the file size limit) and run again; the previous one is kept"
        ) from exc


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint of ours; anything else is a UserError naming the file."""
    path = Path(path)
    if path.is_dir():
        path = path / "checkpoints" / "latest.pt"
    if not path.is_file():
        raise UserError(f"{path}: no such checkpoint; train a model with `faceswap-gan train` first")
    _check_torch()
    try:
        data = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises many types for foreign or damaged files
        raise UserError(f"{path}: not a faceswap-gan checkpoint ({exc.__class__.__name__})") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise UserError(f"{path}: not a faceswap-gan checkpoint")
    if data.get("version") != VERSION:
        raise UserError(f"{path}: checkpoint version {data.get('version')}, this faceswap-gan reads version {VERSION}")
    return data


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu") -> FaceSwapModel:
    """The trained model of a checkpoint file or a run folder, in eval mode on ``device``:
    ``load_model("runs/ab").swap(faces, "AtoB")``."""
    from faceswap_gan.nets.model import FaceSwapModel  # the format knows the model; the model not the file

    return FaceSwapModel.from_state(load_checkpoint(path, device), str(path)).to(device)

"""The folder layouts that several modules share, named once: the training data of ``prepare`` (read by
training, ``masks`` and ``augment-parts``) and the output of ``extract``. Both are the original's."""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass
from pathlib import Path

SIDES = ("src", "dst")  # person A, person B
AUG_SIDE = "src_aug"  # part-swapped A faces of `augment-parts`


@dataclass(frozen=True)
class DataFolder:
    """``prepare``'s training data: ``face_{side}/``, ``binary_masks/face_{side}_eyes/`` (mask names equal
    face names), ``alignments_{side}.json``, and ``extract_config.yaml``."""

    root: Path

    def __init__(self, root: str | os.PathLike) -> None:
        object.__setattr__(self, "root", Path(root))

    def faces(self, side: str) -> Path:
        return self.root / f"face_{side}"

    def masks(self, side: str) -> Path:
        return self.root / "binary_masks" / f"face_{side}_eyes"

    def alignments(self, side: str) -> Path:
        return self.root / f"alignments_{side}.json"

    def holdout(self, side: str) -> Path:
        """Faces of the person kept out of training, to measure what the model learned (``prepare --holdout``)."""
        return self.faces(f"{side}_holdout")

    def holdout_masks(self, side: str) -> Path:
        return self.masks(f"{side}_holdout")

    def parts(self, side: str) -> list[str]:
        """The paths of one side relative to the root, for checking what a new result would replace."""
        paths = (
            self.faces(side),
            self.masks(side),
            self.alignments(side),
            self.holdout(side),
            self.holdout_masks(side),
        )
        return [str(p.relative_to(self.root)) for p in paths]

    @property
    def settings(self) -> Path:
        return self.root / "extract_config.yaml"


@dataclass(frozen=True)
class ExtractFolder:
    """``extract``'s output: ``faces/{aligned_faces,binary_masks_eyes,raw_faces}/``, ``alignments.json``,
    ``extract_config.yaml``. ``ALIGNED``, ``MASKS`` and ``RAW`` are the subfolders of ``faces/``."""

    ALIGNED = "aligned_faces"
    MASKS = "binary_masks_eyes"
    RAW = "raw_faces"

    root: Path

    def __init__(self, root: str | os.PathLike) -> None:
        object.__setattr__(self, "root", Path(root))

    @property
    def faces(self) -> Path:
        return self.root / "faces"

    @property
    def aligned(self) -> Path:
        return self.faces / self.ALIGNED

    @property
    def masks(self) -> Path:
        return self.faces / self.MASKS

    @property
    def alignments(self) -> Path:
        return self.root / "alignments.json"

    @property
    def settings(self) -> Path:
        return self.root / "extract_config.yaml"


def holdout_names(names: list[str], fraction: float, minimum: int = 8) -> list[str]:
    """The faces kept out of training: ``fraction`` of them, at least ``minimum``, at most half. Chosen by a
    hash of the name, not at random: the same faces every time, and adding faces changes few choices."""
    if fraction <= 0 or len(names) < 2:
        return []
    count = min(max(minimum, math.ceil(fraction * len(names))), len(names) // 2)
    return sorted(sorted(names, key=lambda name: hashlib.sha256(name.encode()).hexdigest())[:count])


def hold_out(staged: DataFolder, side: str, fraction: float) -> int:
    """Move the held-out faces (and their masks) of one side into its holdout folders; how many."""
    names = holdout_names(sorted(p.name for p in staged.faces(side).iterdir()), fraction)
    if names:
        staged.holdout(side).mkdir()
        staged.holdout_masks(side).mkdir(parents=True)
        for name in names:
            (staged.faces(side) / name).rename(staged.holdout(side) / name)
            if (staged.masks(side) / name).exists():
                (staged.masks(side) / name).rename(staged.holdout_masks(side) / name)
    return len(names)

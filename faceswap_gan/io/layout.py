"""The folder layouts that several modules share, named once: the training data of ``prepare`` (read by
training, ``masks`` and ``augment-parts``) and the output of ``extract``. Both are the original's."""

from __future__ import annotations

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

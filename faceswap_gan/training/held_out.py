"""Quality while training: how far the held-out faces of each person swap into the other one.

At every display interval the faces ``prepare --holdout`` kept out of training are swapped both ways and
judged by dlib's descriptors against the mean descriptors of each person's training faces (the same
relative measure as ``faceswap-gan evaluate``). Real and swapped faces go through the same path: the
central crop the model sees, at its resolution, enlarged to the size dlib's network expects.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from faceswap_gan.faces.dlib_models import face_descriptor
from faceswap_gan.io.layout import DataFolder
from faceswap_gan.io.media import list_images
from faceswap_gan.quality.metrics import identity_transfer
from faceswap_gan.training.data import FaceSet, preview_faces
from faceswap_gan.training.reporting import to_uint8

DESCRIBED = 160  # side the faces are enlarged to for dlib's descriptor (it works on 150 px chips)
REFERENCES = 32  # training faces per person for the mean descriptors
LEVELS = (0.5, 0.8, 0.9)  # identity-transfer levels whose first time the summary reports


def _uint8(images: torch.Tensor) -> np.ndarray:
    """(N, 3, R, R) in [-1, 1] -> (N, DESCRIBED, DESCRIBED, 3) uint8 RGB."""
    size = (DESCRIBED, DESCRIBED)
    return np.stack([cv2.resize(a, size, interpolation=cv2.INTER_CUBIC) for a in to_uint8(images)])


def _describe(images: np.ndarray) -> np.ndarray:
    box = np.array([0, 0, DESCRIBED - 1, DESCRIBED - 1], float)
    return np.stack([face_descriptor(image, box) for image in images])


class HeldOutJudge:
    """Identity transfer of the held-out faces, both ways; None from ``load`` where there are none."""

    def __init__(self, held_a: torch.Tensor, held_b: torch.Tensor, refs_a: np.ndarray, refs_b: np.ndarray) -> None:
        self.held = {"a": held_a, "b": held_b}  # (N, 3, R, R) in [-1, 1], on the model's device
        self.refs = {"a": refs_a, "b": refs_b}  # (M, 128) descriptors of training faces

    @classmethod
    def load(
        cls, data_dir: Path, training: tuple[FaceSet, FaceSet], resolution: int, device: torch.device
    ) -> HeldOutJudge | None:
        """From the held-out folders of ``data_dir``; the references from the ``training`` faces of A and B
        that the trainer has already read and checked (their own folders only: no part-swapped faces)."""
        folder = DataFolder(data_dir)
        if not all(folder.holdout(s).is_dir() and list_images(folder.holdout(s)) for s in ("src", "dst")):
            return None
        held = [preview_faces(FaceSet.from_data_dir(data_dir, f"{s}_holdout"), resolution, 64) for s in ("src", "dst")]
        own = [FaceSet([f for f in faces.faces if f.parent == folder.faces(s)], faces.mask_dirs)
               for faces, s in zip(training, ("src", "dst"), strict=True)]  # fmt: skip
        refs = [_describe(_uint8(preview_faces(faces, resolution, REFERENCES))) for faces in own]
        return cls(held[0].to(device), held[1].to(device), refs[0], refs[1])

    @torch.no_grad()
    def measure(self, generator) -> dict[str, float]:
        """``id_a2b``: the fraction of A's held-out faces that the swap makes closer to B than to A, with its
        ``margin_a2b`` and the mean of its alpha mask ``alpha_a2b`` (0: the swap shows the input); ``raw_a2b``, the
        same fraction for the decoder's raw face (alpha = 1): what the decoder has learned, whether or not the
        mask lets it through; the same for B into A."""
        row = {}
        for own, other in (("a", "b"), ("b", "a")):
            faces = self.held[own]
            out = generator.decode(faces, other)
            result = identity_transfer(_describe(_uint8(out.composite(faces))), self.refs[own], self.refs[other])
            row[f"id_{own}2{other}"], row[f"margin_{own}2{other}"] = result.fraction, result.margin
            row[f"alpha_{own}2{other}"] = float(out.alpha.mean())  # how much of the swap reaches the picture
            raw = identity_transfer(_describe(_uint8(out.colour)), self.refs[own], self.refs[other])
            row[f"raw_{own}2{other}"] = raw.fraction
        return row


def reached(log: list[dict[str, float]], level: float) -> bool:
    """Identity transfer at ``level`` or more both ways at the last two display intervals."""
    last = [row for row in log if "id_a2b" in row][-2:]
    return len(last) == 2 and all(min(row["id_a2b"], row["id_b2a"]) >= level for row in last)

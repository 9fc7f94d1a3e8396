"""Quality while training: how far the held-out faces of each person swap into the other one.

At every display interval the faces ``prepare --holdout`` kept out of training are swapped both ways the
way ``convert`` swaps a frame's face with its default settings (the central ROI through the model,
colour correction, the feathered paste: ``compositing/swapper.py``), into the full-size aligned face,
and judged by dlib's descriptors against the mean descriptors of each person's real training faces at
that size (the same relative measure as ``faceswap-gan evaluate``). So the figure says what a converted
clip would show. (Judging the model's own 64 px output against 64 px real faces instead said 1.00 both
ways for models whose converted clips read as the input person: docs/quality-findings.md.)

``raw_*`` still judges the decoder's own output at the model's resolution, alpha = 1, against real faces
at that resolution: what the decoder has learned, before the conversion shows it.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from faceswap_gan.compositing.swapper import PreparedFace, paste, prepare_aligned
from faceswap_gan.converter import ConverterConfig
from faceswap_gan.faces.dlib_models import face_descriptor
from faceswap_gan.faces.masks import ALIGNED_FACE_BOX
from faceswap_gan.io.layout import DataFolder
from faceswap_gan.io.media import list_images
from faceswap_gan.nets.model import Generator
from faceswap_gan.quality.metrics import identity_transfer
from faceswap_gan.training.data import FaceSet, read_face

DESCRIBED = 160  # side the model's raw faces are enlarged to for dlib's descriptor (it works on 150 px chips)
REFERENCES = 32  # training faces per person for the mean descriptors
HELD_OUT = 64  # held-out faces judged per person, at most
LEVELS = (0.5, 0.8, 0.9)  # identity-transfer levels whose first time the summary reports


def _describe(faces: list[np.ndarray]) -> np.ndarray:
    """Descriptors of aligned faces at full size, (S, S, 3) uint8 RGB, in the template's face box."""
    return np.stack([face_descriptor(face, ALIGNED_FACE_BOX * face.shape[0]) for face in faces])


def _describe_crops(crops: np.ndarray | list[np.ndarray]) -> np.ndarray:
    """Descriptors of the model's crops, (N, R, R, 3) uint8 RGB, enlarged to DESCRIBED: the whole crop."""
    box = np.array([0, 0, DESCRIBED - 1, DESCRIBED - 1], float)
    size = (DESCRIBED, DESCRIBED)
    return np.stack([face_descriptor(cv2.resize(c, size, interpolation=cv2.INTER_CUBIC), box) for c in crops])


def _faces(paths: list[Path], count: int) -> list[np.ndarray]:
    """Up to ``count`` readable faces spread evenly over ``paths``, (BASE, BASE, 3) uint8 RGB."""
    picked = sorted(set(np.linspace(0, len(paths) - 1, min(count, len(paths))).astype(int)))
    return [face for face in (read_face(paths[i]) for i in picked) if face is not None]


class HeldOutJudge:
    """Identity transfer of the held-out faces, both ways; None from ``load`` where there are none."""

    def __init__(self, held: dict[str, list[PreparedFace]], refs: dict[str, np.ndarray],
                 raw_refs: dict[str, np.ndarray], convert: ConverterConfig) -> None:  # fmt: skip
        self.held = held  # per side "a"/"b": the held-out faces, made ready as convert makes a frame's face
        self.refs = refs  # (M, 128) descriptors of real training faces at full size
        self.raw_refs = raw_refs  # the same faces as the model sees them, judged as ``raw_*`` is
        self.convert = convert

    @classmethod
    def load(cls, data_dir: Path, training: tuple[FaceSet, FaceSet], resolution: int) -> HeldOutJudge | None:
        """From the held-out folders of ``data_dir``; the references from the ``training`` faces of A and B
        that the trainer has already read and checked (their own folders only: no part-swapped faces)."""
        folder = DataFolder(data_dir)
        if not all(folder.holdout(s).is_dir() and list_images(folder.holdout(s)) for s in ("src", "dst")):
            return None
        convert = ConverterConfig(image_shape=(resolution, resolution, 3))  # convert's defaults otherwise
        held, refs, raw_refs = {}, {}, {}
        for side, faces, s in zip("ab", training, ("src", "dst"), strict=True):
            held_out = _faces(FaceSet.from_data_dir(data_dir, f"{s}_holdout").faces, HELD_OUT)
            held[side] = [prepare_aligned(face, convert) for face in held_out]
            real = _faces([f for f in faces.faces if f.parent == folder.faces(s)], REFERENCES)
            refs[side] = _describe(real)
            raw_refs[side] = _describe_crops([prepare_aligned(face, convert).model_input for face in real])
        return cls(held, refs, raw_refs, convert)

    @torch.no_grad()
    def measure(self, generator: Generator) -> dict[str, float]:
        """``id_a2b``: the fraction of A's held-out faces that the swap, converted as ``convert`` would, makes
        closer to B than to A, with its ``margin_a2b`` and the mean of the model's alpha mask ``alpha_a2b``
        (0: the swap shows the input); ``raw_a2b``, the same fraction for the decoder's own face at its
        resolution (alpha = 1): what the decoder has learned, whether or not the conversion shows it; the
        same for B into A."""
        row = {}
        for own, other, direction in (("a", "b", "AtoB"), ("b", "a", "BtoA")):
            prepared = self.held[own]
            alpha, colour = generator.swap(np.stack([p.model_input for p in prepared]), direction)
            swapped = [paste(p, a, c, self.convert) for p, a, c in zip(prepared, alpha, colour, strict=True)]
            result = identity_transfer(_describe(swapped), self.refs[own], self.refs[other])
            row[f"id_{own}2{other}"], row[f"margin_{own}2{other}"] = result.fraction, result.margin
            row[f"alpha_{own}2{other}"] = float(alpha.mean())  # how much of the swap reaches the picture
            raw = identity_transfer(_describe_crops(colour), self.raw_refs[own], self.raw_refs[other])
            row[f"raw_{own}2{other}"] = raw.fraction
        return row


def reached(log: list[dict[str, float]], level: float) -> bool:
    """Identity transfer at ``level`` or more both ways at the last two display intervals."""
    last = [row for row in log if "id_a2b" in row][-2:]
    return len(last) == 2 and all(min(row["id_a2b"], row["id_b2a"]) >= level for row in last)

"""Face-part replacement, method 1 of the original README: part-swapped faces as extra training data.

For each source (A) face, the target (B) faces that look most like it are found by k nearest neighbours
on a face network's averaged feature map; the chosen parts (eyes, nose, mouth) of each neighbour are
warped onto the source face with a similarity fitted on their landmarks, colour-matched and blended
in with a feathered mask. Training can mix these images into A's faces (``train --part-augmentation``).

The original author reported this as a failure: the model learns the blending artefacts (sharp edges
around the eyes and nose, warped faces from wrong landmarks), and it needs a model per part. Method 2
(``convert --segmentation``) replaces parts at conversion time instead.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from faceswap_gan.errors import UserError
from faceswap_gan.faces.dlib_models import landmarks_68
from faceswap_gan.faces.masks import ALIGNED_FACE_BOX, PARTS, part_mask
from faceswap_gan.io.atomic import is_within, publish_all, staging_folder
from faceswap_gan.io.layout import AUG_SIDE, SIDES, DataFolder
from faceswap_gan.io.media import list_images, read_image, write_image
from faceswap_gan.nets.dlib_resnet import DlibResNet, model_path
from faceswap_gan.runtime import flush_denormals


@torch.inference_mode()
def face_features(faces: list[np.ndarray], net: DlibResNet | None = None) -> np.ndarray:
    """(N, 256) unit-length averaged feature maps of aligned faces (H, W, 3) uint8 RGB."""
    net = net or DlibResNet(model_path("dlib_face_recognition_resnet_model_v1.dat"))
    batch = np.stack([cv2.resize(f, (150, 150), interpolation=cv2.INTER_AREA) for f in faces])
    pooled = net.pooled(torch.from_numpy(batch).permute(0, 3, 1, 2).float()).numpy()
    return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


def nearest(queries: np.ndarray, gallery: np.ndarray, k: int) -> np.ndarray:
    """(Q, k) indices of the ``k`` gallery rows closest (cosine) to each query row, closest first."""
    return np.argsort(-(queries @ gallery.T), axis=1, kind="stable")[:, :k]


def swap_parts(source: np.ndarray, donor: np.ndarray, parts: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """``source`` with ``parts`` taken from ``donor`` (aligned faces of one size) -> (image, mask in [0, 1]).

    Outside the feathered mask the result is ``source`` exactly."""
    size = source.shape[0]
    box = ALIGNED_FACE_BOX * size
    points_s, points_d = landmarks_68(source, box), landmarks_68(donor, box)
    index = [i for part in parts for group in PARTS[part] for i in group]
    matrix, _ = cv2.estimateAffinePartial2D(points_d[index], points_s[index])
    if matrix is None:
        matrix = np.eye(2, 3)
    warped = cv2.warpAffine(donor, matrix, (size, size), borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
    mask = part_mask(points_s, parts, size)
    # Give the donor's parts the source's colour statistics inside the mask (seams were the method's weakness).
    inside = mask > 0.5
    if inside.any():
        src_px, don_px = source[inside].astype(np.float32), warped[inside]
        warped = (warped - don_px.mean(0)) / (don_px.std(0) + 1e-6) * src_px.std(0) + src_px.mean(0)
    out = mask[..., None] * warped + (1 - mask[..., None]) * source.astype(np.float32)
    out = np.where(mask[..., None] > 0, np.clip(out, 0, 255).round(), source).astype(np.uint8)
    return out, mask


@dataclass
class AugmentSummary:
    sources: int
    written: int
    out_dir: Path


def augment_parts(
    data_dir: str | os.PathLike,
    parts: tuple[str, ...],
    neighbours: int = 5,
    out_dir: str | os.PathLike | None = None,
    overwrite: bool = False,
) -> AugmentSummary:
    """Write ``neighbours`` part-swapped versions of every A face to ``out_dir`` (default
    ``DATA/face_src_aug``), with their eye masks (those of the A face: the geometry is unchanged)."""
    flush_denormals()
    data_dir = Path(data_dir)
    unknown = set(parts) - {"eyes", "nose", "mouth"}
    if not parts or unknown:
        raise UserError(f"--parts: choose from eyes, nose, mouth (got {', '.join(parts) or 'nothing'})")
    folder = DataFolder(data_dir)
    src_files, dst_files = list_images(folder.faces("src")), list_images(folder.faces("dst"))
    if not src_files or not dst_files:
        raise UserError(f"{data_dir}: face_src/ and face_dst/ must both hold faces; run `faceswap-gan prepare`")
    out_dir = Path(out_dir) if out_dir else folder.faces(AUG_SIDE)
    mask_out = folder.masks(AUG_SIDE)
    for side in SIDES:  # the people's own faces are inputs: never the place for part-swapped ones
        if is_within(folder.faces(side), out_dir) or is_within(folder.masks(side), out_dir):
            raise UserError(f"{out_dir}: holds the faces of {folder.faces(side)}; choose another --out")
    if out_dir.exists() and any(out_dir.iterdir()) and not overwrite:
        raise UserError(f"{out_dir}: already holds faces; use --overwrite to replace them")
    # 1. Look-alikes: k nearest B faces of every A face.
    src_faces, dst_faces = [read_image(f) for f in src_files], [read_image(f) for f in dst_files]
    net = DlibResNet(model_path("dlib_face_recognition_resnet_model_v1.dat"))
    neighbours = min(neighbours, len(dst_faces))
    order = nearest(face_features(src_faces, net), face_features(dst_faces, net), neighbours)
    # 2. Part swaps, written to fresh folders that replace any old ones at the end.
    with staging_folder(out_dir.parent, out_dir.name) as root:
        staging, staged_masks = root / "faces", root / "masks"  # siblings: each replaces its own folder
        staging.mkdir()
        staged_masks.mkdir()
        eye_masks = folder.masks("src")
        written = 0
        for file, face, row in zip(src_files, src_faces, order, strict=True):
            for rank, j in enumerate(row):
                image, _ = swap_parts(face, dst_faces[j], parts)
                name = f"{file.stem}_{'_'.join(parts)}_{rank}.png"
                write_image(staging / name, image)
                if (eye_masks / file.name).is_file():
                    shutil.copyfile(eye_masks / file.name, staged_masks / name)
                written += 1
        publish_all([(staging, out_dir), (staged_masks, mask_out)])
    return AugmentSummary(len(src_files), written, out_dir)

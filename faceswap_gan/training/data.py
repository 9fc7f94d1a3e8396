"""Training samples from the ``prepare`` layout (spec §3).

A sample is a pure function of (seed, side, sample index): the file comes from a per-epoch shuffle and
the augmentation from an RNG seeded with the index. So the stream of batches depends on nothing
else, not on worker processes nor on where a run was interrupted, and resuming at iteration k
continues with exactly the batches an uninterrupted run would have seen.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from faceswap_gan.errors import UserError, warn
from faceswap_gan.io.layout import DataFolder
from faceswap_gan.io.media import list_images
from faceswap_gan.runtime import flush_denormals, usable_cores
from faceswap_gan.training.augment import (
    BASE,
    colour_match,
    motion_blur_kernel,
    random_affine,
    random_warp,
    to_unit_range,
)

SIDES = {"src": 0, "dst": 1}


@dataclass(frozen=True)
class FaceSet:
    """One person's training faces and, per face folder, the folder of their eye masks (same file names)."""

    faces: list[Path]
    mask_dirs: dict[Path, Path | None]  # face folder -> eye-mask folder (None: no masks)

    def mask_path(self, face: Path) -> Path | None:
        folder = self.mask_dirs.get(face.parent)
        return folder / face.name if folder is not None else None

    @classmethod
    def from_data_dir(cls, data_dir: Path, side: str, extra: tuple[str, ...] = ()) -> FaceSet:
        """``DATA/face_{side}`` (with ``binary_masks/face_{side}_eyes``), plus the folders of ``extra`` sides."""
        faces, mask_dirs = [], {}
        for name in (side, *extra):
            folder = DataFolder(data_dir).faces(name)
            if not folder.is_dir():
                hint = "`faceswap-gan augment-parts`" if name != side else "`faceswap-gan prepare`"
                raise UserError(f"{folder}: no such folder; build it with {hint}")
            found = list_images(folder)
            if not found:
                raise UserError(f"{folder}: no face images; run `faceswap-gan prepare` or add aligned faces")
            found = _readable(found)
            masks = DataFolder(data_dir).masks(name)
            faces += found
            mask_dirs[folder] = masks if masks.is_dir() else None
        return cls(faces, mask_dirs)


def _readable(files: list[Path]) -> list[Path]:
    """The files that decode as images, checked once at start-up (so that training never meets a bad one
    in the middle of an epoch); the others are named in a warning and left out."""
    with ThreadPoolExecutor(usable_cores()) as pool:  # OpenCV decodes without the GIL
        ok = list(pool.map(lambda f: _read(f, cv2.IMREAD_REDUCED_GRAYSCALE_2, resize=False) is not None, files))
    bad = [f for f, good in zip(files, ok, strict=True) if not good]
    if bad:
        names = ", ".join(f.name for f in bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        warn(f"{files[0].parent}: {len(bad)} of {len(files)} face images cannot be read and are left out: {names}")
    if len(bad) == len(files):
        raise UserError(f"{files[0].parent}: none of the {len(files)} face images can be read; run `prepare` again")
    return [f for f, good in zip(files, ok, strict=True) if good]


def read_face(path: Path) -> np.ndarray | None:
    """A face file as training reads it: (BASE, BASE, 3) uint8 RGB; None where it does not decode."""
    return _read(path)


def _read(path: Path, flags: int = cv2.IMREAD_COLOR, resize: bool = True) -> np.ndarray | None:
    data = np.fromfile(str(path), dtype=np.uint8) if path.is_file() else np.zeros(0, np.uint8)
    image = cv2.imdecode(data, flags) if data.size else None
    if image is None or not resize:
        return image
    image = cv2.resize(image, (BASE, BASE), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB) if image.ndim == 3 else image


class FaceSamples(Dataset):
    """Index i -> (warped input (3, R, R), target (3, R, R), eye mask (1, R, R)) float32 tensors;
    faces in [-1, 1] RGB, mask in [0, 1]."""

    def __init__(
        self,
        faces: FaceSet,
        colour_pool: list[Path],
        resolution: int,
        seed: int,
        side: str,
        prob_colour_match: float = 0.5,
        motion_blur: bool = False,
        use_eye_masks: bool = True,
    ) -> None:
        self.faces, self.pool, self.resolution = faces, colour_pool, resolution
        self.seed, self.side = seed, SIDES[side]
        self.prob_colour_match, self.motion_blur, self.use_eye_masks = prob_colour_match, motion_blur, use_eye_masks
        self._warned: set[str] = set()

    def __len__(self) -> int:
        return sys.maxsize  # an endless stream; the sampler decides where to start and stop

    @lru_cache(maxsize=4)  # noqa: B019 - one dataset per side, a few epochs at a time
    def _order(self, epoch: int) -> np.ndarray:
        return np.random.default_rng([self.seed, self.side, epoch, 1]).permutation(len(self.faces.faces))

    def _warn(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            print(f"warning: {message}", file=sys.stderr)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.sample(index)

    def sample(self, index: int, warp: float = 1.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Sample ``index`` with the random warp at strength ``warp`` (``augment.random_warp``; 0: the input is
        the target itself, every other draw unchanged)."""
        rng = np.random.default_rng([self.seed, self.side, index, 2])
        n = len(self.faces.faces)
        for attempt in range(n):  # an unreadable file is skipped in favour of the next one
            position = index + attempt
            path = self.faces.faces[self._order(position // n)[position % n]]
            face = _read(path)
            if face is not None:
                break
            self._warn(str(path), f"{path}: unreadable image, skipped")
        else:
            raise UserError(f"{self.faces.faces[0].parent}: none of the face images can be read")
        # 1. Colour match towards a random training face of either person.
        if rng.random() < self.prob_colour_match:
            reference = _read(self.pool[rng.integers(len(self.pool))])
            if reference is not None:
                face = colour_match(face, reference, rng)
        # 2. The eye mask rides along as a fourth channel.
        mask = self._mask(path)
        stack = np.concatenate([face.astype(np.float32), mask[..., None]], axis=2)
        # 3. Random affine + flip, then the random warp into (input, target).
        warped, target = random_warp(random_affine(stack, rng), self.resolution, rng, warp)
        x, y = warped[..., :3], target[..., :3]
        if self.motion_blur and rng.random() < 0.25:
            kernel = motion_blur_kernel(rng)
            x, y = cv2.filter2D(x, -1, kernel), cv2.filter2D(y, -1, kernel)
        as_tensor = lambda a: torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))  # noqa: E731
        return as_tensor(to_unit_range(x)), as_tensor(to_unit_range(y)), as_tensor(target[..., 3:] / 255.0)

    def _mask(self, face_path: Path) -> np.ndarray:
        zeros = np.zeros((BASE, BASE), np.float32)
        if not self.use_eye_masks:
            return zeros
        path = self.faces.mask_path(face_path)
        if path is None:
            self._warn(
                f"no-mask-dir {face_path.parent}",
                f"no eye-mask folder for {face_path.parent}; eye losses see zero masks",
            )
            return zeros
        mask = _read(path, cv2.IMREAD_GRAYSCALE)
        if mask is None:
            self._warn("missing-mask", f"{path} missing; using zero masks where absent")
            return zeros
        return mask.astype(np.float32)


class _Pairs(Dataset):
    """Index i -> (person A's sample i, person B's sample i): one worker pool feeds both sides. The random
    warp has strength ``warp`` until iteration ``warp_until`` (index // per_iteration; None: throughout), 0 after."""

    def __init__(self, a: FaceSamples, b: FaceSamples, per_iteration: int, warp: float, warp_until: int | None) -> None:
        self.a, self.b = a, b
        self.per_iteration, self.warp, self.warp_until = per_iteration, warp, warp_until

    def __len__(self) -> int:
        return sys.maxsize

    def __getitem__(self, index: int):
        before = self.warp_until is None or index // self.per_iteration < self.warp_until
        warp = self.warp if before else 0.0
        return self.a.sample(index, warp), self.b.sample(index, warp)


def make_loader(
    datasets: list[FaceSamples],
    batch_size: int,
    first_iteration: int,
    last_iteration: int,
    workers: int,
    rank: int = 0,
    world_size: int = 1,
    warp: float = 1.0,
    warp_until: int | None = None,
) -> DataLoader:
    """Batches (A, B) for iterations [first, last]; each rank of a distributed run takes its own slice.
    The inputs are warped at strength ``warp``, and from iteration ``warp_until`` on (None: never) not at all."""
    per_iteration = batch_size * world_size
    start = first_iteration * per_iteration + rank * batch_size
    sampler = _Strided(start, (last_iteration + 1) * per_iteration, batch_size, per_iteration)
    return DataLoader(
        _Pairs(*datasets, per_iteration, warp, warp_until),
        batch_size=batch_size,
        sampler=sampler,
        num_workers=workers,
        worker_init_fn=_start_worker,
        persistent_workers=workers > 0,
        prefetch_factor=4 if workers else None,
    )


def _start_worker(worker: int) -> None:
    flush_denormals()  # forked workers inherit it; spawned ones (macOS, Windows) would not


# The central part of a BASE face that training targets cover on average (the warp's 2c with c ~ 88).
PREVIEW_HALF_WIDTH = 88


def preview_faces(faces: FaceSet, resolution: int, count: int = 4) -> torch.Tensor:
    """The first ``count`` readable faces as the model sees them: (N, 3, R, R) RGB in [-1, 1]."""
    images = []
    for path in faces.faces:
        face = _read(path)
        if face is not None:
            lo, hi = BASE // 2 - PREVIEW_HALF_WIDTH, BASE // 2 + PREVIEW_HALF_WIDTH
            crop = cv2.resize(face[lo:hi, lo:hi], (resolution, resolution), interpolation=cv2.INTER_AREA)
            images.append(to_unit_range(crop).transpose(2, 0, 1))
        if len(images) == count:
            break
    return torch.from_numpy(np.stack(images))


class _Strided(torch.utils.data.Sampler[int]):
    """Indices start, start+1, ..., start+batch-1, then the same block every ``stride`` indices."""

    def __init__(self, start: int, stop: int, batch: int, stride: int) -> None:
        self.start, self.stop, self.batch, self.stride = start, stop, batch, stride

    def __iter__(self):
        for block in range(self.start, self.stop, self.stride):
            yield from range(block, block + self.batch)

    def __len__(self) -> int:
        return len(range(self.start, self.stop, self.stride)) * self.batch

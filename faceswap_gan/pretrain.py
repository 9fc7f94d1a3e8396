"""Stage 2, optional first half: a face prior (``training/prior.py``) from the faces of many people.

The faces of every ``prepare`` folder given (both people of each) make one pool, and the usual training
(``train_model``) runs on it with that pool on both sides: both decoders learn to draw faces in general,
the encoder to describe them. The result is the generator, saved as a prior that ``train --prior`` starts
a pair's training from. The run folder keeps the full checkpoint, so pretraining resumes like training.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from faceswap_gan.config import LossWeights, ModelConfig, TrainConfig
from faceswap_gan.errors import UserError
from faceswap_gan.io.checkpoint import load_model
from faceswap_gan.train import TrainSummary, train_model
from faceswap_gan.training.data import FaceSet
from faceswap_gan.training.prior import is_prior, save_prior


def pool_faces(data_dirs: list[Path]) -> FaceSet:
    """Every training face (and its eye-mask folder) of both people of every folder, in one set."""
    faces, masks = [], {}
    for folder in data_dirs:
        for side in ("src", "dst"):
            found = FaceSet.from_data_dir(folder, side)
            faces += found.faces
            masks |= found.mask_dirs
    return FaceSet(faces, masks)


def pretrain_model(
    data_dirs: list[str | os.PathLike],
    out: str | os.PathLike,
    run_dir: str | os.PathLike,
    model_config: ModelConfig,
    config: TrainConfig,
    weights: LossWeights | None = None,
    progress: bool = True,
    stop_after: int | None = None,
) -> TrainSummary:
    """Train on the pooled faces of ``data_dirs`` in ``run_dir`` (resumable), then write the prior ``out``."""
    folders, out = [Path(d) for d in data_dirs], Path(out)
    if not folders:
        raise UserError("pretrain: give at least one training data folder of `faceswap-gan prepare`")
    if out.is_dir():
        raise UserError(f"{out}: is a folder; give the prior's file name, e.g. prior.pt")
    if out.exists() and not is_prior(out):  # rewriting our own prior is resuming; anything else is the user's
        raise UserError(f"{out}: exists and is not a prior of ours; give another --out (it is left as it is)")
    pool = pool_faces(folders)
    # The same pool on both sides: a code discriminator would have nothing to tell apart.
    weights = replace(weights or LossWeights(), w_code=0.0)
    summary = train_model(folders[0], run_dir, model_config, config, weights, progress, stop_after, (pool, pool))
    about = {
        "folders": [f.name for f in folders],
        "faces": len(pool.faces),
        "iterations": summary.iterations_done,
        "batch_size": config.batch_size,
        "schedule": config.schedule,
        "seed": config.seed,
    }
    save_prior(out, load_model(run_dir).generator, model_config, about)
    return summary

"""A training run folder: ``config.yaml`` (model, train and loss settings, resolved), ``checkpoints/``,
``previews/``, ``losses.csv``, ``loss_plot.png``.

Settings resolve in this order: the run's saved ``config.yaml`` (so that running the same command again
resumes with the same settings), then a ``--config`` YAML file, then the command-line options given.
A run never continues with another architecture than the one in its checkpoint.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import yaml

from faceswap_gan.config import LossWeights, ModelConfig, TrainConfig
from faceswap_gan.errors import UserError, short_error
from faceswap_gan.io.atomic import atomic_write
from faceswap_gan.io.checkpoint import load_checkpoint, save_checkpoint
from faceswap_gan.training.average import WeightAverage
from faceswap_gan.training.prior import BUILTIN, BUILTIN_MODEL

SECTIONS = {"model": ModelConfig, "train": TrainConfig, "losses": LossWeights}


def _read_yaml(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise UserError(f"{path}: cannot read the settings ({exc})") from exc
    unknown = set(data) - set(SECTIONS) if isinstance(data, dict) else {"(not a mapping)"}
    if unknown:
        raise UserError(f"{path}: unknown section(s) {', '.join(sorted(unknown))}; expected model, train, losses")
    return data


# Named sets of settings for `train --recipe`, each as the sections of a --config file. "original" is the
# 2018 recipe, every setting at its default; "fast" is ours (docs/quality-findings.md): the fast loss
# schedule and the code discriminator, from the built-in face prior where the model is the prior's, at
# batch 4 (twice the updates per minute moved held-out identity towards B faster on three of the four
# pairs measured, chosen on the exploration pair, and as fast on the fourth) and with 1.5 times the
# original's random warp (less of the input for a decoder to follow: held-out identity ahead on three
# exploration pairs, then on both reported pairs measured, where the jitter it added elsewhere stayed
# within bounds).
RECIPES: dict[str, dict[str, dict[str, Any]]] = {
    "original": {"train": {"schedule": "train"}, "losses": {"w_code": 0.0}},
    "fast": {"train": {"schedule": "fast", "batch_size": 4, "warp": 1.5}, "losses": {"w_code": 1.0}},
}
RECIPES_WITH_PRIOR = ("fast",)


def resolve_configs(
    run_dir: str | os.PathLike, config_file: str | os.PathLike | None = None, recipe: str | None = None, **options: Any
) -> tuple[ModelConfig, TrainConfig, LossWeights]:
    """The run's settings: ``recipe`` (a new run's only) < saved ``config.yaml`` < ``config_file`` < ``options``
    (None = not given). ``options`` are field names of ModelConfig, TrainConfig or LossWeights."""
    saved = Path(run_dir) / "config.yaml"
    # A recipe is for a new run only: a saved run keeps what it was started with, including the defaults
    # of settings added since (its config.yaml lacks them), which a recipe may since have changed.
    from_recipe = recipe if recipe and not saved.exists() else None
    values: dict[str, dict[str, Any]] = {
        name: dict(RECIPES[from_recipe].get(name, {})) if from_recipe else {} for name in SECTIONS
    }
    for source in [saved if saved.exists() else None, Path(config_file) if config_file else None]:
        if source is not None:
            for section, fields in _read_yaml(source).items():
                values[section].update(fields or {})
    for name, value in options.items():
        if value is None:
            continue
        section = next((s for s, cls in SECTIONS.items() if name in {f.name for f in dataclasses.fields(cls)}), None)
        if section is None:
            raise ValueError(f"unknown option {name}")
        values[section][name] = value
    if from_recipe in RECIPES_WITH_PRIOR and "prior" not in values["train"]:  # a new run, no prior asked for
        values["train"]["prior"] = BUILTIN if ModelConfig(**values["model"]) == BUILTIN_MODEL else None
    try:
        return tuple(cls(**values[name]) for name, cls in SECTIONS.items())  # type: ignore[return-value]
    except (TypeError, ValueError) as exc:
        raise UserError(f"invalid setting {exc}") from exc


def write_run_config(run_dir: Path, model: ModelConfig, train: TrainConfig, losses: LossWeights) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    data = {"model": asdict(model), "train": asdict(train), "losses": asdict(losses)}
    data["losses"]["w_pl"] = list(losses.w_pl)
    with atomic_write(run_dir / "config.yaml") as tmp:
        tmp.write_text(yaml.safe_dump(data, sort_keys=False))


def resume_state(run_dir: Path, model_config: ModelConfig) -> dict | None:
    """The latest checkpoint of ``run_dir`` if any, after checking it holds the same architecture."""
    path = latest_checkpoint(run_dir)
    if not path.exists():
        return None
    try:
        state = load_checkpoint(path)
        missing = [key for key in RESUME_KEYS if key not in state]
        if missing:
            raise UserError(f"{path}: an incomplete checkpoint, without {', '.join(missing)}")
        saved = ModelConfig(**state["model_config"])
    except (UserError, TypeError, ValueError) as exc:
        raise UserError(f"{exc}; {_fallback_hint(run_dir)}") from exc
    if saved != model_config:
        differ = saved.differences(model_config)
        changed = ", ".join(f"{name} {getattr(saved, name)} -> {getattr(model_config, name)}" for name in differ)
        raise UserError(
            f"{run_dir}: holds a model with other settings ({changed}); "
            "use another --out, or the same settings to resume"
        )
    return state


RESUME_KEYS = ("iteration", "model_config", "generator", "discriminators", "opt_g", "opt_d")


def _fallback_hint(run_dir: Path) -> str:
    backups = sorted((run_dir / "checkpoints").glob("backup_iter*.pt"))
    if backups:
        return f"to fall back on the newest backup, copy {backups[-1]} over checkpoints/latest.pt and run again"
    return "there is no backup to fall back on: train into another --out to start afresh"


def latest_checkpoint(run_dir: Path) -> Path:
    return run_dir / "checkpoints" / "latest.pt"


def backup_checkpoint(run_dir: Path, iteration: int) -> Path:
    return run_dir / "checkpoints" / f"backup_iter{iteration:06d}.pt"


def save_training_state(
    path: Path, model, opt_g, opt_d, config: TrainConfig, iteration: int, log: list[dict[str, float]],
    average: WeightAverage | None = None,
) -> None:  # fmt: skip
    """The checkpoint of a run: the model (``FaceSwapModel.state``, its generator replaced by the weight
    average where there is one), both optimisers, the settings, and the loss rows up to ``iteration``
    (losses.csv is rebuilt from them, so the two always agree)."""
    save_checkpoint(
        path,
        iteration=iteration,
        train_config=asdict(config),
        opt_g=opt_g.state_dict(),
        opt_d=opt_d.state_dict(),
        log=log,
        **(model.state() | (average.state() if average is not None else {})),
    )


def load_training_state(state: dict, model, opt_g, opt_d, average: WeightAverage | None = None) -> None:
    """Weights and optimiser moments of a checkpoint written by ``save_training_state`` (resume, restore):
    training continues from the raw weights, the average from its own."""
    try:
        model.load_state(state | {"generator": state.get("generator_train", state["generator"])})
        if average is not None:
            average.load(state)
        opt_g.load_state_dict(state["opt_g"])
        saved_d = state["opt_d"]
        if model.stale_code(state["discriminators"]):  # its weights start fresh, so do its moments
            saved_d = _without_group(saved_d, 2)
        opt_d.load_state_dict(_with_later_groups(saved_d, opt_d))
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:  # edited or from another version of ours
        raise UserError(f"the checkpoint's tensors do not fit its model ({short_error(exc)})") from exc


def _without_group(saved: dict, index: int) -> dict:
    """``saved`` (an optimiser's state dict) with its parameter groups from ``index`` on, and their
    moments, left out."""
    groups = saved["param_groups"][:index]
    kept = {i for group in groups for i in group["params"]}
    return {"state": {i: v for i, v in saved["state"].items() if i in kept}, "param_groups": groups}


def _with_later_groups(saved: dict, optimiser: Any) -> dict:
    """``saved`` with the parameter groups it lacks taken fresh from ``optimiser``: a checkpoint written
    before the code discriminator existed has no group for it (it is the last one; its moments start at
    zero, as its weights start fresh in ``FaceSwapModel.load_state``)."""
    current = optimiser.state_dict()["param_groups"]
    have = len(saved["param_groups"])
    if have >= len(current):
        return saved
    return {**saved, "param_groups": saved["param_groups"] + current[have:]}

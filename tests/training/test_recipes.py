"""`train --recipe`: named sets of settings, below the run's saved settings, --config and the options."""

import pytest

from faceswap_gan.config import ModelConfig
from faceswap_gan.io.checkpoint import load_checkpoint
from faceswap_gan.training.prior import BUILTIN_MODEL, BUILTIN_PATH
from faceswap_gan.training.run_folder import RECIPES, resolve_configs, write_run_config


def test_without_a_recipe_or_with_original_every_setting_is_the_original_default(tmp_path):
    plain = resolve_configs(tmp_path)
    assert resolve_configs(tmp_path, recipe="original") == plain
    _, train, losses = plain
    assert (train.schedule, train.prior, losses.w_code) == ("train", None, 0.0)


def test_fast_is_the_fast_schedule_at_batch_4_warp_1_5_with_the_code_discriminator_from_the_builtin_prior(
    tmp_path,
):
    _, train, losses = resolve_configs(tmp_path, recipe="fast")
    assert (train.schedule, train.batch_size, train.warp, train.prior, losses.w_code) == (
        "fast", 4, 1.5, "builtin", 1.0
    )  # fmt: skip
    # Another model than the prior's starts from scratch; the rest of the recipe holds.
    _, train, losses = resolve_configs(tmp_path, recipe="fast", resolution=128)
    assert (train.schedule, train.batch_size, train.warp, train.prior, losses.w_code) == ("fast", 4, 1.5, None, 1.0)
    _, train, _ = resolve_configs(tmp_path, recipe="fast", batch_size=8)  # an option still wins
    assert train.batch_size == 8


def test_options_a_config_file_and_a_saved_run_win_over_the_recipe(tmp_path):
    _, train, _ = resolve_configs(tmp_path, recipe="fast", schedule="train", prior="my.pt")
    assert (train.schedule, train.prior) == ("train", "my.pt")
    settings = tmp_path / "s.yaml"
    settings.write_text("train: {prior: null}\nlosses: {w_code: 0.5}\n")
    _, train, losses = resolve_configs(tmp_path, settings, recipe="fast")
    assert (train.prior, losses.w_code) == (None, 0.5)
    run = tmp_path / "run"  # a run started with the original recipe resumes with it
    write_run_config(run, *resolve_configs(run))
    _, train, losses = resolve_configs(run, recipe="fast")
    assert (train.schedule, train.batch_size, train.prior, losses.w_code) == ("train", 8, None, 0.0)


def test_a_saved_run_ignores_the_recipe_even_for_settings_its_config_lacks(tmp_path, monkeypatch):
    # A run saved before a setting existed (here: warp) resumes with that setting's default, which is
    # what it trained with, not with whatever the recipe says now.
    fast = {**RECIPES["fast"], "train": {**RECIPES["fast"]["train"], "warp": 2.0}}
    monkeypatch.setitem(RECIPES, "fast", fast)
    assert resolve_configs(tmp_path / "new", recipe="fast")[1].warp == 2.0
    run = tmp_path / "run"
    write_run_config(run, *resolve_configs(run, recipe="fast"))
    saved = run / "config.yaml"
    lines = saved.read_text().splitlines()
    saved.write_text("\n".join(line for line in lines if not line.strip().startswith("warp:")) + "\n")
    _, train, losses = resolve_configs(run, recipe="fast")
    assert (train.warp, train.batch_size, losses.w_code) == (1.0, 4, 1.0)


@pytest.mark.parametrize("recipe", ["original", "fast"])
def test_the_recipes_are_valid_settings(tmp_path, recipe):
    resolve_configs(tmp_path, recipe=recipe)


def test_the_builtin_prior_is_for_the_model_the_fast_recipe_expects():
    assert ModelConfig(**load_checkpoint(BUILTIN_PATH)["model_config"]) == BUILTIN_MODEL

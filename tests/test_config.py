import dataclasses
from enum import Enum

import pytest
import yaml

try:  # click >= 8.2 marks an option without a default with a sentinel, earlier ones with None
    from click._utils import UNSET
except ImportError:
    UNSET = None

from faceswap_gan.config import ExtractConfig, load_config, save_config
from faceswap_gan.errors import UserError


@pytest.mark.parametrize(
    "field, value",
    [("every", 0), ("size", 16), ("detection_threshold", 1.0), ("several_faces", "first"), ("mask_method", "fan")],
)
def test_invalid_values_name_the_field(field, value):
    """Range checks and the allowed values of a setting alike."""
    with pytest.raises(ValueError, match=f"^{field}: "):
        ExtractConfig(**{field: value})


def test_yaml_round_trip_with_overrides(tmp_path):
    config = ExtractConfig(every=3, size=128, reference="me.jpg")
    save_config(config, tmp_path / "c.yaml")
    assert load_config(ExtractConfig, tmp_path / "c.yaml") == config
    assert load_config(ExtractConfig, tmp_path / "c.yaml", size=64, every=None) == ExtractConfig(
        every=3, size=64, reference="me.jpg"
    )


def test_bad_yaml_files_are_user_errors(tmp_path):
    (tmp_path / "unknown.yaml").write_text("every: 2\ncolour: blue\n")
    (tmp_path / "invalid.yaml").write_text("every: -1\n")
    with pytest.raises(UserError, match="unknown config field.*colour"):
        load_config(ExtractConfig, tmp_path / "unknown.yaml")
    with pytest.raises(UserError, match="every: must be >= 1"):
        load_config(ExtractConfig, tmp_path / "invalid.yaml")
    with pytest.raises(UserError, match="cannot read"):
        load_config(ExtractConfig, tmp_path / "missing.yaml")


def _config_options():
    """(command, option, config class, field) for every CLI option that sets a config field."""
    from faceswap_gan import cli
    from faceswap_gan.config import LossWeights, ModelConfig, TrainConfig
    from faceswap_gan.converter import ConverterConfig

    owners = {"extract": [ExtractConfig], "prepare": [ExtractConfig], "masks": [ExtractConfig],
              "train": [ModelConfig, TrainConfig, LossWeights], "convert": [ConverterConfig]}  # fmt: skip
    for command, classes in owners.items():
        for param in cli.cli.commands[command].params:
            owner = next((c for c in classes if param.name in {f.name for f in dataclasses.fields(c)}), None)
            if owner is not None:
                yield command, param, owner


def test_the_cli_takes_each_default_and_help_from_the_config_field():
    from faceswap_gan.config import choices, describe

    seen = 0
    for command, param, owner in _config_options():
        seen += 1
        assert param.default in (None, UNSET), f"{command} --{param.name} restates a default"
        assert param.help == describe(owner, param.name), f"{command} --{param.name}"
        assert "[default: " in param.help
        default = next(f.default for f in dataclasses.fields(owner) if f.name == param.name)
        allowed = choices(owner, param.name) or (
            [m.value for m in type(default)] if isinstance(default, Enum) else None
        )
        if allowed is not None:  # the values it takes come from the field too
            assert list(param.type.choices) == [str(a) for a in allowed], f"{command} --{param.name}"
    assert seen >= 40  # the walk found the options (extract 9 twice, train 21, convert 17)


def test_describe_shows_the_fields_doc_and_default():
    from faceswap_gan.config import TrainConfig, describe
    from faceswap_gan.converter import ConverterConfig

    assert (
        describe(TrainConfig, "iterations") == "Total iterations; the loss schedule is scaled to it. [default: 40000]"
    )
    assert describe(TrainConfig, "motion_blur").endswith("[default: off]")
    assert describe(ConverterConfig, "output_type").endswith("[default: combined]")


def test_convert_saves_its_resolved_settings_and_reads_them_back(tmp_path, capsys, astronaut):
    """On a built-in photo with an untrained tiny model: the settings file beside the output holds the
    config file's values, the options given on the command line, and the model's resolution."""
    from faceswap_gan.config import ModelConfig
    from faceswap_gan.io.checkpoint import save_checkpoint
    from faceswap_gan.io.media import write_image
    from faceswap_gan.nets.model import FaceSwapModel
    from tests.test_extract import run_cli

    save_checkpoint(tmp_path / "m.pt", **FaceSwapModel(ModelConfig(64, "lite", "hybrid", False), seed=1).state())
    write_image(tmp_path / "in.png", astronaut)
    (tmp_path / "mine.yaml").write_text("color_correction: adain\nenhance: 0.1\n")
    args = ["convert", tmp_path / "in.png", "--model", tmp_path / "m.pt", "--out", tmp_path / "out.png"]
    code, _, err = run_cli(
        capsys, *args, "--config", tmp_path / "mine.yaml", "--enhance", 0.3, "--output-type", "single"
    )
    assert code == 0, err
    saved = yaml.safe_load((tmp_path / "out.png.convert.yaml").read_text())
    assert saved["color_correction"] == "adain" and saved["enhance"] == 0.3 and saved["output_type"] == "single"
    assert saved["image_shape"] == [64, 64, 3] and saved["detection_threshold"] == 0.8
    # The saved file is a valid --config: a second run with it alone gives the same settings and image.
    code, _, err = run_cli(capsys, *args[:-1], tmp_path / "again.png", "--config", tmp_path / "out.png.convert.yaml")
    assert code == 0, err
    assert yaml.safe_load((tmp_path / "again.png.convert.yaml").read_text()) == saved
    assert (tmp_path / "again.png").read_bytes() == (tmp_path / "out.png").read_bytes()

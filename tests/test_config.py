import pytest

from faceswap_gan.config import ExtractConfig, load_config, save_config
from faceswap_gan.errors import UserError


@pytest.mark.parametrize(
    "field, value", [("every", 0), ("size", 16), ("threshold", 1.0), ("several_faces", "first"), ("mask_method", "fan")]
)
def test_invalid_values_name_the_field(field, value):
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

"""The UI's option forms come from the config fields: every field a user can set has a widget with the
field's default, doc and choices, and the widget values become valid settings again."""

from __future__ import annotations

import dataclasses

import pytest

from faceswap_gan.config import ExtractConfig, TrainConfig
from faceswap_gan.converter import ConverterConfig
from faceswap_gan.ui.forms import FORMS, HIDDEN, check_settings, field_specs, settings_to_values, values_to_settings


@pytest.mark.parametrize("form", list(FORMS))
def test_every_settable_field_has_a_widget_with_its_default_and_doc(form):
    specs = {s.name: s for s in field_specs(form)}
    for f in dataclasses.fields(FORMS[form]):
        if f.name in HIDDEN.get(form, ()) or isinstance(f.default, tuple):
            assert f.name not in specs
            continue
        spec = specs[f.name]
        assert spec.default == getattr(f.default, "value", f.default)
        assert "[default:" in spec.doc


def test_convert_form_offers_every_converter_field_but_the_models_shape():
    names = {s.name for s in field_specs("convert")}
    assert names == {f.name for f in dataclasses.fields(ConverterConfig)} - {"image_shape"}
    output = next(s for s in field_specs("convert") if s.name == "output_type")
    assert output.kind == "choice" and set(output.choices) == {"single", "combined", "triple"}


def test_widget_values_become_typed_settings_and_back():
    specs = field_specs("extract") + field_specs("train")
    values = settings_to_values(specs, {})
    values[[s.name for s in specs].index("every")] = 2.0  # a number box gives floats
    values[[s.name for s in specs].index("gan")] = "relativistic_avg_lsgan"
    settings = values_to_settings(specs, values)
    assert settings["extract"]["every"] == 2 and isinstance(settings["extract"]["every"], int)
    assert ExtractConfig(**settings["extract"]).every == 2
    assert TrainConfig(**settings["train"]).gan == "relativistic_avg_lsgan"
    assert settings_to_values(specs, settings) == [v if v != 2.0 else 2 for v in values]


def test_enum_fields_round_trip_as_their_values():
    specs = field_specs("convert")
    settings = values_to_settings(specs, settings_to_values(specs, {"convert": {"output_type": "triple"}}))
    config = ConverterConfig(**settings["convert"])
    assert config.output_type.value == "triple" and config == ConverterConfig(output_type=config.output_type)


def test_bad_values_name_their_field():
    specs = field_specs("extract")
    values = settings_to_values(specs, {})
    values[[s.name for s in specs].index("every")] = 2.5
    with pytest.raises(ValueError, match="every"):
        values_to_settings(specs, values)
    with pytest.raises(ValueError, match="detection_threshold"):
        check_settings({"extract": {"detection_threshold": 3.0}})

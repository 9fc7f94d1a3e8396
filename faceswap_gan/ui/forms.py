"""The option forms of the UI, built from the config dataclasses: each widget is one field, with the
field's default, doc and choices, so the page, the CLI and the saved YAML share one owner per setting.
Nothing here imports Gradio; ``app.py`` turns the specs into widgets."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum
from typing import Any

from faceswap_gan.config import ExtractConfig, LossWeights, ModelConfig, TrainConfig, describe
from faceswap_gan.converter import ConverterConfig

# Fields the page leaves out: set by the UI itself (paths, the model's shape), or files on the server
# that a form cannot pick well; the CLI still has them.
HIDDEN = {
    "extract": {"reference", "batch_size"},
    "train": {"perceptual_weights", "until_identity", "prior"},
    "convert": {"image_shape"},
}
# The form of each YAML section, in the order the page shows them.
FORMS: dict[str, type] = {
    "extract": ExtractConfig,
    "model": ModelConfig,
    "train": TrainConfig,
    "losses": LossWeights,
    "convert": ConverterConfig,
}


@dataclass(frozen=True)
class FieldSpec:
    """One widget: ``kind`` is choice, bool, int, float or text."""

    form: str
    name: str
    kind: str
    default: Any
    choices: tuple = ()
    doc: str = ""

    @property
    def label(self) -> str:
        return self.name.replace("_", " ")


def _kind(default: Any, choices: tuple) -> str:
    if choices:
        return "choice"
    if isinstance(default, bool):
        return "bool"
    if isinstance(default, int):
        return "int"
    if isinstance(default, float):
        return "float"
    return "text"


def field_specs(form: str) -> list[FieldSpec]:
    """The widgets of ``form`` (a key of FORMS), in the dataclass's order."""
    cls, specs = FORMS[form], []
    for f in dataclasses.fields(cls):
        if f.name in HIDDEN.get(form, ()) or isinstance(f.default, tuple) or f.default is dataclasses.MISSING:
            continue
        default, allowed = f.default, f.metadata.get("choices") or ()
        if isinstance(default, Enum):
            allowed, default = tuple(m.value for m in type(default)), default.value
        specs.append(
            FieldSpec(form, f.name, _kind(default, tuple(allowed)), default, tuple(allowed), describe(cls, f.name))
        )
    return specs


def values_to_settings(specs: list[FieldSpec], values: list[Any]) -> dict[str, dict[str, Any]]:
    """Widget values -> {form: {field: value}}, typed as the fields are (a number box gives floats): what
    the page shows is what runs. Raises ``ValueError`` naming a field whose value is not valid."""
    out: dict[str, dict[str, Any]] = {}
    for spec, value in zip(specs, values, strict=True):
        if spec.kind == "int":
            if value is None or float(value) != int(float(value)):
                raise ValueError(f"{spec.label}: a whole number, got {value}")
            value = int(float(value))
        elif spec.kind == "float":
            if value is None:
                raise ValueError(f"{spec.label}: a number, got nothing")
            value = float(value)
        elif spec.kind == "choice":  # widgets show choices as text: 64, none, AtoB
            matches = [c for c in spec.choices if choice_label(c) == choice_label(value)]
            if not matches:
                raise ValueError(f"{spec.label}: one of {', '.join(map(choice_label, spec.choices))}, got {value}")
            value = matches[0]
        elif spec.kind == "text":
            value = value or None
        out.setdefault(spec.form, {})[spec.name] = value
    return out


def choice_label(value: Any) -> str:
    """How a choice reads in a widget (None as the CLI's help says it: none)."""
    return "none" if value is None else str(value)


def settings_to_values(specs: list[FieldSpec], settings: dict[str, dict[str, Any]]) -> list[Any]:
    """The widget values of ``settings`` (saved ones, say), each field's default where it has none."""
    values = [_plain(settings.get(spec.form, {}).get(spec.name, spec.default)) for spec in specs]
    return [choice_label(v) if spec.kind == "choice" else v for spec, v in zip(specs, values, strict=True)]


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def check_settings(settings: dict[str, dict[str, Any]]) -> None:
    """Build each form's dataclass from ``settings`` so that a bad value is refused before a job starts."""
    for form, fields in settings.items():
        FORMS[form](**fields)

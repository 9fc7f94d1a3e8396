"""The floor plan's import rules (docs/ARCHITECTURE.md), checked on every module's source, imports
inside functions included: a new module that breaks one fails here, not in a code review."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "faceswap_gan"
# The stages, and the commands that run them (demo, benchmark).
STAGES = {
    "faceswap_gan.extract",
    "faceswap_gan.train",
    "faceswap_gan.pretrain",
    "faceswap_gan.convert",
    "faceswap_gan.batch",
    "faceswap_gan.export",
    "faceswap_gan.evaluate",
    "faceswap_gan.demo",
    "faceswap_gan.benchmark",
}
ENTRY_POINTS = {"faceswap_gan.cli", "faceswap_gan.__main__", "faceswap_gan"} | {
    f"faceswap_gan.commands.{name}" for name in ("data", "model", "tools", "training")
}
# The web UI is a front end beside the CLI: it may run the stages (and the CLI, in its job runner).
ENTRY_POINTS |= {f"faceswap_gan.ui.{name}" for name in ("", "app", "forms", "jobs", "runner", "workspace")}
ENTRY_POINTS = {m.rstrip(".") for m in ENTRY_POINTS}


def _modules() -> dict[str, set[str]]:
    """Every module of the package -> the faceswap_gan modules it imports."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        imports = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imports |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
            elif isinstance(node, ast.Import):
                imports |= {a.name for a in node.names}
        found[name] = {i for i in imports if i.split(".")[0] == "faceswap_gan"}
    return found


MODULES = _modules()


def _in(module: str, folder: str) -> bool:
    return module.startswith(f"faceswap_gan.{folder}.") or module == f"faceswap_gan.{folder}"


def _known(imports: set[str]) -> set[str]:
    """Only the imported names that are modules (``from x import name`` also yields ``x.name``)."""
    return {i for i in imports if i in MODULES}


def test_the_walk_finds_the_package_and_its_imports():
    assert {"faceswap_gan.convert", "faceswap_gan.nets.model", "faceswap_gan.io.media"} <= MODULES.keys()
    assert "faceswap_gan.faces.detector" in MODULES["faceswap_gan.convert"]


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _in(m, "nets")))
def test_nets_import_only_config_errors_and_nets(module):
    allowed = {"faceswap_gan.config", "faceswap_gan.errors"}
    assert all(i in allowed or _in(i, "nets") for i in _known(MODULES[module])), MODULES[module]


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _in(m, "faces") or _in(m, "compositing")))
def test_faces_and_compositing_never_import_training(module):
    assert not any(_in(i, "training") for i in MODULES[module])


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m not in STAGES | ENTRY_POINTS))
def test_no_component_imports_a_stage_or_the_cli(module):
    assert not _known(MODULES[module]) & (STAGES | {"faceswap_gan.cli"})


@pytest.mark.parametrize("module", sorted(m for m in MODULES if not _in(m, "ui")))
def test_only_the_ui_command_imports_the_ui(module):
    # Gradio is an optional extra: nothing but `faceswap-gan ui` may need it.
    if module != "faceswap_gan.commands.tools":
        assert not any(_in(i, "ui") for i in MODULES[module])


def test_every_ui_module_is_listed_as_a_front_end():
    assert {m for m in MODULES if _in(m, "ui")} <= ENTRY_POINTS


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _in(m, "io")))
def test_io_stays_at_the_bottom(module):
    # load_model is the one exception: the checkpoint format knows which model it holds.
    allowed = {"faceswap_gan.errors", "faceswap_gan.nets.model"}
    assert all(i in allowed or _in(i, "io") for i in _known(MODULES[module])), MODULES[module]

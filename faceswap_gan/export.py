"""``faceswap-gan export``: a trained model as an ONNX graph that DeepFaceLive and FaceFusion play (a DFM),
in the conventions ``nets/onnx_graph.py`` describes. For AtoB the input is a face of A and the celebrity is
B (decoder B), as in ``convert --direction AtoB``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from faceswap_gan.errors import UserError
from faceswap_gan.io.atomic import atomic_write, check_output
from faceswap_gan.io.checkpoint import load_model
from faceswap_gan.nets.onnx_graph import INPUT, onnx_bytes


@dataclass
class ExportSummary:
    out_path: Path
    resolution: int
    direction: str

    def describe(self) -> str:
        r = self.resolution
        return f"{self.out_path}: {r}x{r} faces, {self.direction}, input {INPUT} (N, {r}, {r}, 3) BGR in [0, 1]"


def export_model(
    model_path: str | os.PathLike, out_path: str | os.PathLike, direction: str = "AtoB", overwrite: bool = False
) -> ExportSummary:
    """Write the ONNX (DFM) graph of ``model_path``'s ``direction`` to ``out_path`` (.onnx or .dfm)."""
    out_path = Path(out_path)
    if direction not in ("AtoB", "BtoA"):
        raise UserError(f"--direction: AtoB or BtoA, got {direction!r}")
    if out_path.suffix.lower() not in (".onnx", ".dfm"):
        raise UserError(f"{out_path}: an export is written as .onnx or .dfm (the same graph)")
    check_output(out_path, (model_path,), overwrite)
    model = load_model(model_path, "cpu")
    with atomic_write(out_path) as tmp:
        tmp.write_bytes(onnx_bytes(model, direction))
    return ExportSummary(out_path, model.config.resolution, direction)

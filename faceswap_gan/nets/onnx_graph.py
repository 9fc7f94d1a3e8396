"""Our model as an ONNX graph in DeepFaceLab's DFM conventions, and that graph run by onnxruntime.

``DFMGraph`` wraps one direction of the model: input ``in_face:0``, (N, R, R, 3) float32 in [0, 1], BGR,
NHWC (DeepFaceLab trains on BGR; DeepFaceLive and FaceFusion feed cv2 frames / 255); outputs, in this order,
``out_face_mask:0`` (N, R, R, 1), the input face's mask (its own decoder's alpha), ``out_celeb_face:0``
(N, R, R, 3), the swapped face, BGR in [0, 1], and ``out_celeb_face_mask:0`` (N, R, R, 1), its mask. This
is what DeepFaceLab's export_dfm writes (tf2onnx, opset 12) and what DeepFaceLive and FaceFusion's deep
swapper read; a .dfm file is the ONNX graph under another name. Neither consumer uses a batch above 1,
and only DeepFaceLab's AMP models have a second input (``morph_value:0``), which this graph does not.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import torch
from torch import nn

from faceswap_gan.nets.attention import attention_path
from faceswap_gan.nets.model import FaceSwapModel

INPUT = "in_face:0"
OUTPUTS = ("out_face_mask:0", "out_celeb_face:0", "out_celeb_face_mask:0")
OPSET = 12  # what DeepFaceLab's own export_dfm writes: every DFM player reads it


class DFMGraph(nn.Module):
    """(N, R, R, 3) BGR [0, 1] -> (face mask, celeb face BGR [0, 1], celeb mask), all NHWC."""

    def __init__(self, model: FaceSwapModel, direction: str = "AtoB") -> None:
        super().__init__()
        self.generator = model.generator
        self.own, self.other = ("a", "b") if direction == "AtoB" else ("b", "a")

    def forward(self, in_face: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = in_face.flip(-1).permute(0, 3, 1, 2) * 2 - 1  # BGR NHWC [0, 1] -> RGB NCHW [-1, 1]
        code = self.generator.encoder(x)
        decode = {"a": self.generator.decoder_a, "b": self.generator.decoder_b}
        own, celeb = decode[self.own](code), decode[self.other](code)
        face = ((celeb.colour + 1) / 2).clamp(0, 1).flip(1).permute(0, 2, 3, 1)  # RGB NCHW -> BGR NHWC
        return own.alpha.permute(0, 2, 3, 1), face, celeb.alpha.permute(0, 2, 3, 1)


def onnx_bytes(model: FaceSwapModel, direction: str = "AtoB") -> bytes:
    """The DFM graph of ``model``'s ``direction``, serialised, with every output's shape stated."""
    import onnx

    r = model.config.resolution
    graph = DFMGraph(model, direction).eval()
    buffer = io.BytesIO()
    axes = {name: {0: "n"} for name in (INPUT, *OUTPUTS)}  # any batch size
    # our attention as two matmuls and a softmax while tracing: the C kernel is no ONNX operator
    with attention_path("math"), torch.no_grad(), warnings.catch_warnings():
        # The TorchScript exporter is deprecated in favour of torch.export's, which needs onnxscript and
        # does not trace our custom attention op; the graph it writes is the same ONNX. Its notes on
        # constant folding of the BGR flip are harmless.
        warnings.simplefilter("ignore")
        torch.onnx.export(graph, (torch.rand(1, r, r, 3),), buffer, input_names=[INPUT], output_names=list(OUTPUTS),
                          dynamic_axes=axes, opset_version=OPSET, dynamo=False)  # fmt: skip
    proto = onnx.load_from_string(buffer.getvalue())
    for output, channels in zip(proto.graph.output, (1, 3, 1), strict=True):  # the exporter left H, W symbolic
        dims = output.type.tensor_type.shape.dim
        for dim, value in zip(dims[1:], (r, r, channels), strict=True):
            dim.Clear()
            dim.dim_value = value
    onnx.checker.check_model(proto)
    return proto.SerializeToString()


class OnnxModel:
    """A model's DFM graph on onnxruntime (CPU), with ``FaceSwapModel.swap``'s contract."""

    def __init__(self, model: FaceSwapModel, direction: str) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # conversion runs several of these side by side (thread_map)
        self.session = onnxruntime.InferenceSession(
            onnx_bytes(model, direction), options, providers=["CPUExecutionProvider"]
        )
        self.config, self.direction = model.config, direction

    def swap(self, faces: np.ndarray, direction: str = "AtoB") -> tuple[np.ndarray, np.ndarray]:
        """(N, R, R, 3) uint8 RGB -> alpha (N, R, R) float in [0, 1], colour (N, R, R, 3) uint8 RGB."""
        if direction != self.direction:
            raise ValueError(f"this graph swaps {self.direction}, not {direction}")
        bgr = np.ascontiguousarray(faces[..., ::-1], dtype=np.float32) / 255.0
        _, face, mask = self.session.run(None, {INPUT: bgr})
        colour = np.clip(face[..., ::-1] * 255.0, 0, 255).round().astype(np.uint8)
        return mask[..., 0], colour

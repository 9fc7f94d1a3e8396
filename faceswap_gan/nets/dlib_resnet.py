"""dlib's face-recognition ResNet (``dlib_face_recognition_resnet_model_v1.dat``) in PyTorch, read by our
own parser of dlib's serialisation format. Public domain weights, shipped by face-recognition-models.

File format, as far as this network needs it (all little-endian):
- int: one header byte (low 4 bits = byte count, 0x80 = negative), then that many magnitude bytes;
- float: an int mantissa and an int exponent (value = m * 2**e); string: int length + bytes;
- bool: one ASCII byte '0' / '1'; tensor (version 2): int 2, ints (n, k, nr, nc), n*k*nr*nc float32.
The network is nested: a run of wrapper versions (outermost first), then the layer details from the
input upwards, each followed by its wrapper's state (3 bools, 3 cached tensors). Tag and skip layers
write no details, so the residual wiring is taken from dlib's published definition of this net: a
7x7/2 stem, max-pool, residual units of two 3x3 convs (the first with stride 2 where the unit's skip
is average-pooled), global average pooling, and a 128-D linear layer.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from faceswap_gan.errors import UserError


def model_path(name: str) -> Path:
    """A model file of face-recognition-models, found without importing it (it needs pkg_resources)."""
    spec = importlib.util.find_spec("face_recognition_models")
    path = Path(spec.submodule_search_locations[0]) / "models" / name if spec else None
    if path is None or not path.is_file():
        raise UserError(f"dlib model {name} not found: install face-recognition-models (`make setup`)")
    return path


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def int(self) -> int:
        head = self.data[self.pos]
        size, negative = head & 0x0F, head & 0x80
        value = int.from_bytes(self.data[self.pos + 1 : self.pos + 1 + size], "little")
        self.pos += 1 + size
        return -value if negative else value

    def float(self) -> float:
        mantissa = self.int()
        return mantissa * 2.0 ** self.int()

    def str(self) -> str:
        size = self.int()
        self.pos += size
        return self.data[self.pos - size : self.pos].decode("ascii")

    def tensor(self) -> np.ndarray:
        if (version := self.int()) != 2:
            raise ValueError(f"tensor version {version} at byte {self.pos}")
        shape = [self.int() for _ in range(4)]
        count = int(np.prod(shape))
        array = np.frombuffer(self.data, "<f4", count, self.pos).reshape(shape)
        self.pos += 4 * count
        return array

    def peek(self, n: int) -> bytes:
        return self.data[self.pos : self.pos + n]


@dataclass
class _Layer:
    kind: str  # con, affine, relu, max_pool, avg_pool, add_prev, fc
    arrays: list[np.ndarray] = field(default_factory=list)
    ints: list[int] = field(default_factory=list)


def read_dlib_layers(path: str | os.PathLike) -> tuple[np.ndarray, list[_Layer]]:
    """The input means (3,) and the layers of the network, from the input upwards."""
    try:
        with open(path, "rb") as file:
            r = _Reader(file.read())
        r.int()
        if r.str() != "loss_metric_2":
            raise ValueError("not a dlib metric-learning network")
        r.float(), r.float()  # the loss's margin and distance threshold
        while r.peek(7)[2:] != b"input":  # the wrappers' versions, outermost first
            r.int()
        if r.str() != "input_rgb_image_sized":
            raise ValueError("unexpected input layer")
        means = np.array([r.float() for _ in range(3)])
        r.int(), r.int()
        layers: list[_Layer] = []
        while r.pos < len(r.data):
            layers.append(_read_layer(r))
            if layers[-1].kind == "fc":
                break
            r.pos += 3  # the wrapper's three bools
            while r.peek(2) == b"\x01\x02":  # its cached tensors
                r.tensor()
            if r.peek(2) == b"\x01\x01":  # the innermost wrapper's sample-expansion factor
                r.int()
    except (OSError, ValueError, IndexError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not a readable dlib face-recognition network ({exc})") from exc
    return means, layers


def _read_layer(r: _Reader) -> _Layer:
    name = r.str()
    if name == "con_4":
        params = r.tensor()
        filters, nr, nc, sy, sx, py, px = (r.int() for _ in range(7))
        shapes = [[r.int() for _ in range(5)][1:] for _ in range(2)]  # alias tensors: version, n, k, nr, nc
        [r.float() for _ in range(4)]  # learning-rate and weight-decay multipliers
        size = int(np.prod(shapes[0]))
        weight = params.ravel()[:size].reshape(shapes[0]).copy()
        return _Layer("con", [weight, params.ravel()[size:].copy()], [sy, py])
    if name == "affine_":
        params = r.tensor().ravel()
        [r.int() for _ in range(10)]
        r.int()  # mode
        half = params.size // 2
        return _Layer("affine", [params[:half].copy(), params[half:].copy()])
    if name.startswith(("relu", "add_prev")):
        return _Layer(name.rstrip("_0123456789"))
    if name.startswith(("max_pool", "avg_pool")):
        return _Layer(name.rstrip("_0123456789"), ints=[r.int() for _ in range(6)])
    if name == "fc_2":
        r.int(), r.int()
        return _Layer("fc", [r.tensor().reshape(256, -1).copy()])
    raise ValueError(f"unsupported layer {name!r}")


def _conv(layer: _Layer, affine: _Layer) -> nn.Conv2d:
    """dlib's con followed by its affine (folded batch norm) as one conv: w * gamma, b * gamma + beta."""
    weight, bias = (torch.from_numpy(a) for a in layer.arrays)
    gamma, beta = (torch.from_numpy(a) for a in affine.arrays)
    stride, padding = layer.ints
    conv = nn.Conv2d(weight.shape[1], weight.shape[0], weight.shape[2], stride, padding)
    with torch.no_grad():
        conv.weight.copy_(weight * gamma.view(-1, 1, 1, 1))
        conv.bias.copy_(bias * gamma + beta)
    return conv


def _add_padded(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """dlib's add_prev: tensors of different shapes are zero-padded to the larger before adding."""
    if a.shape == b.shape:
        return a + b
    shape = [max(x, y) for x, y in zip(a.shape, b.shape, strict=True)]
    out = a.new_zeros(shape)
    out[: a.shape[0], : a.shape[1], : a.shape[2], : a.shape[3]] += a
    out[: b.shape[0], : b.shape[1], : b.shape[2], : b.shape[3]] += b
    return out


class _Unit(nn.Module):
    def __init__(self, conv1: nn.Conv2d, conv2: nn.Conv2d, pool_skip: bool) -> None:
        super().__init__()
        self.conv1, self.conv2, self.pool_skip = conv1, conv2, pool_skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The pre-activation sum (the residual add, before its ReLU)."""
        y = self.conv2(F.relu(self.conv1(x)))
        return _add_padded(y, F.avg_pool2d(x, 2, 2) if self.pool_skip else x)


class DlibResNet(nn.Module):
    """(B, 3, 150, 150) RGB in [0, 255] -> 128-D descriptors; ``features`` gives intermediate maps."""

    def __init__(self, path: str | os.PathLike) -> None:
        super().__init__()
        means, layers = read_dlib_layers(path)
        self.register_buffer("means", torch.tensor(means, dtype=torch.float32).view(1, 3, 1, 1))
        self.stem_conv = _conv(layers[0], layers[1])  # then relu, max_pool 3x3/2
        units, i = [], 4
        while layers[i].kind == "con":
            pool = layers[i + 5].kind == "avg_pool"
            units.append(_Unit(_conv(layers[i], layers[i + 1]), _conv(layers[i + 3], layers[i + 4]), pool))
            i += 8 if pool else 7
        self.units = nn.ModuleList(units)
        self.fc = nn.Linear(256, 128, bias=False)
        with torch.no_grad():
            self.fc.weight.copy_(torch.from_numpy(layers[-1].arrays[0]).T)
        self.eval().requires_grad_(False)

    def normalise(self, rgb255: torch.Tensor) -> torch.Tensor:
        return (rgb255 - self.means) / 256.0

    def forward(self, rgb255: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pooled(rgb255))

    def pooled(self, rgb255: torch.Tensor) -> torch.Tensor:
        """(B, 256) globally averaged features of the last stage (the input of the descriptor layer)."""
        x = F.max_pool2d(F.relu(self.stem_conv(self.normalise(rgb255))), 3, 2)
        for unit in self.units:
            x = F.relu(unit(x))
        return x.mean((2, 3))

    def features(self, rgb255: torch.Tensor, before_activation: bool = False) -> list[torch.Tensor]:
        """Four maps for the perceptual loss, deepest first, at about the same fractions of the input as
        the original's VGGFace taps (7, 28, 55, 112 of 224): the ends of the 128-, 64- and 32-channel
        stages (8, 17, 35 of 150) and the stem conv (72 of 150). The stem is always taken before its
        ReLU; the stage ends before or after theirs."""
        stem = self.stem_conv(self.normalise(rgb255))
        x, taps = F.max_pool2d(F.relu(stem), 3, 2), [stem]
        for i, unit in enumerate(self.units):
            pre = unit(x)
            x = F.relu(pre)
            stage_ends = i + 1 < len(self.units) and self.units[i + 1].pool_skip
            if stage_ends:
                taps.append(pre if before_activation else x)
                if len(taps) == 4:
                    break
        return taps[::-1]

"""MTCNN's three networks (P-Net, R-Net, O-Net) in PyTorch, loading the original weights.

The weights are the original MTCNN ones as shipped by the ``mtcnn`` package
(``mtcnn/assets/weights/{pnet,rnet,onet}.lz4``): each file is a joblib list of Keras arrays in
layer order: conv kernels HWIO, dense kernels (in, out), PReLU slopes per channel. The networks
work on images in normal (row, col) orientation, scaled as ``(rgb - 127.5) / 128``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import joblib
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from faceswap_gan.errors import UserError


def max_pool_same(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """TensorFlow "same" max pooling: out = ceil(in / stride), padding split low-then-high with -inf."""
    if kernel == stride == 2:
        return _max_pool_2x2(x)
    h, w = x.shape[-2:]
    pad_h = max((-(-h // stride) - 1) * stride + kernel - h, 0)
    pad_w = max((-(-w // stride) - 1) * stride + kernel - w, 0)
    if pad_h <= 1 and pad_w <= 1:  # padding only at the end: ceil_mode does it without a padded copy
        return F.max_pool2d(x, kernel, stride, ceil_mode=True)
    x = F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2), value=float("-inf"))
    return F.max_pool2d(x, kernel, stride)


def _max_pool_2x2(x: torch.Tensor) -> torch.Tensor:
    """2x2 max pooling at stride 2 where a lone last row or column is its own maximum ("same" padding
    for this window). As pairwise maxima of strided views: on one thread (conversion's detection
    worker) 3x faster than max_pool2d, which also computes int64 indices on CPU. The same values."""
    h, w = x.shape[-2:]
    rows = torch.maximum(x[..., 0 : h - 1 : 2, :], x[..., 1::2, :])
    if h % 2:
        rows = torch.cat([rows, x[..., h - 1 :, :]], dim=-2)
    out = torch.maximum(rows[..., 0 : w - 1 : 2], rows[..., 1::2])
    if w % 2:
        out = torch.cat([out, rows[..., w - 1 :]], dim=-1)
    return out


class _ConvPReLU(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, k: int) -> None:
        super().__init__(nn.Conv2d(c_in, c_out, k), nn.PReLU(c_out))


class PNet(nn.Module):
    """Fully convolutional proposal net: (N, 3, H, W) -> face probability (N, H', W'), box offsets (N, 4, H', W')."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = _ConvPReLU(3, 10, 3)
        self.conv2 = _ConvPReLU(10, 16, 3)
        self.conv3 = _ConvPReLU(16, 32, 3)
        self.box = nn.Conv2d(32, 4, 1)
        self.cls = nn.Conv2d(32, 2, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = max_pool_same(self.conv1(x), 2, 2)
        x = self.conv3(self.conv2(x))
        return self.cls(x).softmax(1)[:, 1], self.box(x)


def _flatten_keras(x: torch.Tensor) -> torch.Tensor:
    # The Keras model permutes (H, W, C) to (W, H, C) before flattening; match its dense kernels.
    return x.permute(0, 3, 2, 1).flatten(1)


class RNet(nn.Module):
    """Refinement net on 24x24 crops: -> face probability (N,), box offsets (N, 4)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = _ConvPReLU(3, 28, 3)
        self.conv2 = _ConvPReLU(28, 48, 3)
        self.conv3 = _ConvPReLU(48, 64, 2)
        self.fc = nn.Sequential(nn.Linear(576, 128), nn.PReLU(128))
        self.box = nn.Linear(128, 4)
        self.cls = nn.Linear(128, 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = max_pool_same(self.conv1(x), 3, 2)
        x = F.max_pool2d(self.conv2(x), 3, 2)
        x = self.fc(_flatten_keras(self.conv3(x)))
        return self.cls(x).softmax(1)[:, 1], self.box(x)


class ONet(nn.Module):
    """Output net on 48x48 crops: -> face probability (N,), box offsets (N, 4), landmarks (N, 10)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = _ConvPReLU(3, 32, 3)
        self.conv2 = _ConvPReLU(32, 64, 3)
        self.conv3 = _ConvPReLU(64, 64, 3)
        self.conv4 = _ConvPReLU(64, 128, 2)
        self.fc = nn.Sequential(nn.Linear(1152, 256), nn.PReLU(256))
        self.box = nn.Linear(256, 4)
        self.points = nn.Linear(256, 10)  # x of the 5 points, then y; relative to the crop
        self.cls = nn.Linear(256, 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = max_pool_same(self.conv1(x), 3, 2)
        x = F.max_pool2d(self.conv2(x), 3, 2)
        x = max_pool_same(self.conv3(x), 2, 2)
        x = self.fc(_flatten_keras(self.conv4(x)))
        return self.cls(x).softmax(1)[:, 1], self.box(x), self.points(x)


def weights_dir() -> Path:
    spec = importlib.util.find_spec("mtcnn")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("the 'mtcnn' package (which ships the MTCNN weights) is missing: run `make setup`")
    return Path(spec.submodule_search_locations[0]) / "assets" / "weights"


def _load_keras_arrays(net: nn.Module, arrays: list[np.ndarray]) -> None:
    """Copy Keras arrays into ``net``'s parameters, which are declared in the same order."""
    params = list(net.parameters())
    if len(params) != len(arrays):
        raise ValueError(f"{type(net).__name__}: {len(arrays)} arrays for {len(params)} parameters")
    with torch.no_grad():
        for param, array in zip(params, arrays, strict=True):
            array = np.asarray(array, dtype=np.float32)
            if array.ndim == 4:  # conv kernel HWIO -> OIHW
                array = array.transpose(3, 2, 0, 1)
            elif array.ndim == 2:  # dense kernel (in, out) -> (out, in)
                array = array.T
            param.copy_(torch.from_numpy(np.ascontiguousarray(array.reshape(param.shape))))


def load_mtcnn_nets() -> tuple[PNet, RNet, ONet]:
    """The three networks with the original weights, in eval mode with gradients off."""
    nets = (PNet(), RNet(), ONet())
    for net, name in zip(nets, ("pnet", "rnet", "onet"), strict=True):
        path = weights_dir() / f"{name}.lz4"
        try:
            arrays = joblib.load(path)
        except (OSError, EOFError, ValueError) as exc:
            raise UserError(f"{path}: cannot read MTCNN weights ({exc}); reinstall with `make setup`") from exc
        _load_keras_arrays(net, arrays)
        net.eval().requires_grad_(False)
    return nets

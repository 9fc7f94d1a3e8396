"""Frozen face networks for the perceptual loss (spec §2.5), behind one small protocol.

``features(images)`` takes the generator's images, (B, 3, R, R) RGB in [-1, 1], and returns four feature
maps, deepest first, to be paired with ``w_pl = (w_7, w_28, w_55, w_112)``.

- ``dlib`` (default): dlib's face-recognition ResNet, shipped by face-recognition-models (public domain).
- ``vggface2``: the VGGFace2 ResNet-50 of keras-vggface (``rcmalli_vggface_tf_notop_resnet50.h5``) that
  the original uses, for users who have that file; read with h5py, taps and BGR means as the original.
"""

from __future__ import annotations

import os
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import nn

from faceswap_gan.errors import UserError
from faceswap_gan.nets.dlib_resnet import DlibResNet, model_path

PERCEPTUAL = ("dlib", "vggface2", "none")


class PerceptualNet(Protocol):
    def features(self, images: torch.Tensor) -> list[torch.Tensor]: ...


class DlibPerceptual(nn.Module):
    def __init__(self, before_activation: bool = False) -> None:
        super().__init__()
        self.net = DlibResNet(model_path("dlib_face_recognition_resnet_model_v1.dat"))
        self.before_activation = before_activation

    def features(self, images: torch.Tensor) -> list[torch.Tensor]:
        x = F.interpolate(images, size=(150, 150), mode="bilinear", align_corners=False)
        return self.net.features((x + 1) * 127.5, self.before_activation)


class _Bottleneck(nn.Module):
    """keras-vggface's ResNet-50 block: 1x1 reduce (carries the stride), 3x3, 1x1 increase; BN eps 1e-4."""

    def __init__(self, name: str, c_in: int, width: int, c_out: int, stride: int, project: bool) -> None:
        super().__init__()
        self.names = [f"{name}_1x1_reduce", f"{name}_3x3", f"{name}_1x1_increase"]
        self.names += [f"{name}_1x1_proj"] if project else []
        reduce = nn.Conv2d(c_in, width, 1, stride, bias=False)
        middle = nn.Conv2d(width, width, 3, 1, 1, bias=False)
        self.convs = nn.ModuleList([reduce, middle, nn.Conv2d(width, c_out, 1, bias=False)])
        if project:
            self.convs.append(nn.Conv2d(c_in, c_out, 1, stride, bias=False))
        self.bns = nn.ModuleList([nn.BatchNorm2d(c.out_channels, eps=1e-4) for c in self.convs])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The pre-ReLU residual sum."""
        y = x
        for i in range(3):
            y = self.bns[i](self.convs[i](y))
            y = F.relu(y) if i < 2 else y
        return y + (self.bns[3](self.convs[3](x)) if len(self.convs) == 4 else x)


class VGGFace2Perceptual(nn.Module):
    """The VGGFace2 ResNet-50 without its classifier; ``width_div`` shrinks it (tests only)."""

    MEANS_BGR = (91.4953, 103.8827, 131.0912)
    STAGES = ((2, 64, 3, 1), (3, 128, 4, 2), (4, 256, 6, 2), (5, 512, 3, 2))  # stage, width, blocks, stride

    def __init__(self, weights: str | os.PathLike | None, before_activation: bool = False, width_div: int = 1) -> None:
        super().__init__()
        self.before_activation = before_activation
        self.conv1 = nn.Conv2d(3, 64 // width_div, 7, 2, bias=False)
        self.bn1 = nn.BatchNorm2d(64 // width_div, eps=1e-4)
        blocks, c_in = [], 64 // width_div
        for stage, width, count, stride in self.STAGES:
            w = width // width_div
            for b in range(1, count + 1):
                blocks.append(_Bottleneck(f"conv{stage}_{b}", c_in, w, 4 * w, stride if b == 1 else 1, b == 1))
                c_in = 4 * w
        self.blocks = nn.ModuleList(blocks)
        self.register_buffer("means", torch.tensor(self.MEANS_BGR).view(1, 3, 1, 1))
        if weights is not None:
            self.load_h5(weights)
        self.eval().requires_grad_(False)

    def load_h5(self, path: str | os.PathLike) -> None:
        """Load Keras weights named as keras-vggface's (``conv1/7x7_s2``, ``conv2_1_3x3/bn``, ...)."""
        import h5py

        layers = [("conv1/7x7_s2", self.conv1, self.bn1)]
        for block in self.blocks:
            layers += list(zip(block.names, block.convs, block.bns, strict=True))
        try:
            with h5py.File(path, "r") as f:
                root = f.get("model_weights", f)
                for name, conv, bn in layers:
                    kernel = root[name][f"{name}/kernel:0"][()]
                    conv.weight.data.copy_(torch.from_numpy(kernel.transpose(3, 2, 0, 1)))
                    g = root[f"{name}/bn"]
                    for attr, key in (("weight", "gamma"), ("bias", "beta"), ("running_mean", "moving_mean"),
                                      ("running_var", "moving_variance")):  # fmt: skip
                        getattr(bn, attr).data.copy_(torch.from_numpy(g[f"{name}/bn/{key}:0"][()]))
        except (OSError, KeyError, ValueError, RuntimeError) as exc:
            raise UserError(f"{path}: not keras-vggface ResNet-50 weights ({exc.__class__.__name__}: {exc})") from exc

    def features(self, images: torch.Tensor) -> list[torch.Tensor]:
        x = F.interpolate(images, size=(224, 224), mode="bilinear", align_corners=False)
        x = (x.flip(1) + 1) * 127.5 - self.means  # RGB [-1, 1] -> BGR [0, 255] minus the VGGFace2 means
        conv1 = self.conv1(F.pad(x, (2, 3, 2, 3)))  # TensorFlow "same" for 7x7/2 on 224
        x = F.max_pool2d(F.relu(self.bn1(conv1)), 3, 2)
        taps, pre = {}, None
        for block in self.blocks:
            pre = block(x)
            x = F.relu(pre)
            name = block.names[0].split("_1x1")[0]
            taps[name] = pre if self.before_activation else x
        if self.before_activation:  # spec §2.5: the first add of stage 2 stands in for the 112 tap
            return [taps["conv5_3"], taps["conv3_4"], taps["conv2_3"], taps["conv2_1"]]
        return [taps["conv5_3"], taps["conv3_4"], taps["conv2_3"], conv1]


def load_perceptual(name: str, weights: str | os.PathLike | None = None, before_activation: bool = False):
    """The perceptual network ``name`` (see PERCEPTUAL), or None for "none"."""
    if name == "none":
        return None
    if name == "dlib":
        return DlibPerceptual(before_activation)
    if name == "vggface2":
        if weights is None:
            raise UserError("--perceptual vggface2 needs --perceptual-weights rcmalli_vggface_tf_notop_resnet50.h5")
        return VGGFace2Perceptual(weights, before_activation)
    raise ValueError(f"perceptual must be one of {', '.join(PERCEPTUAL)}, got {name!r}")

import dlib
import h5py
import numpy as np
import pytest
import torch

from faceswap_gan.errors import UserError
from faceswap_gan.io.media import read_image
from faceswap_gan.nets.dlib_resnet import DlibResNet, model_path
from faceswap_gan.nets.perceptual import DlibPerceptual, VGGFace2Perceptual, load_perceptual
from tests.conftest import PHOTOS


@pytest.fixture(scope="module")
def dlib_net() -> DlibResNet:
    return DlibResNet(model_path("dlib_face_recognition_resnet_model_v1.dat"))


@pytest.mark.media
def test_our_dlib_resnet_gives_dlibs_own_descriptor_on_real_faces(dlib_net, detector):
    shape_model = dlib.shape_predictor(str(model_path("shape_predictor_5_face_landmarks.dat")))
    reference = dlib.face_recognition_model_v1(str(model_path("dlib_face_recognition_resnet_model_v1.dat")))
    for name in ("obama.jpg", "biden.jpg", "portraits/d9.jpg"):
        image = read_image(PHOTOS / name)
        x0, y0, x1, y1 = detector.detect_one(image)[0].box.round().astype(int)
        chip = dlib.get_face_chip(image, shape_model(image, dlib.rectangle(x0, y0, x1, y1)), size=150, padding=0.25)
        expected = np.array(reference.compute_face_descriptor(chip))
        ours = dlib_net(torch.from_numpy(chip).permute(2, 0, 1)[None].float())[0].numpy()
        assert np.abs(ours - expected).max() < 1e-4


def test_dlib_taps_are_four_maps_deepest_first():
    taps = DlibPerceptual().features(torch.rand(2, 3, 64, 64) * 2 - 1)
    assert [tuple(t.shape[1:]) for t in taps] == [(128, 8, 8), (64, 17, 17), (32, 35, 35), (32, 72, 72)]


def test_vggface2_weights_load_from_a_keras_h5_file(tmp_path):
    """A small network (widths / 16) written with keras-vggface's layer and weight names."""
    source = VGGFace2Perceptual(None, width_div=16)
    rng = np.random.default_rng(0)
    layers = [("conv1/7x7_s2", source.conv1, source.bn1)]
    for block in source.blocks:
        layers += list(zip(block.names, block.convs, block.bns, strict=True))
    path = tmp_path / "vggface.h5"
    with h5py.File(path, "w") as f:
        for name, conv, bn in layers:
            kernel = rng.normal(0, 0.1, conv.weight.shape).astype(np.float32)  # OIHW
            f.create_group(name).create_dataset(f"{name}/kernel:0", data=kernel.transpose(2, 3, 1, 0))  # HWIO
            group = f.create_group(f"{name}/bn")
            for key, value in (("gamma", 1.5), ("beta", 0.1), ("moving_mean", 0.2), ("moving_variance", 2.0)):
                group.create_dataset(f"{name}/bn/{key}:0", data=np.full(bn.num_features, value, np.float32))
    net = VGGFace2Perceptual(path, width_div=16)
    with h5py.File(path) as f:
        expected = f["conv3_2_3x3"]["conv3_2_3x3/kernel:0"][()].transpose(3, 2, 0, 1)
    block = next(b for b in net.blocks if b.names[0].startswith("conv3_2_"))
    np.testing.assert_array_equal(block.convs[1].weight.numpy(), expected)
    assert float(block.bns[1].running_var[0]) == 2.0
    taps = net.features(torch.rand(1, 3, 64, 64) * 2 - 1)
    assert [t.shape[-1] for t in taps] == [7, 28, 55, 112]
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f.create_group("dense_1")
    with pytest.raises(UserError, match="not keras-vggface ResNet-50 weights"):
        VGGFace2Perceptual(tmp_path / "other.h5", width_div=16)
    with pytest.raises(UserError, match="needs --perceptual-weights"):
        load_perceptual("vggface2")
    assert load_perceptual("none") is None


def test_a_foreign_file_is_not_read_as_a_dlib_network(tmp_path):
    (tmp_path / "x.dat").write_bytes(b"\x01\x01\x01\x05hello")
    with pytest.raises(UserError, match="not a readable dlib"):
        DlibResNet(tmp_path / "x.dat")

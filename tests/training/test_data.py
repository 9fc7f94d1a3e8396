import cv2
import numpy as np
import pytest
import torch

from faceswap_gan.errors import UserError
from faceswap_gan.io.media import read_image, write_image
from faceswap_gan.training.augment import colour_match, motion_blur_kernel, random_affine, random_warp
from faceswap_gan.training.data import FaceSamples, FaceSet, make_loader, preview_faces


@pytest.fixture(scope="module")
def face(astronaut, detector) -> np.ndarray:
    from faceswap_gan.faces.alignment import align_face

    return align_face(astronaut, detector.detect_one(astronaut)[0].landmarks, 256).image


def test_random_warp_input_and_target_show_the_same_face_region(face):
    rng = np.random.default_rng(0)
    warped, target = random_warp(face.astype(np.float32), 64, rng)
    assert warped.shape == target.shape == (64, 64, 3)
    # Same region, locally distorted: the images agree far better than two different crops do.
    other = cv2.resize(face[:128, :128], (64, 64)).astype(np.float32)
    assert np.abs(warped - target).mean() < 0.5 * np.abs(other - target).mean()
    # The same draws at 128 px frame the same region: reduced to 64 px it matches the 64 px target.
    _, big_target = random_warp(face.astype(np.float32), 128, np.random.default_rng(0))
    assert big_target.shape == (128, 128, 3)
    assert np.abs(cv2.resize(big_target, (64, 64), interpolation=cv2.INTER_AREA) - target).mean() < 4


def test_augmentation_is_a_function_of_the_generator(face):
    a = random_affine(face.astype(np.float32), np.random.default_rng(5))
    b = random_affine(face.astype(np.float32), np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    kernel = motion_blur_kernel(np.random.default_rng(1))
    assert kernel.shape[0] in (5, 7, 9, 11) and kernel.sum() == pytest.approx(1, abs=1e-5)


def test_colour_match_moves_the_statistics_towards_the_reference(face):
    reference = np.clip(face.astype(np.int16) // 2 + 100, 0, 255).astype(np.uint8)  # brighter, flatter
    centre = (slice(60, -60), slice(60, -60))
    for seed in range(4):
        out = colour_match(face, reference, np.random.default_rng(seed))
        for c in range(3):
            lo, hi = sorted([face[centre][..., c].mean(), reference[centre][..., c].mean()])
            assert lo - 2 <= out[centre][..., c].mean() <= hi + 2


@pytest.fixture()
def data_dir(tmp_path, face):
    (tmp_path / "face_src").mkdir()
    (tmp_path / "binary_masks" / "face_src_eyes").mkdir(parents=True)
    for i in range(3):
        write_image(tmp_path / "face_src" / f"f{i}.png", np.roll(face, 5 * i, axis=1))
    mask = np.zeros((256, 256), np.uint8)
    mask[70:100, 60:200] = 255
    write_image(tmp_path / "binary_masks" / "face_src_eyes" / "f0.png", mask)
    return tmp_path


def test_samples_are_deterministic_and_masks_follow_the_face(data_dir, capsys):
    faces = FaceSet.from_data_dir(data_dir, "src")
    dataset = FaceSamples(faces, faces.faces, 64, seed=1, side="src", prob_colour_match=0.0)
    x, y, m = dataset[0]
    assert x.shape == y.shape == (3, 64, 64) and m.shape == (1, 64, 64)
    assert float(x.min()) >= -1 and float(x.max()) <= 1 and float(m.min()) >= 0 and float(m.max()) <= 1
    for a, b in zip(dataset[0], FaceSamples(faces, faces.faces, 64, 1, "src", 0.0)[0], strict=True):
        torch.testing.assert_close(a, b)
    assert not torch.equal(dataset[0][0], FaceSamples(faces, faces.faces, 64, 2, "src", 0.0)[0][0])
    # Every epoch visits every file once; f0 has a mask, the others fall back to zeros with one warning.
    dataset = FaceSamples(faces, faces.faces, 64, seed=3, side="src", prob_colour_match=0.0)
    capsys.readouterr()
    masks = [dataset[i][2] for i in range(3)]
    assert sum(float(mk.max()) > 0.5 for mk in masks) == 1
    assert capsys.readouterr().err.count("missing") == 1


def test_unreadable_images_are_left_out_once_at_start_and_empty_folders_refused(data_dir, tmp_path_factory, capsys):
    # Most of the faces unreadable (one not a PNG at all, one cut short): the one good face still trains.
    (data_dir / "face_src" / "f1.png").write_bytes(b"not a png")
    cut = (data_dir / "face_src" / "f2.png").read_bytes()
    (data_dir / "face_src" / "f2.png").write_bytes(cut[: len(cut) // 3])
    faces = FaceSet.from_data_dir(data_dir, "src")
    assert [f.name for f in faces.faces] == ["f0.png"]
    assert "2 of 3 face images cannot be read and are left out: f1.png, f2.png" in capsys.readouterr().err
    dataset = FaceSamples(faces, faces.faces, 64, 0, "src", 0.0)
    assert all(dataset[i][0].shape == (3, 64, 64) for i in range(6))  # every epoch, never the bad files
    (data_dir / "face_src" / "f0.png").write_bytes(b"")
    with pytest.raises(UserError, match="none of the 3 face images can be read"):
        FaceSet.from_data_dir(data_dir, "src")
    empty = tmp_path_factory.mktemp("empty")
    (empty / "face_dst").mkdir()
    with pytest.raises(UserError, match="no face images"):
        FaceSet.from_data_dir(empty, "dst")
    with pytest.raises(UserError, match="no such folder"):
        FaceSet.from_data_dir(empty, "src")


def test_loader_ranks_take_disjoint_slices(data_dir):
    faces = FaceSet.from_data_dir(data_dir, "src")
    dataset = FaceSamples(faces, faces.faces, 64, 0, "src", 0.0)
    seen = [list(make_loader([dataset, dataset], 2, 3, 4, 0, rank, 2).sampler) for rank in (0, 1)]
    assert seen[0] == [12, 13, 16, 17] and seen[1] == [14, 15, 18, 19]
    assert preview_faces(faces, 64).shape == (3, 3, 64, 64)
    assert read_image(data_dir / "face_src" / "f0.png").shape == (256, 256, 3)


def test_warp_strength_zero_gives_the_target_itself(face):
    warped, target = random_warp(face.astype(np.float32), 64, np.random.default_rng(3), strength=0.0)
    np.testing.assert_array_equal(warped, target)
    # The draws are the same as with the warp: the crop (its size and place) is the warped one's, up to
    # the similarity fitted to the noisy grid; a crop elsewhere is much further away.
    _, warped_target = random_warp(face.astype(np.float32), 64, np.random.default_rng(3))
    other = cv2.resize(face[:128, :128], (64, 64)).astype(np.float32)
    assert np.abs(warped_target - target).mean() < 0.25 * np.abs(other - target).mean()


def test_loader_stops_warping_from_warp_until(data_dir):
    faces = FaceSet.from_data_dir(data_dir, "src")
    dataset = FaceSamples(faces, faces.faces, 64, 0, "src", 0.0)

    def gaps(loader) -> list[float]:  # input against target, person A, per iteration
        return [float((a[0] - a[1]).abs().mean()) for a, _ in loader]

    batches = list(make_loader([dataset, dataset], 2, 0, 3, 0, warp_until=2))
    switched = gaps(batches)
    assert min(switched[:2]) > 0.02 and max(switched[2:]) == 0  # iterations 0, 1 warped; 2, 3 the target
    # Before the switch the samples are the warped ones of a loader that never stops.
    always = list(make_loader([dataset, dataset], 2, 0, 1, 0))
    torch.testing.assert_close(batches[1][0][0], always[1][0][0])
    # A stronger warp moves each input further from its target.
    stronger = list(make_loader([dataset, dataset], 2, 0, 1, 0, warp=2.0))
    assert all(s > 1.3 * a for s, a in zip(gaps(stronger), gaps(always), strict=True))

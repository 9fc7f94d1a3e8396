"""Face-part replacement, method 1: look-alike retrieval, part swaps, and training on the result."""

import numpy as np
import pytest

from faceswap_gan.faces.alignment import align_face
from faceswap_gan.faces.dlib_models import landmarks_68
from faceswap_gan.faces.masks import ALIGNED_FACE_BOX
from faceswap_gan.io.media import read_image
from faceswap_gan.training.part_augment import face_features, nearest, swap_parts
from tests.conftest import CLIPS, PHOTOS
from tests.test_extract import run_cli

PEOPLE = PHOTOS / "people"


def _aligned(detector, path) -> np.ndarray:
    image = read_image(path)
    face = max(detector.detect_one(image), key=lambda d: d.area)
    return align_face(image, face.landmarks, 256).image


@pytest.mark.media
def test_nearest_faces_are_the_same_person_first(detector):
    gallery, who = [], []
    for person in sorted((PEOPLE / "train").iterdir()):
        for file in sorted(person.iterdir()):
            gallery.append(_aligned(detector, file))
            who.append(person.name)
    queries = {"alex_lacamoire1.jpg": "alex_lacamoire", "johnsnow_test1.jpg": "kit_harington", "obama1.jpg": "obama"}
    found = nearest(
        face_features([_aligned(detector, PEOPLE / "test" / q) for q in queries]), face_features(gallery), 2
    )
    for (query, person), row in zip(queries.items(), found, strict=True):
        names = [who[i] for i in row]
        assert names[0] == person, f"{query}: {names}"


@pytest.mark.media
def test_a_part_swap_changes_only_the_feathered_part_region(detector):
    source = _aligned(detector, PEOPLE / "train" / "obama" / "obama.jpg")
    donor = _aligned(detector, PEOPLE / "train" / "biden" / "biden.jpg")
    image, mask = swap_parts(source, donor, ("mouth",))
    np.testing.assert_array_equal(image[mask == 0], source[mask == 0])
    points = landmarks_68(source, ALIGNED_FACE_BOX * 256)
    mouth = np.round(points[48:60]).astype(int)
    assert np.abs(image.astype(int) - source)[mouth[:, 1], mouth[:, 0]].mean() > 10  # the mouth did change
    eyes = np.round(points[36:48]).astype(int)
    assert mask[eyes[:, 1], eyes[:, 0]].max() == 0 and 0.01 < (mask > 0).mean() < 0.2


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from faceswap_gan.config import ExtractConfig
    from faceswap_gan.extract import prepare_dataset

    root = tmp_path_factory.mktemp("parts") / "data"
    prepare_dataset(CLIPS / "d18.mp4", CLIPS / "d6.mp4", root, ExtractConfig(every=40), progress=False)
    return root


@pytest.mark.slow
@pytest.mark.media
def test_augment_parts_and_train_with_them(data, tmp_path, capsys):
    code, out, err = run_cli(capsys, "augment-parts", data, "--parts", "eyes,mouth", "--neighbours", 2)
    assert code == 0, err
    faces = sorted(p.name for p in (data / "face_src_aug").iterdir())
    assert len(faces) == 2 * len(list((data / "face_src").iterdir())) and f"{len(faces)} part-swapped faces" in out
    assert sorted(p.name for p in (data / "binary_masks" / "face_src_aug_eyes").iterdir()) == faces
    code, _, err = run_cli(capsys, "augment-parts", data, "--parts", "ears")
    assert code == 1 and "--parts: choose from eyes, nose, mouth" in err
    code, _, err = run_cli(capsys, "augment-parts", data)
    assert code == 1 and "--overwrite" in err
    # Replacing them replaces faces and masks each in their own folder (no old masks carried along).
    code, _, err = run_cli(capsys, "augment-parts", data, "--parts", "eyes,mouth", "--neighbours", 2, "--overwrite")
    assert code == 0 and sorted(p.name for p in (data / "face_src_aug").iterdir()) == faces, err
    assert not [p for p in data.rglob("*") if ".partial" in p.name]
    from faceswap_gan.training.data import FaceSet

    mixed = FaceSet.from_data_dir(data, "src", ("src_aug",))
    assert len(mixed.faces) == 3 * len(list((data / "face_src").iterdir()))
    assert mixed.mask_path(data / "face_src_aug" / faces[0]).is_file()
    options = ["--iterations", 1, "--batch-size", 2, "--workers", 0, "--perceptual", "none", "--quiet"]
    code, _, err = run_cli(capsys, "train", "--data", data, "--out", tmp_path / "run", *options, "--part-augmentation")
    assert code == 0, err

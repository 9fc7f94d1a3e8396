"""End to end through the CLI entry point, on real clips and photos."""

import shutil
import sys
from unittest.mock import patch

import numpy as np
import pytest
import yaml

from faceswap_gan.cli import main
from faceswap_gan.config import ExtractConfig, load_config
from faceswap_gan.faces.alignment import TEMPLATE, apply_affine
from faceswap_gan.faces.dlib_models import face_descriptor
from faceswap_gan.faces.masks import ALIGNED_FACE_BOX
from faceswap_gan.io.alignments_file import read_alignments
from faceswap_gan.io.layout import holdout_names
from faceswap_gan.io.media import read_image
from tests.conftest import CLIPS, PHOTOS


def run_cli(capsys, *args) -> tuple[int, str, str]:
    with patch.object(sys, "argv", ["faceswap-gan", *map(str, args)]):
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def _eye_coverage(mask: np.ndarray) -> float:
    """Mean mask value (0..1) in small squares around the template's eyes."""
    size = mask.shape[0]
    values = [mask[int(y) - 3 : int(y) + 4, int(x) - 3 : int(x) + 4].mean() for x, y in TEMPLATE[:2] * size]
    return float(np.mean(values)) / 255


@pytest.mark.slow
@pytest.mark.media
def test_extract_writes_faces_masks_and_alignments(tmp_path, capsys):
    out = tmp_path / "d18"
    code, stdout, _ = run_cli(capsys, "extract", CLIPS / "d18.mp4", "--out", out, "--every", 12, "--quiet")
    assert code == 0 and "18 frames read, 18 faces written" in stdout
    names = [f"frame{12 * i}face0.png" for i in range(18)]
    for folder in ("aligned_faces", "binary_masks_eyes", "raw_faces"):
        assert sorted(p.name for p in (out / "faces" / folder).iterdir()) == sorted(names)
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []  # no staging left behind
    face = read_image(out / "faces" / "aligned_faces" / names[3])
    mask = read_image(out / "faces" / "binary_masks_eyes" / names[3])[..., 0]
    assert face.shape == (256, 256, 3) and mask.shape == (256, 256)
    assert _eye_coverage(mask) > 0.9 and mask[200:].max() == 0

    data = read_alignments(out / "alignments.json")
    assert data["video"]["frame_count"] == 216 and len(data["frames"]) == 18
    record = data["frames"][3]["faces"][0]
    assert record["file"] == names[3] and record["mask_method"] == "dlib"
    # The stored matrix takes the stored landmarks onto the template, and "inverse" undoes it.
    landmarks, matrix = np.array(record["landmarks"]), np.array(record["matrix"])
    assert np.abs(apply_affine(matrix, landmarks)[:2] - TEMPLATE[:2] * 256).max() < 0.05 * 256
    np.testing.assert_allclose(apply_affine(np.array(record["inverse"]), apply_affine(matrix, landmarks)), landmarks)
    assert load_config(ExtractConfig, out / "extract_config.yaml") == ExtractConfig(every=12)

    # Running again does not silently mix runs; --overwrite replaces the result.
    code, _, err = run_cli(capsys, "extract", CLIPS / "d18.mp4", "--out", out, "--every", 12, "--quiet")
    assert code == 1 and "--overwrite" in err and "Traceback" not in err
    code, stdout, _ = run_cli(
        capsys, "extract", CLIPS / "d18.mp4", "--out", out, "--every", 54, "--quiet", "--overwrite"
    )
    assert code == 0 and len(list((out / "faces" / "aligned_faces").iterdir())) == 4


@pytest.mark.slow
@pytest.mark.media
def test_prepare_builds_the_training_layout_and_masks_recomputes(tmp_path, capsys):
    data = tmp_path / "data"
    code, stdout, _ = run_cli(capsys, "prepare", CLIPS / "d18.mp4", CLIPS / "d6.mp4", "--out", data, "--every", 40,
                              "--size", 128, "--quiet")  # fmt: skip
    assert code == 0 and "src" in stdout and "dst" in stdout
    # 6 and 26 faces; held out of training: at least 8, at most half: 3 and 8.
    for side, count, held in (("src", 6, 3), ("dst", 26, 8)):
        faces = sorted(p.name for p in (data / f"face_{side}").iterdir())
        holdout = sorted(p.name for p in (data / f"face_{side}_holdout").iterdir())
        assert len(faces) == count - held and len(holdout) == held and not set(faces) & set(holdout)
        assert holdout == holdout_names(sorted(faces + holdout), 0.05)  # the same faces every time
        assert sorted(p.name for p in (data / "binary_masks" / f"face_{side}_eyes").iterdir()) == faces
        assert sorted(p.name for p in (data / "binary_masks" / f"face_{side}_holdout_eyes").iterdir()) == holdout
        assert read_image(data / f"face_{side}" / faces[0]).shape == (128, 128, 3)
        assert len(read_alignments(data / f"alignments_{side}.json")["frames"]) == count
    assert yaml.safe_load((data / "extract_config.yaml").read_text())["size"] == 128

    mask_file = sorted((data / "binary_masks" / "face_dst_eyes").iterdir())[0]
    before = read_image(mask_file)
    shutil.rmtree(data / "binary_masks")
    code, stdout, _ = run_cli(capsys, "masks", data, "--quiet")
    assert code == 0 and "face_dst: 18 eye masks" in stdout and "face_dst_holdout: 8 eye masks" in stdout
    np.testing.assert_array_equal(read_image(mask_file), before)  # same method, same result


@pytest.mark.slow
@pytest.mark.media
def test_reference_keeps_only_that_person_in_a_folder_of_photos(tmp_path, capsys, detector):
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("obama_and_biden.jpg", "obama1.jpg"):
        shutil.copy(PHOTOS / "people" / "test" / name, photos / name)
    code, stdout, _ = run_cli(capsys, "extract", photos, "--out", tmp_path / "all", "--quiet")
    assert code == 0 and "several faces 1" in stdout
    reference = PHOTOS / "people" / "train" / "obama" / "obama.jpg"
    out = tmp_path / "obama"
    code, stdout, _ = run_cli(capsys, "extract", photos, "--out", out, "--reference", reference, "--quiet")
    assert code == 0 and "2 faces written" in stdout
    kept = face_descriptor(
        read_image(out / "faces" / "aligned_faces" / "obama_and_bidenface0.png"), ALIGNED_FACE_BOX * 256
    )

    def gallery(person: str) -> np.ndarray:
        image = read_image(next((PHOTOS / "people" / "train" / person).iterdir()))
        return face_descriptor(image, detector.detect_one(image)[0].box)

    # The face kept from the two-person photo is Obama's, judged relatively (offline-stack.md).
    assert np.linalg.norm(kept - gallery("obama")) < np.linalg.norm(kept - gallery("biden"))


@pytest.mark.media
@pytest.mark.parametrize("case", ["missing", "text_as_mp4", "empty_folder", "no_faces", "unwritable_out"])
def test_bad_input_is_one_clear_line_and_a_non_zero_exit(tmp_path, capsys, blank_video, case):
    (tmp_path / "notes.mp4").write_text("hello")
    (tmp_path / "empty").mkdir()
    (tmp_path / "file").write_text("x")
    source, out, expected = {
        "missing": (tmp_path / "nope.mp4", tmp_path / "o", "no such file"),
        "text_as_mp4": (tmp_path / "notes.mp4", tmp_path / "o", "not a readable video"),
        "empty_folder": (tmp_path / "empty", tmp_path / "o", "no images"),
        "no_faces": (blank_video, tmp_path / "o", "no usable face"),
        "unwritable_out": (CLIPS / "d18.mp4", tmp_path / "file" / "out", "cannot write"),
    }[case]
    code, _, err = run_cli(capsys, "extract", source, "--out", out, "--every", 1, "--quiet")
    assert code == 1
    assert err.startswith("error: ") and expected in err and "Traceback" not in err
    assert str(source if case != "unwritable_out" else out) in err
    assert not (out / "faces").exists()

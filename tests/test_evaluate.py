"""evaluate end to end through the CLI, on clips filmed from the built-in photos and an untrained model."""

import json

import pytest

from faceswap_gan.config import ModelConfig
from faceswap_gan.io.checkpoint import save_checkpoint
from faceswap_gan.nets.model import FaceSwapModel
from faceswap_gan.sample_clips import make_sample_clip
from tests.test_extract import run_cli


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("clips")
    model = root / "m.pt"
    save_checkpoint(model, **FaceSwapModel(ModelConfig(64, "lite", "hybrid", False), seed=1).state())
    a = make_sample_clip("astronaut", root / "a.mp4", seconds=0.6)
    b = make_sample_clip("grace_hopper", root / "b.mp4", seconds=0.6, seed=1)
    return model, a, b


@pytest.mark.slow
def test_evaluate_writes_a_documented_report_a_strip_and_a_summary(clips, tmp_path, capsys):
    model, a, b = clips
    out = tmp_path / "eval"
    code, stdout, err = run_cli(
        capsys, "evaluate", a, "--model", model, "--a", a, "--b", b, "--out", out, "--frames", 12
    )
    assert code == 0, err
    report = json.loads((out / "report.json").read_text())
    assert report["version"] == 1 and set(report["schema"]) >= {"identity_transfer", "stability_ratio", "face_found"}
    assert (
        report["frames"] == 12 and 0 <= report["identity_transfer"] <= 1 and 0 <= report["identity_transfer_hog"] <= 1
    )
    # An untrained model pastes noise on A's face (see the strip): still A, not B, and every figure sees
    # the damage: landmarks off and shaking, the face often no longer found, reconstructions poor.
    assert report["identity_transfer"] < 0.5 and report["identity_margin"] < 0 and report["identity_transfer_hog"] < 0.5
    assert report["expression_error"] > 0.05 and report["stability_ratio"] > 1.5 and report["face_found"] < 0.9
    assert set(report["reconstruction"]) == {"a", "b"} and report["reconstruction"]["a"]["psnr"] < 15
    assert "identity transfer 0." in stdout and (out / "strip.png").stat().st_size > 10_000
    assert "![strip](strip.png)" in (out / "report.md").read_text()


@pytest.mark.slow
def test_evaluate_without_faces_of_a_person_is_one_line(clips, tmp_path, capsys, blank_video):
    model, a, b = clips
    code, _, err = run_cli(capsys, "evaluate", a, "--model", model, "--a", blank_video, "--b", b, "--out", tmp_path)
    assert code == 1 and "fewer than 2 faces of person A" in err and "Traceback" not in err, err
    code, _, err = run_cli(capsys, "evaluate", blank_video, "--model", model, "--a", a, "--b", b, "--out", tmp_path)
    assert code == 1 and "a face in fewer than 3" in err, err


@pytest.mark.slow
def test_a_swap_that_changed_nothing_reads_as_unchanged(clips, tmp_path, capsys):
    model, a, b = clips
    args = ["--a", a, "--b", b, "--out", tmp_path, "--swapped", a, "--frames", 12]
    code, _, err = run_cli(capsys, "evaluate", a, "--model", model, *args)
    assert code == 0, err
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["identity_transfer"] == 0 and report["identity_transfer_hog"] == 0
    assert report["expression_error"] == 0 and report["stability_ratio"] == 1.0 and report["face_found"] == 1.0

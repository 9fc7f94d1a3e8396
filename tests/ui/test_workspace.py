"""What each button of the page does, without a browser: the workspace's projects, inputs, jobs and
views, and the refusals that reach the page as one line."""

from __future__ import annotations

import pytest

from faceswap_gan.errors import UserError
from faceswap_gan.sample_clips import make_sample_clip
from faceswap_gan.ui.workspace import Workspace

# A short run the tests can afford: no perceptual loss, no loader processes, a checkpoint at 10.
QUICK_TRAIN = {"train": {"iterations": 10, "display_every": 5, "perceptual": "none", "workers": 0}}


@pytest.mark.parametrize("name", ["", "../escape", "a/b", ".hidden", "x" * 65, "spaces in it"])
def test_project_names_that_could_leave_the_workspace_are_refused(tmp_path, name):
    with pytest.raises(UserError, match="project name"):
        Workspace(tmp_path).data_dir(name)


def test_inputs_upload_copies_and_paths_must_exist(tmp_path, astronaut):
    from faceswap_gan.io.media import write_image

    ws = Workspace(tmp_path / "ws")
    photos = [tmp_path / "a1.png", tmp_path / "a2.jpg"]
    for p in photos:
        write_image(p, astronaut)
    folder = ws.save_input("p", "A", photos)
    assert sorted(f.name for f in folder.iterdir()) == ["a1.png", "a2.jpg"] and ws.root in folder.parents
    assert ws.save_input("p", "B", None, str(photos[0])) == photos[0]
    # Each upload gets a new folder: a job may still read the previous one.
    first, second = ws.save_input("p", "A", [photos[0]]), ws.save_input("p", "A", [photos[0]])
    assert first != second and first.exists() and second.name == "a1.png"
    with pytest.raises(UserError, match="no such file"):
        ws.save_input("p", "B", None, str(tmp_path / "missing.mp4"))
    with pytest.raises(UserError, match="upload a video"):
        ws.save_input("p", "B", None, "  ")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(UserError, match="must all be images"):
        ws.save_input("p", "B", [photos[0], tmp_path / "notes.txt"])


def test_training_and_conversion_without_their_inputs_say_what_to_do_first(tmp_path):
    ws = Workspace(tmp_path)
    with pytest.raises(UserError, match="prepare it first"):
        ws.start_train("p", QUICK_TRAIN)
    with pytest.raises(UserError, match="train it first"):
        ws.start_convert("p", tmp_path / "x.mp4", {})
    with pytest.raises(UserError, match="invalid setting"):
        ws.start_prepare("p", tmp_path, tmp_path, {"extract": {"every": 0}}, False)
    assert ws.status("p", "train").state == "none"


def test_delete_faces_only_touches_faces_of_the_project(tmp_path):
    ws = Workspace(tmp_path)
    faces = ws.data_dir("p") / "face_src"
    faces.mkdir(parents=True)
    (faces / "f1.png").write_bytes(b"x")
    (tmp_path / "outside.png").write_bytes(b"x")
    for name in ["../../outside.png", "missing.png"]:
        with pytest.raises(UserError, match="not a face"):
            ws.delete_faces("p", "A", [name])
    assert (tmp_path / "outside.png").exists() and (faces / "f1.png").exists()


@pytest.mark.slow
def test_prepare_delete_train_preview_convert_and_resume_from_the_cli(tmp_path):
    from click.testing import CliRunner

    from faceswap_gan.cli import cli

    ws = Workspace(tmp_path / "ws")
    clip_a = make_sample_clip("astronaut", tmp_path / "a.mp4", seconds=1.6)
    clip_b = make_sample_clip("grace_hopper", tmp_path / "b.mp4", seconds=1.6)
    src, dst = ws.save_input("p", "A", [clip_a]), ws.save_input("p", "B", None, str(clip_b))
    ws.start_prepare("p", src, dst, {"extract": {"every": 2, "size": 96}}, False)
    assert ws.job("p", "prepare").wait(120).state == "done", ws.job("p", "prepare").tail()
    before = ws.faces("p", "A")
    assert len(before) == 20 and ws.saved_settings("p")["extract"]["every"] == 2

    wrong = before[0]
    mask = ws.data_dir("p") / "binary_masks" / f"{wrong.parent.name}_eyes" / wrong.name
    assert mask.exists()
    assert ws.delete_faces("p", "A", [wrong.name]) == 1
    assert not wrong.exists() and not mask.exists() and len(ws.faces("p", "A")) == 19
    assert ws.job("p", "masks").wait(60).state == "done"

    ws.start_train("p", QUICK_TRAIN)
    status = ws.job("p", "train").wait(300)
    assert status.state == "done", ws.job("p", "train").tail()
    view = ws.train_view("p")
    assert view.iteration == 10 and view.preview.name == "iter_000010.png" and view.loss_plot.exists()
    assert "identity A→B" in view.quality

    frame = ws.preview_frame("p", clip_a, 5, {"convert": {"output_type": "triple"}})
    assert frame.shape == (384, 3 * 384, 3)
    out = ws.start_convert("p", clip_a, {"convert": {"output_type": "single"}})
    assert ws.job("p", "convert").wait(120).state == "done" and ws.result("p") == out and out.exists()
    assert ws.start_convert("p", clip_a, {}) != out  # a second conversion never replaces the first
    ws.job("p", "convert").wait(120)

    # The page's run folder is the CLI's: the same command resumes it.
    result = CliRunner().invoke(
        cli, ["train", "--data", str(ws.data_dir("p")), "--out", str(ws.run_dir("p")), "--iterations", "12", "--quiet"]
    )
    assert result.exit_code == 0, result.output
    assert ws.train_view("p").iteration == 12

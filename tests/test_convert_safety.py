"""Conversion with bad, hostile or unlucky inputs: one line, a non-zero exit, and nothing that existed harmed.
Fast: an untrained tiny model (speed and safety do not depend on training) and clips made here."""

import os
import resource
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest

from faceswap_gan.config import ModelConfig
from faceswap_gan.io.checkpoint import save_checkpoint
from faceswap_gan.io.media import iter_frames, probe_video, write_image
from faceswap_gan.io.video import VideoWriter
from faceswap_gan.nets.model import FaceSwapModel
from tests.conftest import REPO, cut_short_video
from tests.test_extract import run_cli


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("model") / "model.pt"
    save_checkpoint(path, **FaceSwapModel(ModelConfig(64, "lite", "hybrid", False), seed=1).state())
    return path


@pytest.fixture(scope="module")
def noisy_video(tmp_path_factory) -> Path:
    """150 frames of noise at 256x192: large when encoded (several MB), and with no face in it."""
    path = tmp_path_factory.mktemp("media") / "noise.mp4"
    rng = np.random.default_rng(0)
    with VideoWriter(path, 25, 256, 192) as writer:
        for _ in range(150):
            writer.write(rng.integers(0, 256, (192, 256, 3), dtype=np.uint8))
    return path


def _cli(*args) -> subprocess.Popen:
    env = os.environ | {"PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "faceswap_gan", *map(str, args)]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_the_input_is_never_the_output_by_any_path(tmp_path, capsys, model, blank_video, astronaut):
    video, photo = tmp_path / "same.mp4", tmp_path / "same.png"
    video.write_bytes(blank_video.read_bytes())
    write_image(photo, astronaut)
    (tmp_path / "link.png").symlink_to(photo)
    before = {p: p.read_bytes() for p in (video, photo)}
    for source, out in (
        (video, video),
        (photo, photo),
        (photo, tmp_path / "link.png"),
        (video, tmp_path / "." / "same.mp4"),
    ):
        for extra in ([], ["--overwrite"]):
            code, _, err = run_cli(capsys, "convert", source, "--model", model, "--out", out, *extra)
            assert code == 1 and "this is the input" in err and "Traceback" not in err, err
    assert {p: p.read_bytes() for p in before} == before


def test_an_existing_output_is_replaced_only_when_asked(tmp_path, capsys, model, blank_video):
    out = tmp_path / "out.mp4"
    out.write_bytes(b"an earlier result")
    code, _, err = run_cli(capsys, "convert", blank_video, "--model", model, "--out", out, "--quiet")
    assert code == 1 and "already exists; use --overwrite" in err and out.read_bytes() == b"an earlier result"
    code, _, err = run_cli(capsys, "convert", blank_video, "--model", model, "--out", out, "--quiet", "--overwrite")
    assert code == 0 and probe_video(out).frame_count == 12


@pytest.mark.parametrize("name", ["out.mkv", "out.mov", "out.webm"])
def test_other_containers_work(tmp_path, capsys, model, blank_video, name):
    code, _, err = run_cli(capsys, "convert", blank_video, "--model", model, "--out", tmp_path / name, "--quiet")
    assert code == 0, err
    assert len(list(iter_frames(tmp_path / name))) == 12


@pytest.mark.parametrize(
    "out, message",
    [
        ("out.xyz", "needs one of the extensions .mp4, .mov, .mkv, .webm"),
        ("out.png", "needs one of the extensions .mp4"),
        ("out", "needs one of the extensions .mp4"),
        ("file.txt/out.mp4", "is a file, not a folder"),
    ],
)
def test_outputs_that_cannot_be_written_are_one_line(tmp_path, capsys, model, blank_video, out, message):
    (tmp_path / "file.txt").write_text("a file")
    code, _, err = run_cli(capsys, "convert", blank_video, "--model", model, "--out", tmp_path / out, "--quiet")
    assert code == 1 and message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


def test_a_start_past_the_end_is_one_line(tmp_path, capsys, model, blank_video):
    code, _, err = run_cli(capsys, "convert", blank_video, "--model", model, "--out", tmp_path / "o.mp4", "--start", 30)
    assert code == 1 and "past the end" in err and "Traceback" not in err, err
    assert list(tmp_path.iterdir()) == []


def test_an_image_whose_header_claims_too_many_pixels_is_refused_before_decoding(tmp_path, capsys, model, astronaut):
    forged = tmp_path / "forged.png"
    write_image(forged, astronaut[:8, :8])
    data = bytearray(forged.read_bytes())
    data[16:24] = (100000).to_bytes(4, "big") * 2  # IHDR width and height, with a matching checksum
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    forged.write_bytes(bytes(data))
    code, _, err = run_cli(capsys, "convert", forged, "--model", model, "--out", tmp_path / "o.png")
    assert code == 1 and "10000000000 pixels" in err and "over the limit" in err and "Traceback" not in err, err
    # A real image over a lowered limit is refused the same way.
    write_image(tmp_path / "real.png", astronaut)
    args = ["--out", tmp_path / "o.png", "--max-pixels", 1000]
    code, _, err = run_cli(capsys, "convert", tmp_path / "real.png", "--model", model, *args)
    assert code == 1 and "512x512" in err, err


def test_a_full_disk_is_one_line_and_leaves_no_partial_file(tmp_path, model, noisy_video):
    """RLIMIT_FSIZE stands in for a full disk: writes past it fail with EFBIG, as a full disk's fail with ENOSPC."""
    out = tmp_path / "out.mp4"

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # else the kernel kills the process instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))

    env = os.environ | {"PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "faceswap_gan", "convert", noisy_video, "--model", model, "--out", out, "--quiet"]
    result = subprocess.run(list(map(str, command)), env=env, capture_output=True, text=True, preexec_fn=limit)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert str(out) in result.stderr and "too large" in result.stderr, result.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_interrupt_between_the_temporary_files_creation_and_its_writer_leaves_nothing(
    tmp_path, capsys, monkeypatch, model, noisy_video
):
    """SIGTERM the moment the partial file appears can land inside the writer's constructor, before any
    block that would remove the file: the command line removes it as it ends (CI saw one left over)."""
    import faceswap_gan.io.video as video

    make = video.temporary_path

    def interrupted(path):
        make(path)  # the file is made, then the signal lands
        raise KeyboardInterrupt

    monkeypatch.setattr(video, "temporary_path", interrupted)
    out = tmp_path / "out.mp4"
    out.write_bytes(b"an earlier result")
    code, _, err = run_cli(capsys, "convert", noisy_video, "--model", model, "--out", out, "--overwrite", "--quiet")
    assert code == 130 and "interrupted" in err, err
    assert out.read_bytes() == b"an earlier result" and [p.name for p in tmp_path.iterdir()] == ["out.mp4"]


@pytest.mark.slow
def test_sigterm_ends_conversion_like_ctrl_c_and_a_killed_runs_partial_goes_next_time(tmp_path, model, noisy_video):
    out = tmp_path / "out.mp4"
    out.write_bytes(b"an earlier result")
    process = _cli("convert", noisy_video, "--model", model, "--out", out, "--overwrite", "--quiet")
    deadline = time.monotonic() + 60
    while not any(p.name.endswith(".partial.mp4") for p in tmp_path.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "interrupted" in err, err
    assert out.read_bytes() == b"an earlier result" and [p.name for p in tmp_path.iterdir()] == ["out.mp4"]
    # kill -9 leaves its partial file; the next run to the same output removes it.
    process = _cli("convert", noisy_video, "--model", model, "--out", out, "--overwrite", "--quiet")
    while not any(p.name.endswith(".partial.mp4") for p in tmp_path.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    process.kill()
    process.communicate(timeout=60)
    assert any(p.name.endswith(".partial.mp4") for p in tmp_path.iterdir())
    process = _cli("convert", noisy_video, "--model", model, "--out", out, "--overwrite", "--quiet", "--end", 0.5)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.media
def test_a_video_cut_short_converts_what_is_there_and_says_so(tmp_path, capsys, model):
    cut = cut_short_video(tmp_path)
    code, out, err = run_cli(capsys, "convert", cut, "--model", model, "--out", tmp_path / "o.mp4", "--quiet")
    assert code == 0 and "of the 216 frames its container declares" in out and "cut short" in out, out + err


def test_a_batch_converts_a_folder_goes_past_a_broken_file_and_resumes(tmp_path, capsys, model, blank_video, astronaut):
    clips = tmp_path / "clips"
    clips.mkdir()
    for name in ("one.mp4", "two.mkv"):
        (clips / name).write_bytes(blank_video.read_bytes())
    write_image(clips / "photo.png", astronaut)
    (clips / "broken.mp4").write_bytes(b"not a video")
    (clips / "notes.txt").write_text("not an input")
    out = tmp_path / "out"
    code, stdout, err = run_cli(capsys, "convert", clips, "--model", model, "--out", out, "--quiet")
    assert code == 1 and "Traceback" not in err, err
    assert "4 inputs: 3 converted, 0 already there" in stdout and "1 failed" in stdout
    assert "failed: " in stdout and "broken.mp4: not a readable video" in stdout
    assert sorted(p.name for p in out.iterdir() if not p.name.endswith(".yaml")) == ["one.mp4", "photo.png", "two.mkv"]
    assert probe_video(out / "two.mkv").frame_count == 12
    # An interrupted batch resumes: what is there is skipped, unless --overwrite.
    (clips / "broken.mp4").unlink()
    code, stdout, _ = run_cli(capsys, "convert", clips, "--model", model, "--out", out, "--quiet")
    assert code == 0 and "3 inputs: 0 converted, 3 already there" in stdout
    code, stdout, _ = run_cli(capsys, "convert", clips / "one.mp4", clips / "photo.png", "--model", model, "--out", out,
                              "--quiet", "--overwrite")  # fmt: skip
    assert code == 0 and "2 inputs: 2 converted" in stdout

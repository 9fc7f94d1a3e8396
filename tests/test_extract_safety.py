"""extract, prepare and masks with bad or unlucky inputs: published whole or not at all, bad files skipped
by name, one line for what cannot go on. On the built-in photos (no sample media needed)."""

import errno
import zlib
from pathlib import Path

import pytest

from faceswap_gan.io import media
from faceswap_gan.io.media import read_image, write_image
from faceswap_gan.sample_clips import sample_photo
from tests.conftest import cut_short_video
from tests.test_extract import run_cli


@pytest.fixture(scope="module")
def people(tmp_path_factory) -> tuple[Path, Path]:
    """Two folders of one photo each: person A and person B."""
    root = tmp_path_factory.mktemp("people")
    for name in ("astronaut", "grace_hopper"):
        (root / name).mkdir()
        write_image(root / name / f"{name}.png", sample_photo(name))
    return root / "astronaut", root / "grace_hopper"


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_prepare_that_fails_half_way_publishes_nothing(tmp_path, capsys, people, blank_video):
    a, b = people
    data = tmp_path / "data"
    code, _, err = run_cli(capsys, "prepare", a, b, "--out", data, "--quiet")
    assert code == 0, err
    before = _tree(data)
    # B's clip has no face: A's new faces must not appear beside the old B faces.
    code, _, err = run_cli(capsys, "prepare", b, blank_video, "--out", data, "--overwrite", "--quiet")
    assert code == 1 and "no usable face" in err, err
    assert _tree(data) == before and not [p for p in data.iterdir() if p.name.startswith(".")]
    # Into a new folder: no half data folder either.
    code, _, _ = run_cli(capsys, "prepare", a, blank_video, "--out", tmp_path / "fresh", "--quiet")
    assert code == 1 and list((tmp_path / "fresh").iterdir()) == []


def test_extract_publishes_faces_alignments_and_settings_together(tmp_path, capsys, people, blank_video):
    out = tmp_path / "out"
    assert run_cli(capsys, "extract", people[0], "--out", out, "--quiet")[0] == 0
    before = _tree(out)
    assert {"alignments.json", "extract_config.yaml"} <= set(before)
    code, _, _ = run_cli(capsys, "extract", blank_video, "--out", out, "--overwrite", "--quiet")
    assert code == 1 and _tree(out) == before and not [p for p in out.iterdir() if p.name.startswith(".")]


def _forged_png(path: Path, side: int = 100000) -> None:
    """A small valid PNG whose header (with a correct checksum) claims side x side pixels."""
    write_image(path, sample_photo("astronaut")[:8, :8])
    data = bytearray(path.read_bytes())
    data[16:24] = side.to_bytes(4, "big") * 2
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    path.write_bytes(bytes(data))


def test_unreadable_or_oversized_images_in_a_folder_are_skipped_by_name(tmp_path, capsys, people):
    folder = tmp_path / "photos"
    folder.mkdir()
    write_image(folder / "a.png", read_image(next(people[0].iterdir())))
    (folder / "broken.png").write_bytes(b"\x89PNG not really")
    _forged_png(folder / "bomb.png")
    code, out, err = run_cli(capsys, "extract", folder, "--out", tmp_path / "out", "--quiet")
    assert code == 0, err
    assert "1 frames read, 2 unreadable images skipped, 1 faces written" in out
    assert "broken.png: not a readable image" in out and "bomb.png: 10000000000 pixels" in out
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]


def test_a_forged_image_header_alone_is_one_line(tmp_path, capsys):
    _forged_png(tmp_path / "bomb.png")
    code, _, err = run_cli(capsys, "extract", tmp_path / "bomb.png", "--out", tmp_path / "out")
    assert code == 1 and "over the limit" in err and "Traceback" not in err and len(err.splitlines()) == 1, err


def test_masks_skip_an_unreadable_face_and_make_the_others(tmp_path, capsys, people):
    data = tmp_path / "data"
    assert run_cli(capsys, "prepare", *people, "--out", data, "--quiet")[0] == 0
    (data / "face_src" / "zz_broken.png").write_bytes(b"garbage")
    code, out, err = run_cli(capsys, "masks", data, "--quiet")
    assert code == 0 and "zz_broken.png: not a readable image; check the file; skipped" in err, err
    assert "face_src: 1 eye masks" in out and (data / "binary_masks" / "face_src_eyes").is_dir()


def test_a_full_disk_while_writing_faces_is_one_line_and_leaves_nothing(tmp_path, capsys, people, monkeypatch):
    class FullDisk:
        def __init__(self, path, mode):
            self.path = path

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(media, "open", FullDisk, raising=False)  # write_image's open, at the OS boundary
    code, _, err = run_cli(capsys, "extract", people[0], "--out", tmp_path / "out", "--quiet")
    assert code == 1 and "the disk is full; free some space" in err and "Traceback" not in err, err
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.media
def test_a_video_cut_short_says_so(tmp_path, capsys):
    cut = cut_short_video(tmp_path)
    code, out, err = run_cli(capsys, "extract", cut, "--out", tmp_path / "out", "--every", 4, "--quiet")
    assert code == 0, err
    assert "warning:" in out and "the file may be cut short" in out, out


def test_an_input_inside_what_would_be_replaced_is_refused(tmp_path, capsys, people):
    out = tmp_path / "out"
    assert run_cli(capsys, "extract", people[0], "--out", out, "--quiet")[0] == 0
    before = _tree(out)
    # Re-extracting the aligned faces into the folder that holds them would replace the input.
    code, _, err = run_cli(capsys, "extract", out / "faces" / "aligned_faces", "--out", out, "--overwrite")
    assert code == 1 and "which this would replace" in err and _tree(out) == before, err
    data = tmp_path / "data"
    assert run_cli(capsys, "prepare", *people, "--out", data, "--quiet")[0] == 0
    code, _, err = run_cli(capsys, "prepare", data / "face_src", people[1], "--out", data, "--overwrite")
    assert code == 1 and "which this would replace" in err, err
    # augment-parts never writes into a person's own faces.
    code, _, err = run_cli(capsys, "augment-parts", data, "--out", data / "face_src", "--overwrite")
    assert code == 1 and "holds the faces of" in err, err


def test_sample_replaces_an_existing_file_only_when_asked(tmp_path, capsys):
    target = tmp_path / "clip.mp4"
    target.write_bytes(b"the user's video")
    code, _, err = run_cli(capsys, "sample", "astronaut", target, "--seconds", 0.2)
    assert code == 1 and "already exists; use --overwrite" in err and target.read_bytes() == b"the user's video"
    assert run_cli(capsys, "sample", "astronaut", target, "--seconds", 0.2, "--overwrite")[0] == 0

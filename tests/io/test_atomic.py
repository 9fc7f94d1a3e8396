"""Outputs that appear whole or not at all, and never through a name someone else planted."""

import os
import subprocess
import sys

import pytest

from faceswap_gan.errors import UserError
from faceswap_gan.io.atomic import (
    atomic_write,
    check_output,
    discard_live_temporaries,
    publish_all,
    publish_folder,
    remove_stale_partials,
    staging_folder,
    temporary_path,
)


def test_temporary_files_are_new_unique_files_and_never_follow_a_planted_link(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("the user's own file")
    target = tmp_path / "out.png"
    # The old fixed temporary name, planted as a link to the victim.
    (tmp_path / ".out.partial.png").symlink_to(victim)
    with atomic_write(target) as tmp:
        assert not tmp.is_symlink() and tmp.stat().st_size == 0 and tmp.parent == tmp_path
        tmp.write_text("result")
    assert victim.read_text() == "the user's own file" and target.read_text() == "result"
    a, b = temporary_path(target), temporary_path(target)
    assert a != b and oct(a.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_failed_write_removes_its_temporary_file_and_keeps_the_old_result(tmp_path):
    target = tmp_path / "out.yaml"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("disk went away")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["out.yaml"]


def test_what_an_interrupt_left_before_its_cleanup_block_is_removed_and_finished_work_is_not(tmp_path):
    finished = tmp_path / "done.txt"
    with atomic_write(finished) as tmp:
        tmp.write_text("finished")
    orphan = temporary_path(tmp_path / "out.mp4")  # created, then interrupted before a try could own it
    with pytest.raises(KeyboardInterrupt), staging_folder(tmp_path, "extract") as root:
        (root / "face.png").write_text("half")
        left = temporary_path(tmp_path / "face.png")
        raise KeyboardInterrupt
    assert not root.exists() and orphan.exists() and left.exists()
    removed = [path for path in discard_live_temporaries() if path.parent == tmp_path]  # others: earlier tests'
    assert sorted(removed) == sorted([orphan, left])
    assert [p.name for p in tmp_path.iterdir()] == ["done.txt"] and finished.read_text() == "finished"
    assert discard_live_temporaries() == []


def test_partials_of_a_killed_process_are_removed_and_a_running_ones_kept(tmp_path):
    target = tmp_path / "swapped.mp4"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".swapped.{int(dead.stdout)}.abc123.partial.mp4"
    live = tmp_path / f".swapped.{os.getpid()}.def456.partial.mp4"
    other = tmp_path / f".other.{int(dead.stdout)}.abc123.partial.mp4"
    for path in (stale, live, other):
        path.write_bytes(b"x")
    assert remove_stale_partials(target) == [stale]
    assert not stale.exists() and live.exists() and other.exists()


def test_publish_all_is_all_or_nothing(tmp_path, monkeypatch):
    finals = [tmp_path / "face_src", tmp_path / "face_dst", tmp_path / "alignments.json"]
    finals[0].mkdir()
    (finals[0] / "old.png").write_text("old A")
    finals[2].write_text("old alignments")
    staged = [tmp_path / ".s" / name for name in ("a", "b", "c")]
    staged[0].mkdir(parents=True)
    (staged[0] / "new.png").write_text("new A")
    staged[1].mkdir()
    staged[2].write_text("new alignments")
    # The third move fails: the first two are undone.
    real_rename, calls = os.rename, []

    def failing_rename(a, b):
        calls.append(b)
        if str(b).endswith("alignments.json") or str(a).endswith("alignments.json"):
            raise OSError(28, "No space left on device")
        return real_rename(a, b)

    import faceswap_gan.io.atomic as atomic

    monkeypatch.setattr(atomic, "_exchange", lambda a, b: False)  # the portable path: plain renames
    monkeypatch.setattr(atomic.os, "rename", failing_rename)
    with pytest.raises(OSError):
        publish_all(list(zip(staged, finals, strict=True)))
    monkeypatch.undo()
    assert [p.name for p in finals[0].iterdir()] == ["old.png"] and not finals[1].exists()
    assert finals[2].read_text() == "old alignments"
    # Without the failure everything moves, and the old results are gone.
    publish_all(list(zip(staged, finals, strict=True)))
    assert [p.name for p in finals[0].iterdir()] == ["new.png"] and finals[1].is_dir()
    assert finals[2].read_text() == "new alignments" and not any(p.exists() for p in staged)


def test_publish_folder_exchanges_in_one_step(tmp_path, monkeypatch):
    import faceswap_gan.io.atomic as atomic

    final, staging = tmp_path / "faces", tmp_path / ".faces.partial"
    final.mkdir()
    (final / "old").write_text("1")
    staging.mkdir()
    (staging / "new").write_text("2")

    def no_second_rename(a, b):  # with renameat2 there is no moment without the folder
        raise AssertionError("renamed in two steps")

    (tmp_path / "x").write_text("x")
    (tmp_path / "y").write_text("y")
    if not atomic._exchange(tmp_path / "x", tmp_path / "y"):
        pytest.skip("this system has no renameat2(RENAME_EXCHANGE)")
    assert (tmp_path / "x").read_text() == "y"
    monkeypatch.setattr(atomic.os, "rename", no_second_rename)
    publish_folder(staging, final)
    assert [p.name for p in final.iterdir()] == ["new"] and not staging.exists()


def test_an_output_may_not_be_an_input_or_replace_a_file_unasked(tmp_path):
    source = tmp_path / "in" / "same.mp4"
    source.parent.mkdir()
    source.write_bytes(b"the user's video")
    (tmp_path / "link.mp4").symlink_to(source)
    os.link(source, tmp_path / "hard.mp4")
    for out in (source, tmp_path / "in" / ".." / "in" / "same.mp4", tmp_path / "link.mp4", tmp_path / "hard.mp4"):
        for overwrite in (False, True):
            with pytest.raises(UserError, match="this is the input"):
                check_output(out, (source,), overwrite)
    (tmp_path / "old.mp4").write_bytes(b"old")
    with pytest.raises(UserError, match="already exists; use --overwrite"):
        check_output(tmp_path / "old.mp4", (source,))
    check_output(tmp_path / "old.mp4", (source,), overwrite=True)
    with pytest.raises(UserError, match="is a file, not a folder"):
        check_output(tmp_path / "old.mp4" / "x" / "out.mp4", (source,))
    with pytest.raises(UserError, match="is a folder"):
        check_output(tmp_path / "in", (source,))
    check_output(tmp_path / "new" / "dir" / "out.mp4", (source,))
    assert (tmp_path / "new" / "dir").is_dir() and source.read_bytes() == b"the user's video"

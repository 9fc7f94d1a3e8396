"""Training with damaged checkpoints, crashes at bad moments, and signals: clear lines, and a run folder
whose log, previews and checkpoint always agree."""

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from faceswap_gan.errors import UserError
from faceswap_gan.io import checkpoint
from faceswap_gan.io.checkpoint import load_checkpoint, load_model, save_checkpoint
from faceswap_gan.nets.model import FaceSwapModel
from faceswap_gan.runtime import deferred_interrupt
from faceswap_gan.train import train_model
from faceswap_gan.training.reporting import read_losses
from tests.conftest import REPO
from tests.test_extract import run_cli
from tests.test_train import TINY, data, tiny  # noqa: F401 - data is the module's fixture


def test_a_tampered_checkpoint_is_one_short_line(tmp_path):
    state = FaceSwapModel(TINY, seed=1).state()
    state["generator"] = {k: torch.zeros(3) for k in list(state["generator"])[:40]}
    save_checkpoint(tmp_path / "m.pt", **state)
    with pytest.raises(UserError) as info:
        load_model(tmp_path / "m.pt")
    message = str(info.value)
    assert "does not match its own model config" in message and "\n" not in message and len(message) < 400


def test_checkpoints_are_refused_on_a_torch_whose_safe_loading_can_be_bypassed(tmp_path, monkeypatch):
    save_checkpoint(tmp_path / "m.pt", **FaceSwapModel(TINY, seed=1).state())
    monkeypatch.setattr(checkpoint, "SAFE_TORCH", "99.0")
    with pytest.raises(UserError, match=r"cannot read checkpoints safely.*install torch >= 99.0"):
        load_checkpoint(tmp_path / "m.pt")


def test_ctrl_c_and_sigterm_are_requests_and_forked_workers_stay_quiet(capfd):
    before = signal.getsignal(signal.SIGTERM)
    with deferred_interrupt() as requested:
        pid = os.fork()
        if pid == 0:  # a DataLoader worker forked inside the loop: the signal is not its business
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
            os._exit(3 if requested() else 0)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0 and not requested()
        assert "stopping" not in capfd.readouterr().out
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)
        assert requested() and "stopping after this iteration" in capfd.readouterr().out
    assert signal.getsignal(signal.SIGTERM) is before


def test_demo_checks_the_users_clips_before_rendering_its_own(tmp_path, capsys):
    (tmp_path / "bad.mp4").write_text("not a video")
    code, _, err = run_cli(capsys, "demo", "--src", tmp_path / "bad.mp4", "--out", tmp_path / "demo")
    assert code == 1 and "not a readable video" in err and not (tmp_path / "demo").exists(), err


@pytest.mark.media
def test_incomplete_and_truncated_checkpoints_name_the_backup_to_fall_back_on(data, tmp_path, capsys):  # noqa: F811
    run = tmp_path / "run"
    model = FaceSwapModel(TINY, seed=1)
    save_checkpoint(run / "checkpoints" / "latest.pt", iteration=3, **model.state())  # no optimiser states
    args = ["train", "--data", data, "--out", run, "--iterations", 6, "--batch-size", 2, "--workers", 0]
    code, _, err = run_cli(capsys, *args, "--quiet")
    assert code == 1 and "incomplete checkpoint, without opt_g, opt_d" in err and "no backup" in err, err
    (run / "checkpoints" / "backup_iter000002.pt").write_bytes(b"a backup")
    latest = run / "checkpoints" / "latest.pt"
    latest.write_bytes(latest.read_bytes()[:1000])
    code, _, err = run_cli(capsys, *args, "--quiet")
    assert code == 1 and "not a faceswap-gan checkpoint" in err and "backup_iter000002.pt over" in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow
@pytest.mark.media
def test_log_previews_and_checkpoint_agree_after_a_crash_between_them(data, tmp_path):  # noqa: F811
    run = tmp_path / "run"
    train_model(data, run, TINY, tiny(iterations=6, display_every=2), progress=False)
    assert [r["iteration"] for r in read_losses(run / "losses.csv")] == [2, 4, 6]
    # A crash after the checkpoint of 6 and before its row and preview were written...
    rows = (run / "losses.csv").read_text().splitlines()
    (run / "losses.csv").write_text("\n".join(rows[:-1]) + "\n")
    (run / "previews" / "iter_000006.png").unlink()
    # ...and leftovers of an interval whose weights were lost (a torn row, a preview).
    with (run / "losses.csv").open("a") as f:
        f.write("8,0.1,0.2")
    (run / "previews" / "iter_000008.png").write_bytes(b"stale")
    train_model(data, run, TINY, tiny(iterations=10, display_every=2), progress=False)
    assert [r["iteration"] for r in read_losses(run / "losses.csv")] == [2, 4, 6, 8, 10]
    assert sorted(p.name for p in (run / "previews").iterdir()) == [f"iter_{i:06d}.png" for i in (2, 4, 6, 8, 10)]
    assert (run / "previews" / "iter_000008.png").read_bytes() != b"stale"
    assert [r["iteration"] for r in load_checkpoint(run / "checkpoints" / "latest.pt")["log"]] == [2, 4, 6, 8, 10]


def test_a_checkpoint_that_cannot_be_written_is_one_line_and_the_old_one_stays(tmp_path):
    """A file size limit stands in for a full disk: torch's writer fails with a RuntimeError, not an OSError."""
    code = f"""
import resource, signal, sys
from faceswap_gan.config import ModelConfig
from faceswap_gan.errors import UserError
from faceswap_gan.io.checkpoint import save_checkpoint
from faceswap_gan.nets.model import FaceSwapModel
state = FaceSwapModel(ModelConfig(64, "lite", "hybrid", False), seed=1).state()
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
try:
    save_checkpoint({str(tmp_path / "latest.pt")!r}, **state)
except UserError as exc:
    print(exc)
"""
    (tmp_path / "latest.pt").write_bytes(b"the previous checkpoint")
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=os.environ | {"PYTHONPATH": str(REPO)}
    )
    assert "could not be written" in result.stdout and "the previous one is kept" in result.stdout, result
    assert (tmp_path / "latest.pt").read_bytes() == b"the previous checkpoint"
    assert [p.name for p in tmp_path.iterdir()] == ["latest.pt"]


@pytest.mark.media
def test_train_into_a_path_under_a_file_is_one_line(data, tmp_path, capsys):  # noqa: F811
    (tmp_path / "file").write_text("a file")
    code, _, err = run_cli(capsys, "train", "--data", data, "--out", tmp_path / "file" / "run", "--quiet")
    assert code == 1 and "Traceback" not in err and "not a folder" in err, err

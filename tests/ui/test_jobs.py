"""Background jobs: a CLI command in its own process session, its progress and how it ended read back
from its folder (so a page that reattaches later knows), one at a time, stoppable like Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from faceswap_gan.errors import UserError
from faceswap_gan.ui.jobs import Job, last_message


def test_a_finished_job_reports_done_with_its_last_line(tmp_path):
    job = Job(tmp_path / "sample")
    job.start(["sample", "astronaut", str(tmp_path / "clip.mp4"), "--seconds", "0.4"])
    status = job.wait(60)
    assert status.state == "done", job.tail()
    assert "sample clip in" in status.message and (tmp_path / "clip.mp4").exists()
    assert json.loads((job.folder / "exit.json").read_text()) == {"code": 0}
    assert job.args()[0] == "sample"


def test_a_failed_job_reports_the_commands_one_line_error(tmp_path):
    job = Job(tmp_path / "convert")
    job.start(["convert", str(tmp_path / "missing.mp4"), "--model", str(tmp_path), "--out", str(tmp_path / "o.mp4")])
    status = job.wait(60)
    assert status.state == "failed"
    assert "missing.mp4" in status.message and "Traceback" not in status.message


def test_one_job_of_a_kind_at_a_time_and_stop_ends_it_like_ctrl_c(tmp_path):
    job = Job(tmp_path / "sample")
    job.start(["sample", "astronaut", str(tmp_path / "long.mp4"), "--seconds", "120"])
    with pytest.raises(UserError, match="already running"):
        job.start(["sample", "astronaut", str(tmp_path / "other.mp4")])
    time.sleep(2)
    assert job.stop()
    status = job.wait(30)
    assert status.state == "stopped", job.tail()
    assert not (tmp_path / "long.mp4").exists()  # the partial file went with it
    assert not job.stop()


def test_a_job_whose_process_vanished_is_reported_failed(tmp_path):
    job = Job(tmp_path / "sample")
    job.start(["sample", "astronaut", str(tmp_path / "long.mp4"), "--seconds", "120"])
    pid = json.loads((job.folder / "job.json").read_text())["pid"]
    os.killpg(pid, signal.SIGKILL)  # killed without a chance to write its exit status
    status = job.wait(10)
    assert status.state == "failed" and "log" in status.message


def test_status_of_a_job_never_started():
    assert Job("/nonexistent/jobs/train").status().state == "none"


def test_last_message_prefers_the_error_line_and_skips_progress_bars():
    log = "train:  50%|#####     | 5/10 [00:01<00:01,  4.0it/s]\nerror: data/x: no faces\n"
    assert last_message(log, 1) == "data/x: no faces"
    assert last_message("written out.mp4\nconvert: 100%|##| 4/4 [00:01<00:00]\n", 0) == "written out.mp4"
    assert last_message("", 3) == "exit status 3"

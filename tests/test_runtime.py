"""Denormal floats are flushed wherever the package computes: the stage's thread, PyTorch's own threads,
our worker threads and our data-loading processes. Each check runs in a fresh process, whose threads
start with the CPU's default (denormals kept), so it fails when the flushing is missing."""

import os
import platform
import re
import subprocess
import sys

import pytest

from tests.conftest import REPO

# PyTorch flushes denormals on x86 (FTZ/DAZ) and on ARM (FZ); elsewhere there is nothing to check.
pytestmark = pytest.mark.skipif(
    platform.machine().lower() not in ("x86_64", "amd64", "aarch64", "arm64"), reason="no denormal flushing here"
)

# 1e-38 * 1e-3 is a denormal float32: kept (nonzero) by default, zero once denormals are flushed.
CHECK = """
import torch
from faceswap_gan.compositing.thread_map import ordered_map
from faceswap_gan.runtime import setup_runtime
from faceswap_gan.training import data


def product():
    return (torch.tensor([1e-38]) * 1e-3).item()


class Denormals(torch.utils.data.Dataset):
    def __len__(self):
        return 2

    def __getitem__(self, i):
        return torch.tensor([product()])


if __name__ == "__main__":
    before = product()
    {setup}
    intra_op = (torch.full((1 << 22,), 1e-38) * 1e-3).abs().max().item()  # split over PyTorch's threads
    [worker] = list(ordered_map([0], lambda _: product(), workers=2))
    # A spawned process starts from the defaults (forked ones copy the parent's state): the init hook counts.
    loader = torch.utils.data.DataLoader(Denormals(), batch_size=2, num_workers=1, multiprocessing_context="spawn",
                                         worker_init_fn=data._start_worker if {hooked} else None)
    process = max(b.abs().max().item() for b in loader)
    print(before, product(), intra_op, worker, process)
"""


def _run(tmp_path, setup: str, hooked: bool) -> list[float]:
    script = tmp_path / "check_denormals.py"
    script.write_text(CHECK.format(setup=setup, hooked=hooked))
    env = os.environ | {"PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "2"}
    result = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return [float(v) for v in result.stdout.split()]


def test_denormals_are_zero_in_the_stage_pytorchs_threads_our_workers_and_data_processes(tmp_path):
    before, main, intra_op, worker, process = _run(tmp_path, 'setup_runtime("cpu")', hooked=True)
    assert before != 0  # the check can tell: denormals are kept by default
    assert main == intra_op == worker == process == 0


def test_the_check_sees_denormals_where_nothing_flushes_them_and_our_workers_flush_their_own(tmp_path):
    before, main, intra_op, worker, process = _run(tmp_path, "pass", hooked=False)
    assert before != 0 and main != 0 and intra_op != 0 and process != 0
    assert worker == 0  # thread_map's workers flush on their own, whatever the calling thread does


def _adapted(env: dict) -> tuple[str, str]:
    code = (
        "import torch; from faceswap_gan.runtime import adapt_threads; print(adapt_threads(), torch.get_num_threads())"
    )
    result = subprocess.run([sys.executable, "-c", code], env=os.environ | {"PYTHONPATH": str(REPO)} | env,
                            capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout.strip(), result.stderr


def test_beside_a_busy_process_pytorch_gets_the_cores_left_free(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    quiet, _ = _adapted({})
    threads = int(quiet.split()[1])
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        busy, err = _adapted({})
        told, _ = _adapted({"OMP_NUM_THREADS": str(threads)})
    finally:
        hog.kill()
        hog.wait()
    expected = max(1, min(threads, (os.cpu_count() or 1) - 1))
    assert busy == f"{expected} {expected}"
    if expected < threads:  # one spinning process reads as about one core; sampling puts it near, not on, 1.0
        seen = re.search(r"other processes keep about ([0-9.]+) of", err)
        assert seen and 0.5 <= float(seen.group(1)) <= 1.5, err
    assert told == f"None {threads}"  # the user's OMP_NUM_THREADS is theirs

"""The GPU path, run for real where there is one (`pytest -m cuda`, or bench/gpu_check.sh on a lent GPU):
training with bf16 autocast and channels-last, resuming, converting, and DDP on nccl. Skipped elsewhere."""

import os
import subprocess
import sys

import pytest
import torch

from faceswap_gan.config import ModelConfig, TrainConfig
from faceswap_gan.convert import convert_video
from faceswap_gan.converter import ConverterConfig
from faceswap_gan.io.checkpoint import load_checkpoint
from faceswap_gan.io.media import probe_video
from faceswap_gan.train import train_model
from tests.conftest import REPO
from tests.test_extract_safety import people  # noqa: F401 - the built-in photos as training data

pytestmark = [pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here")]


@pytest.fixture(scope="module")
def data(tmp_path_factory, people):  # noqa: F811
    from faceswap_gan.config import ExtractConfig
    from faceswap_gan.extract import prepare_dataset

    path = tmp_path_factory.mktemp("data")
    prepare_dataset(*people, path, ExtractConfig(), progress=False)
    return path


def _config(**changes) -> TrainConfig:
    return TrainConfig(
        **({"iterations": 6, "batch_size": 4, "display_every": 3, "workers": 0, "device": "cuda"} | changes)
    )


def test_training_runs_in_bf16_and_channels_last_and_resumes(data, tmp_path):
    model = ModelConfig(64, "lite", "hybrid", True)
    first = train_model(data, tmp_path / "run", model, _config(), progress=False, stop_after=3)
    assert first.iterations_done == 3 and all(torch.isfinite(torch.tensor(v)) for v in first.last_losses.values())
    again = train_model(data, tmp_path / "run", model, _config(), progress=False)
    assert again.first_iteration == 3 and again.iterations_done == 6
    state = load_checkpoint(tmp_path / "run", "cpu")
    assert state["iteration"] == 6 and all(torch.isfinite(t).all() for t in state["generator"].values())


def test_conversion_runs_on_the_gpu(data, tmp_path, blank_video):
    train_model(data, tmp_path / "run", ModelConfig(), _config(iterations=2, display_every=2), progress=False)
    out = tmp_path / "out.mp4"
    summary = convert_video(blank_video, tmp_path / "run", out, ConverterConfig(image_shape=None, device="cuda"),
                            progress=False)  # fmt: skip
    assert summary.frames == probe_video(out).frame_count == 12


def test_ddp_with_one_process_on_nccl(data, tmp_path):
    run = tmp_path / "ddp"
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "1", "-m", "faceswap_gan", "train",
               "--data", str(data), "--out", str(run), "--iterations", "2", "--batch-size", "2", "--workers", "0",
               "--device", "cuda", "--quiet"]  # fmt: skip
    result = subprocess.run(command, env=os.environ | {"PYTHONPATH": str(REPO)}, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert load_checkpoint(run, "cpu")["iteration"] == 2

"""Training on real faces prepared from two clips, with the smallest configuration (64 px, lite, batch 2)."""

import csv
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
import yaml

from faceswap_gan.config import ExtractConfig, ModelConfig, TrainConfig
from faceswap_gan.errors import UserError
from faceswap_gan.extract import prepare_dataset
from faceswap_gan.io.checkpoint import load_checkpoint, load_model, save_checkpoint
from faceswap_gan.io.media import read_image
from faceswap_gan.nets.model import FaceSwapModel
from faceswap_gan.train import train_model
from faceswap_gan.training.prior import BUILTIN_PATH
from tests.conftest import CLIPS, REPO
from tests.test_extract import run_cli

TINY = ModelConfig(64, "lite", "hybrid", True)


def tiny(**changes) -> TrainConfig:
    base = dict(iterations=6, batch_size=2, display_every=3, workers=0, device="cpu", perceptual="dlib")
    return TrainConfig(**(base | changes))


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    path = tmp_path_factory.mktemp("data")
    prepare_dataset(CLIPS / "d18.mp4", CLIPS / "d6.mp4", path, ExtractConfig(every=40, holdout=0), progress=False)
    return path


def test_checkpoint_save_load_identity(tmp_path):
    model = FaceSwapModel(TINY, seed=5)
    save_checkpoint(tmp_path / "m.pt", iteration=7, train_config={}, opt_g={}, opt_d={}, **model.state())
    loaded = load_model(tmp_path / "m.pt")
    assert loaded.config == TINY
    for a, b in zip(model.state_dict().values(), loaded.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not list(tmp_path.glob(".*partial*"))


def test_foreign_files_are_refused_as_checkpoints(tmp_path):
    (tmp_path / "a.pt").write_text("hello")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "b.pt")
    for name in ("a.pt", "b.pt", "missing.pt"):
        with pytest.raises(UserError, match=str(tmp_path / name)):
            load_checkpoint(tmp_path / name)


@pytest.mark.slow
@pytest.mark.media
def test_resuming_gives_exactly_the_weights_of_an_uninterrupted_run(data, tmp_path):
    train_model(data, tmp_path / "once", TINY, tiny(), progress=False)
    first = train_model(data, tmp_path / "twice", TINY, tiny(), progress=False, stop_after=3)
    assert first.iterations_done == 3
    second = train_model(data, tmp_path / "twice", TINY, tiny(), progress=False)
    assert (second.first_iteration, second.iterations_done) == (3, 6)
    once = load_checkpoint(tmp_path / "once")
    twice = load_checkpoint(tmp_path / "twice")
    assert once["iteration"] == twice["iteration"] == 6
    for key in ("generator", "generator_train", "discriminators"):  # the weight average resumes exactly too
        for name, value in once[key].items():
            torch.testing.assert_close(value, twice[key][name], rtol=0, atol=0, msg=f"{key}.{name}")
    assert once["average_count"] == twice["average_count"] == 6
    assert once["opt_g"]["state"].keys() == twice["opt_g"]["state"].keys()
    # What convert and evaluate load is the average, not the last weights.
    model = load_model(tmp_path / "once")
    for name, value in model.generator.state_dict().items():
        torch.testing.assert_close(value, once["generator"][name], rtol=0, atol=0)
    assert any(not torch.equal(once["generator"][k], once["generator_train"][k]) for k in once["generator"])


@pytest.mark.slow
@pytest.mark.media
def test_divergence_restores_the_last_good_checkpoint(data, tmp_path, capsys):
    with pytest.raises(UserError, match="before any checkpoint"):
        train_model(data, tmp_path / "a", TINY, tiny(lr_g=1e30, lr_d=1e30), progress=False)
    run = tmp_path / "b"
    train_model(data, run, TINY, tiny(), progress=False, stop_after=3)
    capsys.readouterr()
    train_model(data, run, TINY, tiny(iterations=12, lr_g=1e30, lr_d=1e30), progress=False)
    assert "restored the checkpoint of iteration" in capsys.readouterr().err
    state = load_checkpoint(run)
    for tensors in (state["generator"], state["discriminators"]):
        assert all(bool(torch.isfinite(t).all()) for t in tensors.values() if t.is_floating_point())


@pytest.mark.slow
@pytest.mark.media
def test_train_through_the_cli_writes_every_artefact(data, tmp_path, capsys):
    run = tmp_path / "run"
    args = ["train", "--data", data, "--out", run, "--iterations", 4, "--display-every", 2, "--batch-size", 2,
            "--workers", 1, "--device", "cpu", "--quiet"]  # fmt: skip
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    assert "4 iterations" in out
    assert (run / "config.yaml").is_file() and (run / "loss_plot.png").stat().st_size > 1000
    assert sorted(p.name for p in (run / "previews").iterdir()) == ["iter_000002.png", "iter_000004.png"]
    grid = read_image(run / "previews" / "iter_000004.png")
    assert grid.shape == (8 * 64, 4 * 64, 3)  # 4 faces per person x [face, reconstruction, swap, mask]
    with (run / "losses.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [r["iteration"] for r in rows] == ["2", "4"]
    assert all(np.isfinite(float(v)) for r in rows for v in r.values())
    model = load_model(run)
    faces = np.stack([read_image(next((data / "face_src").iterdir()))[96:160, 96:160]] * 2)
    alpha, colour = model.swap(faces, "AtoB")
    assert alpha.shape == (2, 64, 64) and colour.shape == (2, 64, 64, 3) and colour.dtype == np.uint8
    # Running the same command again resumes; another architecture is refused in one line.
    code, out, _ = run_cli(capsys, *args[:6], 6, *args[7:])
    assert code == 0 and "2 iterations" in out and "now at 6" in out
    code, _, err = run_cli(capsys, *args, "--resolution", 128)
    assert code == 1 and "resolution 64 -> 128" in err and "Traceback" not in err


@pytest.mark.slow
@pytest.mark.media
def test_the_fast_recipe_trains_from_the_builtin_prior_with_the_code_discriminator(data, tmp_path, capsys):
    run = tmp_path / "fast"
    code, _, err = run_cli(capsys, "train", "--data", data, "--out", run, "--recipe", "fast", "--iterations", 2,
                           "--display-every", 2, "--batch-size", 2, "--workers", 1, "--device", "cpu",
                           "--perceptual", "none", "--precision", "bf16", "--quiet")  # fmt: skip
    assert code == 0, err
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert (saved["train"]["schedule"], saved["train"]["prior"], saved["losses"]["w_code"]) == ("fast", "builtin", 1.0)
    assert saved["train"]["precision"] == "bf16"  # trained under bf16 autocast, saved as asked
    with (run / "losses.csv").open() as f:
        assert "d_code" in next(csv.DictReader(f))  # the code discriminator ran
    # Two iterations from the prior stay near it; from a fresh initialisation they would not.
    prior = load_checkpoint(BUILTIN_PATH)["generator"]
    trained = load_checkpoint(run)["generator"]
    drift = max(float((trained[k] - prior[k].float()).abs().max()) for k in prior if prior[k].is_floating_point())
    assert drift < 2e-3  # two Adam steps at lr 1e-4 move a weight by at most about 2e-4


@pytest.mark.media
@pytest.mark.parametrize(
    "extra, message",
    [(["--perceptual", "vggface2"], "perceptual_weights"), (["--batch-size", 3], "batch_size: must be even")],
)
def test_bad_training_options_are_one_line(data, tmp_path, capsys, extra, message):
    code, _, err = run_cli(capsys, "train", "--data", data, "--out", tmp_path / "r", "--quiet", *extra)
    assert code == 1 and message in err and "Traceback" not in err


def test_data_without_faces_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "face_src").mkdir()
    code, _, err = run_cli(capsys, "train", "--data", tmp_path, "--out", tmp_path / "r", "--quiet")
    assert code == 1 and "face_src: no face images" in err


@pytest.mark.slow
@pytest.mark.media
def test_two_processes_train_with_distributed_data_parallel(data, tmp_path):
    run = tmp_path / "ddp"
    env = os.environ | {"OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
               "-m", "faceswap_gan.cli", "train", "--data", str(data), "--out", str(run), "--iterations", "2",
               "--display-every", "2", "--batch-size", "2", "--workers", "0", "--device", "cpu",
               "--perceptual", "none", "--quiet"]  # fmt: skip
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert load_checkpoint(run)["iteration"] == 2
    assert result.stdout.count("2 iterations") == 2  # both ranks finished

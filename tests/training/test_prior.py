"""Face priors: written in float16 and read back as the generator they came from; refused, in one line,
when they are not priors or are priors of another architecture; a fresh run starts from one, a resumed
run keeps its own weights; `pretrain` through the CLI on real faces."""

import pytest
import torch

from faceswap_gan.config import ModelConfig
from faceswap_gan.errors import UserError
from faceswap_gan.io.checkpoint import load_checkpoint, load_model, save_checkpoint
from faceswap_gan.nets.model import FaceSwapModel
from faceswap_gan.training import prior as prior_module
from faceswap_gan.training.prior import BUILTIN, apply_prior, load_prior, save_prior
from tests.test_extract import run_cli
from tests.test_train import TINY, data  # noqa: F401 - the shared module-scoped fixture

CONFIG = ModelConfig(64, "lite", "hybrid", False)


def test_a_prior_is_written_in_half_precision_and_read_back_as_its_generator(tmp_path):
    model = FaceSwapModel(CONFIG, seed=0)
    save_prior(tmp_path / "p.pt", model.generator, CONFIG, {"folders": ["x"], "iterations": 7})
    stored = load_checkpoint(tmp_path / "p.pt")
    assert stored["kind"] == "prior" and "discriminators" not in stored
    assert {v.dtype for v in stored["generator"].values() if v.is_floating_point()} == {torch.float16}
    weights, about = load_prior(tmp_path / "p.pt", CONFIG)
    assert about == {"folders": ["x"], "iterations": 7}
    fresh = FaceSwapModel(CONFIG, seed=1)
    apply_prior(fresh.generator, weights, "p.pt")
    for name, value in model.generator.state_dict().items():
        loaded = fresh.generator.state_dict()[name]
        assert loaded.dtype == value.dtype  # float32 again for training
        assert torch.allclose(loaded, value, rtol=1e-3, atol=1e-4), name  # float16's rounding, no more


def test_a_prior_of_another_architecture_or_no_prior_at_all_is_refused(tmp_path):
    save_prior(tmp_path / "p.pt", FaceSwapModel(CONFIG, seed=0).generator, CONFIG, {})
    with pytest.raises(UserError, match=r"p\.pt: a prior for another model \(capacity lite \(the run: standard\)"):
        load_prior(tmp_path / "p.pt", ModelConfig(64, "standard", "hybrid", False))
    save_checkpoint(tmp_path / "other.pt", iteration=3)  # ours, but without weights
    with pytest.raises(UserError, match="other.pt: holds no generator weights"):
        load_prior(tmp_path / "other.pt", CONFIG)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="junk.pt: not a faceswap-gan checkpoint"):
        load_prior(tmp_path / "junk.pt", CONFIG)


def test_builtin_names_the_packaged_prior_and_says_so_when_it_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(prior_module, "BUILTIN_PATH", tmp_path / "absent.pt")
    with pytest.raises(UserError, match="absent.pt: the built-in prior is missing"):
        load_prior(BUILTIN, CONFIG)


@pytest.mark.parametrize("name", [BUILTIN, str(prior_module.BUILTIN_PATH.with_name("demo64.pt"))])
def test_the_shipped_weights_fit_the_default_model_and_say_what_they_are(name):
    weights, about = load_prior(name, ModelConfig())  # the defaults: 64 px, lite, hybrid, self-attention
    apply_prior(FaceSwapModel(ModelConfig(), seed=0).generator, weights, name)
    assert about["iterations"] > 0 and ("folders" in about or "pair" in about)


@pytest.mark.slow
@pytest.mark.media
def test_pretrain_then_train_from_the_prior_through_the_cli(data, tmp_path, capsys):  # noqa: F811
    small = ["--iterations", 2, "--display-every", 2, "--batch-size", 2, "--workers", 0, "--device", "cpu", "--quiet"]
    code, out, err = run_cli(capsys, "pretrain", data, "--out", tmp_path / "prior.pt", "--seed", 5, *small)
    assert code == 0, err
    assert "prior" in out and (tmp_path / "prior_run" / "checkpoints" / "latest.pt").is_file()
    pretrained = load_model(tmp_path / "prior_run").generator.state_dict()
    stored = load_checkpoint(tmp_path / "prior.pt")
    assert stored["about"]["faces"] == len(list((data / "face_src").iterdir())) + len(
        list((data / "face_dst").iterdir())
    )
    # Running it again rewrites the prior; a file that is not one is never overwritten.
    (tmp_path / "notes.pt").write_text("mine")
    code, _, err = run_cli(capsys, "pretrain", data, "--out", tmp_path / "notes.pt", *small)
    assert code == 1 and "notes.pt: exists and is not a prior" in err and (tmp_path / "notes.pt").read_text() == "mine"
    # A fresh run (seed 0) starts from the prior (seed 5): after one step its weights are near the prior's.
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, "train", "--data", data, "--out", run, "--prior", tmp_path / "prior.pt",
                           *small[:1], 1, *small[2:], "--display-every", 1)  # fmt: skip
    assert code == 0, err
    trained = load_model(run).generator.state_dict()
    fresh = FaceSwapModel(TINY, seed=0).generator.state_dict()
    key = "decoder_b.colour_head.weight"
    distance = lambda a, b: float((a[key].float() - b[key].float()).abs().mean())  # noqa: E731
    assert distance(trained, pretrained) < distance(trained, fresh) / 10
    # Resuming keeps the run's own weights (the prior is not loaded over them); another prior is refused.
    code, out, err = run_cli(capsys, "train", "--data", data, "--out", run, *small[:1], 2, *small[2:])
    assert code == 0 and "now at 2" in out, err
    code, _, err = run_cli(capsys, "train", "--data", data, "--out", tmp_path / "r2", "--prior",
                           tmp_path / "prior.pt", "--capacity", "standard", *small)  # fmt: skip
    assert code == 1 and "a prior for another model" in err and "Traceback" not in err

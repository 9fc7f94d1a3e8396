"""The code discriminator: trained and asked to be fooled where w_code is on, and absent from
checkpoints written before it existed without harming them."""

import pytest
import torch

from faceswap_gan.config import LossWeights, ModelConfig, TrainConfig
from faceswap_gan.nets.model import FaceSwapModel
from faceswap_gan.runtime import Runtime
from faceswap_gan.training.losses import code_confusion_loss, code_discriminator_loss
from faceswap_gan.training.run_folder import load_training_state
from faceswap_gan.training.schedule import LossPhase
from faceswap_gan.training.step import TrainParts, make_optimisers, training_step

CONFIG = ModelConfig(64, "lite", "hybrid", False)
PHASE = LossPhase(0, False, False, 0.0, 1.0)


def test_the_code_losses_on_hand_made_scores():
    zeros, ones = torch.zeros(4, 1), torch.ones(4, 1)
    assert float(code_discriminator_loss(zeros, ones)) == 0.0  # A's codes at 0, B's at 1: told apart
    assert float(code_discriminator_loss(ones, zeros)) == 2.0
    assert float(code_confusion_loss(zeros, ones)) == 0.5  # (0 - 0.5)^2 + (1 - 0.5)^2
    assert float(code_confusion_loss(zeros + 0.5, ones - 0.5)) == 0.0  # nobody can tell: what the encoder wants


def _step(w_code: float):
    torch.manual_seed(0)
    model = FaceSwapModel(CONFIG, seed=0)
    config = TrainConfig(batch_size=2, device="cpu")
    opt_g, opt_d = make_optimisers(model, config, PHASE)
    weights = LossWeights(w_code=w_code)
    parts = TrainParts(
        model, model.generator, model.discriminators, None, Runtime(torch.device("cpu")), config, weights
    )
    batch = lambda: [torch.rand(2, 3, 64, 64) * 2 - 1, torch.rand(2, 3, 64, 64) * 2 - 1, torch.rand(2, 1, 64, 64)]  # noqa: E731
    code_before = model.discriminators.code.body[0].weight.clone()
    encoder_before = model.generator.encoder.dense1.weight.clone()
    losses = training_step(parts, opt_g, opt_d, batch(), batch(), 0.5, PHASE)
    return model, losses, code_before, encoder_before


def test_the_code_discriminator_and_its_term_work_only_when_weighted():
    model, losses, code_before, _ = _step(0.0)
    assert "d_code" not in losses and "code" not in losses  # the original's objective, at its cost
    assert torch.equal(model.discriminators.code.body[0].weight, code_before)
    model, losses, code_before, encoder_before = _step(2.0)
    assert losses["code"] > 0 and losses["d_code"] > 0
    assert not torch.equal(model.discriminators.code.body[0].weight, code_before)  # the D step trained it
    assert not torch.equal(model.generator.encoder.dense1.weight, encoder_before)


def test_a_checkpoint_from_before_the_code_discriminator_resumes_with_a_fresh_one():
    model = FaceSwapModel(CONFIG, seed=0)
    opt_g, opt_d = make_optimisers(model, TrainConfig(), PHASE)
    old = model.state()
    old["discriminators"] = {k: v for k, v in old["discriminators"].items() if not k.startswith("code.")}
    saved_d = opt_d.state_dict()
    old |= {"opt_g": opt_g.state_dict(), "opt_d": {**saved_d, "param_groups": saved_d["param_groups"][:2]}}
    fresh = FaceSwapModel(CONFIG, seed=1)
    new_g, new_d = make_optimisers(fresh, TrainConfig(), PHASE)
    code_before = fresh.discriminators.code.body[0].weight.clone()
    load_training_state(old, fresh, new_g, new_d)
    torch.testing.assert_close(fresh.discriminators.disc_a.out.weight, model.discriminators.disc_a.out.weight)
    assert torch.equal(fresh.discriminators.code.body[0].weight, code_before)  # kept fresh
    assert len(new_d.param_groups) == 3
    # A checkpoint with weights this model does not have is still refused.
    old["discriminators"]["extra.weight"] = torch.zeros(1)
    with pytest.raises(RuntimeError, match="extra.weight"):
        FaceSwapModel(CONFIG, seed=None).load_state(old)

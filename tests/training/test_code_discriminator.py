"""The code discriminator: trained and asked to be fooled where w_code is on, and absent from
checkpoints written before it existed without harming them."""

import math

import pytest
import torch

from faceswap_gan.config import LossWeights, ModelConfig, TrainConfig
from faceswap_gan.nets.discriminator import CodeDiscriminator
from faceswap_gan.nets.model import FaceSwapModel
from faceswap_gan.runtime import Runtime
from faceswap_gan.training.losses import code_confusion_loss, code_discriminator_loss
from faceswap_gan.training.run_folder import load_training_state
from faceswap_gan.training.schedule import LossPhase
from faceswap_gan.training.step import TrainParts, make_optimisers, training_step

CONFIG = ModelConfig(64, "lite", "hybrid", False)
PHASE = LossPhase(0, False, False, 0.0, 1.0)


def test_the_code_losses_on_hand_made_scores():
    # Logistic scores (B's codes high, A's low); the encoder's term is 0 where nobody can tell (score 0).
    far, zeros = torch.full((4, 1), 30.0), torch.zeros(4, 1)
    assert float(code_discriminator_loss(-far, far)) < 1e-12  # told apart
    assert float(code_discriminator_loss(far, -far)) == 60.0  # told apart the wrong way round
    torch.testing.assert_close(code_discriminator_loss(zeros, zeros), torch.tensor(2 * math.log(2)))
    assert float(code_confusion_loss(zeros, zeros)) == 0.0  # what the encoder wants
    assert float(code_confusion_loss(-far, far)) > 25  # the codes say who is who: about |score|
    # Bounded pull: the encoder's gradient per score is at most 1/N, however far the score.
    scores = torch.tensor([[-1000.0], [1000.0]], requires_grad=True)
    code_confusion_loss(scores[:1], scores[1:]).backward()
    assert float(scores.grad.abs().max()) <= 0.5


def test_the_code_discriminator_is_one_lipschitz_per_layer():
    code = CodeDiscriminator(64).train()
    for _ in range(20):  # the power iteration converges in training mode
        code(torch.rand(2, 64, 8, 8))
    for layer in (code.body[0], code.body[2], code.body[5]):
        matrix = layer.weight.detach().flatten(1)
        assert float(torch.linalg.matrix_norm(matrix, 2)) < 1.05


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
    code_before = model.discriminators.code.body[0].parametrizations.weight.original.clone()
    encoder_before = model.generator.encoder.dense1.weight.clone()
    losses = training_step(parts, opt_g, opt_d, batch(), batch(), 0.5, PHASE)
    return model, losses, code_before, encoder_before


def test_the_code_discriminator_and_its_term_work_only_when_weighted():
    model, losses, code_before, _ = _step(0.0)
    assert "d_code" not in losses and "code" not in losses  # the original's objective, at its cost
    assert torch.equal(model.discriminators.code.body[0].parametrizations.weight.original, code_before)
    model, losses, code_before, encoder_before = _step(2.0)
    assert losses["code"] > 0 and losses["d_code"] > 0
    assert not torch.equal(
        model.discriminators.code.body[0].parametrizations.weight.original, code_before
    )  # the D step trained it
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
    code_before = fresh.discriminators.code.body[0].parametrizations.weight.original.clone()
    load_training_state(old, fresh, new_g, new_d)
    torch.testing.assert_close(fresh.discriminators.disc_a.out.weight, model.discriminators.disc_a.out.weight)
    assert torch.equal(fresh.discriminators.code.body[0].parametrizations.weight.original, code_before)  # kept fresh
    assert len(new_d.param_groups) == 3
    # A checkpoint with weights this model does not have is still refused.
    old["discriminators"]["extra.weight"] = torch.zeros(1)
    with pytest.raises(RuntimeError, match="extra.weight"):
        FaceSwapModel(CONFIG, seed=None).load_state(old)


def test_a_checkpoint_with_the_unnormalised_code_discriminator_resumes_with_a_fresh_one():
    model, _, _, _ = _step(1.0)  # one step: every optimiser group has moments
    opt_g, opt_d = make_optimisers(model, TrainConfig(), PHASE)
    training_step(
        TrainParts(model, model.generator, model.discriminators, None, Runtime(torch.device("cpu")),
                   TrainConfig(batch_size=2, device="cpu"), LossWeights(w_code=1.0)),
        opt_g, opt_d, *[[torch.rand(2, 3, 64, 64) * 2 - 1, torch.rand(2, 3, 64, 64) * 2 - 1,
                         torch.rand(2, 1, 64, 64)] for _ in range(2)], 0.5, PHASE,
    )  # fmt: skip
    old = model.state() | {"opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict()}
    discriminators = {k: v for k, v in old["discriminators"].items() if not k.startswith("code.")}
    for i, shape in ((0, (128, 256, 3, 3)), (2, (128, 128, 3, 3)), (5, (1, 2048))):  # the earlier plain layers
        discriminators[f"code.body.{i}.weight"] = torch.zeros(shape)
        discriminators[f"code.body.{i}.bias"] = torch.zeros(shape[0])
    old["discriminators"] = discriminators
    fresh = FaceSwapModel(CONFIG, seed=1)
    new_g, new_d = make_optimisers(fresh, TrainConfig(), PHASE)
    code_before = fresh.discriminators.code.body[0].parametrizations.weight.original.clone()
    load_training_state(old, fresh, new_g, new_d)
    assert torch.equal(fresh.discriminators.code.body[0].parametrizations.weight.original, code_before)
    torch.testing.assert_close(fresh.discriminators.disc_b.out.weight, model.discriminators.disc_b.out.weight)
    code_params = {id(p) for p in fresh.discriminators.code.parameters()}
    assert len(new_d.param_groups) == 3 and not any(id(p) in code_params for p in new_d.state)
    assert any(id(p) not in code_params for p in new_d.state)  # the image discriminators' moments came back

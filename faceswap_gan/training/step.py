"""One training iteration and what it needs: the optimisers, the samplers of both people, the mixup draw.
``train_model`` (train.py) runs these in order; ``bench/train_speed.py`` times ``training_step`` alone."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from faceswap_gan.config import LossWeights, ModelConfig, TrainConfig
from faceswap_gan.nets.blocks import RegConv2d
from faceswap_gan.nets.model import FaceSwapModel
from faceswap_gan.runtime import Runtime
from faceswap_gan.training.data import FaceSamples, FaceSet
from faceswap_gan.training.objective import Side, cycle_loss, discriminator_loss, generator_loss
from faceswap_gan.training.schedule import LossPhase

L2_DECAY = 2e-4  # Adam's coupled weight decay 2e-4 is the gradient of the original's L2 penalty 1e-4 * sum(w^2)


@dataclass(frozen=True)
class TrainParts:
    """What every step uses: the model, its (possibly distributed) generator and discriminators, the
    perceptual network, where it runs, and the settings. ``disc_g``: the discriminators as the G step
    calls them, never wrapped for DDP (frozen there: no gradients to synchronise); None: the model's own.
    ``training/compiled.py`` sets it to the compiled ones."""

    model: FaceSwapModel
    gen: torch.nn.Module
    disc: torch.nn.Module
    perceptual: torch.nn.Module | None
    runtime: Runtime
    config: TrainConfig
    weights: LossWeights
    disc_g: torch.nn.Module | None = None


def training_step(
    parts: TrainParts, opt_g, opt_d, batch_a, batch_b, lam: float, phase: LossPhase
) -> dict[str, float] | None:
    """One iteration: a D step, then a G step through the updated discriminators. Returns the named loss
    terms (``d_a``, ``d_b``, ``g_total`` and the objective's G terms, as they are), or None when a loss was
    not finite: that step is skipped (on every rank alike) and ``NonFiniteGuard`` decides what follows."""
    model, runtime, config = parts.model, parts.runtime, parts.config
    memory = runtime.memory_format
    (xa, ya, ma), (xb, yb, mb) = [
        [t.to(runtime.device, non_blocking=True, memory_format=memory) for t in b] for b in (batch_a, batch_b)
    ]
    with runtime.autocast():
        out_a, out_b, codes = parts.gen(xa, xb)
    z_a, z_b = codes.split([len(xa), len(xb)])
    a, b = Side(xa, ya, ma, out_a, z_a), Side(xb, yb, mb, out_b, z_b)
    # D step on detached fakes.
    with runtime.autocast():
        d = discriminator_loss(parts.disc, a, b, lam, config.gan, codes=parts.weights.w_code > 0)
    d_total = sum(d.values())
    d_ok = runtime.all_true(bool(torch.isfinite(d_total)))
    if d_ok:
        opt_d.zero_grad(set_to_none=True)
        d_total.backward()
        opt_d.step()
    # G step through the frozen discriminators.
    model.discriminators.requires_grad_(False)
    disc_g = model.discriminators if parts.disc_g is None else parts.disc_g
    with runtime.autocast():
        g = generator_loss(disc_g, a, b, lam, config.gan, parts.weights, phase, parts.perceptual)
        if config.cycle_loss:
            g["cycle"] = cycle_loss(model.generator, a, b)
    model.discriminators.requires_grad_(True)
    g_total = sum(g.values())
    g_ok = runtime.all_true(bool(torch.isfinite(g_total)))
    if g_ok:
        opt_g.zero_grad(set_to_none=True)
        g_total.backward()
        opt_g.step()
    if not (d_ok and g_ok):
        return None
    losses = d | {"g_total": g_total} | g
    return {k: v.item() for k, v in losses.items()}


def mixup_lambda(seed: int, iteration: int) -> float:
    """The step's mixup lambda ~ Beta(0.2, 0.2): one scalar per iteration, derived from (seed, iteration)."""
    return float(np.random.default_rng([seed, 3, iteration]).beta(0.2, 0.2))


def make_optimisers(model: FaceSwapModel, config: TrainConfig, phase: LossPhase):
    """Adam(0.5, 0.999, eps 1e-7) for the generator and for the discriminators, learning rates times the
    phase's lr_factor; the L2 of the original's regularised convolutions as coupled weight decay."""

    def groups(module: torch.nn.Module, apart: torch.nn.Module | None = None) -> list[dict]:
        """Decayed, then plain; then ``apart``'s parameters as a group of their own, last, so that a
        checkpoint from before it existed still fits the first groups (``load_training_state``)."""
        decayed = {id(m.weight) for m in module.modules() if isinstance(m, RegConv2d)}
        later = {id(p) for p in apart.parameters()} if apart is not None else set()
        params = [p for p in module.parameters() if p.requires_grad and id(p) not in later]
        return [
            {"params": [p for p in params if id(p) in decayed], "weight_decay": L2_DECAY},
            {"params": [p for p in params if id(p) not in decayed], "weight_decay": 0.0},
        ] + ([{"params": list(apart.parameters()), "weight_decay": 0.0}] if apart is not None else [])

    # The fused implementation updates all tensors in one kernel: 8x faster than foreach on CPU.
    fused = next(model.parameters()).device.type in ("cpu", "cuda")

    def adam(param_groups, lr):
        return torch.optim.Adam(param_groups, lr=lr * phase.lr_factor, betas=(0.5, 0.999), eps=1e-7, fused=fused)

    discriminators = model.discriminators
    return adam(groups(model.generator), config.lr_g), adam(groups(discriminators, discriminators.code), config.lr_d)


def face_samples(faces_a: FaceSet, faces_b: FaceSet, model_config: ModelConfig, config: TrainConfig):
    """The samplers of person A and person B (colour matching draws from both people's faces)."""
    pool = faces_a.faces + faces_b.faces
    return [
        FaceSamples(
            faces,
            pool,
            model_config.resolution,
            config.seed,
            side,
            config.prob_colour_match,
            config.motion_blur,
            config.eye_masks,
        )
        for faces, side in ((faces_a, "src"), (faces_b, "dst"))
    ]

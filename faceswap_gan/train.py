"""Stage 2: train the faceswap-GAN on a ``prepare`` folder (spec §2-3).

``train_model`` owns the order and cadence of training: per iteration one generator forward, a D step,
a G step; at schedule switches new optimisers (the original reset Adam there too) and the decoder swap;
every ``display_every`` iterations a loss row, a plot, a preview and a checkpoint; every ``backup_every``
a kept copy. Running it again on the same run folder resumes exactly where it stopped.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from faceswap_gan.config import LossWeights, ModelConfig, TrainConfig
from faceswap_gan.errors import UserError
from faceswap_gan.io.checkpoint import load_checkpoint, save_checkpoint
from faceswap_gan.io.layout import AUG_SIDE
from faceswap_gan.nets.blocks import RegConv2d
from faceswap_gan.nets.model import FaceSwapModel
from faceswap_gan.nets.perceptual import load_perceptual
from faceswap_gan.runtime import Runtime, deferred_interrupt, setup_runtime, teardown_runtime
from faceswap_gan.training.data import FaceSamples, FaceSet, make_loader, preview_faces
from faceswap_gan.training.objective import Side, cycle_loss, discriminator_loss, generator_loss
from faceswap_gan.training.reporting import report
from faceswap_gan.training.run_folder import resume_state, write_run_config
from faceswap_gan.training.schedule import LossPhase, loss_schedule, phase_at, switches_at

L2_DECAY = 2e-4  # Adam's coupled weight decay 2e-4 is the gradient of the original's L2 penalty 1e-4 * sum(w^2)
MAX_BAD_STEPS = 3  # non-finite losses in a row before the last checkpoint is restored


@dataclass
class TrainSummary:
    run_dir: Path
    first_iteration: int
    iterations_done: int  # total completed, including earlier runs
    seconds: float
    last_losses: dict[str, float]

    def describe(self) -> str:
        done = self.iterations_done - self.first_iteration
        rate = done / self.seconds if self.seconds else 0.0
        losses = ", ".join(f"{k} {v:.4f}" for k, v in self.last_losses.items())
        return f"{done} iterations in {self.seconds:.1f} s ({rate:.2f} it/s), now at {self.iterations_done}; {losses}"


def train_model(
    data_dir: str | os.PathLike,
    run_dir: str | os.PathLike,
    model_config: ModelConfig,
    config: TrainConfig,
    weights: LossWeights | None = None,
    progress: bool = True,
    stop_after: int | None = None,
) -> TrainSummary:
    """Train (or resume) in ``run_dir``; ``stop_after`` ends this run early after that many iterations."""
    data_dir, run_dir, weights = Path(data_dir), Path(run_dir), weights or LossWeights()
    # 1. Data, run folder, where to start.
    faces_a = FaceSet.from_data_dir(data_dir, "src", (AUG_SIDE,) if config.part_augmentation else ())
    faces_b = FaceSet.from_data_dir(data_dir, "dst")
    state = resume_state(run_dir, model_config)
    runtime = setup_runtime(config.device)
    try:
        if runtime.is_main:
            write_run_config(run_dir, model_config, config, weights)
        # 2. Model, optimisers, perceptual network.
        model = FaceSwapModel(model_config, seed=config.seed).to(runtime.device)
        phases = loss_schedule(config.iterations, config.schedule, config.display_every)
        start = state["iteration"] if state else 0
        opt_g, opt_d = _optimisers(model, config, phase_at(phases, start))
        if state:
            _load(state, model, opt_g, opt_d)
        perceptual = load_perceptual(config.perceptual, config.perceptual_weights, config.perceptual_before_activation)
        perceptual = perceptual.to(runtime.device) if perceptual is not None else None
        if runtime.device.type == "cuda":
            model = model.to(memory_format=torch.channels_last)
        gen, disc = model.generator, model.discriminators
        if runtime.distributed:
            gen, disc = DistributedDataParallel(gen), DistributedDataParallel(disc)
        parts = _Parts(model, gen, disc, perceptual, runtime, config, weights)
        # 3. The loop.
        stop = config.iterations if stop_after is None else min(config.iterations, start + stop_after)
        loader = make_loader(
            _samples(faces_a, faces_b, model_config, config),
            config.batch_size,
            start,
            stop - 1,
            _workers(config),
            runtime.rank,
            runtime.world_size,
        )
        preview = [preview_faces(f, model_config.resolution).to(runtime.device) for f in (faces_a, faces_b)]
        ckpt = run_dir / "checkpoints" / "latest.pt"
        history, bad, last, began = [], 0, {}, time.perf_counter()
        bar = tqdm(total=stop - start, initial=0, desc="train", unit="it", disable=not (progress and runtime.is_main))
        cleanup = contextlib.ExitStack()
        interrupted = cleanup.enter_context(deferred_interrupt())
        try:
            for iteration, (batch_a, batch_b) in zip(range(start, stop), loader, strict=False):
                if interrupted():  # Ctrl-C: keep every finished iteration, then stop
                    if runtime.is_main and iteration > start:
                        _save(ckpt, model, opt_g, opt_d, config, iteration)
                    raise KeyboardInterrupt
                # 3a. Schedule switches: fresh optimisers at the new learning rates, maybe the decoder swap.
                for phase in switches_at(phases, iteration):
                    if phase.swap_decoders:
                        model.generator.swap_decoders()
                    opt_g, opt_d = _optimisers(model, config, phase)
                phase = phase_at(phases, iteration)
                # 3b. One iteration: D step then G step.
                losses = _step(parts, opt_g, opt_d, batch_a, batch_b, _mixup(config.seed, iteration), phase)
                # 3c. A non-finite loss skips the step; non-finite weights never reach a checkpoint.
                done = iteration + 1
                due = done % config.display_every == 0 or done == stop
                if losses is not None and due and not _finite(model):
                    losses, bad = None, MAX_BAD_STEPS - 1  # restore right away
                bar.update(1)
                if losses is None:
                    bad += 1
                    if bad >= MAX_BAD_STEPS:
                        _restore(ckpt, model, opt_g, opt_d, iteration)
                        bad = 0
                    continue
                bad, last = 0, losses
                history.append(losses)
                bar.set_postfix(g=f"{losses['g_total']:.3f}", d=f"{losses['d_a'] + losses['d_b']:.3f}")
                # 3d. Cadence: losses, plot, preview and checkpoint; backups.
                if due and runtime.is_main:
                    model.eval()
                    report(run_dir, done, history, model.generator, preview)
                    model.train()
                    history = []
                    _save(ckpt, model, opt_g, opt_d, config, done)
                    if done % config.backup_every == 0:
                        shutil.copyfile(ckpt, run_dir / "checkpoints" / f"backup_iter{done:06d}.pt")
        finally:
            bar.close()
            cleanup.close()
        return TrainSummary(run_dir, start, stop, time.perf_counter() - began, last)
    finally:
        teardown_runtime(runtime)


@dataclass(frozen=True)
class _Parts:
    """What every step uses: the model, its (possibly distributed) generator and discriminators, the
    perceptual network, where it runs, and the settings."""

    model: FaceSwapModel
    gen: torch.nn.Module
    disc: torch.nn.Module
    perceptual: torch.nn.Module | None
    runtime: Runtime
    config: TrainConfig
    weights: LossWeights


def _step(parts: _Parts, opt_g, opt_d, batch_a, batch_b, lam: float, phase: LossPhase) -> dict[str, float] | None:
    """One iteration: a D step, then a G step through the updated discriminators. A step whose loss is
    not finite is skipped (on every rank alike); then None is returned so that the caller can count it."""
    model, runtime, config = parts.model, parts.runtime, parts.config
    memory = torch.channels_last if runtime.device.type == "cuda" else torch.contiguous_format
    (xa, ya, ma), (xb, yb, mb) = [
        [t.to(runtime.device, non_blocking=True, memory_format=memory) for t in b] for b in (batch_a, batch_b)
    ]
    with runtime.autocast():
        out_a, out_b = parts.gen(xa, xb)
    a, b = Side(xa, ya, ma, out_a), Side(xb, yb, mb, out_b)
    # D step on detached fakes.
    with runtime.autocast():
        d = discriminator_loss(parts.disc, a, b, lam, config.gan)
    d_total = d["d_a"] + d["d_b"]
    d_ok = runtime.all_true(bool(torch.isfinite(d_total)))
    if d_ok:
        opt_d.zero_grad(set_to_none=True)
        d_total.backward()
        opt_d.step()
    # G step through the frozen discriminators (their unwrapped module: no gradient sync needed).
    model.discriminators.requires_grad_(False)
    with runtime.autocast():
        g = generator_loss(model.discriminators, a, b, lam, config.gan, parts.weights, phase, parts.perceptual)
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
    losses = {"d_a": d["d_a"], "d_b": d["d_b"], "g_total": g_total} | g
    return {k: v.item() for k, v in losses.items()}


def _finite(model: torch.nn.Module) -> bool:
    return all(bool(torch.isfinite(p).all()) for p in model.parameters())


def _mixup(seed: int, iteration: int) -> float:
    """The step's mixup lambda ~ Beta(0.2, 0.2): one scalar per iteration, derived from (seed, iteration)."""
    return float(np.random.default_rng([seed, 3, iteration]).beta(0.2, 0.2))


def _optimisers(model: FaceSwapModel, config: TrainConfig, phase: LossPhase):
    """Adam(0.5, 0.999, eps 1e-7) for the generator and for the discriminators, learning rates times the
    phase's lr_factor; the L2 of the original's regularised convolutions as coupled weight decay."""

    def groups(module: torch.nn.Module) -> list[dict]:
        decayed = {id(m.weight) for m in module.modules() if isinstance(m, RegConv2d)}
        params = [p for p in module.parameters() if p.requires_grad]
        return [
            {"params": [p for p in params if id(p) in decayed], "weight_decay": L2_DECAY},
            {"params": [p for p in params if id(p) not in decayed], "weight_decay": 0.0},
        ]

    # The fused implementation updates all tensors in one kernel: 8x faster than foreach on CPU.
    fused = next(model.parameters()).device.type in ("cpu", "cuda")

    def adam(module, lr):
        return torch.optim.Adam(groups(module), lr=lr * phase.lr_factor, betas=(0.5, 0.999), eps=1e-7, fused=fused)

    return adam(model.generator, config.lr_g), adam(model.discriminators, config.lr_d)


def _samples(faces_a: FaceSet, faces_b: FaceSet, model_config: ModelConfig, config: TrainConfig):
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


def _workers(config: TrainConfig) -> int:
    return max(1, (os.cpu_count() or 2) - 1) if config.workers == -1 else config.workers


def _save(path: Path, model: FaceSwapModel, opt_g, opt_d, config: TrainConfig, iteration: int) -> None:
    save_checkpoint(
        path,
        iteration=iteration,
        train_config=asdict(config),
        opt_g=opt_g.state_dict(),
        opt_d=opt_d.state_dict(),
        **model.state(),
    )


def _load(state: dict, model: FaceSwapModel, opt_g, opt_d) -> None:
    """Weights and optimiser moments of a checkpoint written by ``_save`` (resume and restore)."""
    model.load_state(state)
    opt_g.load_state_dict(state["opt_g"])
    opt_d.load_state_dict(state["opt_d"])


def _restore(path: Path, model: FaceSwapModel, opt_g, opt_d, iteration: int) -> None:
    if not path.is_file():
        raise UserError(
            f"losses stopped being finite at iteration {iteration} before any checkpoint; "
            "lower the learning rates (--lr-g, --lr-d) or check the data"
        )
    state = load_checkpoint(path, next(model.parameters()).device)
    _load(state, model, opt_g, opt_d)
    print(
        f"warning: {MAX_BAD_STEPS} non-finite losses in a row at iteration {iteration}; restored the "
        f"checkpoint of iteration {state['iteration']}",
        file=sys.stderr,
    )

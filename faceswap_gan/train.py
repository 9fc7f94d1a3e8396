"""Stage 2: train the faceswap-GAN on a ``prepare`` folder (spec §2-3).

``train_model`` owns the order and cadence of training, and only that: per iteration one training step
(one generator forward, a D step, a G step; ``training/step.py``); at schedule switches new optimisers
(the original reset Adam there too) and the decoder swap; every ``display_every`` iterations a loss row,
a plot, a preview and a checkpoint; every ``backup_every`` a kept copy. What a non-finite step leads to is
``training/nonfinite.py``'s. Running it again on the same run folder resumes exactly where it stopped.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from faceswap_gan.config import LossWeights, ModelConfig, TrainConfig
from faceswap_gan.errors import UserError
from faceswap_gan.io.atomic import atomic_write
from faceswap_gan.io.layout import AUG_SIDE
from faceswap_gan.nets.model import FaceSwapModel
from faceswap_gan.nets.perceptual import load_perceptual
from faceswap_gan.runtime import Runtime, deferred_interrupt, running_on, usable_cores
from faceswap_gan.training.average import WeightAverage
from faceswap_gan.training.compiled import compile_parts, wants_compile
from faceswap_gan.training.data import FaceSet, make_loader, preview_faces
from faceswap_gan.training.held_out import LEVELS, HeldOutJudge, reached
from faceswap_gan.training.nonfinite import NonFiniteGuard
from faceswap_gan.training.prior import apply_prior, load_prior
from faceswap_gan.training.reporting import loss_row, read_losses, reconcile, report
from faceswap_gan.training.run_folder import (
    backup_checkpoint,
    latest_checkpoint,
    load_training_state,
    resume_state,
    save_training_state,
    write_run_config,
)
from faceswap_gan.training.schedule import loss_schedule, phase_at, switches_at
from faceswap_gan.training.step import TrainParts, face_samples, make_optimisers, mixup_lambda, training_step


@dataclass
class TrainSummary:
    run_dir: Path
    first_iteration: int
    iterations_done: int  # total completed, including earlier runs
    seconds: float
    last_losses: dict[str, float]
    identity_reached: dict[float, float] = field(default_factory=dict)  # level -> seconds into this run

    def describe(self) -> str:
        done = self.iterations_done - self.first_iteration
        rate = done / self.seconds if self.seconds else 0.0
        losses = ", ".join(f"{k} {v:.4f}" for k, v in self.last_losses.items())
        text = f"{done} iterations in {self.seconds:.1f} s ({rate:.2f} it/s), now at {self.iterations_done}; {losses}"
        for level, seconds in sorted(self.identity_reached.items()):
            text += f"\nheld-out identity transfer {level:.1f} both ways reached after {seconds / 60:.1f} min"
        return text


def train_model(
    data_dir: str | os.PathLike,
    run_dir: str | os.PathLike,
    model_config: ModelConfig,
    config: TrainConfig,
    weights: LossWeights | None = None,
    progress: bool = True,
    stop_after: int | None = None,
    faces: tuple[FaceSet, FaceSet] | None = None,
) -> TrainSummary:
    """Train (or resume) in ``run_dir``; ``stop_after`` ends this run early after that many iterations.
    ``faces`` replaces the faces of A and B in ``data_dir`` (``pretrain``: the same pool on both sides); no
    held-out faces are judged then."""
    data_dir, run_dir, weights = Path(data_dir), Path(run_dir), weights or LossWeights()
    # 1. Data, and where to start.
    judged = faces is None  # the pair's own held-out faces are measured, a pretraining pool's are not
    if faces is None:
        aug = (AUG_SIDE,) if config.part_augmentation else ()
        faces = FaceSet.from_data_dir(data_dir, "src", aug), FaceSet.from_data_dir(data_dir, "dst")
    faces_a, faces_b = faces
    state = resume_state(run_dir, model_config)
    start = state["iteration"] if state else 0
    # A fresh run starts from the prior's generator (read now: a bad file is reported before any work).
    prior = load_prior(config.prior, model_config)[0] if config.prior and not state else None
    stop = config.iterations if stop_after is None else min(config.iterations, start + stop_after)
    with running_on(config.device, config.precision) as runtime:
        if runtime.is_main:
            write_run_config(run_dir, model_config, config, weights)
        # 2. Model, optimisers (restored on resume), perceptual network, data loader.
        parts = _build(model_config, config, weights, runtime)
        model, phases = parts.model, loss_schedule(config.iterations, config.schedule, config.display_every)
        opt_g, opt_d = make_optimisers(model, config, phase_at(phases, start))
        if prior is not None:  # a fresh run: the discriminators and optimisers start fresh
            apply_prior(model.generator, prior, str(config.prior))
        average = WeightAverage(model.generator, config.average)  # what is shown, judged and saved
        if state:
            load_training_state(state, model, opt_g, opt_d, average)
        samples = face_samples(faces_a, faces_b, model_config, config)
        loader = make_loader(samples, config.batch_size, start, stop - 1, _workers(config), runtime.rank,
                             runtime.world_size, config.warp, config.warp_until)  # fmt: skip
        preview = [preview_faces(f, model_config.resolution).to(runtime.device) for f in (faces_a, faces_b)]
        ckpt, guard = latest_checkpoint(run_dir), NonFiniteGuard(latest_checkpoint(run_dir), average)
        judge = None
        if runtime.is_main and judged:
            judge = HeldOutJudge.load(data_dir, (faces_a, faces_b), model_config.resolution)
        if config.until_identity is not None and runtime.is_main and judge is None:
            raise UserError(f"{data_dir}: --until-identity needs held-out faces; run prepare with --holdout")
        # The loss rows so far travel in the checkpoint; what the folder shows is made to agree with it.
        log = _resumed_log(run_dir, state)
        if state and runtime.is_main:
            reconcile(run_dir, start, log, average.generator.eval(), preview)
            model.train()
        history, last, began, levels = [], {}, time.perf_counter(), {}
        # Compiling counts in the run's time (and in the time to each quality level): it is the user's wait.
        if wants_compile(config.compile, runtime, stop - start):
            parts, loader = compile_parts(parts, loader, phase_at(phases, start), announce=progress)
        # 3. The loop: order and cadence.
        bar = tqdm(
            total=stop - start,
            desc="train bf16" if runtime.bf16 else "train",
            unit="it",
            disable=not (progress and runtime.is_main),
        )
        with bar, deferred_interrupt() as interrupted:
            for iteration, (batch_a, batch_b) in zip(range(start, stop), loader, strict=False):
                if interrupted():  # Ctrl-C: keep every finished iteration, then stop
                    if runtime.is_main and iteration > start:
                        save_training_state(ckpt, model, opt_g, opt_d, config, iteration, log, average)
                    raise KeyboardInterrupt
                # 3a. Schedule switches: fresh optimisers at the new learning rates, maybe the decoder swap.
                for phase in switches_at(phases, iteration):
                    if phase.swap_decoders:
                        model.generator.swap_decoders()
                        average.swap_decoders()
                    opt_g, opt_d = make_optimisers(model, config, phase)
                # 3b. One iteration: D step then G step.
                phase, lam = phase_at(phases, iteration), mixup_lambda(config.seed, iteration)
                losses = training_step(parts, opt_g, opt_d, batch_a, batch_b, lam, phase)
                done = iteration + 1
                due = done % config.display_every == 0 or done == stop
                bar.update(1)
                if not guard.accept(losses, due, model, opt_g, opt_d, iteration):
                    continue
                average.update()
                last = losses
                history.append(losses)
                shown = {"g": f"{losses['g_total']:.3f}", "d": f"{losses['d_a'] + losses['d_b']:.3f}"}
                if log and "id_a2b" in log[-1]:
                    shown["id"] = f"{log[-1]['id_a2b']:.2f}/{log[-1]['id_b2a']:.2f}"
                bar.set_postfix(shown)
                # 3c. Cadence: the checkpoint first (with the interval's loss row), then what shows it: the
                #     loss table, plot and preview; backups. A crash between the two is mended on resume.
                stop_here = False
                if due and runtime.is_main:
                    model.eval()
                    face_model = average.generator.eval()
                    log.append(loss_row(done, history) | (judge.measure(face_model) if judge else {}))
                    history = []
                    save_training_state(ckpt, model, opt_g, opt_d, config, done, log, average)
                    if done % config.backup_every == 0:
                        with atomic_write(backup_checkpoint(run_dir, done)) as tmp:
                            shutil.copyfile(ckpt, tmp)
                    report(run_dir, log, face_model, preview)
                    model.train()
                    levels |= {
                        lv: time.perf_counter() - began for lv in LEVELS if lv not in levels and reached(log, lv)
                    }
                    stop_here = config.until_identity is not None and reached(log, config.until_identity)
                # 3d. The stopping rule: the main process decides, every rank stops with it.
                if due and config.until_identity is not None and not runtime.all_true(not stop_here):
                    stop = done
                    break
        return TrainSummary(run_dir, start, stop, time.perf_counter() - began, last, levels)


def _build(model_config: ModelConfig, config: TrainConfig, weights: LossWeights, runtime: Runtime) -> TrainParts:
    """The model and the perceptual network on the runtime's device and memory format, the model wrapped
    for DDP when distributed."""
    model = runtime.place(FaceSwapModel(model_config, seed=config.seed))
    perceptual = load_perceptual(config.perceptual, config.perceptual_weights, config.perceptual_before_activation)
    perceptual = runtime.place(perceptual) if perceptual is not None else None
    gen, disc = model.generator, model.discriminators
    if runtime.distributed:
        if not weights.w_code:  # unused then: DDP would wait for its gradients
            model.discriminators.code.requires_grad_(False)
        gen, disc = DistributedDataParallel(gen), DistributedDataParallel(disc)
    return TrainParts(model, gen, disc, perceptual, runtime, config, weights)


def _resumed_log(run_dir: Path, state: dict | None) -> list[dict[str, float]]:
    """The loss rows up to the checkpoint: kept in it since checkpoints carry them; from losses.csv, cut
    at the checkpoint's iteration, for checkpoints written before."""
    if not state:
        return []
    if "log" in state:
        return [dict(row) for row in state["log"]]
    return [row for row in read_losses(run_dir / "losses.csv") if row.get("iteration", 0) <= state["iteration"]]


def _workers(config: TrainConfig) -> int:
    return max(1, usable_cores() - 1) if config.workers == -1 else config.workers

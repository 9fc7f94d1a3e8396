"""What training does when it stops being finite, in one place.

A step whose loss is not finite has already been skipped by ``training_step`` (it returned None). Here:
``MAX_BAD_STEPS`` such steps in a row restore the last checkpoint; weights that are not finite at a save
point restore it at once, so that they never reach a checkpoint; no checkpoint yet is a clear error."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from faceswap_gan.errors import UserError
from faceswap_gan.io.checkpoint import load_checkpoint
from faceswap_gan.training.average import WeightAverage
from faceswap_gan.training.run_folder import load_training_state

MAX_BAD_STEPS = 3  # non-finite losses in a row before the last checkpoint is restored


def weights_finite(model: torch.nn.Module) -> bool:
    return all(bool(torch.isfinite(p).all()) for p in model.parameters())


class NonFiniteGuard:
    def __init__(self, checkpoint: Path, average: WeightAverage | None = None) -> None:
        self.checkpoint, self.average, self.bad = checkpoint, average, 0

    def accept(self, losses: dict[str, float] | None, save_due: bool, model, opt_g, opt_d, iteration: int) -> bool:
        """Whether the step's losses count; restores the last checkpoint into ``model`` and the optimisers
        when the policy says so. ``save_due``: a checkpoint is about to be written."""
        if losses is not None and save_due and not weights_finite(model):
            losses, self.bad = None, MAX_BAD_STEPS - 1  # restore right away
        if losses is not None:
            self.bad = 0
            return True
        self.bad += 1
        if self.bad >= MAX_BAD_STEPS:
            self._restore(model, opt_g, opt_d, iteration)
            self.bad = 0
        return False

    def _restore(self, model, opt_g, opt_d, iteration: int) -> None:
        if not self.checkpoint.is_file():
            raise UserError(
                f"losses stopped being finite at iteration {iteration} before any checkpoint; "
                "lower the learning rates (--lr-g, --lr-d) or check the data"
            )
        state = load_checkpoint(self.checkpoint, next(model.parameters()).device)
        load_training_state(state, model, opt_g, opt_d, self.average)
        print(
            f"warning: {MAX_BAD_STEPS} non-finite losses in a row at iteration {iteration}; restored the "
            f"checkpoint of iteration {state['iteration']}",
            file=sys.stderr,
        )

"""An exponential moving average of the generator's weights: the model that is shown, judged and saved.

Why (not in the original): measured on our runs, the generator of a GAN never settles in a short run. From
one display interval to the next its faces go from clean to covered in coloured, grid-like patterns and
back, so the last iterate that convert and evaluate used was a draw of luck (docs/quality-findings.md).
Averaging the weights over the last few hundred iterations (as StyleGAN and ProGAN do for their
generators) keeps what they agree on. It costs one lerp over the weights per iteration, and training
itself is unchanged: the optimiser only ever sees the raw weights.

The decay ramps up as ``min(decay, (1 + n) / (10 + n))`` after n updates, so that a short run, or a run
from a fresh initialisation, is not held back by its first weights.
"""

from __future__ import annotations

import torch
from torch.optim.swa_utils import AveragedModel


class WeightAverage:
    """The average of ``generator``'s weights and buffers; with ``decay`` 0 it is ``generator`` itself."""

    def __init__(self, generator: torch.nn.Module, decay: float) -> None:
        self.live, self.decay, self.weight = generator, decay, 1.0
        self.averaged = AveragedModel(generator, multi_avg_fn=self._lerp, use_buffers=True) if decay > 0 else None

    def _lerp(self, averaged: list[torch.Tensor], current: list[torch.Tensor], _count: torch.Tensor) -> None:
        if averaged[0].is_floating_point():
            torch._foreach_lerp_(averaged, current, self.weight)
        else:  # integer buffers (a batch norm's count) are copied
            torch._foreach_copy_(averaged, current)

    @property
    def generator(self) -> torch.nn.Module:
        """The generator to show, judge, convert with and save as the run's model."""
        return self.averaged.module if self.averaged is not None else self.live

    @torch.no_grad()
    def update(self) -> None:
        if self.averaged is not None:
            n = int(self.averaged.n_averaged)  # kept on the CPU by AveragedModel: no device sync
            self.weight = 1 - min(self.decay, (1 + n) / (10 + n))
            self.averaged.update_parameters(self.live)

    def swap_decoders(self) -> None:
        """Follow the live generator's decoder swap (the original's schedule), or the average mixes them."""
        if self.averaged is not None:
            self.averaged.module.swap_decoders()

    def state(self) -> dict:
        """Checkpoint entries: ``generator`` is always the one to swap with (convert, evaluate, export and
        priors read only it); ``generator_train`` the raw weights training resumes from."""
        if self.averaged is None:
            return {}
        return {
            "generator": self.averaged.module.state_dict(),
            "generator_train": self.live.state_dict(),
            "average_count": int(self.averaged.n_averaged),
        }

    def load(self, state: dict) -> None:
        """From a checkpoint, after the live weights were loaded from it; one written without an average
        starts it afresh from the weights it holds."""
        if self.averaged is None:
            return
        self.averaged.module.load_state_dict(state["generator"])
        # Without a saved average, the next update copies the live weights again.
        self.averaged.n_averaged.fill_(int(state.get("average_count", 1)) if "generator_train" in state else 0)

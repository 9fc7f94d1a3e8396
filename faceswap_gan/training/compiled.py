"""torch.compile for training (``--compile``): the generator and the discriminators as compiled graphs.

What it buys: under bf16 autocast on CPU every convolution casts its input to bf16 and its gradient back,
each cast an operator of its own in eager PyTorch (about 70 ms of a 0.76-s step on the Zen 4 EPYC);
Inductor fuses them, with the normalisations and activations around them, into a few loops. There,
in six rounds, a bf16 step of the original's default configuration took 0.605-0.633 s compiled
against 0.644-0.722 eager (4-12 % less), and in float32 compiling gained nothing (0.912-0.964 against
0.917-0.976; README, Speed). What it costs: about 75 s of compiling on two cores before the first step
(Inductor's cache in /tmp makes later runs of the same shapes start in seconds). Hence ``auto``
compiles on CPU under bf16 for runs of ``AUTO_MIN_ITERATIONS`` or more, where the time is won back,
and never for short runs such as the demo's and the tests'. GPUs are left to ``on``: unmeasured there.
Distributed runs stay eager.

Compiling can fail on a machine we never saw (no C++ compiler, a bug of Inductor's), and it fails late,
inside the first call. So the compiled modules first run one trial step, forward and backward with
optimisers that do nothing, on the run's first batch; if that raises, training goes on uncompiled after
one warning. The trial changes nothing: gradients are cleared and buffers (batch-norm statistics)
restored.
"""

from __future__ import annotations

import dataclasses
import itertools
import shutil
import sys
from collections.abc import Iterable, Iterator

import torch

from faceswap_gan.errors import short_error, warn
from faceswap_gan.runtime import Runtime
from faceswap_gan.training.schedule import LossPhase
from faceswap_gan.training.step import TrainParts, training_step

AUTO_MIN_ITERATIONS = 2000  # ~75 s of compiling, won back at ~0.05 s a step after about 1,500 steps


def wants_compile(setting: str, runtime: Runtime, iterations: int) -> bool:
    """Whether this run compiles: ``setting`` is ``TrainConfig.compile``, ``iterations`` this run's count."""
    if setting == "off":
        return False
    if runtime.distributed:
        if setting == "on":
            warn("--compile on: distributed runs train uncompiled")
        return False
    if setting == "on":
        return True
    has_compiler = shutil.which("c++") is not None or shutil.which("g++") is not None
    return runtime.device.type == "cpu" and runtime.bf16 and iterations >= AUTO_MIN_ITERATIONS and has_compiler


def compile_parts(
    parts: TrainParts, batches: Iterable, phase: LossPhase, announce: bool = True
) -> tuple[TrainParts, Iterator]:
    """``parts`` with compiled generator and discriminators, and ``batches`` as they were (the first one,
    taken for the trial step, put back); ``parts`` unchanged where compiling failed."""
    batches = iter(batches)
    first = next(batches, None)
    if first is None:
        return parts, batches
    batches = itertools.chain([first], batches)
    # Static shapes: a training run feeds one shape, and a second model of another resolution in the same
    # process (`faceswap-gan benchmark`: 64 px, then 128) would otherwise be recompiled with symbolic
    # shapes, which Inductor (torch 2.13) fails to lower in the convolutions' backward.
    disc = torch.compile(parts.model.discriminators, dynamic=False)  # for the D step and the G step alike
    gen = torch.compile(parts.model.generator, dynamic=False)
    compiled = dataclasses.replace(parts, gen=gen, disc=disc, disc_g=disc)
    if announce:
        print("compiling the model for this machine (a minute or two; --compile off skips it)", file=sys.stderr)
    buffers = [b.clone() for b in parts.model.buffers()]
    try:
        training_step(compiled, _NoStep(), _NoStep(), *first, 0.5, phase)
    except Exception as exc:  # noqa: BLE001 - any failure of the compiler means: train uncompiled
        warn(f"compiling the model failed, training uncompiled: {short_error(exc)}")
        return parts, batches
    finally:
        parts.model.discriminators.requires_grad_(True)  # as training_step leaves it, also after an error
        parts.model.zero_grad(set_to_none=True)
        with torch.no_grad():
            for buffer, saved in zip(parts.model.buffers(), buffers, strict=True):
                buffer.copy_(saved)
    return compiled, batches


class _NoStep:
    """An optimiser that does nothing: the trial step computes, and changes no weight."""

    def zero_grad(self, set_to_none: bool = True) -> None:
        pass

    def step(self) -> None:
        pass

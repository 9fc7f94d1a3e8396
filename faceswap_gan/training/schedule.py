"""The automatic loss schedule (spec §2.10), scaled to any number of iterations.

Each phase starts at ``fraction * total - display_every // 2``, as in the original (its display interval
was 300): at 40,000 iterations the switch points are exactly the original's (7,850, 11,850, ...,
35,850), and the Colab preset at 34,000 gives the Colab notebook's (6,650, ..., 30,450). The original
rebuilt its training functions at every switch, which reset Adam's moments: the trainer does the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True)
class LossPhase:
    start: int  # first iteration of the phase
    use_pl: bool  # perceptual loss on
    mask_hinge: bool  # hinge on alpha (margin m_mask) instead of its L1 sparsity
    m_mask: float
    lr_factor: float  # multiplies both learning rates
    swap_decoders: bool = False  # exchange decoder A and B weights when the phase starts
    mask_factor: float = 1.0  # multiplies the mask terms (LossWeights.w_mask), as lr_factor the learning rates


# (fraction of the run, use_pl, mask_hinge, m_mask, lr_factor, swap_decoders[, mask_factor])
_PRESETS = {
    "train": [
        (Fraction(0), False, False, 0.0, 1.0, False),
        (Fraction(1, 5), True, False, 0.0, 1.0, False),
        (Fraction(3, 10), True, True, 0.5, 1.0, False),
        (Fraction(2, 5), True, True, 0.2, 1.0, False),
        (Fraction(1, 2), True, True, 0.4, 1.0, False),
        (Fraction(2, 3), True, False, 0.0, 0.3, False),
        (Fraction(4, 5), True, True, 0.1, 0.3, True),
        (Fraction(9, 10), True, False, 0.0, 0.1, False),
    ],
    "colab": [
        (Fraction(0), False, False, 0.0, 1.0, False),
        (Fraction(1, 5), True, False, 0.0, 1.0, False),
        (Fraction(3, 10), True, True, 0.5, 1.0, False),
        (Fraction(2, 5), True, True, 0.2, 1.0, False),
        (Fraction(1, 2), True, True, 0.4, 0.3, False),
        (Fraction(2, 3), True, True, 0.5, 1.0, True),
        (Fraction(4, 5), True, True, 0.1, 0.3, False),
        (Fraction(9, 10), True, False, 0.0, 0.1, False),
    ],
    # Not the original's (issue 12, docs/quality-findings.md): the perceptual loss from the start, and a
    # mask hinge at 0.9 with ten times the weight, so that the decoder's face reaches the picture within
    # a few hundred iterations. The decoders' raw faces were already the other person's after 12 minutes
    # while the original's mask, near 0.1-0.5, hid them.
    "fast": [
        (Fraction(0), True, True, 0.9, 1.0, False, 10.0),
        (Fraction(2, 3), True, True, 0.9, 0.3, False, 10.0),
        (Fraction(9, 10), True, True, 0.9, 0.1, False, 10.0),
    ],
}


def loss_schedule(total: int, preset: str = "train", display_every: int = 300) -> list[LossPhase]:
    """The phases of a run of ``total`` iterations; later phases win where tiny runs make starts collide."""
    offset = display_every // 2
    phases = []
    for fraction, *rest in _PRESETS[preset]:
        start = 0 if fraction == 0 else max(1, int(fraction * total) - offset)
        phases.append(LossPhase(start, *rest))
    return phases


def phase_at(phases: list[LossPhase], iteration: int) -> LossPhase:
    """The phase in force at ``iteration``."""
    return [p for p in phases if p.start <= iteration][-1]


def switches_at(phases: list[LossPhase], iteration: int) -> list[LossPhase]:
    """The phases that start exactly at ``iteration`` (more than one only in very short runs)."""
    return [p for p in phases if p.start == iteration and iteration > 0]

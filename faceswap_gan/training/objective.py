"""The training objective: the loss terms of ``losses`` composed for one D step and one G step (spec §2).

Both people are handled together: a (B, ...) tensor per side, "a" = person A (src), "b" = person B (dst).
Decisions (written down because they differ from the original's code, not its maths):
- one generator forward per iteration serves both the D step (detached) and the G step; the original
  ran the generator again on a fresh batch for its G step;
- the two D losses and the two G losses are each summed and stepped by one optimiser. Each D and each
  decoder only gets gradients from its own side, so this equals the original's separate optimisers for
  them; the shared encoder takes one Adam step on the sum where the original took two.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from faceswap_gan.config import LossWeights
from faceswap_gan.nets.autoencoder import DecoderOutput
from faceswap_gan.training.losses import (
    code_confusion_loss,
    code_discriminator_loss,
    deep_supervision_loss,
    edge_loss,
    l1,
    lsgan,
    mask_hinge_loss,
    mask_l1_loss,
    mask_tv_loss,
    perceptual_loss,
    ralsgan_d_loss,
    ralsgan_g_loss,
    reconstruction_loss,
)
from faceswap_gan.training.schedule import LossPhase

CYCLE_WEIGHT = 10.0


@dataclass
class Side:
    """One person's batch and the generator's output on it."""

    warped: torch.Tensor  # (B, 3, R, R) the distorted input, [-1, 1]
    target: torch.Tensor  # (B, 3, R, R) the undistorted target, [-1, 1]
    eyes: torch.Tensor  # (B, 1, R, R) eye mask of the target, [0, 1]
    out: DecoderOutput  # the generator's reconstruction of ``warped``
    code: torch.Tensor  # (B, C, 8, 8) the encoder's code of ``warped``

    @property
    def composite(self) -> torch.Tensor:
        return self.out.composite(self.warped)


def discriminator_loss(discriminators, a: Side, b: Side, lam: float, gan: str, codes: bool = False
                       ) -> dict[str, torch.Tensor]:  # fmt: skip
    """D losses of both sides, and ``d_code`` of the code discriminator where ``codes`` (w_code on);
    fakes and codes are detached so that only the discriminators learn."""
    inputs = []
    for side in (a, b):
        real, composite, raw = side.target, side.composite.detach(), side.out.colour.detach()
        if gan == "mixup_lsgan":  # mixup with one lambda for both terms
            images = [lam * real + (1 - lam) * composite, lam * real + (1 - lam) * raw]
        else:
            images = [real, composite, raw]
        inputs += [torch.cat(images), torch.cat([side.warped] * len(images))]
    losses, scores = {}, None
    if codes:
        *preds, scores = discriminators(*inputs, codes=torch.cat([a.code, b.code]).detach())
    else:
        preds = discriminators(*inputs)
    for name, pred in zip(("d_a", "d_b"), preds, strict=True):
        if gan == "mixup_lsgan":
            losses[name] = 2 * lsgan(pred, lam)  # = MSE(D(mix composite), lam) + MSE(D(mix raw), lam)
        else:
            losses[name] = ralsgan_d_loss(*pred.chunk(3))
    if scores is not None:
        losses["d_code"] = code_discriminator_loss(*scores.split([len(a.code), len(b.code)]))
    return losses


def generator_loss(discriminators, a: Side, b: Side, lam: float, gan: str, weights: LossWeights, phase: LossPhase,
                   perceptual=None) -> dict[str, torch.Tensor]:  # fmt: skip
    """Named G terms summed over both sides: adv, recon (with deep supervision), edge, pl, mask; and code
    where w_code is on."""
    inputs = []
    for side in (a, b):
        images = (
            [side.composite, side.out.colour]
            if gan == "mixup_lsgan"
            else [side.target, side.composite, side.out.colour]
        )
        inputs += [torch.cat(images), torch.cat([side.warped] * len(images))]
    preds = discriminators(*inputs)
    terms = dict.fromkeys(("adv", "recon", "edge", "pl", "mask"), a.target.new_zeros(()))
    if weights.w_code:  # the encoder hides who is who: each code at logit 0, between A (low) and B (high)
        scores = discriminators.code(torch.cat([a.code, b.code]))
        terms["code"] = weights.w_code * code_confusion_loss(*scores.split([len(a.code), len(b.code)]))
    for side, pred in zip((a, b), preds, strict=True):
        # mixup: 2 * MSE over both halves = MSE(D(composite), 1) + MSE(D(raw), 1)
        adv = 2 * lsgan(pred, 1) if gan == "mixup_lsgan" else ralsgan_g_loss(*pred.chunk(3))
        terms["adv"] = terms["adv"] + weights.w_D * adv
        terms["recon"] = terms["recon"] + reconstruction_loss(side.out.colour, side.target, side.eyes, weights.w_recon,
                                                              weights.w_eyes)  # fmt: skip
        terms["recon"] = terms["recon"] + deep_supervision_loss(side.out.aux, side.target, weights.w_recon)
        terms["edge"] = terms["edge"] + edge_loss(
            side.out.colour, side.target, side.eyes, weights.w_edge, weights.w_eyes
        )
        if weights.w_composite:  # a term of its own, so that it gets its own column in the loss table
            terms["composite"] = terms.get("composite", 0) + weights.w_composite * l1(side.composite, side.target)
        alpha = side.out.alpha
        mask = mask_hinge_loss(alpha, phase.m_mask) if phase.mask_hinge else mask_l1_loss(alpha)
        terms["mask"] = terms["mask"] + weights.w_mask * phase.mask_factor * (mask + mask_tv_loss(alpha))
    if perceptual is not None and phase.use_pl:
        # Mixup of raw and composite: one perceptual pass instead of two (the original's trick). Both sides
        # in one batch; means over equal halves, so twice the joint loss is the sum of the two sides'.
        fake = torch.cat([lam * s.out.colour + (1 - lam) * s.composite for s in (a, b)])
        with torch.no_grad():
            real = perceptual.features(torch.cat([a.target, b.target]))
        terms["pl"] = 2 * perceptual_loss(perceptual.features(fake), real, weights.w_pl)
    return terms


def cycle_loss(generator, a: Side, b: Side) -> torch.Tensor:
    """The original's optional cycle loss: A -> decoder B -> decoder A returns A (and the reverse)."""
    total = a.target.new_zeros(())
    for side, there, back in ((a, "b", "a"), (b, "a", "b")):
        fake = generator.decode(side.target, there)
        again = generator.decode(fake.colour, back)
        total = total + CYCLE_WEIGHT * (l1(again.colour, side.target) + 0.1 * l1(again.alpha, fake.alpha))
    return total

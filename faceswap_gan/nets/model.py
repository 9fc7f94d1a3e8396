"""The whole faceswap-GAN: a generator (shared encoder, decoders A and B) and the two discriminators,
plus the small inference API: ``load_model(path).swap(faces, "AtoB")`` (``io/checkpoint.py``)."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import torch
from torch import nn

from faceswap_gan.config import ModelConfig
from faceswap_gan.errors import UserError, short_error
from faceswap_gan.nets.autoencoder import Decoder, DecoderOutput, Encoder
from faceswap_gan.nets.blocks import init_weights
from faceswap_gan.nets.discriminator import CodeDiscriminator, Discriminator

DIRECTIONS = ("AtoB", "BtoA")


class Generator(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.encoder, self.decoder_a, self.decoder_b = Encoder(config), Decoder(config), Decoder(config)
        self.resolution = config.resolution

    def forward(self, x_a: torch.Tensor, x_b: torch.Tensor) -> tuple[DecoderOutput, DecoderOutput, torch.Tensor]:
        """Reconstruct A with decoder A and B with decoder B; one encoder pass serves both halves. Also
        returns that pass's codes, (len(x_a) + len(x_b), C, 8, 8), for the code discriminator."""
        codes = self.encoder(torch.cat([x_a, x_b]))
        z_a, z_b = codes.split([len(x_a), len(x_b)])
        return self.decoder_a(z_a), self.decoder_b(z_b), codes

    def decode(self, x: torch.Tensor, side: str) -> DecoderOutput:
        """``x`` through the encoder and the decoder of ``side`` ("a" or "b")."""
        return (self.decoder_a if side == "a" else self.decoder_b)(self.encoder(x))

    @torch.inference_mode()
    def swap(self, faces: np.ndarray | torch.Tensor, direction: str = "AtoB") -> tuple[np.ndarray, np.ndarray]:
        """Swap aligned faces: (N, R, R, 3) uint8 RGB -> alpha (N, R, R) float in [0, 1] and colour
        (N, R, R, 3) uint8 RGB. "AtoB" puts B's face on A's faces (decoder B), "BtoA" the reverse."""
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be AtoB or BtoA, got {direction!r}")
        r = self.resolution
        if faces.shape[1:3] != (r, r):
            raise ValueError(f"faces must be {r}x{r} for this model, got {tuple(faces.shape[1:3])}")
        device = next(self.parameters()).device
        x = torch.as_tensor(np.asarray(faces)).to(device).permute(0, 3, 1, 2).float() / 127.5 - 1
        out = self.decode(x, "b" if direction == "AtoB" else "a")
        colour = ((out.colour + 1) * 127.5).clamp(0, 255).round().byte().permute(0, 2, 3, 1)
        return out.alpha[:, 0].cpu().numpy(), colour.cpu().numpy()

    def swap_decoders(self) -> None:
        """Exchange the two decoders' weights (the schedule's late-training swap)."""
        state_a, state_b = self.decoder_a.state_dict(), self.decoder_b.state_dict()
        state_a = {k: v.clone() for k, v in state_a.items()}
        self.decoder_a.load_state_dict(state_b)
        self.decoder_b.load_state_dict(state_a)


class Discriminators(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.disc_a, self.disc_b = Discriminator(config), Discriminator(config)
        self.code = CodeDiscriminator(512 // config.coef)

    def forward(self, image_a: torch.Tensor, cond_a: torch.Tensor, image_b: torch.Tensor, cond_b: torch.Tensor,
                codes: torch.Tensor | None = None):  # fmt: skip
        """Both discriminators in one call (one call per step keeps DistributedDataParallel simple), and
        the code discriminator's scores of ``codes`` where given."""
        scores = self.disc_a(image_a, cond_a), self.disc_b(image_b, cond_b)
        return scores if codes is None else (*scores, self.code(codes))


class FaceSwapModel(nn.Module):
    def __init__(self, config: ModelConfig, seed: int | None = 0) -> None:
        super().__init__()
        self.config = config
        self.generator, self.discriminators = Generator(config), Discriminators(config)
        if seed is not None:
            init_weights(self, torch.Generator().manual_seed(seed))

    @classmethod
    def from_state(cls, data: dict, source: str = "checkpoint") -> FaceSwapModel:
        """The model of a checkpoint dict written with ``state()``, in eval mode; ``source`` names it in errors."""
        try:
            model = cls(ModelConfig(**data["model_config"]), seed=None)
            model.load_state(data)
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise UserError(f"{source}: checkpoint does not match its own model config ({short_error(exc)})") from exc
        return model.eval()

    def state(self) -> dict:
        """The model's part of a checkpoint: its config and the weights of both halves."""
        return {
            "model_config": asdict(self.config),
            "generator": self.generator.state_dict(),
            "discriminators": self.discriminators.state_dict(),
        }

    def load_state(self, data: dict) -> None:
        """Weights from a checkpoint dict written with ``state()`` (the config must already match)."""
        self.generator.load_state_dict(data["generator"])
        # Checkpoints written before the code discriminator existed, or before it was spectrally normalised,
        # keep its fresh weights.
        saved = data["discriminators"]
        if self.stale_code(saved):
            saved = {k: v for k, v in saved.items() if not k.startswith("code.")}
        loaded = self.discriminators.load_state_dict(saved, strict=False)
        missing = [key for key in loaded.missing_keys if not key.startswith("code.")]
        if missing or loaded.unexpected_keys:
            raise RuntimeError(f"discriminator weights missing {missing}, unexpected {loaded.unexpected_keys}")

    def stale_code(self, discriminators: dict) -> bool:
        """Whether a checkpoint's discriminator weights hold no code discriminator of today's form."""
        own = {k for k in self.discriminators.state_dict() if k.startswith("code.")}
        return {k for k in discriminators if k.startswith("code.")} != own

    def swap(self, faces: np.ndarray | torch.Tensor, direction: str = "AtoB") -> tuple[np.ndarray, np.ndarray]:
        """``Generator.swap`` of this model's generator."""
        return self.generator.swap(faces, direction)

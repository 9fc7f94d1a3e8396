"""--precision and the memory layout: what ``auto`` means on each kind of CPU, and a bf16 training step
on CPU that computes in bf16 where it should and stays float32 where it should."""

from __future__ import annotations

import pytest
import torch

from faceswap_gan import runtime as runtime_module
from faceswap_gan.config import LossWeights, ModelConfig, TrainConfig
from faceswap_gan.errors import UserError
from faceswap_gan.nets.model import FaceSwapModel
from faceswap_gan.runtime import Runtime, cpu_flags, cpu_name, resolve_precision
from faceswap_gan.training.schedule import LossPhase
from faceswap_gan.training.step import TrainParts, make_optimisers, training_step

CPU = torch.device("cpu")
PHASE = LossPhase(0, False, False, 0.0, 1.0)


def test_fp32_and_bf16_mean_what_they_say_on_cpu(monkeypatch, capsys):
    monkeypatch.setattr(runtime_module, "cpu_flags", lambda: frozenset({"avx512f", "amx_tile", "amx_bf16"}))
    assert resolve_precision("fp32", CPU) is False
    assert resolve_precision("bf16", CPU) is True
    assert capsys.readouterr().err == ""


def test_bf16_asked_for_on_a_cpu_without_bf16_instructions_runs_but_says_it_is_slower(monkeypatch, capsys):
    monkeypatch.setattr(runtime_module, "cpu_flags", lambda: frozenset({"avx2", "avx512f", "avx512_vnni"}))
    assert resolve_precision("bf16", CPU) is True
    assert "slower than fp32" in capsys.readouterr().err


def test_auto_takes_bf16_only_on_cpus_with_bf16_dot_products(monkeypatch, capsys):
    # Measured faster with AMX (Intel Xeon) and with AVX-512 BF16 (AMD Zen 5); README, Speed.
    for flags in ({"avx512f", "amx_tile", "amx_bf16"}, {"avx512f", "avx512_bf16"}):
        monkeypatch.setattr(runtime_module, "cpu_flags", lambda flags=flags: frozenset(flags))
        assert resolve_precision("auto", CPU) is True
    for flags in ({"avx512f", "avx512_vnni"}, {"asimd"}, set()):
        monkeypatch.setattr(runtime_module, "cpu_flags", lambda flags=flags: frozenset(flags))
        assert resolve_precision("auto", CPU) is False
    assert capsys.readouterr().err == ""


def test_an_unknown_precision_and_bf16_on_mps_are_refused_with_one_line():
    with pytest.raises(UserError, match="--precision fp16: choose one of auto, fp32, bf16"):
        resolve_precision("fp16", CPU)
    with pytest.raises(UserError, match="cpu and cuda"):
        resolve_precision("bf16", torch.device("mps"))
    assert resolve_precision("auto", torch.device("mps")) is False


def test_this_cpu_is_named_and_its_flags_read():
    assert cpu_name()
    if any(line.startswith("cpu family") for line in runtime_module._cpuinfo()):  # x86 Linux
        assert "(family " in cpu_name()  # a VM's "AMD EPYC" alone does not tell Zen 4 from Zen 5
    if runtime_module._cpuinfo():  # Linux: the flags every speed figure names come from here
        assert cpu_flags() and all(" " not in f for f in cpu_flags())


def test_place_puts_convolutions_channels_last_on_cpu():
    conv = Runtime(CPU).place(torch.nn.Conv2d(3, 8, 3))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last) and not conv.weight.is_contiguous()


def _step(bf16: bool):
    """One training step of the 64 px lite model with self-attention (our kernel's 64x64 layer) on a fixed
    batch; returns the model, the losses and the generator's output dtype."""
    model_config = ModelConfig(64, "lite", "hybrid", True)
    runtime = Runtime(CPU, bf16=bf16)
    model = runtime.place(FaceSwapModel(model_config, seed=0))
    config = TrainConfig(batch_size=2, device="cpu")
    opt_g, opt_d = make_optimisers(model, config, PHASE)
    parts = TrainParts(model, model.generator, model.discriminators, None, runtime, config, LossWeights())
    g = torch.Generator().manual_seed(0)
    a, b = ([torch.rand(2, 3, 64, 64, generator=g) * 2 - 1, torch.rand(2, 3, 64, 64, generator=g) * 2 - 1,
             torch.rand(2, 1, 64, 64, generator=g)] for _ in range(2))  # fmt: skip
    with runtime.autocast(), torch.no_grad():
        dtype = model.generator(a[0], b[0])[0].colour.dtype
    return model, training_step(parts, opt_g, opt_d, a, b, 0.5, PHASE), dtype


def test_a_bf16_step_computes_in_bf16_keeps_float32_weights_and_matches_float32_closely():
    model32, losses32, dtype32 = _step(bf16=False)
    model16, losses16, dtype16 = _step(bf16=True)
    assert (dtype32, dtype16) == (torch.float32, torch.bfloat16)
    assert all(p.dtype == torch.float32 for p in model16.parameters())  # Adam updates float32 master weights
    assert losses16 is not None and losses16.keys() == losses32.keys()
    # bf16 keeps 8 bits of mantissa: the losses differ, but only by rounding (a wrong path would not)
    differ = [k for k in losses32 if losses16[k] != losses32[k]]
    assert differ, "the bf16 step computed exactly like float32: autocast did not apply"
    for k in losses32:
        assert losses16[k] == pytest.approx(losses32[k], rel=0.05, abs=1e-3), k

"""--compile: when a run compiles, that a compiled step computes what the eager step does (one graph per
module, no breaks: our attention's path decisions are constants to the compiler), and that a failing
compiler leaves training uncompiled and the model untouched."""

from __future__ import annotations

import pytest
import torch
import torch._dynamo

from faceswap_gan.config import LossWeights, ModelConfig, TrainConfig
from faceswap_gan.nets.model import FaceSwapModel
from faceswap_gan.runtime import Runtime
from faceswap_gan.training import compiled as compiled_module
from faceswap_gan.training.compiled import AUTO_MIN_ITERATIONS, compile_parts, wants_compile
from faceswap_gan.training.schedule import LossPhase
from faceswap_gan.training.step import TrainParts, make_optimisers, training_step

CPU = torch.device("cpu")
PHASE = LossPhase(0, False, False, 0.0, 1.0)


def test_auto_compiles_long_bf16_cpu_runs_only_and_off_never(monkeypatch):
    monkeypatch.setattr(compiled_module.shutil, "which", lambda name: f"/usr/bin/{name}")
    bf16 = Runtime(CPU, bf16=True)
    assert wants_compile("auto", bf16, AUTO_MIN_ITERATIONS)
    assert not wants_compile("auto", bf16, AUTO_MIN_ITERATIONS - 1)  # the demo's and the tests' runs
    assert not wants_compile("auto", Runtime(CPU), 40000)  # float32: measured no faster compiled
    assert not wants_compile("auto", Runtime(torch.device("cuda"), bf16=True), 40000)  # unmeasured: `on` only
    assert wants_compile("on", Runtime(CPU), 10)
    assert not wants_compile("off", bf16, 40000)
    assert not wants_compile("auto", Runtime(CPU, rank=0, world_size=2, bf16=True), 40000)
    assert not wants_compile("on", Runtime(CPU, rank=0, world_size=2), 40000)
    monkeypatch.setattr(compiled_module.shutil, "which", lambda name: None)  # Inductor needs a C++ compiler
    assert not wants_compile("auto", bf16, 40000)


def _parts(model_config: ModelConfig) -> tuple[TrainParts, list, list]:
    model = Runtime(CPU).place(FaceSwapModel(model_config, seed=0))
    config = TrainConfig(batch_size=2, device="cpu")
    parts = TrainParts(model, model.generator, model.discriminators, None, Runtime(CPU), config, LossWeights())
    g = torch.Generator().manual_seed(0)
    batch_a, batch_b = ([torch.rand(2, 3, 64, 64, generator=g) * 2 - 1, torch.rand(2, 3, 64, 64, generator=g) * 2 - 1,
                         torch.rand(2, 1, 64, 64, generator=g)] for _ in range(2))  # fmt: skip
    return parts, batch_a, batch_b


def test_a_failing_compiler_leaves_training_uncompiled_and_the_model_untouched(monkeypatch, capsys):
    parts, batch_a, batch_b = _parts(ModelConfig(64, "lite", "batchnorm", False))  # buffers: running statistics

    asked = []

    def fake_compile(module, **options):  # the generator runs (and updates batch-norm statistics), D fails
        asked.append(options)
        if module is parts.model.generator:
            return module

        def fail(*args, **kwargs):
            raise RuntimeError("InductorError: CppCompileError: C++ compile error\nmore lines")

        return fail

    monkeypatch.setattr(compiled_module.torch, "compile", fake_compile)
    before = {k: v.clone() for k, v in parts.model.state_dict().items()}
    batches = [(batch_a, batch_b), "second"]
    result, rest = compile_parts(parts, batches, PHASE)
    assert result is parts
    # Static shapes, always: the benchmark's 128-px model after its 64-px one, recompiled with symbolic
    # shapes, failed to lower in the convolutions' backward (ValueRangeError, torch 2.13; measured).
    assert asked == [{"dynamic": False}] * 2
    assert list(rest) == batches  # the trial's batch is trained on all the same
    err = capsys.readouterr().err
    assert "warning: compiling the model failed, training uncompiled: InductorError" in err
    assert "more lines" in err and err.count("\n") == 2  # the notice and one warning line
    after = parts.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(p.grad is None for p in parts.model.parameters())
    assert all(p.requires_grad for p in parts.model.discriminators.parameters())


@pytest.mark.slow  # compiling takes a minute on two cores
def test_a_compiled_step_computes_what_the_eager_step_does_in_one_graph_per_module():
    model_config = ModelConfig(64, "lite", "hybrid", True)  # with self-attention: our kernel's 64x64 layer
    eager, batch_a, batch_b = _parts(model_config)
    compiled, *_ = _parts(model_config)
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    compiled, _ = compile_parts(compiled, [(batch_a, batch_b)], PHASE, announce=False)
    assert compiled.gen is not compiled.model.generator and compiled.disc_g is compiled.disc
    assert not torch._dynamo.utils.counters["graph_break"]  # a break would split the graph at the attention
    losses = {}
    for name, parts in (("eager", eager), ("compiled", compiled)):
        opt_g, opt_d = make_optimisers(parts.model, parts.config, PHASE)
        losses[name] = training_step(parts, opt_g, opt_d, batch_a, batch_b, 0.5, PHASE)
    assert losses["eager"].keys() == losses["compiled"].keys()
    for k, value in losses["eager"].items():
        assert losses["compiled"][k] == pytest.approx(value, rel=1e-4, abs=1e-6), k
    grads = [(p.grad, q.grad) for p, q in zip(eager.model.parameters(), compiled.model.parameters(), strict=True)]
    assert [g is None for g, _ in grads] == [g is None for _, g in grads]
    assert sum(g is not None for g, _ in grads) > len(grads) // 2  # all but the unused code discriminator's
    # Fused loops sum in another order: float32 rounding, carried through the network, moves some gradients
    # by up to ~7e-4 of their tensor's largest (measured); a wrong graph would move them by its whole size.
    for g_eager, g_compiled in grads:
        if g_eager is not None:
            assert (g_compiled - g_eager).abs().max() <= 3e-3 * g_eager.abs().max()

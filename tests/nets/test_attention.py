"""Our CPU attention kernel against float64 softmax(q k^T) v, and against PyTorch's path."""

from __future__ import annotations

import os
import shutil
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from faceswap_gan.nets import attention as attention_module
from faceswap_gan.nets.attention import attention, kernel_available
from faceswap_gan.nets.blocks import SelfAttention
from faceswap_gan.runtime import cpu_flags

# Where a C compiler exists (CI, Linux, Colab) the kernel must build: otherwise these tests would pass
# on the fallback alone and prove nothing about the kernel.
pytestmark = pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler: PyTorch's attention is used")


def _inputs(batch: int, length: int, dq: int, dv: int, scale: float = 1.0, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    q, k = (scale * torch.randn(batch, length, dq, generator=g) for _ in range(2))
    v = torch.randn(batch, length, dv, generator=g)
    grad = torch.randn(batch, length, dv, generator=g)
    return q, k, v, grad


def _reference(q, k, v, grad):
    """float64 autograd on the explicit (L x L) matrix."""
    q, k, v = (t.double().requires_grad_() for t in (q, k, v))
    out = torch.softmax(q @ k.transpose(1, 2), dim=-1) @ v
    return out, torch.autograd.grad(out, (q, k, v), grad.double())


def _ours(q, k, v, grad):
    q, k, v = (t.clone().requires_grad_() for t in (q, k, v))
    out = attention(q, k, v)
    return out, torch.autograd.grad(out, (q, k, v), grad)


def _assert_close_relative(actual: torch.Tensor, expected: torch.Tensor, tol: float) -> None:
    error = (actual.double() - expected).abs().max() / expected.abs().max()
    assert error < tol, f"relative error {error:.2e}"


def _assert_matches_float64(q, k, v, grad, tol: float) -> None:
    """Our output and the gradients of q, k and v within ``tol`` (relative) of float64 autograd."""
    out, grads = _ours(q, k, v, grad)
    ref_out, ref_grads = _reference(q, k, v, grad)
    for actual, expected in zip((out, *grads), (ref_out, *ref_grads), strict=True):
        _assert_close_relative(actual, expected, tol)


def test_the_kernel_builds_here():
    assert kernel_available()


@pytest.mark.parametrize(("dq", "dv", "scale"), [(4, 32, 1.0), (8, 64, 1.0), (16, 128, 1.0), (4, 32, 6.0)])
def test_forward_and_gradients_equal_float64_softmax_attention(dq, dv, scale):
    # scale 6: logits in the hundreds, where an unstabilised exp would overflow. PyTorch's own float32
    # path is 1.1e-5 from float64 there, 1.3e-6 at scale 1; ours 1.1e-5 and 2.6e-6.
    _assert_matches_float64(*_inputs(2, 1024, dq, dv, scale), tol=3e-5 if scale > 1 else 5e-6)


def test_rows_whose_bound_overshoots_take_their_exact_maximum():
    # The forward exponentiates against a bound on each row's maximum, q.k <= sum of q[c] * (k's extreme in
    # channel c). Two keys that each reach one channel's extreme: the bound is 200, the maximum 100, and
    # exp(s - 200) flushes to zero for every key; such rows must be done again with their exact maximum.
    q, k, v, grad = _inputs(2, 1024, 4, 32)
    q[:, :, :] = torch.tensor([1.0, 1.0, 0.0, 0.0])
    k.zero_()
    k[:, 3, 0] = k[:, 700, 1] = 100.0
    out = attention(q, k, v)
    torch.testing.assert_close(out, ((v[:, 3] + v[:, 700]) / 2)[:, None].expand_as(out), rtol=1e-5, atol=1e-6)
    _assert_matches_float64(q, k, v, grad, tol=5e-6)


def test_kernel_and_pytorch_paths_agree(monkeypatch):
    q, k, v, grad = _inputs(3, 1024, 4, 32)
    ours = _ours(q, k, v, grad)
    monkeypatch.setenv("FACESWAP_GAN_ATTENTION", "torch")
    theirs = _ours(q, k, v, grad)
    torch.testing.assert_close(ours[0], theirs[0], rtol=1e-4, atol=1e-5)
    for a, b in zip(ours[1], theirs[1], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4 * b.abs().max().item())


def test_nan_propagates_so_that_training_can_skip_the_step():
    q, k, v, _ = _inputs(1, 1024, 4, 32)
    q[0, 5, 1] = float("nan")
    out = attention(q, k, v)
    assert torch.isnan(out[0, 5]).all()


def test_self_attention_block_on_the_kernel_path_equals_the_explicit_softmax():
    block = SelfAttention(32)
    with torch.no_grad():
        block.gamma.fill_(0.5)
    x = torch.randn(2, 32, 32, 32)  # 1024 positions: the kernel's size
    q, k, v = (conv(x).flatten(2) for conv in (block.g, block.f, block.h))
    expected = x + 0.5 * (v @ torch.softmax(q.transpose(1, 2) @ k, dim=-1).transpose(1, 2)).view_as(x)
    torch.testing.assert_close(block(x), expected, rtol=1e-4, atol=1e-5)


def test_flop_counter_counts_the_real_widths():
    q, k, v, grad = _inputs(2, 1024, 4, 32)
    with FlopCounterMode(display=False) as counter:
        _ours(q, k, v, grad)
    per_pair = 2 * (4 + 32) + 2 * (3 * 4 + 2 * 32)  # forward + backward
    assert counter.get_total_flops() == 2 * 1024 * 1024 * per_pair


def test_a_compiler_that_fails_falls_back_with_a_warning(monkeypatch, tmp_path):
    monkeypatch.setenv("CC", "false")  # exits 1 without compiling anything
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    attention_module._library.cache_clear()
    try:
        q, k, v, _ = _inputs(1, 1024, 4, 32)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = attention(q, k, v)
        assert any("could not compile" in str(w.message) for w in caught)
        torch.testing.assert_close(out, _reference(q, k, v, torch.zeros_like(v))[0].float(), rtol=1e-4, atol=1e-5)
    finally:
        attention_module._library.cache_clear()


def test_the_ops_pass_pytorchs_custom_op_checks():
    # schema, autograd registration, and fake tensors with the real op's shapes and strides
    # (torch.compile relies on the last: a wrong stride there broke compiled training once)
    q, k, v, grad = _inputs(2, 1024, 4, 32)
    q, k, v = (t.requires_grad_() for t in (q, k, v))
    torch.library.opcheck(torch.ops.faceswap_gan.attention.default, (q, k, v, False))
    out, lse = torch.ops.faceswap_gan.attention(q.detach(), k.detach(), v.detach(), False)
    args = (q.detach(), k.detach(), v.detach(), out, lse, grad, False)
    torch.library.opcheck(torch.ops.faceswap_gan.attention_backward.default, args)


def test_an_unwritable_cache_falls_back_with_a_warning(monkeypatch, tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache folder would go")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    attention_module._library.cache_clear()
    try:
        q, k, v, _ = _inputs(1, 1024, 4, 32)
        with pytest.warns(UserWarning, match="could not compile"):
            out = attention(q, k, v)
        assert out.shape == (1, 1024, 32)
    finally:
        attention_module._library.cache_clear()


def test_shapes_the_kernel_does_not_take_are_computed_by_pytorch():
    for length, dq, dv in [(1025, 4, 32), (1024, 1, 8), (256, 4, 32)]:  # odd length, narrow values, short
        assert not attention_module._kernel_applies(torch.zeros(1, length, dq), torch.zeros(1, length, dv))
        q, k, v, grad = _inputs(1, length, dq, dv)
        _assert_close_relative(_ours(q, k, v, grad)[0], _reference(q, k, v, grad)[0], 5e-6)


def _openmp_runtimes(maps: Path) -> set[str]:
    """The OpenMP libraries (libgomp, libomp, libiomp5) mapped into this process."""
    paths = {fields[-1] for fields in map(str.split, maps.read_text().splitlines()) if len(fields) >= 6}
    return {path for path in paths if Path(path).name.startswith(("libgomp", "libomp", "libiomp"))}


def test_the_kernel_runs_on_pytorchs_own_openmp_threads():
    # A second OpenMP runtime (or threads of our own) would compete for the cores with PyTorch's
    # threads, which spin after each of its operations: that cost 5 ms per call at 1024 positions.
    maps = Path("/proc/self/maps")
    if not maps.exists():
        pytest.skip("no /proc: cannot list the loaded libraries")
    if not any("libgomp" in path for path in _openmp_runtimes(maps)):
        pytest.skip("this PyTorch does not use libgomp: the kernel cannot share its threads")
    q, k, v, _ = _inputs(2, 1024, 4, 32)
    attention(q, k, v)
    assert attention_module._has_openmp(attention_module._library(4, 32))
    assert len(_openmp_runtimes(maps)) == 1, _openmp_runtimes(maps)


def test_without_openmp_python_threads_split_the_work(monkeypatch, tmp_path):
    monkeypatch.setattr(attention_module, "OPENMP_FLAGS", ("-fno-such-flag",))  # as a compiler without OpenMP
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    attention_module._library.cache_clear()
    try:
        assert not attention_module._has_openmp(attention_module._library(8, 64))
        _assert_matches_float64(*_inputs(3, 1024, 8, 64), tol=5e-6)  # 3 images on 2 threads: unequal ranges
    finally:
        attention_module._library.cache_clear()


def test_the_portable_kernel_without_avx512_is_as_exact(monkeypatch, tmp_path):
    # Where AVX-512 exists, exp and max use its instructions; elsewhere plain C vector code runs.
    monkeypatch.setattr(attention_module, "OPENMP_FLAGS", (*attention_module.OPENMP_FLAGS, "-mno-avx512f"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    attention_module._library.cache_clear()
    try:
        _assert_matches_float64(*_inputs(2, 1024, 4, 32, 6.0), tol=3e-5)
        q, k, v, grad = _inputs(2, 1024, 8, 64)
        _assert_matches_float64(q, k, v, grad, tol=5e-6)
        q[0, 5, 1] = float("nan")
        assert torch.isnan(attention(q, k, v)[0, 5]).all()
        assert {path.name.split("-")[1] for path in (tmp_path / "faceswap-gan" / "kernels").iterdir()} == {"4", "8"}
    finally:
        attention_module._library.cache_clear()


def test_under_cpu_bf16_autocast_the_float32_kernel_computes_attention(monkeypatch):
    monkeypatch.setattr(attention_module, "_bf16_dot", lambda q, v: False)  # a CPU without AVX-512 BF16
    # bf16 training (--precision bf16) hands bf16 q, k, v to the 64x64 layer: the exact float32 kernel
    # takes them (faster than PyTorch's bf16 kernel), so on bf16-representable inputs the output equals
    # the float32 path's bit for bit; PyTorch's bf16 kernel would be off by about 1e-2. The gradients
    # are bf16. On CPUs with AVX-512 BF16 the kernel takes bf16 products instead (the test below).
    q, k, v, grad = (t.bfloat16().float() for t in _inputs(2, 1024, 4, 32))
    expected, expected_grads = _ours(q, k, v, grad)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, grads = _ours(q.bfloat16(), k.bfloat16(), v.bfloat16(), grad)
    assert out.dtype == torch.float32 and torch.equal(out, expected)
    for got, want in zip(grads, expected_grads, strict=True):
        assert got.dtype == torch.bfloat16
        _assert_close_relative(got, want.double(), 2e-2)


@pytest.mark.skipif("avx512_bf16" not in cpu_flags(), reason="no AVX-512 BF16 on this CPU")
@pytest.mark.parametrize(("dq", "dv"), [(4, 32), (8, 64)])
def test_under_bf16_autocast_the_kernel_uses_bf16_dot_products_within_bf16_rounding(dq, dv):
    # the -DBF16_DOT build: p v, dp and dv from bf16-rounded operands, float32 sums. Its output and
    # gradients differ from the float32 kernel's (so it ran) and stay within bf16 rounding of float64.
    q, k, v, grad = _inputs(2, 1024, dq, dv, seed=3)
    assert attention_module._library(dq, dv, bf16_dot=True) is not None
    exact = _ours(q, k, v, grad)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert attention_module._bf16_dot(q, v)
        ours = _ours(q, k, v, grad)  # float32 inputs: only the kernel rounds
    ref_out, ref_grads = _reference(q, k, v, grad)
    for got, fp32, ref in zip((ours[0], *ours[1]), (exact[0], *exact[1]), (ref_out, *ref_grads), strict=True):
        assert not torch.equal(got, fp32)
        _assert_close_relative(got, ref, 2e-2)


@pytest.mark.skipif("avx512_bf16" not in cpu_flags(), reason="no AVX-512 BF16 on this CPU")
def test_values_16_wide_keep_the_float32_kernel_under_bf16_autocast():
    # the bf16 build converts dout 32 values at a time, so it refuses DV = 16 at compile time
    q, k, v, grad = _inputs(1, 1024, 2, 16)
    assert attention_module._library(2, 16, bf16_dot=True) is None
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert not attention_module._bf16_dot(q, v)
        ours = _ours(q, k, v, grad)
    assert torch.equal(ours[0], _ours(q, k, v, grad)[0])


def test_float32_training_never_takes_the_bf16_products(monkeypatch):
    q, k, v, _ = _inputs(1, 1024, 4, 32)
    assert not attention_module._bf16_dot(q, v)
    monkeypatch.setenv("FACESWAP_GAN_ATTENTION", "fp32")  # nor bf16 training when asked to measure it
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert not attention_module._bf16_dot(q, v)


@pytest.mark.parametrize("before", [None, "torch"])
def test_attention_path_switches_the_calls_inside_the_block_and_restores_the_caller(monkeypatch, before):
    if before is None:
        monkeypatch.delenv("FACESWAP_GAN_ATTENTION", raising=False)
    else:
        monkeypatch.setenv("FACESWAP_GAN_ATTENTION", before)
    with attention_module.attention_path("math"):
        assert os.environ["FACESWAP_GAN_ATTENTION"] == "math"
    assert os.environ.get("FACESWAP_GAN_ATTENTION") == before
    with attention_module.attention_path(None):  # None: as the caller has it
        assert os.environ.get("FACESWAP_GAN_ATTENTION") == before
    with pytest.raises(RuntimeError), attention_module.attention_path("fp32"):
        raise RuntimeError
    assert os.environ.get("FACESWAP_GAN_ATTENTION") == before


@pytest.mark.skipif("avx512_bf16" not in cpu_flags(), reason="no AVX-512 BF16 on this CPU")
def test_inside_bf16_products_float32_inference_takes_the_bf16_dot_products():
    # conversion's model (ConverterConfig.precision auto): float32 q, k and v, the kernel's p v in bf16 dot
    # products; the output moves by bf16 rounding only, and after the block it is the float32 one again
    q, k, v, grad = _inputs(2, 1024, 4, 32, seed=5)
    with torch.inference_mode():
        exact = attention(q, k, v)
        with attention_module.bf16_products():
            assert attention_module._bf16_dot(q, v)
            rounded = attention(q, k, v)
        again = attention(q, k, v)
    assert not torch.equal(rounded, exact) and torch.equal(again, exact)
    _assert_close_relative(rounded, _reference(q, k, v, grad)[0].detach(), 2e-2)


def test_bf16_products_belong_to_the_thread_that_asks_and_false_leaves_them_off():
    with attention_module.bf16_products(False):
        assert not attention_module._products_asked()
    with attention_module.bf16_products(), ThreadPoolExecutor(1) as pool:
        assert attention_module._products_asked()
        assert not pool.submit(attention_module._products_asked).result()  # conversion's other workers
    assert not attention_module._products_asked()

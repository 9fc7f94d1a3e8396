"""SAGAN attention, softmax(q k^T) v with no scaling, on the fastest path available (exact in float32).

``attention(q, k, v)`` takes queries and keys (B, L, DQ) and values (B, L, DV), float, and returns
(B, L, DV). On CPU, in float32, it runs our C kernel (``attention_kernel.c``), which keeps q.k at its
real width DQ = C/8; PyTorch's fused kernel needs DQ == DV and so does up to twice the work on
zero-padded queries and keys. The kernel is compiled with the system's C compiler on first use
(``$CC``, else ``cc``; a fraction of a second per shape) and cached, verified, by ``kernel_cache.py``.
Under CPU bf16 autocast the kernel runs too, on q, k and v in float32; on CPUs with AVX-512 BF16 it
then multiplies p and v (and their gradients) in bf16 dot products (``_bf16_dot``); inference can ask for
those products in float32 too (``bf16_products``, what conversion does). Below 1024
positions on CPU it is two matmuls and a softmax; everywhere else (GPUs, bf16 tensors, no compiler,
shapes the kernel does not take) ``scaled_dot_product_attention`` on padded q and k.
``FACESWAP_GAN_ATTENTION=torch`` switches the kernel off; ``=fp32`` keeps it float32 under autocast (to
measure what the bf16 products gain on a CPU).
"""

from __future__ import annotations

import contextlib
import contextvars
import ctypes
import functools
import itertools
import os
import shutil
import threading
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import register_flop_formula

from faceswap_gan.nets.kernel_cache import compiled

SOURCE = Path(__file__).with_name("attention_kernel.c")
MIN_POSITIONS = 1024  # below this the (L x L) matrix is small enough to build: plain matmuls are as fast
# PyTorch's CPU wheels link libgomp, so an OpenMP kernel runs on PyTorch's own threads (one libgomp per process)
OPENMP_FLAGS = ("-fopenmp",)


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """softmax(q k^T) v for q, k (B, L, DQ) and v (B, L, DV); returns (B, L, DV)."""
    if _kernel_applies(q, v):
        if torch.is_autocast_enabled("cpu"):
            # bf16 training on CPU (--precision): our kernel is still the faster path (float32, or with bf16
            # dot products where the CPU has them); PyTorch's bf16 kernel on padded q and k made a training
            # step 1.40 s instead of 0.99-1.18 on the Xeon of 2026-12-02 (README, Speed)
            bf16_dot = _bf16_dot(q, v)  # asked while autocast is on
            with torch.autocast("cpu", enabled=False):
                return torch.ops.faceswap_gan.attention(q.float(), k.float(), v.float(), bf16_dot)[0]
        return torch.ops.faceswap_gan.attention(q, k, v, _bf16_dot(q, v))[0]
    if _math_everywhere() or (q.device.type == "cpu" and q.shape[1] < MIN_POSITIONS):
        # a few hundred positions: the (L x L) matrix is small, and two matmuls at the real widths take
        # half the time of the fused kernel on padded queries (16x16 and 8x8 layers, forward + backward)
        return torch.softmax(q @ k.transpose(1, 2), dim=-1) @ v
    pad = (0, v.shape[-1] - q.shape[-1])  # fused kernels need one width: zeros leave q k^T unchanged
    q, k = F.pad(q, pad), F.pad(k, pad)
    return F.scaled_dot_product_attention(q[:, None], k[:, None], v.contiguous()[:, None], scale=1.0)[:, 0]


def kernel_available() -> bool:
    """True when our CPU kernel compiles here (and is not switched off)."""
    return _kernel_built(4, 32, False)


def _bf16_dot(q: torch.Tensor, v: torch.Tensor) -> bool:
    """Under bf16 autocast, or inside ``bf16_products``, on a CPU with AVX-512 BF16: p v and the
    backward's two products as wide as the values in bf16 dot products (the kernel built with
    -DBF16_DOT), two multiply-adds per float32 lane per instruction. Autocast already rounds every
    convolution's inputs to bf16, so this asks nothing of the model that bf16 training does not;
    float32 training never takes it."""
    asked = (
        torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16
    ) or _products_asked()
    return asked and _kernel_built(q.shape[2], v.shape[2], True)  # builds only where -march=native has it


_BF16_PRODUCTS = contextvars.ContextVar("faceswap_gan_bf16_products", default=False)


@contextlib.contextmanager
def bf16_products(enabled: bool = True) -> Iterator[None]:
    """Inside the block, in this thread, float32 calls on our kernel take its bf16 dot products where the
    CPU has them (``_bf16_dot``); everything else stays float32. For inference: conversion's model spends
    half its time in attention, and on the Zen 4 EPYC of 2026-12-02 (one thread, 4 faces, 64 px lite) a
    face took 27 ms instead of 36. Through the shipped demo model the colours of 27 real faces moved by at
    most one level (mean 0.000) and alpha by under 1e-4, where bf16 autocast of the whole model moved
    them by up to 7 levels and 0.16. ``enabled=False`` leaves the caller's setting."""
    token = _BF16_PRODUCTS.set(True) if enabled else None
    try:
        yield
    finally:
        if token is not None:
            _BF16_PRODUCTS.reset(token)


@contextlib.contextmanager
def attention_path(value: str | None) -> Iterator[None]:
    """``FACESWAP_GAN_ATTENTION=value`` inside the block (None: as it is), as it was after it. The variable
    is read at every uncompiled call, so this switches the path of the calls in the block only; a model
    compiled with torch.compile keeps the path it was traced with (``_kernel_built``)."""
    previous = os.environ.get("FACESWAP_GAN_ATTENTION")
    if value is not None:
        os.environ["FACESWAP_GAN_ATTENTION"] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("FACESWAP_GAN_ATTENTION", None)
        else:
            os.environ["FACESWAP_GAN_ATTENTION"] = previous


def _switched_off() -> bool:
    """FACESWAP_GAN_ATTENTION=torch: PyTorch's kernels only; =math: two matmuls and a softmax at every size
    (plain operators, what an ONNX export needs)."""
    return os.environ.get("FACESWAP_GAN_ATTENTION", "auto") in ("torch", "math")


def _kernel_applies(q: torch.Tensor, v: torch.Tensor) -> bool:
    length, dq, dv = q.shape[1], q.shape[2], v.shape[2]
    return (
        q.device.type == "cpu"
        and (q.dtype == v.dtype == torch.float32 or torch.is_autocast_enabled("cpu"))
        and length >= MIN_POSITIONS
        and length % 16 == 0
        and dv % 16 == 0
        and _kernel_built(dq, dv, False)
    )


# torch.compile traces the calls above into its graph. What the three functions below read (the environment,
# the file system, the C compiler, a context variable) it cannot trace, and every attention would split the
# graph there; marked constant, each is asked once, when a graph is traced, and its answer is part of that
# graph. So a compiled model keeps the path it was compiled with: FACESWAP_GAN_ATTENTION (``attention_path``)
# and ``bf16_products`` switch the path of uncompiled calls only.
@torch.compiler.assume_constant_result
def _kernel_built(dq: int, dv: int, bf16_dot: bool) -> bool:
    """Our kernel (its bf16-dot build where ``bf16_dot``) is switched on and builds here."""
    if _switched_off() or (bf16_dot and os.environ.get("FACESWAP_GAN_ATTENTION") == "fp32"):
        return False
    return _library(dq, dv, bf16_dot) is not None


@torch.compiler.assume_constant_result
def _math_everywhere() -> bool:
    return os.environ.get("FACESWAP_GAN_ATTENTION") == "math"


@torch.compiler.assume_constant_result
def _products_asked() -> bool:
    return _BF16_PRODUCTS.get()


# ------------------------------------------------------------------------------------------ compiling


@functools.cache
def _library(dq: int, dv: int, bf16_dot: bool = False) -> ctypes.CDLL | None:
    """The kernel for widths (dq, dv), compiled once per machine, with OpenMP where the compiler has it;
    None (after one warning, where a compiler exists but fails) when it cannot be built or loaded here.
    ``bf16_dot``: the variant whose value-width products use AVX-512 BF16 (None, silently, where that does
    not build: the float32 kernel is used)."""
    compiler = shutil.which(os.environ.get("CC", "cc"))
    if compiler is None:
        return None
    try:
        lib = _load(compiler, dq, dv, ("-DBF16_DOT",) if bf16_dot else ())
    except (OSError, RuntimeError) as exc:  # unwritable cache, failing compiler, a noexec file system
        if not bf16_dot:
            warnings.warn(f"could not compile {SOURCE.name}; using PyTorch's slower attention: {exc}", stacklevel=3)
        return None
    c_long, c_int, ptr = ctypes.c_long, ctypes.c_int, ctypes.c_void_p
    lib.attention_forward.argtypes = [ptr] * 5 + [c_int, c_long, c_long]
    lib.attention_forward.restype = c_int
    lib.attention_backward.argtypes = [ptr] * 9 + [c_int, c_long, c_long]
    lib.attention_backward.restype = None
    lib.attention_query_block.restype = c_int
    if _has_openmp(lib):
        lib.attention_forward_parallel.argtypes = [ptr] * 5 + [c_int, c_long, c_int]
        lib.attention_forward_parallel.restype = c_int
        lib.attention_backward_parallel.argtypes = [ptr] * 9 + [c_int, c_long, c_int]
        lib.attention_backward_parallel.restype = None
    return lib


def _load(compiler: str, dq: int, dv: int, variant: tuple[str, ...]) -> ctypes.CDLL:
    try:
        return ctypes.CDLL(str(_build(compiler, dq, dv, (*variant, *OPENMP_FLAGS))))
    except (OSError, RuntimeError):  # no OpenMP here (Apple's clang, say): Python threads split the work
        return ctypes.CDLL(str(_build(compiler, dq, dv, variant)))


def _has_openmp(lib: ctypes.CDLL) -> bool:
    return hasattr(lib, "attention_forward_parallel")


def _build(compiler: str, dq: int, dv: int, extra: tuple[str, ...]) -> Path:
    """The compiled kernel's path in the cache (``kernel_cache.py``), compiling it if needed."""
    flags = ["-O3", "-march=native", "-fno-math-errno", "-shared", "-fPIC", f"-DDQ={dq}", f"-DDV={dv}", *extra]
    name = f"attention-{dq}-{dv}" + ("-bf16" if "-DBF16_DOT" in extra else "")
    return compiled(compiler, SOURCE, name, flags)


# ------------------------------------------------------------------------------------------ threads

_pool_lock = threading.Lock()
_pool: tuple[int, int, ThreadPoolExecutor] | None = None  # (pid, threads, pool)


def _run(lib: ctypes.CDLL, name: str, args: list, tasks: int) -> list:
    """Kernel function ``name`` over ``tasks`` tasks on torch.get_num_threads() threads; its results.

    With OpenMP, one call to ``name_parallel``: the tasks run on PyTorch's OpenMP threads. Otherwise
    Python threads run ranges of them (ctypes releases the GIL). Those compete with PyTorch's threads,
    which spin for a while after each PyTorch operation: 5 ms lost per call at 1024 positions."""
    threads = max(1, min(torch.get_num_threads(), tasks))
    if _has_openmp(lib):
        return [getattr(lib, f"{name}_parallel")(*args, tasks, threads)]
    fn = getattr(lib, name)
    if threads == 1:
        return [fn(*args, 0, tasks)]
    global _pool
    with _pool_lock:
        if _pool is None or _pool[:2] != (os.getpid(), threads):  # a forked child must not reuse a pool
            _pool = (os.getpid(), threads, ThreadPoolExecutor(threads, thread_name_prefix="attention"))
        pool = _pool[2]
    bounds = [tasks * i // threads for i in range(threads + 1)]
    return [future.result() for future in [pool.submit(fn, *args, a, b) for a, b in itertools.pairwise(bounds)]]


# ------------------------------------------------------------------------------------------ the op


@torch.library.custom_op("faceswap_gan::attention", mutates_args=())
def _attention_op(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bf16_dot: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """(out (B, L, DV), lse (B, L)): lse is log2(sum(exp(q k^T))) per row (base 2, as the kernel
    exponentiates), kept for the backward. v, out and their gradients are (B, L, DV) contiguous: the layout
    of a channels-last (B, C, H, W) feature map, which training uses, so none of them is transposed on the
    way in or out. ``bf16_dot``: p v in bf16 dot products, here and in the backward (``_bf16_dot``)."""
    batch, length, dq = q.shape
    dv = v.shape[2]
    lib = _library(dq, dv, bf16_dot)
    tensors = [q.contiguous(), k.transpose(1, 2).contiguous(), v.contiguous()]  # q, k^T, v
    out, lse = q.new_empty(batch, length, dv), q.new_empty(batch, length)
    args = [t.data_ptr() for t in (*tensors, out, lse)]
    tasks = batch * length // lib.attention_query_block()  # one task per block of query rows
    statuses = _run(lib, "attention_forward", [*args, length], tasks)
    if any(statuses):
        raise MemoryError("attention: out of memory for the kernel's work buffer")
    return out, lse


@_attention_op.register_fake
def _(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bf16_dot: bool) -> tuple[torch.Tensor, torch.Tensor]:
    return q.new_empty(q.shape[0], q.shape[1], v.shape[2]), q.new_empty(q.shape[:2])


@torch.library.custom_op("faceswap_gan::attention_backward", mutates_args=())
def _attention_backward_op(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    out: torch.Tensor,
    lse: torch.Tensor,
    grad: torch.Tensor,
    bf16_dot: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    batch, length, dq = q.shape
    dv = v.shape[2]
    lib = _library(dq, dv, bf16_dot)
    grad = grad.contiguous()
    delta = (grad * out).sum(2)  # (B, L): the softmax backward's row term
    tensors = [q.contiguous(), k.transpose(1, 2).contiguous(), v.contiguous(), lse.contiguous()]
    dq_, dkt, dv_ = q.new_empty(batch, length, dq), q.new_empty(batch, dq, length), q.new_empty(batch, length, dv)
    args = [t.data_ptr() for t in (*tensors, grad, delta, dq_, dkt, dv_)]
    _run(lib, "attention_backward", [*args, length], batch)  # one task per image
    return dq_, dkt.transpose(1, 2), dv_


@_attention_backward_op.register_fake
def _(q, k, v, out, lse, grad, bf16_dot):
    # the same layouts as the real op: dk is the transpose of a (B, DQ, L) buffer
    batch, length, dq = q.shape
    return q.new_empty(q.shape), q.new_empty(batch, dq, length).transpose(1, 2), q.new_empty(v.shape)


def _setup_context(ctx, inputs, output) -> None:
    ctx.save_for_backward(*inputs[:3], *output)
    ctx.bf16_dot = inputs[3]


def _backward(ctx, grad_out: torch.Tensor, _grad_lse: torch.Tensor | None):
    q, k, v, out, lse = ctx.saved_tensors
    return (*torch.ops.faceswap_gan.attention_backward(q, k, v, out, lse, grad_out, ctx.bf16_dot), None)


_attention_op.register_autograd(_backward, setup_context=_setup_context)


# FLOPs as flop_counter counts matmuls: 2 per multiply-add. Forward: q.k (DQ) and p.v (DV) per pair of
# positions; backward: q.k again, dp = dout.v, dv = p.dout, dq = ds.k, dk = ds.q.
@register_flop_formula(torch.ops.faceswap_gan.attention)
def _(q_shape, k_shape, v_shape, *args, **kwargs) -> int:
    batch, length, dq = q_shape
    return 2 * batch * length * length * (dq + v_shape[2])


@register_flop_formula(torch.ops.faceswap_gan.attention_backward)
def _(q_shape, k_shape, v_shape, *args, **kwargs) -> int:
    batch, length, dq = q_shape
    return 2 * batch * length * length * (3 * dq + 2 * v_shape[2])

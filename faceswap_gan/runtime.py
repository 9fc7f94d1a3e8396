"""Where training runs: device choice, mixed precision, and torchrun's distributed setup."""

from __future__ import annotations

import contextlib
import os
import platform
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist

from faceswap_gan.config import PRECISIONS
from faceswap_gan.errors import UserError, warn


@dataclass(frozen=True)
class Runtime:
    device: torch.device
    rank: int = 0
    world_size: int = 1
    bf16: bool = False  # convolutions and matrix products under bf16 autocast (``resolve_precision``)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def memory_format(self) -> torch.memory_format:
        """Channels-last (NHWC) on CUDA and CPU, where cuDNN's and oneDNN's convolutions compute in that
        layout: a channel-first tensor is reordered on the way in and out of every convolution. On the
        Intel Xeon of 2026-12-02 training ran 1.36-1.42 s/iteration channels-last against 1.56-1.57
        channel-first (README, Speed). MPS keeps the plain layout."""
        return torch.contiguous_format if self.device.type == "mps" else torch.channels_last

    def place(self, module: torch.nn.Module) -> torch.nn.Module:
        """``module`` on this device, in this memory format."""
        return module.to(self.device, memory_format=self.memory_format)

    def autocast(self):
        """bf16 autocast where ``resolve_precision`` chose it; plain float32 elsewhere."""
        if self.bf16:
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def all_true(self, flag: bool) -> bool:
        """True when ``flag`` holds on every rank (so that all ranks skip a step together)."""
        if not self.distributed:
            return flag
        value = torch.tensor([1.0 if flag else 0.0], device=self.device)
        dist.all_reduce(value, op=dist.ReduceOp.MIN)
        return bool(value.item())


def flush_denormals() -> None:
    """Compute with denormal floats as zero, on this thread and on every thread it starts from now on.

    Why: values below 1.2e-38 (float32) are "denormal", and on Intel CPUs each operation on one takes
    about a hundred cycles instead of one. The self-attention makes plenty of them: its logits are not
    scaled (SAGAN), so exp(logit - max) lands in the denormal range for 5.4 % of all its terms (measured
    over training steps of the default 64 px model: 62 M of 1.15 G, nearly all in the 64x64 and 32x32
    layers; module outputs and gradients held none). On a Xeon with AMX our training ran 5x slower with
    them than without (5.45 vs 1.11 s per iteration, issue 14); on the AMD EPYC (Zen) of our development
    machine it makes no difference (0.51 s either way). TensorFlow, and so the 2018 original, flushes
    them by default. Only numbers below 1.2e-38 change, far under anything the model can resolve.

    The x86 FTZ/DAZ (ARM FZ) bits are per thread, and a new thread copies its creator's, so this runs at
    the start of every stage, before PyTorch starts its OpenMP threads, and in every worker thread and
    data-loading process we start (``thread_map``, ``make_loader``)."""
    torch.set_flush_denormal(True)


def _busy_jiffies() -> tuple[int, int]:
    """(busy, total) clock ticks of all CPUs since boot, from /proc/stat (Linux)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields[:8]) - idle, sum(fields[:8])


def foreign_cores(seconds: float = 0.25) -> float | None:
    """How many cores other processes keep busy, sampled over ``seconds`` (None where it cannot be told)."""
    try:
        busy0, total0 = _busy_jiffies()
        ours0, wall0 = sum(os.times()[:2]), time.monotonic()
        time.sleep(seconds)
        busy1, total1 = _busy_jiffies()
        ours1, wall1 = sum(os.times()[:2]), time.monotonic()
    except (OSError, ValueError, IndexError):
        return None
    cores = os.cpu_count() or 1
    if total1 <= total0:
        return None
    busy = (busy1 - busy0) / (total1 - total0) * cores  # cores in use by everything, us included
    return max(0.0, busy - (ours1 - ours0) / (wall1 - wall0))


def adapt_threads() -> int | None:
    """Give PyTorch only the cores other processes leave free right now; returns the thread count chosen,
    or None when the user chose (OMP_NUM_THREADS) or the load cannot be measured.

    Why: PyTorch's OpenMP threads spin at every barrier waiting for each other, so a thread that shares
    its core with another process holds all the others up. Measured on a 2-core AMD EPYC beside a process
    in a busy loop: 2 threads 0.53 -> 1.62 s per training step (3.1x), 1 thread 0.99 s; on a quiet
    machine 2 threads are 1.8x faster than 1 (bench/busy_machine.py). OMP_WAIT_POLICY=PASSIVE helps the
    busy case less (1.12 s) and costs 18 % when quiet."""
    if "OMP_NUM_THREADS" in os.environ:
        return None
    foreign = foreign_cores()
    if foreign is None:
        return None
    cores = usable_cores()
    threads = max(1, min(torch.get_num_threads(), cores - round(foreign)))
    if threads < torch.get_num_threads():
        warn(f"other processes keep about {foreign:.1f} of {cores} cores busy: computing on {threads} thread(s)")
        torch.set_num_threads(threads)
    return threads


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity where the system has one (a container or
    ``taskset`` can leave it fewer cores than ``os.cpu_count()`` counts on the machine), else that count."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def setup_runtime(requested: str, precision: str = "fp32") -> Runtime:
    """The device (``auto`` prefers cuda, then mps, then cpu), its precision (``resolve_precision``) and,
    under torchrun, the process group. Denormals are flushed from here on (``flush_denormals``)."""
    flush_denormals()
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local_rank = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    if requested == "auto":
        requested = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: no CUDA GPU is visible to PyTorch; use --device cpu or auto")
    if requested == "mps" and not torch.backends.mps.is_available():
        raise UserError("--device mps: Apple's Metal backend is not available here; use --device cpu or auto")
    device = torch.device(f"cuda:{local_rank}" if requested == "cuda" else requested)
    if requested == "cuda":
        torch.cuda.set_device(device)
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if requested == "cuda" else "gloo")
    return Runtime(device, rank, world_size, resolve_precision(precision, device))


BF16_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})  # CPUs whose bf16 dot products make autocast pay


def resolve_precision(precision: str, device: torch.device) -> bool:
    """True when training on ``device`` computes in bf16 (autocast: convolutions and matrix products in
    bf16, the weights, the optimiser and the losses in float32; our attention kernel in float32, with
    bf16 dot products for its widest products on CPUs with AVX-512 BF16: nets/attention.py).

    ``auto`` takes bf16 where the hardware multiplies it natively and it measured faster: GPUs that
    support it, and CPUs with bf16 dot products, AMX tiles (``amx_bf16``) or AVX-512 BF16
    (``avx512_bf16``), where oneDNN runs bf16 convolutions at up to twice the float32 rate. On an Intel
    Xeon with AMX a step took 14-20 % less time in bf16, on an AMD EPYC Zen 5 with AVX-512 BF16 13-26 %
    (README, Speed). Without either, bf16 autocast only adds conversions."""
    if precision not in PRECISIONS:
        raise UserError(f"--precision {precision}: choose one of {', '.join(PRECISIONS)}")
    if device.type == "mps":
        if precision == "bf16":
            raise UserError("--precision bf16 is for cpu and cuda; use --precision fp32 or auto on mps")
        return False
    if device.type == "cuda":
        if precision == "bf16" and not torch.cuda.is_bf16_supported():
            raise UserError("--precision bf16: this GPU does not support bf16; use --precision fp32 or auto")
        return precision == "bf16" or (precision == "auto" and torch.cuda.is_bf16_supported())
    native = bool(BF16_FLAGS & cpu_flags())
    if precision == "bf16" and not native:
        warn("--precision bf16 on a CPU without bf16 instructions (amx_bf16, avx512_bf16) trains slower than fp32")
    return precision == "bf16" or (precision == "auto" and native)


def cpu_name() -> str:
    """This CPU's model name, as ``lscpu`` prints it, with its x86 family and model: virtual machines
    often say only "AMD EPYC" or "Intel(R) Xeon(R) Processor", and family 25 (Zen 4) and 26 (Zen 5)
    differ in speed (Linux; the platform's processor string elsewhere)."""
    fields = {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in _cpuinfo())}
    if "model name" not in fields:
        return platform.processor() or platform.machine()
    if "cpu family" in fields and "model" in fields:
        return f"{fields['model name']} (family {fields['cpu family']}, model {fields['model']})"
    return fields["model name"]


def cpu_flags() -> frozenset[str]:
    """This CPU's feature flags (``/proc/cpuinfo``: x86 "flags", ARM "Features"); empty where unknown."""
    line = next((line for line in _cpuinfo() if line.startswith(("flags", "Features"))), "")
    return frozenset(line.split(":", 1)[1].split()) if ":" in line else frozenset()


def _cpuinfo() -> list[str]:
    try:
        return Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return []


def teardown_runtime(runtime: Runtime) -> None:
    if runtime.distributed and dist.is_initialized():
        dist.destroy_process_group()


@contextlib.contextmanager
def running_on(requested: str, precision: str = "fp32"):
    """``setup_runtime`` for a block of work; the process group (if any) is closed after it, whatever happens."""
    runtime = setup_runtime(requested, precision)
    try:
        yield runtime
    finally:
        teardown_runtime(runtime)


@contextlib.contextmanager
def deferred_interrupt():
    """Turn Ctrl-C (and SIGTERM) into a request that the loop honours between iterations, so that a checkpoint never
    holds half an iteration (a D step without its G step). Yields a callable: True once requested.
    A second Ctrl-C interrupts at once."""
    requested, owner = threading.Event(), os.getpid()
    if threading.current_thread() is not threading.main_thread():
        yield requested.is_set
        return

    def handler(signum, frame):
        if os.getpid() != owner:  # a data-loading worker forked with this handler: the trainer decides
            return
        if requested.is_set():
            raise KeyboardInterrupt
        requested.set()
        print("\nstopping after this iteration (Ctrl-C again to stop at once)", flush=True)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield requested.is_set
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)

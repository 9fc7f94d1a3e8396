"""Where training runs: device choice, mixed precision, and torchrun's distributed setup."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from dataclasses import dataclass

import torch
import torch.distributed as dist

from faceswap_gan.errors import UserError


@dataclass(frozen=True)
class Runtime:
    device: torch.device
    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def autocast(self):
        """bf16 autocast on GPUs that support it; plain float32 elsewhere."""
        if self.device.type == "cuda" and torch.cuda.is_bf16_supported():
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def all_true(self, flag: bool) -> bool:
        """True when ``flag`` holds on every rank (so that all ranks skip a step together)."""
        if not self.distributed:
            return flag
        value = torch.tensor([1.0 if flag else 0.0], device=self.device)
        dist.all_reduce(value, op=dist.ReduceOp.MIN)
        return bool(value.item())


def setup_runtime(requested: str) -> Runtime:
    """The device (``auto`` prefers cuda, then mps, then cpu) and, under torchrun, the process group."""
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
    return Runtime(device, rank, world_size)


def teardown_runtime(runtime: Runtime) -> None:
    if runtime.distributed and dist.is_initialized():
        dist.destroy_process_group()


@contextlib.contextmanager
def running_on(requested: str):
    """``setup_runtime`` for a block of work; the process group (if any) is closed after it, whatever happens."""
    runtime = setup_runtime(requested)
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

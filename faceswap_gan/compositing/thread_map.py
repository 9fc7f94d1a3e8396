"""Stages of a stream of work side by side, each on its own threads, torch on few threads in each.

Conversion is a chain of stages (decode, find faces, swap, encode) made of many small operations
that spread badly over cores: one stage at a time with torch on both cores of the development
machine kept them about 70 % busy. With the stages overlapped, each worker's torch on one thread,
they are about 94 % busy, and a 720p video converts about 28 % faster (18.8 -> 24 frames/s).
Torch, OpenCV and the codecs release the GIL in their work, so threads suffice.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

import torch

from faceswap_gan.runtime import flush_denormals, usable_cores

T = TypeVar("T")
U = TypeVar("U")


def ordered_map(items: Iterable[T], fn: Callable[[T], U], workers: int = 1, torch_threads: int = 1) -> Iterator[U]:
    """``fn(item)`` for each of ``items``, in order, on ``workers`` threads with ``torch_threads`` torch
    threads each, up to ``workers + 1`` items ahead of the consumer. ``items`` is drawn in the calling
    thread, so chained calls make a pipeline. One worker runs the items one after another, in order
    (for stages with state, such as tracking). An exception in ``fn`` is raised here. Closing the
    iterator early waits for the items in progress, drops the rest and closes ``items``."""
    before = torch.get_num_threads()
    pool = ThreadPoolExecutor(workers, initializer=_start_worker, initargs=(torch_threads,))
    pending: deque[Future[U]] = deque()
    try:
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) > workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if isinstance(items, Generator):
            items.close()  # the stages before this one stop too
        # The workers' set_num_threads also changed process-wide counts (MKL's, and the one new threads
        # start from): put back the caller's.
        torch.set_num_threads(before)


def _start_worker(torch_threads: int) -> None:
    flush_denormals()  # a worker thread's own floating-point state (runtime.flush_denormals says why)
    torch.set_num_threads(torch_threads)


def split_cores(workers: int) -> tuple[int, int]:
    """(workers, torch threads each) for a stage that should use the machine's cores alone: at most
    ``workers`` workers, and all the cores divided among them."""
    cores = usable_cores()
    workers = max(1, min(workers, cores))
    return workers, max(1, cores // workers)

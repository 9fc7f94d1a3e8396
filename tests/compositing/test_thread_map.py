"""ordered_map: the pipeline conversion runs on (stages side by side in threads)."""

from __future__ import annotations

import threading
import time

import pytest
import torch

from faceswap_gan.compositing import thread_map
from faceswap_gan.compositing.thread_map import ordered_map, split_cores


def test_results_keep_the_order_of_the_items_when_workers_finish_out_of_order():
    finished = []

    def slow_first(i: int) -> int:
        time.sleep(0.05 if i % 3 == 0 else 0.0)
        finished.append(i)
        return i * i

    assert list(ordered_map(range(12), slow_first, workers=3)) == [i * i for i in range(12)]
    assert finished != sorted(finished)  # the workers did finish out of order


def test_workers_run_side_by_side_and_one_worker_runs_in_order():
    barrier = threading.Barrier(2, timeout=5)  # broken unless two calls run at once

    def meet(i: int) -> int:
        barrier.wait()
        return i

    assert list(ordered_map(range(4), meet, workers=2)) == [0, 1, 2, 3]

    running, seen = [], []

    def stateful(i: int) -> int:
        running.append(i)
        assert len(running) == 1, "two items at once"
        time.sleep(0.01)
        seen.append(i)
        running.remove(i)
        return i

    assert list(ordered_map(range(6), stateful, workers=1)) == list(range(6)) and seen == list(range(6))


def test_an_error_in_a_worker_is_raised_to_the_consumer():
    def fails_at_three(i: int) -> int:
        if i == 3:
            raise ValueError("item 3 is bad")
        return i

    out = []
    with pytest.raises(ValueError, match="item 3 is bad"):
        for value in ordered_map(range(10), fails_at_three, workers=2):
            out.append(value)
    assert out == [0, 1, 2]


@pytest.fixture
def three_torch_threads():
    """A thread count no stage below uses, so that restoring it is seen."""
    before = torch.get_num_threads()
    torch.set_num_threads(3)
    yield
    torch.set_num_threads(before)


def test_closing_early_stops_the_stages_before_and_restores_torch_threads(three_torch_threads):
    threads: dict[str, set[int]] = {"first": set(), "second": set()}
    drawn, closed = [], []

    def source():
        try:
            for i in range(1000):
                drawn.append(i)
                yield i
        finally:
            closed.append(True)

    def stage(name: str):
        def work(i: int) -> int:
            threads[name].add(torch.get_num_threads())
            return i

        return work

    chain = ordered_map(ordered_map(source(), stage("first")), stage("second"), workers=2, torch_threads=2)
    assert [next(chain) for _ in range(3)] == [0, 1, 2]
    chain.close()
    assert closed == [True] and len(drawn) < 10  # the source was closed, not drained
    assert threads == {"first": {1}, "second": {2}}
    # Workers' set_num_threads changes what every new thread starts with: it must be put back.
    fresh = []
    thread = threading.Thread(target=lambda: fresh.append(torch.get_num_threads()))
    thread.start()
    thread.join()
    assert torch.get_num_threads() == 3 and fresh == [3]


def test_split_cores_divides_the_cores_among_at_most_the_workers_asked(monkeypatch):
    for cores, expected in ((2, (2, 1)), (16, (4, 4)), (1, (1, 1))):
        monkeypatch.setattr(thread_map, "usable_cores", lambda cores=cores: cores)
        assert split_cores(4) == expected


def test_usable_cores_are_the_affinity_where_there_is_one_else_the_count(monkeypatch):
    import os

    from faceswap_gan import runtime

    monkeypatch.setattr(os, "cpu_count", lambda: 64)  # the machine's, in a container given two of them
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3, 7}, raising=False)
    assert runtime.usable_cores() == 2
    monkeypatch.delattr(os, "sched_getaffinity")  # macOS and Windows have none
    assert runtime.usable_cores() == 64
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert runtime.usable_cores() == 1

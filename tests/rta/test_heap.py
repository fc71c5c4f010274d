"""rta/heap.py: the relay's held states leave the collector's reach; cyclic garbage does not."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from wfmcli.rta.heap import Heap


class _State:
    def __init__(self, n: int) -> None:
        self.n = n
        self.peer: _State | None = None


@pytest.fixture(autouse=True)
def _thawed() -> Iterator[None]:
    yield
    gc.unfreeze()


def _tracked_ids() -> set[int]:
    return {id(o) for o in gc.get_objects()}


def _garbage_cycle() -> weakref.ref[_State]:
    first, second = _State(1), _State(2)
    first.peer, second.peer = second, first
    return weakref.ref(first)


def test_settle_moves_the_live_states_out_of_the_collectors_passes() -> None:
    held = [_State(n) for n in range(2_000)]
    Heap().settle()
    tracked = _tracked_ids()
    assert not any(id(state) in tracked for state in held)
    newer = _State(-1)
    assert id(newer) in _tracked_ids()  # what is made afterwards is collected as before


def test_young_cyclic_garbage_is_freed_before_a_settle_not_kept() -> None:
    cycle = _garbage_cycle()
    Heap().settle()
    assert cycle() is None


def test_the_first_check_sets_the_baseline_and_a_steady_heap_gets_no_full_pass() -> None:
    heap = Heap()
    heap.settle()
    heap.check()
    assert heap.baseline == gc.get_freeze_count() > 0
    for _ in range(3):
        [_State(n) for n in range(100)]  # replaced states: freed by reference counting
        heap.settle()
        heap.check()
    assert heap.full_passes == 0


def test_a_permanent_generation_grown_past_the_factor_gets_one_full_pass() -> None:
    heap = Heap(regrow_factor=2.0)
    heap.settle()
    # Cyclic garbage that reached the permanent generation (it was old when a settle came).
    cycles = [_garbage_cycle() for _ in range(200)]
    gc.freeze()
    heap.baseline = max(1, gc.get_freeze_count() // 3)
    heap.check()
    assert heap.full_passes == 1
    assert all(cycle() is None for cycle in cycles)
    assert heap.baseline == gc.get_freeze_count()

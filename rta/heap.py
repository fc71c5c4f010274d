"""Keeping the collector's full passes short in a relay that holds 100,000 agents.

Every agent's state is a handful of small objects that live until the next change replaces
them, and the replaced ones are freed by reference counting: none of them ever needs the cyclic
collector. Yet once they reach the oldest generation each full pass walks all of them, and at
100,000 agents (about 1.1 million objects after the post-subscribe resync) one pass held the
loop for 250-320 ms every 10-20 s, which was the whole p99 of bench/rta_bench.py at that size.

So the relay settles its heap every SETTLE_EVERY_S: a pass over the young generations frees the
cyclic garbage there, and what is left moves to the permanent generation (both take well under
a millisecond). Cyclic garbage that already reached the old generation would then be kept (in
steady running at 100,000 agents the full passes freed none). Counting the permanent generation
walks all of it (60-90 ms at 100,000 agents), so that is done every CHECK_EVERY_S only: the
first count is the baseline, and when a later one exceeds REGROW_FACTOR times it, one full pass
over everything takes any kept garbage back (one long pause, logged) and becomes the baseline.
"""

from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger("wfm.rta")
SETTLE_EVERY_S = 5.0
CHECK_EVERY_S = 600.0
REGROW_FACTOR = 2.0


class Heap:
    """`settle()` and `check()` are called from the relay's loop, between events."""

    def __init__(self, regrow_factor: float = REGROW_FACTOR) -> None:
        self.regrow_factor = regrow_factor
        self.baseline = 0
        self.full_passes = 0

    def settle(self) -> None:
        gc.collect(1)
        gc.freeze()

    def check(self) -> None:
        frozen = gc.get_freeze_count()
        if not self.baseline:
            self.baseline = frozen
        elif frozen > self.regrow_factor * self.baseline:
            self._full_pass(frozen)

    def _full_pass(self, frozen: int) -> None:
        started = time.perf_counter()
        gc.unfreeze()
        collected = gc.collect()
        gc.freeze()
        self.baseline = gc.get_freeze_count()
        self.full_passes += 1
        log.info("collector: a full pass over %d held objects freed %d in %.0f ms",
                 frozen, collected, 1000 * (time.perf_counter() - started))

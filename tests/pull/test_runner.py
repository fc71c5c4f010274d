"""The pull's request runner: large answers are bounded across all credential sets."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from wfmcli.pull.run import IN_FLIGHT_PER_SET, LARGE_ANSWERS_IN_FLIGHT, Job, _all, _Runner


def test_large_answers_are_bounded_across_sets_and_hold_no_set_slot() -> None:
    sets = 5
    large_now, large_most = 0, 0
    small_done = 0
    release = asyncio.Event()

    async def large(session: Any) -> None:
        nonlocal large_now, large_most
        large_now += 1
        large_most = max(large_most, large_now)
        await release.wait()
        large_now -= 1

    async def small(session: Any) -> None:
        nonlocal small_done
        await asyncio.sleep(0)
        small_done += 1

    jobs = [Job(n % sets, large, large=True) for n in range(4 * sets * IN_FLIGHT_PER_SET)]
    jobs += [Job(n % sets, small) for n in range(50)]

    async def main() -> None:
        runner = _Runner(SimpleNamespace(sessions=[object()] * sets), lambda: None)  # type: ignore[arg-type]
        running = asyncio.create_task(_all(runner, jobs))
        for _ in range(200):
            await asyncio.sleep(0)
        # every small job ran although large ones were queued before them on every set
        assert small_done == 50
        assert large_most == LARGE_ANSWERS_IN_FLIGHT
        release.set()
        await running

    asyncio.run(main())
    assert large_now == 0

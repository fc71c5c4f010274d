"""The relay's roster by change detection, against the twin: a moved userCount reads the role's
holders and only the joiners; a swap (the count unchanged) waits for the holders check."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import pytest

from tests.rta.harness import control, eventually, settings, source_config
from wfmcli.rta.service import Relay, SinkSpec
from wfmcli.sim import RunningTwin, start_twin

pytestmark = pytest.mark.timeout(60)
HOLDERS = "GET /api/v2/authorization/roles/{role_id}/users"
USERS = "GET /api/v2/users"


@pytest.fixture
def twin() -> Iterator[RunningTwin]:
    running = start_twin(seed=11, agents=30, queues=2, days=0, live=True, speed=5.0,
                         credentials=1, control=True)  # fmt: skip
    try:
        yield running
    finally:
        running.stop()


def _relay(twin: RunningTwin, holders_check_s: float) -> Relay:
    source = source_config(twin, roster_refresh_s=0.2, holders_check_s=holders_check_s,
                           full_read_s=10_000.0)  # fmt: skip
    return Relay(settings(twin, "verint", [SinkSpec("stdout")], source=source))


def test_a_new_licence_is_read_by_id_without_a_full_listing(twin: RunningTwin) -> None:
    async def scenario() -> None:
        relay = _relay(twin, holders_check_s=10_000.0)
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run(stop))
        await relay.feed.ready.wait()
        source = relay.sources[0]
        joiner = next(u for u in twin.org.users if not u.licensed)
        control(twin).requests(reset=True)
        control(twin).license(joiner.username, True)
        await eventually(lambda: joiner.id in source.roster, what="the joiner")
        served = {f"{row['method']} {row['route']}": row["count"]
                  for row in control(twin).requests()["endpoints"]}
        assert source.stats["roster_refreshes"] == 0  # no full read
        assert source.stats["roster_holder_reads"] == 1
        assert served.get(HOLDERS) == 1
        # the joiner by id, and once more when its topic is live (events before it are lost)
        assert served.get(USERS) == 2
        stop.set()
        await task

    asyncio.run(scenario())


def test_a_swapped_licence_waits_for_the_holders_check(twin: RunningTwin) -> None:
    async def scenario(holders_check_s: float) -> tuple[bool, bool]:
        relay = _relay(twin, holders_check_s)
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run(stop))
        await relay.feed.ready.wait()
        source = relay.sources[0]
        leaver = next(u for u in twin.org.users if u.licensed and u.id in source.roster)
        joiner = next(u for u in twin.org.users if not u.licensed)
        control(twin).license(leaver.username, False)
        control(twin).license(joiner.username, True)
        probes = source.stats["roster_probes"]
        with contextlib.suppress(AssertionError):
            await eventually(lambda: joiner.id in source.roster, timeout=3.0, what="the swap")
        # the count never moved: only probes, unless the holders check came round
        assert source.stats["roster_probes"] > probes
        swapped = joiner.id in source.roster and leaver.id not in source.roster
        stop.set()
        await task
        control(twin).license(leaver.username, True)  # back as it was, for the next run
        control(twin).license(joiner.username, False)
        return swapped, source.stats["roster_holder_reads"] > 0

    assert asyncio.run(scenario(10_000.0)) == (False, False)
    assert asyncio.run(scenario(0.5)) == (True, True)

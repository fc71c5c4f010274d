"""End to end against the live twin over real sockets on 127.0.0.1: Genesys -> relay -> WFM."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.rta.harness import (
    NOW_MS,
    VerintClient,
    control,
    eventually,
    pause,
    resume,
    settings,
    source_config,
    truth,
)
from wfmcli.rta.service import Relay, SinkSpec
from wfmcli.sim import RunningTwin, start_twin

SPEED = 20.0
pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def twin() -> Iterator[RunningTwin]:
    running = start_twin(seed=5, agents=40, queues=4, days=0, live=True, speed=SPEED,
                         now_ms=NOW_MS, credentials=2, control=True)
    try:
        yield running
    finally:
        running.stop()


def _check_order(records: list[list[str]]) -> int:
    """Per agent: timestamps never go back, and 26/27/28 follow login and logout."""
    last: dict[str, tuple[str, str]] = {}
    for fields in records:
        if fields[9] != "0":
            continue
        event, agent, stamp, mode = fields[0], fields[1], fields[3], fields[4]
        previous = last.get(agent)
        if previous is not None:
            assert stamp >= previous[0], f"{agent}: {stamp} after {previous[0]}"
        assert (event == "27") == (mode == "27"), fields
        if event == "26" and previous is not None:
            assert previous[1] == "27", f"{agent} logged in twice: {fields}"
        last[agent] = (stamp, mode)
    return len(last)


def test_changes_in_order_late_snapshot_ops_and_shutdown(twin: RunningTwin) -> None:
    async def scenario() -> None:
        relay = Relay(settings(twin, "verint", [SinkSpec("tcp-server")], ops_port=0))
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run(stop))
        sink = relay.sinks[0]
        await sink.listening.wait()  # type: ignore[attr-defined]
        early = await VerintClient("127.0.0.1", sink.port).start()  # type: ignore[attr-defined]
        await asyncio.sleep(2.0)
        pause(twin)
        expected = truth(twin, "verint")
        await eventually(lambda: early.latest == expected, what="the early client converged")
        assert relay.feed.stats["changes"] > len(expected)  # live changes, not just a snapshot
        assert _check_order(early.records) == len(expected)
        late = await VerintClient("127.0.0.1", sink.port).start()  # type: ignore[attr-defined]
        await eventually(lambda: late.latest == expected, what="the late client's snapshot")
        assert late.links[0] == "1" and len(late.records) == len(expected) + 1

        assert relay.ops is not None
        await relay.ops.bound.wait()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{relay.ops.port}") as http:
            health = await http.get("/healthz")
            metrics = (await http.get("/metrics")).text
        assert health.status_code == 200 and health.json()["link"] == "normal"
        assert f"wfm_rta_agents {len(expected)}" in metrics
        assert 'wfm_rta_sink_clients{sink="tcp-server"' in metrics

        stop.set()
        await task
        await eventually(lambda: "4" in early.links, what="graceful-shutdown link status")
        await early.stop()
        await late.stop()

    asyncio.run(scenario())


def test_sinks_converge_after_drops_closing_expiry_and_token_expiry(twin: RunningTwin) -> None:
    async def scenario() -> None:
        relay = Relay(settings(twin, "verint", [SinkSpec("tcp-server")],
                               source=source_config(twin, sets=2)))
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run(stop))
        sink = relay.sinks[0]
        await sink.listening.wait()  # type: ignore[attr-defined]
        client = await VerintClient("127.0.0.1", sink.port).start()  # type: ignore[attr-defined]
        source = relay.sources[0]

        async def converge(what: str) -> None:
            await asyncio.sleep(0.8)  # traffic keeps flowing through and after the fault
            pause(twin)
            expected = truth(twin, "verint")
            took = await eventually(lambda: client.latest == expected, timeout=20, what=what)
            print(f"converged after {what} in {took:.2f} s")
            resume(twin, SPEED)

        await relay.feed.ready.wait()
        await eventually(lambda: relay.feed.link == "normal", what="channels up")
        await asyncio.to_thread(control(twin).drop_sockets)
        await converge("dropped sockets")
        reconnects = source.health()["reconnects"]
        assert reconnects >= 1

        await asyncio.to_thread(control(twin).socket_closing, None, 0.5)
        await converge("socket_closing")
        assert source.health()["renewals"] >= 1

        twin.set_channel_lifetime(0.3)
        await eventually(lambda: source.health()["reconnects"] > reconnects, what="expiry")
        twin.set_channel_lifetime(86_400)
        await converge("channel expiry")

        await asyncio.to_thread(control(twin).expire_tokens)
        # the reconnect and resync must get a fresh token
        await asyncio.to_thread(control(twin).drop_sockets)
        await converge("token expiry")
        assert source.health()["resyncs"] >= 4
        stop.set()
        await task
        await client.stop()

    asyncio.run(scenario())


def test_restart_gives_clients_a_full_snapshot(twin: RunningTwin) -> None:
    async def scenario() -> None:
        pause(twin)
        expected = truth(twin, "verint")
        first = Relay(settings(twin, "verint", [SinkSpec("tcp-server")]))
        stop = asyncio.Event()
        task = asyncio.create_task(first.run(stop))
        await first.sinks[0].listening.wait()  # type: ignore[attr-defined]
        port = first.sinks[0].port  # type: ignore[attr-defined]
        client = await VerintClient("127.0.0.1", port).start()
        await eventually(lambda: client.latest == expected, what="first snapshot")
        stop.set()
        await task
        await eventually(lambda: "4" in client.links, what="shutdown notice")
        client.latest.clear()

        started = time.monotonic()
        second = Relay(settings(twin, "verint", [SinkSpec("tcp-server", port=port)]))
        stop = asyncio.Event()
        task = asyncio.create_task(second.run(stop))
        took = await eventually(lambda: client.latest == expected, what="snapshot after restart")
        print(f"full snapshot at the client {took:.2f} s after the restart "
              f"(relay ready after {second.ready_after_s or 0:.2f} s)")
        assert client.connected_at >= started
        stop.set()
        await task
        await client.stop()

    asyncio.run(scenario())


def test_roster_changes_are_picked_up_without_restart(twin: RunningTwin) -> None:
    async def scenario() -> None:
        relay = Relay(settings(twin, "verint", [SinkSpec("tcp-server")],
                               source=source_config(twin, roster_refresh_s=0.3,
                                                    holders_check_s=0.9)))
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run(stop))
        await relay.sinks[0].listening.wait()  # type: ignore[attr-defined]
        client = await VerintClient("127.0.0.1", relay.sinks[0].port).start()  # type: ignore[attr-defined]
        await relay.feed.ready.wait()
        pause(twin)
        leaver = next(u for u in twin.org.users if u.licensed)
        joiner = next(u for u in twin.org.users if not u.licensed)
        control(twin).license(leaver.username, False)
        control(twin).license(joiner.username, True)
        expected = truth(twin, "verint")
        assert leaver.username not in expected and joiner.username in expected

        def settled() -> bool:
            gone = client.latest.get(leaver.username) == ("27", "")
            snapshot = {v.agent for v in relay.engine.snapshot()}
            return gone and joiner.username in snapshot and leaver.username not in snapshot

        await eventually(settled, what="roster refresh")
        await eventually(lambda: client.latest.get(joiner.username) == expected[joiner.username],
                         what="the joiner's state")
        stop.set()
        await task
        await client.stop()

    asyncio.run(scenario())


def test_detailed_mode_adds_media_and_after_contact_work(twin: RunningTwin) -> None:
    async def scenario() -> None:
        relay = Relay(settings(twin, "verint", [SinkSpec("tcp-server")], detailed=True,
                               source=source_config(twin, detailed=True)))
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run(stop))
        await relay.sinks[0].listening.wait()  # type: ignore[attr-defined]
        client = await VerintClient("127.0.0.1", relay.sinks[0].port).start()  # type: ignore[attr-defined]
        await relay.feed.ready.wait()
        source = relay.sources[0]
        topics = [t for slot in source.slots for t in slot.topics]
        assert len(topics) == 2 * len(source.roster)
        assert sum(t.endswith(".conversationsummary") for t in topics) == len(source.roster)
        await eventually(lambda: relay.engine.by_state().get("ACW", 0) > 0, timeout=20,
                         what="an agent in ACW")
        pause(twin)
        expected = truth(twin, "verint", detailed=True)
        await eventually(lambda: client.latest == expected, what="detailed truth")
        stop.set()
        await task
        await client.stop()

    asyncio.run(scenario())

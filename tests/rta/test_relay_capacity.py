"""The relay at its channel capacity: more than 10 channels on one credential set, through
`socket_closing` on every channel and evicted channels, over real sockets to the twin.

The twin's topics-per-channel limit is lowered (and the relay's with it) so that a 40-agent org
fills 18 of the set's 20 channels: a renewal that made new channels before closing the old ones
would need 36 and the twin (like Genesys) would evict some.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.rta.harness import (
    VerintClient,
    eventually,
    pause,
    resume,
    settings,
    source_config,
    truth,
)
from wfmcli.rta.service import Relay, SinkSpec
from wfmcli.sim import RunningTwin

SPEED = 20.0
TOPICS_PER_CHANNEL = 2
pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def twin(one_set_twin: RunningTwin) -> RunningTwin:
    one_set_twin.runtime.hub.max_topics = TOPICS_PER_CHANNEL
    return one_set_twin


async def _start(twin: RunningTwin) -> tuple[Relay, asyncio.Event, asyncio.Task[None],
                                             VerintClient]:
    """A relay on 18 channels of one set, a WFM client, and every channel up."""
    source = source_config(twin, topics_per_channel=TOPICS_PER_CHANNEL)
    relay = Relay(settings(twin, "verint", [SinkSpec("tcp-server")], source=source))
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    sink = relay.sinks[0]
    await sink.listening.wait()  # type: ignore[attr-defined]
    client = await VerintClient("127.0.0.1", sink.port).start()  # type: ignore[attr-defined]
    await relay.feed.ready.wait()
    await eventually(lambda: relay.feed.link == "normal", what="channels up")
    return relay, stop, task, client






def _channels_of(twin: RunningTwin) -> int:
    client_id = twin.credentials[0].client_id
    return sum(1 for c in twin.runtime.hub.channels.values() if c.client_id == client_id)


def test_socket_closing_on_every_channel_of_a_full_set(twin: RunningTwin) -> None:
    async def scenario() -> None:
        relay, stop, task, client = await _start(twin)
        watched = relay.sources[0]
        slots = len(watched.slots)
        assert 10 < slots <= 20
        channel_ids = {slot.channel.id for slot in watched.slots if slot.channel}

        for round_ in range(2):
            assert twin.socket_closing(grace_s=0.5) == slots
            await asyncio.sleep(0.8)
            assert not task.done(), "the relay exited"
            assert twin.runtime.hub.evictions == 0  # never more than 20 channels wanted
            pause(twin)
            expected = truth(twin, "verint")
            await eventually(lambda want=expected: client.latest == want, timeout=30,
                             what=f"a correct snapshot after socket_closing #{round_ + 1}")
            resume(twin, SPEED)
        health = watched.health()
        assert health["renewals"] >= 2 * slots
        # Renewed in place: the same channels, none evicted or made anew.
        assert {slot.channel.id for slot in watched.slots if slot.channel} == channel_ids
        assert health["recreated"] == 0

        port = relay.sinks[0].port  # type: ignore[attr-defined]
        late = await VerintClient("127.0.0.1", port).start()
        pause(twin)
        expected = truth(twin, "verint")
        await eventually(lambda: late.latest == expected, what="a late client's snapshot")
        stop.set()
        await task
        await client.stop()
        await late.stop()

    asyncio.run(scenario())


def test_evicted_channels_are_made_anew_and_their_agents_resynced(twin: RunningTwin) -> None:
    async def scenario() -> None:
        relay, stop, task, client = await _start(twin)
        watched = relay.sources[0]
        victims = [slot.channel.id for slot in watched.slots[:3] if slot.channel]

        async def evict() -> None:
            for channel_id in victims:
                twin.runtime.hub.remove(channel_id)

        twin.call(evict())  # as a 21st channel of another client would
        await eventually(lambda: watched.health()["recreated"] >= len(victims),
                         what="evicted channels made anew")
        live = twin.runtime.hub.channels
        await eventually(lambda: all(slot.connected and slot.channel is not None
                                     and slot.channel.id in live for slot in watched.slots),
                         timeout=30, what="every slot on a live channel again")
        assert not task.done()
        pause(twin)
        expected = truth(twin, "verint")
        await eventually(lambda: client.latest == expected, timeout=30,
                         what="a correct snapshot after evictions")
        assert _channels_of(twin) == len(watched.slots)
        stop.set()
        await task
        await client.stop()

    asyncio.run(scenario())

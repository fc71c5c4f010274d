"""One relay per scope against the live twin: shared channels, id widths, nothing stale."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from tests.rta.harness import (
    NOW_MS,
    VerintClient,
    control,
    eventually,
    pause,
    settings,
    source_config,
    truth,
)
from tests.rta.test_sinks import FixedWidthServer, calabrio_endpoint, free_port
from wfmcli.config.model import RtaSettings
from wfmcli.errors import ConfigError
from wfmcli.reports.profiles import load_profile
from wfmcli.rta.model import AgentIds
from wfmcli.rta.service import Relay, RelaySettings, SinkSpec
from wfmcli.rta.settings import http_target
from wfmcli.sim import RunningTwin, start_twin

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def twin() -> Iterator[RunningTwin]:
    running = start_twin(seed=5, agents=40, queues=4, days=0, live=True, speed=20.0,
                         now_ms=NOW_MS, control=True)
    try:
        yield running
    finally:
        running.stop()


def subscriptions(twin: RunningTwin) -> tuple[int, int]:
    """(channels, topic subscriptions) the twin serves to connected clients (a channel left
    behind by a reconnect is not in use)."""
    async def count() -> tuple[int, int]:  # on the twin's own loop: no torn reads
        channels = [c for c in twin.runtime.hub.channels.values() if c.connected]
        return len(channels), sum(len(c.topics) for c in channels)

    return twin.call(count())


def licensed(twin: RunningTwin) -> list[str]:
    return [u.username for u in twin.org.users if u.licensed]


def short_ids(twin: RunningTwin) -> dict[str, str]:
    """An agent map: every user's username -> a 6-character WFM id."""
    return {u.username.casefold(): f"E{u.index:05d}" for u in twin.org.users}


def test_two_destinations_of_one_scope_share_one_set_of_channels(twin: RunningTwin) -> None:
    async def scenario() -> None:
        verint = settings(twin, "verint", [SinkSpec("tcp-server")], name="lab/verint")
        aspect_port = free_port()
        aspect = settings(twin, "alvaria", [SinkSpec("tcp-client", port=aspect_port)],
                          name="lab/aspect",
                          agent_ids=AgentIds("mapping", short_ids(twin)))
        wfm = FixedWidthServer()
        server = await asyncio.start_server(wfm.handle, "127.0.0.1", aspect_port)
        relay = Relay([verint, aspect])
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run(stop))
        tcp = relay.lanes[0].sinks[0]
        await tcp.listening.wait()  # type: ignore[attr-defined]
        client = await VerintClient("127.0.0.1", tcp.port).start()  # type: ignore[attr-defined]
        await eventually(lambda: relay.feed.link == "normal", what="channels up")
        pause(twin)
        expected = truth(twin, "verint")
        await eventually(lambda: client.latest == expected, what="Verint converged")
        by_id = {f"E{u.index:05d}": u.username for u in twin.org.users if u.licensed}
        aspect_truth = {agent: f"{code:0>4}" for agent, (code, _) in truth(twin, "alvaria").items()}
        await eventually(lambda: {by_id[a]: c for a, c in wfm.latest().items()} == aspect_truth,
                         what="Universal ACD converged")
        channels, topics = subscriptions(twin)
        assert (channels, topics) == (1, len(licensed(twin)))  # not one set per destination
        assert len(relay.sources) == 1
        statuses = relay.status()["destinations"]
        assert [s["name"] for s in statuses] == ["lab/verint", "lab/aspect"]
        stop.set()
        await task
        await client.stop()
        server.close()

    asyncio.run(scenario())


def test_universal_acd_refuses_email_ids_until_the_agent_map_fits(twin: RunningTwin) -> None:
    async def scenario() -> None:
        port = free_port()
        wfm = FixedWidthServer()
        server = await asyncio.start_server(wfm.handle, "127.0.0.1", port)
        refused = Relay(settings(twin, "alvaria", [SinkSpec("tcp-client", port=port)],
                                 agent_ids=AgentIds("email")))
        with pytest.raises(ConfigError) as caught:
            await refused.run()
        message = caught.value.one_line()
        assert f"{len(licensed(twin))} agent id(s) do not fit" in message
        assert "agentId holds 10" in message and "@" in message
        assert wfm.lines == []  # nothing cut, nothing sent

        mapped = Relay(settings(twin, "alvaria", [SinkSpec("tcp-client", port=port)],
                                agent_ids=AgentIds("mapping", short_ids(twin))))
        stop = asyncio.Event()
        task = asyncio.create_task(mapped.run(stop))
        await eventually(lambda: len(wfm.latest()) == len(licensed(twin)),
                         what="every agent at the WFM")
        assert len(set(wfm.latest())) == len(licensed(twin))  # every id distinct
        stop.set()
        await task
        server.close()

    asyncio.run(scenario())


def _lanes(twin: RunningTwin, tmp_path: Path, verint_port: int, aspect_port: int,
           calabrio_url: str) -> list[RelaySettings]:
    told = tmp_path / "told"
    rta = load_profile("calabrio").rta
    assert rta is not None
    target = http_target("lab/calabrio rta", rta, RtaSettings.model_validate(
        {"endpoint": calabrio_url, "api_key": "secret-key-1", "source_id": "7"}))
    # 40 agents, 10 per call: the remembered set, not IsSnapshot, must log the leaver out
    target = replace(target, batch_size=10)
    return [
        settings(twin, "verint", [SinkSpec("tcp-server", port=verint_port)], name="lab/verint",
                 told_path=told / "verint.json"),
        settings(twin, "alvaria", [SinkSpec("tcp-client", port=aspect_port)], name="lab/aspect",
                 agent_ids=AgentIds("mapping", short_ids(twin)),
                 told_path=told / "aspect.json"),
        settings(twin, "calabrio", [SinkSpec("http-push", http=target, backoff_max_s=0.2)],
                 name="lab/calabrio", told_path=told / "calabrio.json"),
    ]


def test_an_agent_removed_while_stopped_is_logged_out_at_every_sink_kind(
    twin: RunningTwin, tmp_path: Path
) -> None:
    async def scenario() -> None:
        pause(twin)
        verint_port, aspect_port = free_port(), free_port()
        aspect = FixedWidthServer()
        server = await asyncio.start_server(aspect.handle, "127.0.0.1", aspect_port)
        async with calabrio_endpoint() as (calabrio, url):
            lanes = _lanes(twin, tmp_path, verint_port, aspect_port, url)
            working = truth(twin, "verint")
            # someone logged in: a logout at the WFM is then news, not what it already holds
            leaver = next(u for u in twin.org.users
                          if u.licensed and working[u.username][0] != "27")
            leaver_id = f"E{leaver.index:05d}"
            first = Relay(lanes)
            stop = asyncio.Event()
            task = asyncio.create_task(first.run(stop))
            client = await VerintClient("127.0.0.1", verint_port).start()
            expected = truth(twin, "verint")
            await eventually(lambda: client.latest == expected, what="Verint before")
            await eventually(lambda: leaver_id in aspect.latest(), what="Aspect before")
            push = first.lanes[2].sinks[0]
            await eventually(lambda: push.stats["snapshots"] >= 1  # type: ignore[attr-defined]
                             and leaver.username in calabrio.states, what="Calabrio before")
            stop.set()
            await task

            # while the relay is down, the agent leaves the licensing role
            await asyncio.to_thread(control(twin).license, leaver.username, False)
            aspect.lines.clear()
            calabrio.received.clear()

            started = time.monotonic()
            second = Relay(_lanes(twin, tmp_path, verint_port, aspect_port, url))
            stop = asyncio.Event()
            task = asyncio.create_task(second.run(stop))

            def logged_out() -> bool:
                return (client.latest.get(leaver.username) == ("27", "")
                        and aspect.latest().get(leaver_id) == "0000"
                        and calabrio.states.get(leaver.username) == "OFF")

            took = await eventually(logged_out, what="the leaver logged out everywhere")
            print(f"logged out at every sink kind {took:.2f} s after the restart "
                  f"({time.monotonic() - started:.2f} s)")
            assert (leaver.username, "OFF") in calabrio.received
            assert leaver.username not in {v.agent for v in second.engine.snapshot()}
            stop.set()
            await task
            await client.stop()
        server.close()

    asyncio.run(scenario())


def test_first_link_status_says_starting_until_channels_are_up(twin: RunningTwin) -> None:
    async def scenario() -> None:
        relay = Relay(settings(twin, "verint", [SinkSpec("tcp-server")],
                               source=source_config(twin)))
        assert relay.feed.link == "starting"
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run(stop))
        tcp = relay.sinks[0]
        await tcp.listening.wait()  # type: ignore[attr-defined]
        client = await VerintClient("127.0.0.1", tcp.port).start()  # type: ignore[attr-defined]
        await eventually(lambda: "1" in client.links, what="feed normal")
        assert client.links[0] in ("3", "1")  # starting (3) unless the channels beat us
        assert relay.feed.link == "normal"
        stop.set()
        await task
        await client.stop()

    asyncio.run(scenario())


def test_a_nice_cxone_destination_streams_twin_agents_to_https(twin: RunningTwin) -> None:
    import trustme

    from tests.rta.test_http_push import (
        ACCESS_ID,
        ACCESS_SECRET,
        TENANT,
        CxoneEndpoint,
        https_app,
        trusting,
    )

    ca = trustme.CA()

    async def scenario() -> None:
        endpoint = CxoneEndpoint()
        async with https_app(endpoint.app(), ca) as url:
            rta = load_profile("nice-cxone").rta
            assert rta is not None
            target = trusting(ca, http_target("lab/cxone rta", rta, RtaSettings.model_validate({
                "endpoint": f"{url}/agent-states", "tenant": TENANT, "client_id": ACCESS_ID,
                "client_secret": ACCESS_SECRET, "token_url": f"{url}/token"})))
            relay = Relay(settings(twin, "nice-cxone", [SinkSpec("http-push", http=target)]))
            stop = asyncio.Event()
            task = asyncio.create_task(relay.run(stop))
            await eventually(lambda: relay.feed.link == "normal", what="channels up")
            await asyncio.sleep(1.0)  # live changes flow too
            pause(twin)
            expected = truth(twin, "nice-cxone")
            await eventually(lambda: {a: (c, r[:24]) for a, (c, r) in endpoint.states.items()}
                             == expected, what="CXone holds the twin's truth")
            assert endpoint.violations == [] and endpoint.tokens_issued == 1
            stop.set()
            await task

    asyncio.run(scenario())

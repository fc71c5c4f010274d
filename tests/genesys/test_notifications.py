"""Notification channels: REST calls against the scripted server, the stream over a real socket."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve

from tests.genesys.fake_server import CLIENT_ID, CLIENT_SECRET, FakeGenesys, Reply, Seen
from tests.transports.servers import Certs
from wfmcli.errors import TransientError, UsageError
from wfmcli.genesys.auth import Credential
from wfmcli.genesys.client import GenesysClient
from wfmcli.genesys.notifications import (
    Channel,
    FollowPolicy,
    Notification,
    NotificationSocket,
    create_channel,
    follow,
    plan_channels,
    socket_tls,
    subscribe,
)
from wfmcli.genesys.retry import RetryPolicy

pytestmark = pytest.mark.timeout(30)

HEARTBEAT = {"topicName": "channel.metadata", "eventBody": {"message": "WebSocket Heartbeat"}}
ACTIVITY = {
    "topicName": "v2.users.u1.activity",
    "version": "2",
    "eventBody": {"id": "u1", "routingStatus": {"status": "IDLE"}},
    "metadata": {"CorrelationId": "c-1"},
}
CLOSING = {"topicName": "v2.system.socket_closing", "eventBody": {"message": "closing"}}


def test_channel_is_created_and_topics_subscribed(fake: FakeGenesys) -> None:
    channel_id = "streaming-0-abc123"
    fake.routes[("POST", "/api/v2/notifications/channels")] = lambda seen: Reply(
        200,
        {
            "id": channel_id,
            "connectUri": f"wss://streaming.example/channels/{channel_id}",
            "expires": "2026-11-26T17:00:00.000Z",
        },
    )

    def subscriptions(seen: Seen) -> Reply:
        topics = [item["id"] for item in json.loads(seen.body)]
        states = [{"id": t, "state": "Rejected" if "queues" in t else "Permitted"} for t in topics]
        return Reply(200, {"entities": states})

    path = f"/api/v2/notifications/channels/{channel_id}/subscriptions"
    fake.routes[("POST", path)] = subscriptions
    fake.routes[("PUT", path)] = subscriptions

    async def main() -> tuple[Channel, list[dict[str, Any]], dict[str, dict[str, int]]]:
        credentials = [Credential(CLIENT_ID, CLIENT_SECRET)]
        retry = RetryPolicy(time_scale=0.001)
        async with GenesysClient(fake.base_url, fake.base_url, credentials, retry=retry) as client:
            channel = await create_channel(client.session())
            topics = ["v2.users.u1.activity", "v2.routing.queues.q1.users"]
            rejected = await subscribe(client.session(), channel, topics, replace=True)
            return channel, rejected, client.counter.by_credential()

    channel, rejected, counts = asyncio.run(main())
    assert channel.id == channel_id
    assert channel.expires is not None and channel.expires.tzinfo is not None
    assert [r["id"] for r in rejected] == ["v2.routing.queues.q1.users"]
    assert json.loads(fake.requests_to(path)[0].body) == [
        {"id": "v2.users.u1.activity"},
        {"id": "v2.routing.queues.q1.users"},
    ]
    assert fake.requests_to(path)[0].method == "PUT"
    assert counts[CLIENT_ID]["PUT /api/v2/notifications/channels/{id}/subscriptions"] == 1


def test_topic_limits_are_enforced_before_calling_genesys() -> None:
    topics = [f"v2.users.{i}.activity" for i in range(2_500)]
    assert [len(chunk) for chunk in plan_channels(topics)] == [1000, 1000, 500]
    with pytest.raises(UsageError, match="may hold 20"):
        plan_channels([f"t{i}" for i in range(20_001)])

    async def too_many() -> None:
        session: Any = None
        await subscribe(session, Channel("c", "ws://x", None), [f"t{i}" for i in range(1001)])

    with pytest.raises(UsageError, match="1001 topics"):
        asyncio.run(too_many())


Behaviour = Callable[[ServerConnection], Awaitable[None]]


async def read_stream(behaviour: Behaviour, heartbeat_timeout: float = 5.0) -> list[Notification]:
    got: list[Notification] = []
    async with serve(behaviour, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        uri = f"ws://127.0.0.1:{port}/channels/streaming-0-x"
        async with NotificationSocket(uri, heartbeat_timeout=heartbeat_timeout) as stream:
            try:
                async for note in stream:
                    got.append(note)
                    if note.topic == "channel.metadata" and len(got) == 1:
                        await stream.ping()
            except TransientError as exc:
                got.append(Notification("error", exc.one_line()))
    return got


def test_stream_yields_heartbeats_events_and_socket_closing_then_ends() -> None:
    async def genesys(ws: ServerConnection) -> None:
        await ws.send(json.dumps(HEARTBEAT))
        ping = json.loads(await ws.recv())
        assert ping == {"message": "ping"}
        await ws.send(
            json.dumps({"topicName": "channel.metadata", "eventBody": {"message": "pong"}})
        )
        await ws.send(json.dumps(ACTIVITY))
        await ws.send(json.dumps(CLOSING))
        await ws.close()

    got = asyncio.run(read_stream(genesys))
    assert [n.kind for n in got] == ["heartbeat", "pong", "event", "socket_closing"]
    assert got[2].body["routingStatus"]["status"] == "IDLE"
    assert got[2].metadata == {"CorrelationId": "c-1"}


def test_a_dropped_socket_is_a_transient_error() -> None:
    async def genesys(ws: ServerConnection) -> None:
        await ws.send(json.dumps(ACTIVITY))
        ws.transport.abort()  # no close frame: the network went away

    got = asyncio.run(read_stream(genesys))
    assert got[0].kind == "event"
    assert got[-1].topic == "error"
    assert "notification socket dropped" in got[-1].body


def test_missing_heartbeats_are_a_transient_error() -> None:
    async def genesys(ws: ServerConnection) -> None:
        await ws.send(json.dumps(HEARTBEAT))
        await ws.wait_closed()  # silent until the client gives up

    got = asyncio.run(read_stream(genesys, heartbeat_timeout=0.3))
    assert got[-1].topic == "error"
    assert "no heartbeat" in got[-1].body


def test_an_unreachable_socket_is_a_transient_error() -> None:
    async def main() -> None:
        async with serve(lambda ws: ws.close(), "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
        async with NotificationSocket(f"ws://127.0.0.1:{port}/channels/x"):
            pass

    with pytest.raises(TransientError, match="cannot open the Genesys notification socket"):
        asyncio.run(main())


def test_wss_sockets_share_one_tls_context(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every wss:// socket of the process verifies with one context, built once (websockets
    would build one per connection, loading every CA certificate each time)."""
    certs = Certs(tmp_path / "certs")
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(str(certs.good))
    real = ssl.create_default_context
    built: list[ssl.SSLContext] = []

    def trusting_the_test_ca(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        built.append(real(cafile=str(certs.ca_file)))
        return built[-1]

    async def main() -> list[str]:
        async def genesys(ws: ServerConnection) -> None:
            await ws.send(json.dumps(HEARTBEAT))
            await ws.wait_closed()

        got = []
        async with serve(genesys, "127.0.0.1", 0, ssl=server_tls) as server:
            port = server.sockets[0].getsockname()[1]
            for _ in range(3):
                async with NotificationSocket(f"wss://localhost:{port}/channels/x") as stream:
                    got.append((await anext(aiter(stream))).topic)
        return got

    monkeypatch.setattr(ssl, "create_default_context", trusting_the_test_ca)
    socket_tls.cache_clear()
    try:
        assert asyncio.run(main()) == ["channel.metadata"] * 3
    finally:
        socket_tls.cache_clear()  # the next test must not inherit a context trusting this CA
    assert len(built) == 1


def test_follow_reconnects_after_a_drop_and_moves_channel_on_socket_closing(
    fake: FakeGenesys,
) -> None:
    """Drop -> same channel again; socket_closing -> a new channel; each reconnect is marked."""
    connections: list[str] = []

    async def genesys(ws: ServerConnection) -> None:
        assert ws.request is not None
        connections.append(ws.request.path)
        number = len(connections)
        await ws.send(json.dumps({**ACTIVITY, "eventBody": {"id": f"u{number}"}}))
        if number == 1:
            ws.transport.abort()
        elif number == 2:
            await ws.send(json.dumps(CLOSING))
            await ws.close()
        else:
            await ws.wait_closed()

    async def main() -> list[Notification]:
        got: list[Notification] = []
        async with serve(genesys, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            created: list[str] = []

            def new_channel(seen: Seen) -> Reply:
                created.append(f"streaming-0-{len(created) + 1}")
                uri = f"ws://127.0.0.1:{port}/channels/{created[-1]}"
                return Reply(200, {"id": created[-1], "connectUri": uri})

            fake.routes[("POST", "/api/v2/notifications/channels")] = new_channel
            for n in (1, 2):
                path = f"/api/v2/notifications/channels/streaming-0-{n}/subscriptions"
                fake.routes[("PUT", path)] = lambda seen: Reply(200, {"entities": []})
            credentials = [Credential(CLIENT_ID, CLIENT_SECRET)]
            policy = FollowPolicy(backoff_initial=0.01, heartbeat_timeout=5)
            async with GenesysClient(fake.base_url, fake.base_url, credentials) as client:
                stream = follow(client.session(), ["v2.users.u1.activity"], policy)
                async for note in stream:
                    got.append(note)
                    if note.kind == "event" and note.body["id"] == "u3":
                        break
                await stream.aclose()
        return got

    got = asyncio.run(main())
    assert [n.kind for n in got] == [
        "event",
        "reconnected",
        "event",
        "socket_closing",
        "reconnected",
        "event",
    ]
    assert connections == [
        "/channels/streaming-0-1",
        "/channels/streaming-0-1",
        "/channels/streaming-0-2",
    ]
    assert len([s for s in fake.seen if s.method == "PUT"]) == 2


def test_follow_gives_up_after_max_failures(fake: FakeGenesys) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    fake.routes[("POST", "/api/v2/notifications/channels")] = lambda seen: Reply(
        200, {"id": "c1", "connectUri": f"ws://127.0.0.1:{port}/channels/c1"}
    )
    fake.routes[("PUT", "/api/v2/notifications/channels/c1/subscriptions")] = lambda seen: Reply(
        200, {"entities": []}
    )

    async def main() -> None:
        credentials = [Credential(CLIENT_ID, CLIENT_SECRET)]
        policy = FollowPolicy(backoff_initial=0.001, max_failures=3)
        async with GenesysClient(fake.base_url, fake.base_url, credentials) as client:
            async for _ in follow(client.session(), ["t"], policy):
                pass

    with pytest.raises(TransientError, match="cannot open the Genesys notification socket"):
        asyncio.run(main())
    assert len(fake.requests_to("/api/v2/notifications/channels")) == 2  # renewed after 2 fails


def test_notification_need_is_the_one_capacity_sum() -> None:
    from wfmcli.genesys.notifications import notification_need

    full = notification_need(20_000)
    assert (full.topics, full.channels, full.sets, full.capacity_per_set) == (20_000, 20, 1, 20_000)
    assert notification_need(20_001).sets == 2
    assert notification_need(19_990, queues=20).channels == 21  # queues take a channel's room
    detailed = notification_need(10_000, detailed=True)
    assert (detailed.topics, detailed.channels, detailed.capacity_per_set) == (20_000, 20, 10_000)
    assert notification_need(100_000).sets == 5
    assert notification_need(36, topics_per_channel=2).channels == 18
    assert notification_need(3, detailed=True, topics_per_channel=3).channels == 3  # never split

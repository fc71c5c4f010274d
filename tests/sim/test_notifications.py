"""Notification channels over real HTTP and WebSocket: events, heartbeats, limits, faults."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.sim.conftest import NOW_MS, get_token
from wfmcli.sim import RunningTwin, start_twin

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def live_twin() -> Iterator[RunningTwin]:
    # 15:00 UTC is mid-shift; at 300x a simulated minute passes every 0.2 s.
    running = start_twin(seed=3, agents=30, queues=3, days=0, live=True, speed=300, now_ms=NOW_MS)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def client(live_twin: RunningTwin) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_twin.base_url, timeout=10) as http:
        http.headers["Authorization"] = f"Bearer {get_token(http, live_twin)}"
        yield http


def _channel(client: httpx.Client, topics: list[str]) -> dict:
    channel = client.post("/api/v2/notifications/channels").json()
    response = client.put(
        f"/api/v2/notifications/channels/{channel['id']}/subscriptions",
        json=[{"id": t} for t in topics],
    )
    assert response.status_code == 200, response.text
    return channel


def _messages(ws: ClientConnection, count: int, topic_prefix: str = "v2.users.") -> list[dict]:
    found: list[dict] = []
    while len(found) < count:
        message = json.loads(ws.recv(timeout=20))
        if message["topicName"].startswith(topic_prefix):
            found.append(message)
    return found


def test_channel_shape_and_live_events(live_twin: RunningTwin, client: httpx.Client) -> None:
    agents = [u for u in live_twin.org.users if u.licensed][:10]
    topics = [
        f"v2.users.{u.id}.{kind}"
        for u in agents
        for kind in ("activity", "routingStatus", "presence", "conversationsummary")
    ]
    channel = _channel(client, topics)
    assert channel["connectUri"] == f"ws://{live_twin.base_url[7:]}/channels/{channel['id']}"
    assert channel["expires"].endswith("Z")
    listed = client.get(f"/api/v2/notifications/channels/{channel['id']}/subscriptions").json()
    assert [t["id"] for t in listed["entities"]] == topics
    with connect(channel["connectUri"], open_timeout=5) as ws:
        events = _messages(ws, 40)
    ids = {u.id for u in agents}
    kinds = {e["topicName"].rsplit(".", 1)[1] for e in events}
    assert {"activity", "routingStatus"} <= kinds
    for event in events:
        assert event["version"] == "2" and "CorrelationId" in event["metadata"]
        user_id = event["topicName"].split(".")[2]
        assert user_id in ids
        body = event["eventBody"]
        if event["topicName"].endswith(".activity"):
            assert body["id"] == user_id
            assert body["routingStatus"]["status"] in {
                "OFF_QUEUE",
                "IDLE",
                "INTERACTING",
                "NOT_RESPONDING",
                "COMMUNICATING",
            }
            assert body["presence"]["presenceDefinition"]["systemPresence"] in {
                "AVAILABLE",
                "AWAY",
                "BUSY",
                "OFFLINE",
                "IDLE",
                "ON_QUEUE",
                "MEAL",
                "TRAINING",
                "MEETING",
                "BREAK",
            }
            assert isinstance(body["activeQueueIds"], list)
        elif event["topicName"].endswith(".conversationsummary"):
            assert body["userId"] == user_id
            assert set(body["call"]["contactCenter"]) == {"active", "acw"}


def test_heartbeat_and_ping(live_twin: RunningTwin, client: httpx.Client) -> None:
    live_twin.set_heartbeat(0.1)
    channel = _channel(client, [])
    with connect(channel["connectUri"], open_timeout=5) as ws:
        beat = json.loads(ws.recv(timeout=5))
        assert beat == {
            "topicName": "channel.metadata",
            "eventBody": {"message": "WebSocket Heartbeat"},
        }
        ws.send(json.dumps({"message": "ping"}))
        replies = [json.loads(ws.recv(timeout=5)) for _ in range(3)]
    assert {"topicName": "channel.metadata", "eventBody": {"message": "pong"}} in replies


def test_unknown_topics_are_refused_and_duplicates_fold(
    live_twin: RunningTwin, client: httpx.Client
) -> None:
    channel = client.post("/api/v2/notifications/channels").json()
    url = f"/api/v2/notifications/channels/{channel['id']}/subscriptions"
    bogus = [{"id": f"v2.users.00000000-0000-4000-8000-{i:012d}.activity"} for i in range(3)]
    assert client.post(url, json=bogus).status_code == 400
    users = live_twin.org.users
    many = [{"id": f"v2.users.{users[i % 30].id}.activity"} for i in range(1001)]
    assert client.put(url, json=many).status_code == 200
    assert len(client.get(url).json()["entities"]) == 30


def test_topic_limit_rejects_1001_distinct_topics() -> None:
    running = start_twin(seed=2, agents=260, queues=2, days=0, live=False, now_ms=NOW_MS)
    try:
        with httpx.Client(base_url=running.base_url, timeout=10) as http:
            http.headers["Authorization"] = f"Bearer {get_token(http, running)}"
            channel = http.post("/api/v2/notifications/channels").json()
            url = f"/api/v2/notifications/channels/{channel['id']}/subscriptions"
            topics = [
                f"v2.users.{u.id}.{k}"
                for u in running.org.users
                for k in ("activity", "presence", "routingStatus", "conversationsummary")
            ]
            assert http.put(url, json=[{"id": t} for t in topics[:1000]]).status_code == 200
            refused = http.post(url, json=[{"id": topics[1000]}])
            kept = http.get(url).json()["entities"]
    finally:
        running.stop()
    assert refused.status_code == 400
    assert refused.json()["status"] == 400
    assert len(kept) == 1000


def test_twenty_channels_then_the_oldest_idle_is_replaced(client: httpx.Client) -> None:
    ids = [client.post("/api/v2/notifications/channels").json()["id"] for _ in range(21)]
    listed = {c["id"] for c in client.get("/api/v2/notifications/channels").json()["entities"]}
    assert len(listed) == 20
    assert ids[0] not in listed and ids[-1] in listed
    gone = client.get(f"/api/v2/notifications/channels/{ids[0]}/subscriptions")
    assert gone.status_code == 404


def test_socket_closing_then_reconnect(live_twin: RunningTwin, client: httpx.Client) -> None:
    user = next(u for u in live_twin.org.users if u.licensed)
    channel = _channel(client, [f"v2.users.{user.id}.activity"])
    with connect(channel["connectUri"], open_timeout=5) as ws:
        assert live_twin.socket_closing(grace_s=0.1) == 1
        seen = []
        with pytest.raises(ConnectionClosed):
            while True:
                seen.append(json.loads(ws.recv(timeout=10))["topicName"])
    assert "v2.system.socket_closing" in seen
    with connect(channel["connectUri"], open_timeout=5) as ws:  # the channel outlives its socket
        assert _messages(ws, 1)[0]["topicName"] == f"v2.users.{user.id}.activity"


def test_dropped_socket_and_channel_expiry(live_twin: RunningTwin, client: httpx.Client) -> None:
    user = next(u for u in live_twin.org.users if u.licensed)
    channel = _channel(client, [f"v2.users.{user.id}.activity"])
    with connect(channel["connectUri"], open_timeout=5) as ws:
        _messages(ws, 1)
        assert live_twin.drop_sockets() == 1
        with pytest.raises(ConnectionClosed):
            while True:
                ws.recv(timeout=10)
    live_twin.set_channel_lifetime(0)
    client.post("/api/v2/notifications/channels")  # any channel call sweeps expired channels
    gone = client.get(f"/api/v2/notifications/channels/{channel['id']}/subscriptions")
    assert gone.status_code == 404


def test_subscribe_over_the_socket_and_one_socket_per_channel(
    live_twin: RunningTwin, client: httpx.Client
) -> None:
    user = next(u for u in live_twin.org.users if u.licensed)
    channel = _channel(client, [])
    with connect(channel["connectUri"], open_timeout=5) as first:
        first.send(
            json.dumps(
                {
                    "message": "subscribe",
                    "correlationId": "c1",
                    "topics": [f"v2.users.{user.id}.routingStatus"],
                }
            )
        )
        reply = json.loads(first.recv(timeout=5))
        assert reply == {"correlationId": "c1", "result": "200", "status": "subscribed"}
        event = _messages(first, 1)[0]
        assert event["topicName"] == f"v2.users.{user.id}.routingStatus"
        assert set(event["eventBody"]) == {"id", "routingStatus"}
        with connect(channel["connectUri"], open_timeout=5) as second:
            with pytest.raises(ConnectionClosed):
                while True:
                    first.recv(timeout=10)
            assert _messages(second, 1)[0]["topicName"].endswith(".routingStatus")


def test_a_channel_evicted_mid_request_answers_404_and_the_clock_keeps_running(
    live_twin: RunningTwin, client: httpx.Client
) -> None:
    """The race of a subscribe whose channel is evicted while its body is read: Genesys
    answers 404, and the twin's tick must not trip over a topic indexed to a gone channel."""
    from wfmcli.sim.notify import SubscriptionError

    hub = live_twin.runtime.hub
    user = next(u for u in live_twin.org.users if u.licensed)
    topic = f"v2.users.{user.id}.activity"
    channel_id = _channel(client, [])["id"]
    held = hub.channels[channel_id]  # what the route holds across `await request.json()`

    async def evict_then_subscribe() -> int:
        hub.remove(channel_id)
        try:
            hub.subscribe(held, [topic], replace=True)
        except SubscriptionError as exc:
            return exc.status
        return 200

    assert live_twin.call(evict_then_subscribe()) == 404
    assert topic not in hub._by_topic
    put = client.put(f"/api/v2/notifications/channels/{channel_id}/subscriptions",
                     json=[{"id": topic}])
    assert put.status_code == 404
    before = live_twin.now_ms()
    fresh = _channel(client, [topic])  # the live clock still moves and publishes
    with connect(fresh["connectUri"], open_timeout=5) as ws:
        assert _messages(ws, 1)[0]["topicName"] == topic
    assert live_twin.now_ms() > before

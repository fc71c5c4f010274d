"""Notification channels, subscriptions and the events they carry (sans-I/O).

The hub listens to the contact center's state log and conversation summaries, and appends
ready-to-send JSON text to the outbox of every channel subscribed to the topic. The WebSocket
side (`notify_routes`) only drains outboxes. Limits follow Genesys: 1,000 topics per channel,
20 channels per client (the oldest one without a socket is replaced), a 24 h channel life that
a new subscription renews.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wfmcli.sim.engine import ContactCenter
from wfmcli.sim.ledger import OFFLINE_RS
from wfmcli.sim.org import ROUTING_STATUSES, SYSTEM_PRESENCES, Org
from wfmcli.sim.wire import conversation_summary_json, iso

MAX_TOPICS = 1000
MAX_CHANNELS = 20
MAX_OUTBOX = 100_000  # a socket that stops reading loses events beyond this
USER_TOPIC = re.compile(
    r"^v2\.users\.([0-9a-f-]{36})\.(activity|presence|routingStatus|conversationsummary)$"
)


class SubscriptionError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass
class Channel:
    id: str
    client_id: str
    created: float
    renewed: float  # creation or the last subscription; the channel lives `lifetime_s` from it
    topics: OrderedDict[str, None] = field(default_factory=OrderedDict)
    outbox: deque[str] = field(default_factory=deque)
    connected: bool = False
    waker: Callable[[], None] | None = None
    closed: bool = False

    def put(self, text: str) -> None:
        # Genesys keeps nothing for a channel without a socket: events are lost, not queued.
        if not self.connected or len(self.outbox) >= MAX_OUTBOX:
            return
        self.outbox.append(text)
        if self.waker is not None:
            self.waker()


def _event(topic: str, body: dict[str, Any]) -> str:
    return json.dumps(
        {
            "topicName": topic,
            "version": "2",
            "eventBody": body,
            "metadata": {"CorrelationId": str(uuid.uuid4())},
        },
        separators=(",", ":"),
    )


def heartbeat() -> str:
    return json.dumps(
        {"topicName": "channel.metadata", "eventBody": {"message": "WebSocket Heartbeat"}}
    )


def pong() -> str:
    return json.dumps({"topicName": "channel.metadata", "eventBody": {"message": "pong"}})


def socket_closing() -> str:
    return _event("v2.system.socket_closing", {"message": "Socket closing for maintenance"})


class Hub:
    def __init__(
        self,
        org: Org,
        center: ContactCenter,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.org = org
        self.center = center
        self.clock = clock
        self.lifetime_s = 86_400.0
        # Genesys' limits; tests lower max_topics to put many channels on a small org.
        self.max_topics = MAX_TOPICS
        self.max_channels = MAX_CHANNELS
        self.evictions = 0  # channels replaced by a 21st of the same client
        self.channels: dict[str, Channel] = {}
        self._by_topic: dict[str, set[str]] = {}
        center.states.listeners.append(self._on_state)
        center.summary_listeners.append(self._on_summary)

    # -- channels and subscriptions -----------------------------------------------------------

    def create_channel(self, client_id: str) -> Channel:
        self.expire()
        mine = [c for c in self.channels.values() if c.client_id == client_id]
        if len(mine) >= self.max_channels:
            idle = [c for c in mine if not c.connected] or mine
            self.remove(min(idle, key=lambda c: c.created).id)
            self.evictions += 1
        now = self.clock()
        channel = Channel(str(uuid.uuid4()), client_id, now, now)
        self.channels[channel.id] = channel
        return channel

    def get(self, channel_id: str, client_id: str | None = None) -> Channel:
        self.expire()
        channel = self.channels.get(channel_id)
        if channel is None or (client_id is not None and channel.client_id != client_id):
            raise SubscriptionError(404, "not.found", f"Channel {channel_id} not found")
        return channel

    def remove(self, channel_id: str) -> None:
        channel = self.channels.pop(channel_id, None)
        if channel is None:
            return
        for topic in channel.topics:
            self._unindex(topic, channel_id)
        channel.closed = True
        if channel.waker is not None:
            channel.waker()

    def expires_at(self, channel: Channel) -> float:
        return channel.renewed + self.lifetime_s

    def expire(self) -> None:
        now = self.clock()
        for channel in [c for c in self.channels.values() if self.expires_at(c) <= now]:
            self.remove(channel.id)

    def subscribe(self, channel: Channel, topics: list[str], *, replace: bool) -> None:
        self._check_live(channel)
        bad = [t for t in topics if not self._valid(t)]
        if bad:
            raise SubscriptionError(400, "bad.request", f"Invalid topic(s): {', '.join(bad[:5])}")
        wanted: OrderedDict[str, None] = OrderedDict() if replace else OrderedDict(channel.topics)
        for topic in topics:
            wanted[topic] = None
        if len(wanted) > self.max_topics:
            raise SubscriptionError(
                400,
                "notification.channel.topic.limit.exceeded",
                f"A channel may subscribe to at most {self.max_topics} topics "
                f"({len(wanted)} requested)",
            )
        for topic in channel.topics:
            if topic not in wanted:
                self._unindex(topic, channel.id)
        for topic in wanted:
            self._by_topic.setdefault(topic, set()).add(channel.id)
        channel.topics = wanted
        channel.renewed = self.clock()  # resubscribing keeps a channel alive

    def unsubscribe_all(self, channel: Channel) -> None:
        self._check_live(channel)
        for topic in channel.topics:
            self._unindex(topic, channel.id)
        channel.topics = OrderedDict()

    def _check_live(self, channel: Channel) -> None:
        if channel.closed or self.channels.get(channel.id) is not channel:
            # Evicted or expired while the request was in flight: Genesys answers 404.
            raise SubscriptionError(404, "not.found", f"Channel {channel.id} not found")

    def _unindex(self, topic: str, channel_id: str) -> None:
        subscribers = self._by_topic.get(topic)
        if subscribers is not None:
            subscribers.discard(channel_id)
            if not subscribers:
                del self._by_topic[topic]

    def _valid(self, topic: str) -> bool:
        match = USER_TOPIC.match(topic)
        return match is not None and match.group(1) in self.org.user_by_id

    # -- events -----------------------------------------------------------------------------

    def _deliver(self, topic: str, build: Callable[[], dict[str, Any]]) -> None:
        subscribers = self._by_topic.get(topic)
        if not subscribers:
            return
        text = _event(topic, build())
        for channel_id in subscribers:
            channel = self.channels.get(channel_id)
            if channel is not None:  # the index never outlives a channel; never stop the tick
                channel.put(text)

    def _routing(self, user: int) -> dict[str, str]:
        agent = self.center.states.now[user]
        status = (
            "OFF_QUEUE"
            if agent.routing_status == OFFLINE_RS
            else (ROUTING_STATUSES[agent.routing_status])
        )
        return {"status": status, "startTime": iso(agent.routing_since)}

    def _presence(self, user: int) -> dict[str, Any]:
        agent = self.center.states.now[user]
        definition = self.org.presences[agent.presence_def]
        return {
            "presenceDefinition": {
                "id": definition.id,
                "systemPresence": SYSTEM_PRESENCES[agent.system_presence],
            },
            "presenceMessage": "",
            "modifiedDate": iso(agent.presence_since),
        }

    def _on_state(self, t: int, user: int, rs_changed: bool, presence_changed: bool) -> None:
        if not self._by_topic:
            return
        uid = self.org.users[user].id
        prefix = f"v2.users.{uid}."
        self._deliver(prefix + "activity", lambda: self._activity(user))
        if rs_changed:
            self._deliver(
                prefix + "routingStatus", lambda: {"id": uid, "routingStatus": self._routing(user)}
            )
        if presence_changed:
            self._deliver(prefix + "presence", lambda: self._presence_body(user))

    def _presence_body(self, user: int) -> dict[str, Any]:
        presence = self._presence(user)
        return {
            "source": "PURECLOUD",
            "presenceDefinition": presence["presenceDefinition"],
            "primary": True,
            "message": "",
            "modifiedDate": presence["modifiedDate"],
        }

    def _activity(self, user: int) -> dict[str, Any]:
        org_user = self.org.users[user]
        agent = self.center.states.now[user]
        on_queue = agent.routing_status not in (OFFLINE_RS, 0)
        return {
            "id": org_user.id,
            "routingStatus": self._routing(user),
            "presence": self._presence(user),
            "outOfOffice": {"active": False, "modifiedDate": "2024-01-15T09:00:00.000Z"},
            "activeQueueIds": [self.org.queues[q].id for q in org_user.queue_indexes]
            if on_queue
            else [],
            "dateActiveQueuesChanged": iso(agent.routing_since),
        }

    def _on_summary(self, t: int, user: int) -> None:
        if not self._by_topic:
            return
        org_user = self.org.users[user]
        topic = f"v2.users.{org_user.id}.conversationsummary"
        self._deliver(
            topic, lambda: conversation_summary_json(org_user, self.center.states.now[user])
        )

"""Genesys notification channels: create, subscribe, and read the WebSocket stream.

A channel (`POST /api/v2/notifications/channels`) holds at most 1,000 topics and lives 24 h; a
credential set may hold 20 channels, the 21st replacing the oldest idle one. Its `connectUri`
carries heartbeats (`channel.metadata`), events (`{topicName, eventBody, metadata}`) and
`v2.system.socket_closing` before a maintenance close. Genesys keeps no backlog: whoever reads
the stream reconnects and resyncs on a drop; this module reports drops as TransientError and
leaves the policy to the caller.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import math
import random
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from wfmcli.errors import RemoteError, TransientError, UsageError
from wfmcli.genesys.client import CredentialSession

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

log = logging.getLogger("wfm.genesys.notifications")

MAX_TOPICS_PER_CHANNEL = 1_000
MAX_CHANNELS_PER_CREDENTIAL_SET = 20
TOPICS_PER_CREDENTIAL_SET = MAX_TOPICS_PER_CHANNEL * MAX_CHANNELS_PER_CREDENTIAL_SET
MAX_CREDENTIAL_SETS = 5
HEARTBEAT_TOPIC = "channel.metadata"
SOCKET_CLOSING_TOPIC = "v2.system.socket_closing"
# Synthetic: `follow` reconnected, and events published meanwhile are lost; resync now.
RECONNECTED_TOPIC = "wfm.reconnected"
# Genesys sends a heartbeat about every 30 s; three missed ones mean the socket is dead.
DEFAULT_HEARTBEAT_TIMEOUT = 95.0
# Renew an hour before Genesys' 24 h channel life ends, so no event falls in the gap.
DEFAULT_CHANNEL_LIFE = 23 * 3600.0
MAX_QUEUED_MESSAGES = 4096  # per socket, read ahead of the consumer (about 2.5 MB)


class ChannelGone(TransientError):
    """Genesys answered 404 for the channel (expired, or evicted by a 21st): make a new one."""


@dataclass(frozen=True)
class NotificationNeed:
    """What watching `agents` (and `queues`) takes: one sum that doctor, `auth test` and the
    relay share. An agent's topics (two in detailed mode) stay on one channel."""

    agents: int
    queues: int
    detailed: bool
    topics: int
    channels: int
    sets: int

    @property
    def capacity_per_set(self) -> int:
        """Agents one credential set can watch in this mode (queues take room too)."""
        return TOPICS_PER_CREDENTIAL_SET // (2 if self.detailed else 1)


def notification_need(
    agents: int,
    *,
    queues: int = 0,
    detailed: bool = False,
    topics_per_channel: int = MAX_TOPICS_PER_CHANNEL,
) -> NotificationNeed:
    per_agent = 2 if detailed else 1
    agent_channels = math.ceil(agents / max(1, topics_per_channel // per_agent))
    queue_channels = math.ceil(queues / topics_per_channel)
    channels = agent_channels + queue_channels
    sets = max(1, math.ceil(channels / MAX_CHANNELS_PER_CREDENTIAL_SET))
    return NotificationNeed(agents, queues, detailed, agents * per_agent + queues, channels, sets)


@dataclass(frozen=True)
class Channel:
    id: str
    connect_uri: str
    expires: datetime | None


@dataclass(frozen=True)
class Notification:
    topic: str
    body: Any
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """heartbeat, pong, socket_closing, system (other v2.system.*), reconnected or event."""
        if self.topic == HEARTBEAT_TOPIC:
            message = self.body.get("message") if isinstance(self.body, dict) else None
            return "pong" if message == "pong" else "heartbeat"
        if self.topic == SOCKET_CLOSING_TOPIC:
            return "socket_closing"
        if self.topic.startswith("v2.system."):
            return "system"
        if self.topic == RECONNECTED_TOPIC:
            return "reconnected"
        return "event"


def plan_channels(topics: list[str]) -> list[list[str]]:
    """Splits one credential set's topics into channels of at most 1,000."""
    chunks = [
        topics[i : i + MAX_TOPICS_PER_CHANNEL]
        for i in range(0, len(topics), MAX_TOPICS_PER_CHANNEL)
    ]
    if len(chunks) > MAX_CHANNELS_PER_CREDENTIAL_SET:
        raise UsageError(
            f"{len(topics)} topics need {len(chunks)} notification channels; one credential "
            f"set may hold {MAX_CHANNELS_PER_CREDENTIAL_SET}",
            hint="add credential sets to the source (each covers 20,000 agents)",
        )
    return chunks


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


async def create_channel(session: CredentialSession) -> Channel:
    body = await session.post("/api/v2/notifications/channels")
    try:
        return Channel(str(body["id"]), str(body["connectUri"]), _parse_time(body.get("expires")))
    except (KeyError, TypeError) as exc:
        raise RemoteError("Genesys Cloud created a notification channel without an id") from exc


async def subscribe(
    session: CredentialSession, channel: Channel, topics: list[str], *, replace: bool = False
) -> list[dict[str, Any]]:
    """Adds (or with `replace`, sets) the channel's topics; returns the rejected ones."""
    if len(topics) > MAX_TOPICS_PER_CHANNEL:
        raise UsageError(
            f"{len(topics)} topics for one notification channel; Genesys allows "
            f"{MAX_TOPICS_PER_CHANNEL}",
            hint="split them with plan_channels()",
        )
    path = f"/api/v2/notifications/channels/{channel.id}/subscriptions"
    template = "/api/v2/notifications/channels/{id}/subscriptions"
    payload = [{"id": topic} for topic in topics]
    method = "PUT" if replace else "POST"
    try:
        answer = await session.request(method, path, json=payload, template=template)
    except RemoteError as exc:
        if exc.status == 404:
            raise ChannelGone(exc.message, hint="create a new channel") from exc
        raise
    entities = answer.get("entities", []) if isinstance(answer, dict) else []
    return [e for e in entities if isinstance(e, dict) and e.get("state") == "Rejected"]


@functools.cache
def socket_tls() -> ssl.SSLContext:
    """One TLS context (the system's trusted CAs, as websockets' default) for every notification
    socket of the process: building one loads every CA certificate, 10-20 ms, which a relay
    reopening its 100 sockets at once would otherwise pay 100 times on its event loop."""
    return ssl.create_default_context()


class NotificationSocket:
    """`async with NotificationSocket(channel.connect_uri) as socket: async for n in socket:`.

    Iteration ends when Genesys closes the socket cleanly (after `socket_closing`); a dropped
    socket or `heartbeat_timeout` seconds of silence raise TransientError.
    """

    def __init__(
        self,
        connect_uri: str,
        *,
        heartbeat_timeout: float = DEFAULT_HEARTBEAT_TIMEOUT,
        open_timeout: float = 10.0,
        proxy: str | None = None,
    ) -> None:
        self.connect_uri = connect_uri
        self.heartbeat_timeout = heartbeat_timeout
        self._open_timeout = open_timeout
        # True: the system proxy from the environment, as for HTTP requests.
        self._proxy: str | Literal[True] = proxy or True
        self._ws: ClientConnection | None = None

    async def __aenter__(self) -> NotificationSocket:
        # websockets loads here, not with the module: `rta serve` sends its first requests
        # (token, roster) before it needs a socket.
        import websockets
        from websockets.asyncio.client import connect

        try:
            self._ws = await connect(
                self.connect_uri,
                ssl=socket_tls() if self.connect_uri.startswith("wss:") else None,
                open_timeout=self._open_timeout,
                proxy=self._proxy,
                max_size=8 * 1024 * 1024,
                # A close waits this long for Genesys' close frame; a stopping relay must not
                # wait websockets' default 10 s on a busy link.
                close_timeout=0.5,
                # Read ahead: a relay that falls behind takes the backlog off the socket and
                # keeps the latest state per agent, instead of leaving it queued at Genesys.
                max_queue=MAX_QUEUED_MESSAGES,
            )
        except websockets.InvalidStatus as exc:
            kind = ChannelGone if exc.response.status_code == 404 else TransientError
            raise kind(
                f"cannot open the Genesys notification socket {self.connect_uri}: {exc}",
                hint="the channel may have expired; create a new one",
            ) from exc
        except (OSError, TimeoutError, websockets.InvalidHandshake, websockets.InvalidURI) as exc:
            raise TransientError(
                f"cannot open the Genesys notification socket {self.connect_uri}: {exc}",
                hint="the channel may have expired; create a new one",
            ) from exc
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._ws is not None:
            await self._ws.close()

    async def ping(self) -> None:
        """Asks for a `pong` on the stream; proves the channel end to end."""
        await self._connection().send(json.dumps({"message": "ping"}))

    def _connection(self) -> ClientConnection:
        if self._ws is None:
            raise RuntimeError("use NotificationSocket in 'async with'")
        return self._ws

    def __aiter__(self) -> NotificationSocket:
        return self

    async def __anext__(self) -> Notification:
        raw = await self.recv_raw()
        if raw is None:
            raise StopAsyncIteration
        return parse_message(raw)

    async def recv_raw(self) -> str | bytes | None:
        """The next message as sent (None once Genesys closed the socket cleanly), for a
        reader that parses only what it keeps (see `peek_topic`)."""
        import websockets  # loaded by __aenter__ already: a lookup

        ws = self._connection()
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for makes a task per message, so
            # every message costs a loop turn even when a backlog is already buffered.
            async with asyncio.timeout(self.heartbeat_timeout):
                return await ws.recv()
        except TimeoutError as exc:
            raise TransientError(
                f"no heartbeat from the Genesys notification socket for "
                f"{self.heartbeat_timeout:g} s",
                hint="reconnect and resync",
            ) from exc
        except websockets.ConnectionClosedOK:
            return None
        except websockets.ConnectionClosed as exc:
            raise TransientError(
                f"the Genesys notification socket dropped ({exc})", hint="reconnect and resync"
            ) from exc


_TOPIC_KEY = '{"topicName":"'


def peek_topic(raw: str | bytes) -> str | None:
    """The message's topic without parsing the JSON (None when not found that way).

    Genesys writes `{"topicName":"...",...}` (the key first, no spaces). A reader that keeps
    only the latest message per topic under load needs the topic of each, and JSON-parsing
    all of them would cost more than the rest of the relay.
    """
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    if not text.startswith(_TOPIC_KEY):  # a nested "topicName" must not be taken for it
        return None
    start = len(_TOPIC_KEY)
    end = text.find('"', start, start + 200)
    if end < 0 or "\\" in text[start:end]:
        return None
    return text[start:end]


def parse_message(raw: str | bytes) -> Notification:
    try:
        message = json.loads(raw)
    except ValueError as exc:
        raise RemoteError(
            "the Genesys notification socket sent a message that is not JSON"
        ) from exc
    if not isinstance(message, dict):
        raise RemoteError("the Genesys notification socket sent a message that is not an object")
    metadata = message.get("metadata")
    return Notification(
        topic=str(message.get("topicName", "")),
        body=message.get("eventBody"),
        metadata=metadata if isinstance(metadata, dict) else {},
    )


@dataclass(frozen=True)
class FollowPolicy:
    heartbeat_timeout: float = DEFAULT_HEARTBEAT_TIMEOUT
    channel_life: float = DEFAULT_CHANNEL_LIFE
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    max_failures: int | None = None  # consecutive; None keeps trying, as a relay should
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, compare=False)


async def follow(
    session: CredentialSession,
    topics: list[str],
    policy: FollowPolicy | None = None,
    *,
    proxy: str | None = None,
) -> AsyncIterator[Notification]:
    """Notifications for `topics` on one channel, for as long as the caller iterates.

    A dropped or silent socket is reopened on the same channel with backoff; `socket_closing`
    and the end of the channel's life move to a new channel. After every reconnect a
    `wfm.reconnected` notification tells the caller to resync state over REST. AuthError and
    other non-transient failures end the iteration by raising.
    """
    policy = policy or FollowPolicy()
    loop = asyncio.get_running_loop()
    channel: Channel | None = None
    renew_at = 0.0
    failures = 0
    connected_before = False
    while True:
        try:
            if channel is None or loop.time() >= renew_at:
                channel = await create_channel(session)
                renew_at = loop.time() + policy.channel_life
                rejected = await subscribe(session, channel, topics, replace=True)
                if rejected:
                    log.warning("Genesys rejected %d of %d topics", len(rejected), len(topics))
            async with NotificationSocket(
                channel.connect_uri, heartbeat_timeout=policy.heartbeat_timeout, proxy=proxy
            ) as socket:
                failures = 0
                if connected_before:
                    yield Notification(RECONNECTED_TOPIC, {"channelId": channel.id})
                connected_before = True
                async for note in socket:
                    yield note
                    if note.kind == "socket_closing":
                        channel = None
                        break
                    if loop.time() >= renew_at:
                        break
                else:
                    raise TransientError("the Genesys notification socket closed without notice")
        except TransientError as exc:
            failures += 1
            if policy.max_failures is not None and failures >= policy.max_failures:
                raise
            if failures > 1:
                channel = None  # the same channel failed twice: it may be gone
            ceiling = min(policy.backoff_initial * 2 ** (failures - 1), policy.backoff_max)
            delay = random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not cryptography
            log.info("notification stream interrupted (%s); reconnecting in %.1f s", exc, delay)
            await policy.sleep(delay)

"""One notification channel slot: a fixed list of topics kept flowing for as long as it runs.

Built on the Genesys client's channel primitives rather than `follow()`, for what the relay
needs at 20 channels per credential set. A credential set may hold 20 channels and a 21st
evicts the oldest one without a socket, so a slot never creates a channel while its own may
still exist: it keeps one channel for life and renews it in place.

- Before the 24 h life ends the slot resubscribes the same topics (Genesys renews a channel on
  a subscription); no new channel, no new socket.
- On `socket_closing` it opens a second socket on the same channel (Genesys then closes the
  first), reads the old one to its end, and resyncs the channel's agents.
- A dropped or silent socket reconnects to the same channel with backoff. Only a 404 (the
  channel expired or was evicted) makes a new channel.

Every connect that may have missed events (the first, and any after a gap) calls
`on_connected`, after which the slot's agents are read over REST.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from wfmcli.errors import RemoteError, TransientError
from wfmcli.genesys.client import CredentialSession
from wfmcli.genesys.notifications import (
    DEFAULT_CHANNEL_LIFE,
    DEFAULT_HEARTBEAT_TIMEOUT,
    Channel,
    ChannelGone,
    Notification,
    NotificationSocket,
    create_channel,
    parse_message,
    peek_topic,
    subscribe,
)

log = logging.getLogger("wfm.rta.source")
OLD_SOCKET_DRAIN_S = 5.0  # how long the replaced socket may take to be closed by Genesys
RENEW_RETRY_S = 60.0
YIELD_EVERY = 256
_CONTROL_TOPICS = ("channel.metadata", "v2.system.")
Event = str | bytes | Notification  # an event as read: its text, or parsed when it had to be


@dataclass(frozen=True)
class ChannelPolicy:
    heartbeat_timeout: float = DEFAULT_HEARTBEAT_TIMEOUT
    channel_life: float = DEFAULT_CHANNEL_LIFE
    backoff_initial: float = 1.0
    backoff_max: float = 60.0


class _Connection:
    """One open socket on one channel, read by a task into the slot's handler."""

    def __init__(self, channel: Channel, socket: NotificationSocket) -> None:
        self.channel = channel
        self.socket = socket
        self.closing = asyncio.Event()  # socket_closing received
        self.ended = asyncio.Event()
        self.failure: BaseException | None = None
        self.stopping = False
        self.task: asyncio.Task[None] | None = None

    async def close(self) -> None:
        # Python 3.11's wait_for (inside the socket's read) can swallow a cancel that lands as a
        # message arrives, so the reader also stops on `stopping` and on the socket's close,
        # and is never awaited without a bound.
        self.stopping = True
        if self.task is not None:
            self.task.cancel()
        with contextlib.suppress(Exception):
            await self.socket.__aexit__(None, None, None)
        if self.task is not None:
            await asyncio.wait({self.task}, timeout=0.5)

    async def drain(self, timeout: float) -> None:
        """Reads what the old socket still carries until Genesys closes it, then closes it."""
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.ended.wait(), timeout)
        finally:
            await self.close()


class ChannelSlot:
    def __init__(
        self,
        name: str,
        session: CredentialSession,
        topics: list[str],
        on_event: Callable[[str, Event], None],
        on_connected: Callable[[ChannelSlot], Awaitable[None]],
        policy: ChannelPolicy,
        *,
        proxy: str | None = None,
    ) -> None:
        self.name = name
        self.session = session
        self.topics = topics
        self.on_event = on_event
        self.on_connected = on_connected
        self.policy = policy
        self.proxy = proxy
        self.connected = False
        self.reconnects = 0
        self.renewals = 0
        self.recreated = 0  # channels made anew after a 404
        self._made = False  # the slot's first channel exists (later ones are re-creations)
        self.channel: Channel | None = None
        self._subscribed: list[str] = []  # the topics the channel holds, as last set
        self._renewed_at = 0.0
        self._conn: _Connection | None = None
        self._lost = asyncio.Event()  # a subscribe answered 404: the channel is gone

    async def set_topics(self, topics: list[str]) -> None:
        """New roster: resubscribe the live channel in place (no reconnect)."""
        self.topics = topics
        channel = self.channel
        if channel is None or not self.connected:
            return  # the next connect subscribes them
        try:
            await self._subscribe(channel)
        except ChannelGone:
            self._channel_gone(channel)
        except TransientError as exc:
            # The live channel keeps its old topics; the next renewal or connect sets them.
            log.warning("%s: cannot change the channel's topics yet (%s)", self.name, exc)

    def _channel_gone(self, channel: Channel) -> None:
        if self.channel is channel:
            log.info("%s: channel %s is gone; making a new one", self.name, channel.id)
            self.channel = None
            self._lost.set()

    async def run(self) -> None:
        failures = 0
        try:
            while True:
                try:
                    conn = await self._connect()
                except TransientError as exc:
                    failures += 1
                    await self._backoff(failures, exc)
                    continue
                failures = 0
                self.connected = True
                await self.on_connected(self)
                await self._hold(conn)
                self.connected = False
                self.reconnects += 1
        finally:
            self.connected = False
            if self._conn is not None:
                await self._conn.close()

    async def _connect(self) -> _Connection:
        """A socket on the slot's channel; a new channel only when the old one is gone."""
        if self.channel is None:
            channel = await create_channel(self.session)
            self._subscribed = []
            try:
                await self._subscribe(channel)
            except ChannelGone:
                # Evicted between create and subscribe (another client filled the set): the
                # next attempt makes another one.
                raise
            if self._made:
                self.recreated += 1
            self._made = True
            self.channel = channel
            self._lost.clear()
        channel = self.channel
        try:
            if self._subscribed != self.topics:  # the roster changed while disconnected
                await self._subscribe(channel)
            return await self._open(channel)
        except ChannelGone:
            self._channel_gone(channel)
            raise

    async def _subscribe(self, channel: Channel) -> None:
        topics = list(self.topics)
        rejected = await subscribe(self.session, channel, topics, replace=True)
        if rejected:
            log.warning("%s: Genesys rejected %d of %d topics", self.name, len(rejected),
                        len(topics))
        self._subscribed = topics
        self._renewed_at = asyncio.get_running_loop().time()  # a subscription renews

    async def _open(self, channel: Channel) -> _Connection:
        socket = NotificationSocket(channel.connect_uri,
                                    heartbeat_timeout=self.policy.heartbeat_timeout,
                                    proxy=self.proxy)
        await socket.__aenter__()
        conn = _Connection(channel, socket)
        conn.task = asyncio.create_task(self._read(conn))
        self._conn = conn
        return conn

    async def _read(self, conn: _Connection) -> None:
        """Hands each event on unparsed (the source keeps the latest per topic); parses only
        heartbeats and system messages, which it acts on here."""
        count = 0
        try:
            while (raw := await conn.socket.recv_raw()) is not None:
                if conn.stopping:
                    return
                topic = peek_topic(raw)
                if topic is not None and not topic.startswith(_CONTROL_TOPICS):
                    self.on_event(topic, raw)
                else:
                    self._control(conn, raw)
                count += 1
                if count % YIELD_EVERY == 0:
                    await asyncio.sleep(0)  # a busy socket must not starve the others
        except TransientError as exc:
            conn.failure = exc
        finally:
            conn.ended.set()

    def _control(self, conn: _Connection, raw: str | bytes) -> None:
        try:
            note = parse_message(raw)
        except RemoteError as exc:
            log.warning("%s: %s", self.name, exc.one_line())
            return
        if note.kind == "socket_closing":
            conn.closing.set()
        elif note.kind == "event":
            self.on_event(note.topic, note)

    async def _hold(self, conn: _Connection) -> None:
        """Runs until the socket must be replaced by a reconnect (and a resync)."""
        loop = asyncio.get_running_loop()
        while True:
            renew_in = self._renewed_at + self.policy.channel_life - loop.time()
            waiters = [asyncio.ensure_future(conn.ended.wait()),
                       asyncio.ensure_future(conn.closing.wait()),
                       asyncio.ensure_future(self._lost.wait())]
            await asyncio.wait(waiters, timeout=max(renew_in, 0.0),
                               return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()
            if self._lost.is_set():
                await conn.close()
                return
            if conn.closing.is_set():
                replaced = await self._replace_socket(conn)
                if replaced is None:
                    return
                conn = replaced
                continue
            if conn.ended.is_set():
                await conn.close()
                log.info("%s: notification socket lost (%s); reconnecting", self.name,
                         conn.failure or "closed by Genesys")
                return
            await self._renew(conn.channel)

    async def _renew(self, channel: Channel) -> None:
        """Keeps the channel past its 24 h life by subscribing its topics again."""
        try:
            await self._subscribe(channel)
        except ChannelGone:
            self._channel_gone(channel)
            return
        except TransientError as exc:
            log.warning("%s: cannot renew the channel yet (%s)", self.name, exc)
            # Try again in a while, not in a tight loop, while the channel still lives.
            self._renewed_at += min(RENEW_RETRY_S, self.policy.channel_life / 10)
            return
        self.renewals += 1

    async def _replace_socket(self, old: _Connection) -> _Connection | None:
        """socket_closing: a new socket on the same channel before the old one goes.

        The slot's agents are read again afterwards all the same: if the new handshake took
        longer than Genesys' grace, the old socket was cut first and events fell between, and
        nothing on the wire tells that apart from a clean hand-over. A maintenance close is
        rare; one resync of a channel's agents is a few requests.
        """
        try:
            new = await self._open(old.channel)
        except ChannelGone:
            self._channel_gone(old.channel)
            await old.close()
            return None
        except TransientError as exc:
            log.info("%s: cannot reopen the socket (%s); reconnecting", self.name, exc)
            await old.close()
            return None
        self.renewals += 1
        await old.drain(OLD_SOCKET_DRAIN_S)
        await self.on_connected(self)
        return new

    async def _backoff(self, failures: int, exc: BaseException) -> None:
        if isinstance(exc, ChannelGone) and failures == 1:
            return  # make the new channel at once: its agents are not being watched
        ceiling = min(self.policy.backoff_initial * 2 ** (failures - 1), self.policy.backoff_max)
        delay = random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not cryptography
        log.info("%s: notification channel unavailable (%s); retrying in %.1f s",
                 self.name, exc, delay)
        await asyncio.sleep(delay)

"""One notification channel slot: a fixed list of topics kept flowing for as long as it runs.

Built on the Genesys client's channel primitives rather than `follow()`, for two things the relay
needs: a callback on *every* connect (the first too), after which the slot's agents are read over
REST, and renewal without a gap — on `socket_closing` and before the 24 h channel life ends the
new channel is subscribed and its socket open before the old socket is let go. A dropped or
silent socket reconnects with backoff (the same channel first, a new one if that fails or the
channel was closed), then resyncs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from wfmcli.errors import TransientError
from wfmcli.genesys.client import CredentialSession
from wfmcli.genesys.notifications import (
    DEFAULT_CHANNEL_LIFE,
    DEFAULT_HEARTBEAT_TIMEOUT,
    Channel,
    Notification,
    NotificationSocket,
    create_channel,
    subscribe,
)

log = logging.getLogger("wfm.rta.source")


@dataclass(frozen=True)
class ChannelPolicy:
    heartbeat_timeout: float = DEFAULT_HEARTBEAT_TIMEOUT
    channel_life: float = DEFAULT_CHANNEL_LIFE
    backoff_initial: float = 1.0
    backoff_max: float = 60.0


class _Connection:
    """One open socket on one channel, read by a task into the slot's handler."""

    def __init__(self, channel: Channel, socket: NotificationSocket, opened_at: float) -> None:
        self.channel = channel
        self.socket = socket
        self.opened_at = opened_at
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
            await asyncio.wait({self.task}, timeout=5.0)


class ChannelSlot:
    def __init__(
        self,
        name: str,
        session: CredentialSession,
        topics: list[str],
        on_note: Callable[[Notification], None],
        on_connected: Callable[[ChannelSlot], Awaitable[None]],
        policy: ChannelPolicy,
        *,
        proxy: str | None = None,
    ) -> None:
        self.name = name
        self.session = session
        self.topics = topics
        self.on_note = on_note
        self.on_connected = on_connected
        self.policy = policy
        self.proxy = proxy
        self.connected = False
        self.reconnects = 0
        self.renewals = 0
        self._conn: _Connection | None = None

    async def set_topics(self, topics: list[str]) -> None:
        """New roster: resubscribe the live channel in place (no reconnect)."""
        self.topics = topics
        conn = self._conn
        if conn is not None and not conn.ended.is_set():
            await subscribe(self.session, conn.channel, topics, replace=True)

    async def run(self) -> None:
        channel: Channel | None = None
        failures = 0
        try:
            while True:
                try:
                    conn = await self._open(channel)
                except TransientError as exc:
                    failures += 1
                    channel = None if failures > 1 else channel
                    await self._backoff(failures, exc)
                    continue
                failures = 0
                self.connected = True
                await self.on_connected(self)
                channel = await self._hold(conn)
                self.connected = False
                self.reconnects += 1
        finally:
            self.connected = False
            if self._conn is not None:
                await self._conn.close()

    async def _open(self, channel: Channel | None) -> _Connection:
        loop = asyncio.get_running_loop()
        if channel is None:
            channel = await create_channel(self.session)
            rejected = await subscribe(self.session, channel, self.topics, replace=True)
            if rejected:
                log.warning("%s: Genesys rejected %d of %d topics", self.name, len(rejected),
                            len(self.topics))
        socket = NotificationSocket(channel.connect_uri,
                                    heartbeat_timeout=self.policy.heartbeat_timeout,
                                    proxy=self.proxy)
        await socket.__aenter__()
        conn = _Connection(channel, socket, loop.time())
        conn.task = asyncio.create_task(self._read(conn))
        self._conn = conn
        return conn

    async def _read(self, conn: _Connection) -> None:
        try:
            async for note in conn.socket:
                if conn.stopping:
                    return
                if note.kind == "socket_closing":
                    conn.closing.set()
                elif note.kind == "event":
                    self.on_note(note)
        except TransientError as exc:
            conn.failure = exc
        finally:
            conn.ended.set()

    async def _hold(self, conn: _Connection) -> Channel | None:
        """Runs until the socket must be replaced; returns the channel to reconnect to."""
        loop = asyncio.get_running_loop()
        while True:
            renew_in = conn.opened_at + self.policy.channel_life - loop.time()
            waiters = [asyncio.ensure_future(conn.ended.wait()),
                       asyncio.ensure_future(conn.closing.wait())]
            await asyncio.wait(waiters, timeout=max(renew_in, 0.0),
                               return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()
            if conn.ended.is_set() and not conn.closing.is_set():
                await conn.close()
                reason = conn.failure or "closed by Genesys"
                log.info("%s: notification socket lost (%s); reconnecting", self.name, reason)
                # A clean close without socket_closing means the channel is gone (expired).
                return conn.channel if conn.failure is not None else None
            try:
                new = await self._open(None)
            except TransientError as exc:
                log.info("%s: cannot renew the channel (%s)", self.name, exc)
                await conn.close()
                return None
            self.renewals += 1
            gap = conn.ended.is_set()  # the old socket ended before the new one was open
            await conn.close()
            conn = new
            if gap:
                await self.on_connected(self)

    async def _backoff(self, failures: int, exc: BaseException) -> None:
        ceiling = min(self.policy.backoff_initial * 2 ** (failures - 1), self.policy.backoff_max)
        delay = random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not cryptography
        log.info("%s: notification channel unavailable (%s); retrying in %.1f s",
                 self.name, exc, delay)
        await asyncio.sleep(delay)

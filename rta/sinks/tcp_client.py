"""We connect to the WFM (Aspect/Alvaria Universal ACD, the IEX template): a snapshot on every
(re)connect, then changes in order; reconnects with backoff. Changes made while disconnected
are covered by the next snapshot, so nothing is buffered across a disconnect."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
from typing import Any

from wfmcli.rta.feed import Feed
from wfmcli.rta.model import Change
from wfmcli.rta.records import Encoder, LinkStatus
from wfmcli.rta.sinks.stream import Stream
from wfmcli.rta.sinks.tcp_server import DEFAULT_MAX_BUFFER
from wfmcli.rta.told import ToldStore, snapshot_bytes

log = logging.getLogger("wfm.rta.sinks")


class TcpClientSink:
    name = "tcp-client"

    def __init__(
        self,
        host: str,
        port: int,
        encoder: Encoder,
        *,
        tls: ssl.SSLContext | None = None,
        backoff_initial: float = 1.0,
        backoff_max: float = 4.0,  # the WFM is fed again within this of its return
        max_buffer: int = DEFAULT_MAX_BUFFER,
        told: ToldStore | None = None,
    ) -> None:
        self.told = told
        self.host = host
        self.port = port
        self.encoder = encoder
        self.tls = tls
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.max_buffer = max_buffer
        self.connects = 0
        self.failures = 0
        self.bytes_sent_closed = 0
        self._stream: Stream | None = None

    async def run(self, feed: Feed) -> None:
        feed.add_listener(self)
        attempt = 0
        try:
            while True:
                try:
                    reader, writer = await asyncio.open_connection(
                        self.host, self.port, ssl=self.tls
                    )
                except OSError as exc:
                    attempt += 1
                    self.failures += 1
                    ceiling = min(self.backoff_initial * 2 ** (attempt - 1), self.backoff_max)
                    delay = random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter
                    log.warning("cannot reach the WFM RTA server %s:%d (%s); retrying in %.1f s",
                                self.host, self.port, exc, delay)
                    await asyncio.sleep(delay)
                    continue
                attempt = 0
                await self._serve(feed, reader, writer)
        finally:
            feed.remove_listener(self)
            if self._stream is not None:
                await self._stream.finish(1.0)

    async def _serve(
        self, feed: Feed, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        stream = Stream(writer, f"{self.host}:{self.port}", self.max_buffer)
        self.connects += 1
        await feed.ready.wait()
        stream.send(snapshot_bytes(self.encoder, feed.engine, self.told))
        self._stream = stream
        log.info("connected to the WFM RTA server %s:%d; snapshot sent", self.host, self.port)
        pump = asyncio.create_task(stream.pump())
        try:
            with contextlib.suppress(ConnectionError, OSError):
                while not stream.closed and await reader.read(4096):
                    pass
        finally:
            self._stream = None
            stream.close()
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
            self.bytes_sent_closed += stream.sent
            log.info("the WFM RTA server %s:%d closed the connection", self.host, self.port)

    def on_changes(self, changes: list[Change]) -> None:
        if self._stream is not None:
            self._stream.send(self.encoder.changes(changes))
            if self.told is not None:
                self.told.update({"agent": c.view.agent, "removed": c.removed} for c in changes)

    def on_link(self, status: LinkStatus) -> None:
        if self._stream is not None:
            self._stream.send(self.encoder.link(status))

    def health(self) -> dict[str, Any]:
        stream = self._stream
        return {
            "sink": self.name,
            "address": f"{self.host}:{self.port}",
            "connected": stream is not None and not stream.closed,
            "connects": self.connects,
            "connect_failures": self.failures,
            "bytes_sent": self.bytes_sent_closed + (stream.sent if stream else 0),
            "buffered": stream.buffered if stream else 0,
        }

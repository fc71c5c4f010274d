"""The WFM connects to us (Verint, NICE IEX, Alvaria premise): a snapshot on every connect,
then changes in order, heartbeats or link-status records, many clients, optional TLS."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from typing import Any

from wfmcli.rta.feed import Feed
from wfmcli.rta.model import Change
from wfmcli.rta.records import Encoder, LinkStatus
from wfmcli.rta.sinks.stream import Stream
from wfmcli.rta.told import ToldStore, snapshot_bytes

log = logging.getLogger("wfm.rta.sinks")
DEFAULT_MAX_BUFFER = 8 * 1024 * 1024


class TcpServerSink:
    name = "tcp-server"

    def __init__(
        self,
        host: str,
        port: int,
        encoder: Encoder,
        *,
        tls: ssl.SSLContext | None = None,
        heartbeat_s: float = 30.0,
        max_buffer: int = DEFAULT_MAX_BUFFER,
        told: ToldStore | None = None,
    ) -> None:
        self.told = told
        self.host = host
        self.port = port
        self.encoder = encoder
        self.tls = tls
        self.heartbeat_s = heartbeat_s
        self.max_buffer = max_buffer
        self.listening = asyncio.Event()
        self.clients: list[Stream] = []
        self.connects = 0
        self.dropped = 0
        self.bytes_sent_closed = 0
        self._feed: Feed | None = None
        self._pumps: set[asyncio.Task[None]] = set()

    async def run(self, feed: Feed) -> None:
        self._feed = feed
        server = await asyncio.start_server(self._accept, self.host, self.port, ssl=self.tls)
        self.port = server.sockets[0].getsockname()[1]
        feed.add_listener(self)
        self.listening.set()
        log.info("RTA server listening on %s:%d%s", self.host, self.port,
                 " (TLS)" if self.tls else "")
        try:
            while True:
                await asyncio.sleep(self.heartbeat_s)
                self._broadcast(self.encoder.link(feed.link))
        finally:
            feed.remove_listener(self)
            server.close()
            await self._goodbye()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2.0)

    async def _goodbye(self) -> None:
        farewell = self.encoder.link("shutdown")
        for client in self.clients:
            client.send(farewell)
        await asyncio.gather(*(c.finish(1.0) for c in self.clients), return_exceptions=True)
        for task in self._pumps:
            task.cancel()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host, port = writer.get_extra_info("peername")[:2]
        peer = f"{host}:{port}"
        feed = self._feed
        assert feed is not None
        stream = Stream(writer, peer, self.max_buffer)
        self.connects += 1
        log.info("RTA client %s connected", peer)
        await feed.ready.wait()
        # Snapshot and registration in one step: every later change follows the snapshot.
        stream.send(self.encoder.link(feed.link))
        stream.send(snapshot_bytes(self.encoder, feed.engine, self.told))
        self.clients.append(stream)
        pump = asyncio.create_task(stream.pump())
        self._pumps.add(pump)
        try:
            await _read_until_eof(reader, stream)
        finally:
            stream.close()
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
            self._pumps.discard(pump)
            self._forget(stream)

    def _forget(self, stream: Stream) -> None:
        if stream in self.clients:
            self.clients.remove(stream)
            self.bytes_sent_closed += stream.sent
            self.dropped += int(stream.dropped)
            log.info("RTA client %s disconnected", stream.peer)

    def _broadcast(self, data: bytes) -> None:
        for client in list(self.clients):
            client.send(data)
            if client.closed:
                self._forget(client)

    def on_changes(self, changes: list[Change]) -> None:
        if self.clients:
            self._broadcast(self.encoder.changes(changes))
            if self.told is not None:
                self.told.update({"agent": c.view.agent, "removed": c.removed} for c in changes)

    def on_link(self, status: LinkStatus) -> None:
        self._broadcast(self.encoder.link(status))

    def health(self) -> dict[str, Any]:
        return {
            "sink": self.name,
            "address": f"{self.host}:{self.port}",
            "clients": len(self.clients),
            "connects": self.connects,
            "dropped_slow": self.dropped,
            "bytes_sent": self.bytes_sent_closed + sum(c.sent for c in self.clients),
            "buffered": sum(c.buffered for c in self.clients),
        }


async def _read_until_eof(reader: asyncio.StreamReader, stream: Stream) -> None:
    """WFM clients may send keep-alives; we read and ignore them so a close is noticed."""
    with contextlib.suppress(ConnectionError, OSError):
        while not stream.closed:
            chunk = await reader.read(4096)
            if not chunk:
                return

"""One outgoing byte stream with a bounded buffer: a slow reader is dropped, never waited for."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque

log = logging.getLogger("wfm.rta.sinks")


class Stream:
    def __init__(self, writer: asyncio.StreamWriter, peer: str, max_buffer: int) -> None:
        self.writer = writer
        self.peer = peer
        self.max_buffer = max_buffer
        self.sent = 0
        self.closed = False
        self.dropped = False
        self._queue: deque[bytes] = deque()
        self._queued = 0
        self._wake = asyncio.Event()

    def send(self, data: bytes) -> None:
        if self.closed or not data:
            return
        if self._queued + len(data) > self.max_buffer:
            log.warning(
                "RTA client %s fell %d bytes behind (limit %d); dropping it",
                self.peer, self._queued + len(data), self.max_buffer,
            )
            self.dropped = True
            self.close()
            return
        self._queue.append(data)
        self._queued += len(data)
        self._wake.set()

    async def pump(self) -> None:
        """Writes queued data until the stream is closed or the peer goes away."""
        try:
            while not self.closed:
                await self._wake.wait()
                self._wake.clear()
                while self._queue and not self.closed:
                    data = self._queue.popleft()
                    self._queued -= len(data)
                    self.writer.write(data)
                    await self.writer.drain()
                    self.sent += len(data)
        except (ConnectionError, OSError) as exc:
            log.info("RTA peer %s went away: %s", self.peer, exc)
        finally:
            self.close()

    async def finish(self, timeout: float) -> None:
        """Shutdown: lets the pump write what is queued (within `timeout`), then closes."""
        with contextlib.suppress(ConnectionError, OSError, TimeoutError):
            async with asyncio.timeout(timeout):
                while self._queue and not self.closed:
                    await asyncio.sleep(0.01)
                if not self.closed:
                    await self.writer.drain()
        self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._queue.clear()
        self._queued = 0
        self._wake.set()
        self.writer.close()

    @property
    def buffered(self) -> int:
        return self._queued

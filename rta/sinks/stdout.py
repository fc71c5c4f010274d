"""JSON lines on stdout: a snapshot once the feed is ready, then every change. For debugging
and for piping into other tools."""

from __future__ import annotations

import asyncio
import sys
from typing import Any, BinaryIO

from wfmcli.rta.feed import Feed
from wfmcli.rta.model import Change
from wfmcli.rta.records import Encoder, LinkStatus, builtin_layout


class StdoutSink:
    name = "stdout"

    def __init__(self, out: BinaryIO | None = None) -> None:
        self.out = out or sys.stdout.buffer
        self.encoder = Encoder(builtin_layout("json-lines"))
        self.bytes_sent = 0
        self._started = False

    async def run(self, feed: Feed) -> None:
        await feed.ready.wait()
        self._write(self.encoder.snapshot(feed.engine.snapshot()))
        feed.add_listener(self)
        self._started = True
        try:
            await asyncio.Event().wait()
        finally:
            feed.remove_listener(self)

    def _write(self, data: bytes) -> None:
        if data:
            self.out.write(data)
            self.out.flush()
            self.bytes_sent += len(data)

    def on_changes(self, changes: list[Change]) -> None:
        self._write(self.encoder.changes(changes))

    def on_link(self, status: LinkStatus) -> None:
        """JSON lines carry no link status."""

    def health(self) -> dict[str, Any]:
        return {"sink": self.name, "address": "stdout", "bytes_sent": self.bytes_sent}

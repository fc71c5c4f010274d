"""Where vendor records go: a TCP server (the WFM connects), a TCP client (the WFM listens),
Calabrio's HTTP batch API, or JSON lines on stdout."""

from __future__ import annotations

from typing import Any, Protocol

from wfmcli.rta.feed import Feed


class Sink(Protocol):
    name: str

    async def run(self, feed: Feed) -> None:
        """Serve the feed until cancelled."""

    def health(self) -> dict[str, Any]:
        """Counters and state for /metrics, `wfm rta status` and `wfm rta watch`."""

"""Calabrio (Teleopti) RTA: POST `Rta/State/Batch` with at most 50 states per call.

A full snapshot goes out at start and every 15 minutes; changes go out as they come. While the
endpoint fails, only the latest state per agent is kept, so an older state is never sent after
a newer one. `IsSnapshot: true` makes Calabrio log out every agent of the source missing from
that one call, so it is set only when the whole snapshot fits in one call; larger snapshots
state every agent explicitly (logged-out ones as the OFFLINE code) with `IsSnapshot: false`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from typing import Any

import httpx

from wfmcli.rta.feed import Feed
from wfmcli.rta.model import Change
from wfmcli.rta.records import Layout, LinkStatus, state_code

log = logging.getLogger("wfm.rta.sinks")
MAX_BATCH = 50
SNAPSHOT_EVERY_S = 15 * 60.0


class CalabrioSink:
    name = "http-push"

    def __init__(
        self,
        url: str,
        api_key: str,
        source_id: str,
        layout: Layout,
        *,
        batch_size: int = MAX_BATCH,
        snapshot_every_s: float = SNAPSHOT_EVERY_S,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
        timeout: float = 30.0,
    ) -> None:
        self.url = url if url.endswith("/Rta/State/Batch") else url.rstrip("/") + "/Rta/State/Batch"
        self.api_key = api_key
        self.source_id = source_id
        self.layout = layout
        self.batch_size = min(batch_size, MAX_BATCH)
        self.snapshot_every_s = snapshot_every_s
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.timeout = timeout
        self.pending: dict[str, str] = {}  # agent -> latest state code, oldest first
        self.snapshot_due = True
        self.stats: dict[str, int] = {
            "calls": 0, "failures": 0, "rejected": 0, "states_sent": 0, "snapshots": 0,
            "bytes_sent": 0,
        }
        self.failing = False
        self._wake = asyncio.Event()

    def on_changes(self, changes: list[Change]) -> None:
        for change in changes:
            agent = change.view.agent
            self.pending.pop(agent, None)  # re-queued at the end: the newest state goes last
            self.pending[agent] = state_code(change.view, self.layout)
        self._wake.set()

    def on_link(self, status: LinkStatus) -> None:
        """Calabrio's API has no link status; the periodic snapshot covers outages."""

    async def run(self, feed: Feed) -> None:
        feed.add_listener(self)
        loop = asyncio.get_running_loop()
        try:
            async with httpx.AsyncClient(timeout=self.timeout, trust_env=True) as http:
                await feed.ready.wait()
                next_snapshot = loop.time()
                failures = 0
                while True:
                    if loop.time() >= next_snapshot:
                        self.snapshot_due = True
                    try:
                        if self.snapshot_due:
                            await self._snapshot(http, feed)
                            next_snapshot = loop.time() + self.snapshot_every_s
                        elif self.pending:
                            await self._send_pending(http)
                        else:
                            self._wake.clear()
                            wait = max(0.0, next_snapshot - loop.time())
                            await _wait(self._wake, wait)
                            continue
                        failures = 0
                        self.failing = False
                    except (httpx.HTTPError, OSError) as exc:
                        failures += 1
                        self.failing = True
                        self.stats["failures"] += 1
                        ceiling = min(self.backoff_initial * 2 ** (failures - 1), self.backoff_max)
                        delay = random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter
                        log.warning("Calabrio RTA endpoint %s failed (%s); retrying in %.1f s",
                                    self.url, exc, delay)
                        await asyncio.sleep(delay)
        finally:
            feed.remove_listener(self)

    async def _snapshot(self, http: httpx.AsyncClient, feed: Feed) -> None:
        # Taken in one step with clearing `pending`: what is pending now is in the snapshot,
        # and whatever changes later is newer and goes after it.
        states = [(v.agent, state_code(v, self.layout)) for v in feed.engine.snapshot()]
        self.pending.clear()
        whole = len(states) <= self.batch_size
        for start in range(0, len(states), self.batch_size):
            chunk = states[start : start + self.batch_size]
            try:
                await self._post(http, chunk, is_snapshot=whole)
            except BaseException:
                self.snapshot_due = True  # start over from the engine's (then) current state
                raise
        self.snapshot_due = False
        self.stats["snapshots"] += 1

    async def _send_pending(self, http: httpx.AsyncClient) -> None:
        agents = list(self.pending)[: self.batch_size]
        chunk = [(agent, self.pending.pop(agent)) for agent in agents]
        try:
            await self._post(http, chunk, is_snapshot=False)
        except BaseException:
            # Back to the front, except agents whose newer state arrived meanwhile: it wins.
            restored = {agent: code for agent, code in chunk if agent not in self.pending}
            self.pending = {**restored, **self.pending}
            raise

    async def _post(
        self, http: httpx.AsyncClient, states: list[tuple[str, str]], *, is_snapshot: bool
    ) -> None:
        body = {
            "AuthenticationKey": self.api_key,
            "SourceId": self.source_id,
            "IsSnapshot": is_snapshot,
            "States": [{"UserCode": agent, "StateCode": code} for agent, code in states],
        }
        self.stats["calls"] += 1
        response = await http.post(self.url, json=body)
        if response.status_code >= 500 or response.status_code in (408, 429):
            raise httpx.HTTPStatusError(
                f"HTTP {response.status_code}", request=response.request, response=response
            )
        self.stats["bytes_sent"] += len(response.request.content)
        if response.status_code >= 400:
            self.stats["rejected"] += 1
            log.error("Calabrio RTA endpoint %s refused a batch of %d: HTTP %d %s",
                      self.url, len(states), response.status_code, response.text[:200])
            return
        self.stats["states_sent"] += len(states)

    def health(self) -> dict[str, Any]:
        return {
            "sink": self.name,
            "address": self.url,
            "pending": len(self.pending),
            "failing": self.failing,
            **self.stats,
        }


async def _wait(event: asyncio.Event, timeout: float) -> None:
    # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancel (a stop would hang).
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await event.wait()

"""The generic HTTP push: records as JSON in a body template, batched, authenticated.

Everything vendor-specific is profile data (`rta.http`): path, method, auth, body template,
batch size, max wait, success codes, the snapshot flag. Calabrio's `Rta/State/Batch` is one
use of it, NICE CXone another.

A full snapshot goes out at start and every `snapshot_every_s`; changes go out as they come
(gathered for at most `max_wait_s`). While the endpoint fails only the latest state per agent
is kept, so an older state is never sent after a newer one, and every retry is also the probe:
the backoff is capped (`backoff_max`), so the WFM is current again within that cap of the
endpoint's return. With `snapshot_flag` (Calabrio's `IsSnapshot`), the WFM logs out every
agent missing from that one call, so it is set only when the whole roster fits in one call;
otherwise every agent is stated explicitly and agents the WFM was told about before but no
longer covered are sent the logged-out code (see `rta.told`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from wfmcli.reports.spec import RtaAuth
from wfmcli.rta.feed import Feed
from wfmcli.rta.model import Change
from wfmcli.rta.records import Context, Encoder, LinkStatus, context
from wfmcli.rta.told import ToldStore, stale_views

log = logging.getLogger("wfm.rta.sinks")
SNAPSHOT_EVERY_S = 15 * 60.0
BACKOFF_MAX_S = 4.0  # the WFM is current again within this (plus one call) of a recovery
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


@dataclass(frozen=True)
class HttpTarget:
    """One destination's push: the profile's `rta.http` with the destination's values filled."""

    url: str
    method: str = "POST"
    body: Any = "{records}"
    batch_size: int = 50
    max_wait_s: float = 0.0
    success: frozenset[int] = frozenset({200, 201, 202, 204})
    snapshot_flag: bool = False
    auth: RtaAuth = field(default_factory=RtaAuth)
    token_url: str = ""
    values: Mapping[str, str] = field(default_factory=dict)  # api_key, source_id, tenant...
    verify: Any = True  # True, False or an ssl.SSLContext (tests: a trustme CA)


def placeholders(template: Any) -> set[str]:
    """The {names} a body template uses."""
    if isinstance(template, str):
        return set(_PLACEHOLDER.findall(template))
    if isinstance(template, Mapping):
        return set().union(*(placeholders(v) for v in template.values())) if template else set()
    if isinstance(template, list):
        return set().union(*(placeholders(v) for v in template)) if template else set()
    return set()


def fill(template: Any, values: Mapping[str, Any]) -> Any:
    """The template with "{name}" values put in: a whole-string placeholder keeps its type."""
    if isinstance(template, str):
        whole = _PLACEHOLDER.fullmatch(template)
        if whole:
            return values[whole.group(1)]
        return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), template)
    if isinstance(template, Mapping):
        return {key: fill(value, values) for key, value in template.items()}
    if isinstance(template, list):
        return [fill(value, values) for value in template]
    return template


class Rejected(Exception):
    """The endpoint refused a call for good (a 4xx that is not an auth expiry)."""


class Auth:
    """Headers for each call; OAuth and token-exchange tokens are cached until near expiry."""

    def __init__(self, target: HttpTarget) -> None:
        self.target = target
        self.spec = target.auth
        self._token: str | None = None
        self._expires = 0.0
        self.token_calls = 0

    def forget(self) -> None:
        self._token = None

    async def headers(self, http: httpx.AsyncClient) -> dict[str, str]:
        kind, values = self.spec.kind, self.target.values
        if kind == "bearer":
            return {"Authorization": f"Bearer {values['api_key']}"}
        if kind == "header":
            return {self.spec.header: values["api_key"]}
        if kind in ("oauth-client-credentials", "token-exchange"):
            return {"Authorization": f"Bearer {await self._bearer(http)}"}
        return {}

    def basic(self) -> httpx.BasicAuth | None:
        if self.spec.kind != "basic":
            return None
        return httpx.BasicAuth(self.target.values["username"], self.target.values["password"])

    async def _bearer(self, http: httpx.AsyncClient) -> str:
        if self._token is not None and time.monotonic() < self._expires:
            return self._token
        values = self.target.values
        self.token_calls += 1
        if self.spec.kind == "oauth-client-credentials":
            response = await http.post(
                self.target.token_url, data={"grant_type": "client_credentials"},
                auth=httpx.BasicAuth(values["client_id"], values["client_secret"]))
        else:
            response = await http.post(self.target.token_url, json=fill(self.spec.body, values))
        if response.status_code >= 500 or response.status_code == 429:
            raise httpx.HTTPStatusError(f"token endpoint: HTTP {response.status_code}",
                                        request=response.request, response=response)
        if response.status_code >= 400:
            raise Rejected(f"the token endpoint refused the credentials: HTTP "
                           f"{response.status_code}")
        body = response.json()
        token = str(body.get(self.spec.token_field) or "")
        if not token:
            raise Rejected(f"the token endpoint's answer has no {self.spec.token_field!r}")
        lifetime = float(body.get(self.spec.expires_field) or 3600)
        self._token, self._expires = token, time.monotonic() + max(lifetime - 60, lifetime / 2)
        return token


class HttpPushSink:
    name = "http-push"

    def __init__(
        self,
        target: HttpTarget,
        encoder: Encoder,
        *,
        snapshot_every_s: float = SNAPSHOT_EVERY_S,
        backoff_initial: float = 0.5,
        backoff_max: float = BACKOFF_MAX_S,
        timeout: float = 30.0,
        told: ToldStore | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.sleep = sleep  # with `clock`: tests run long outages on a compressed clock
        self.target = target
        self.encoder = encoder
        self.snapshot_every_s = snapshot_every_s
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.timeout = timeout
        self.told = told
        self.clock = clock
        self.auth = Auth(target)
        self.pending: dict[str, Context] = {}  # agent -> latest record context, oldest first
        self.sending: dict[str, Context] = {}  # the chunk of `pending` in the call under way
        self._first_pending = 0.0
        self.snapshot_due = True
        self.stats: dict[str, int] = {
            "calls": 0, "failures": 0, "rejected": 0, "states_sent": 0, "snapshots": 0,
            "bytes_sent": 0, "logged_out_stale": 0,
        }
        self.failing = False
        self.last_success = 0.0
        self._wake = asyncio.Event()

    # -- feed -------------------------------------------------------------------------------

    def on_changes(self, changes: list[Change]) -> None:
        now = self.encoder.clock()
        if not self.pending:
            self._first_pending = self.clock()
        for change, ctx in zip(changes, self.encoder.contexts(changes, now), strict=True):
            agent = change.view.agent
            self.pending.pop(agent, None)  # re-queued at the end: the newest state goes last
            self.pending[agent] = ctx
        self._wake.set()

    def on_link(self, status: LinkStatus) -> None:
        """HTTP pushes carry no link status; the snapshot after a recovery covers outages."""

    # -- run --------------------------------------------------------------------------------

    async def run(self, feed: Feed) -> None:
        feed.add_listener(self)
        try:
            async with httpx.AsyncClient(timeout=self.timeout, trust_env=True,
                                         verify=self.target.verify) as http:
                await feed.ready.wait()
                await self._loop(http, feed)
        finally:
            feed.remove_listener(self)

    async def _loop(self, http: httpx.AsyncClient, feed: Feed) -> None:
        next_snapshot = self.clock()
        failures = 0
        while True:
            if self.clock() >= next_snapshot:
                self.snapshot_due = True
            try:
                if self.snapshot_due:
                    await self._snapshot(http, feed)
                    next_snapshot = self.clock() + self.snapshot_every_s
                elif self.pending and self._gathered():
                    await self._send_pending(http)
                else:
                    self._wake.clear()
                    wait = next_snapshot - self.clock()
                    if self.pending:
                        wait = min(wait, self._first_pending + self.target.max_wait_s
                                   - self.clock())
                    await _wait(self._wake, max(0.0, wait))
                    continue
                failures = 0
                if self.failing:
                    log.info("HTTP push to %s works again", self.target.url)
                self.failing = False
                self.last_success = self.clock()
            except (httpx.HTTPError, OSError) as exc:
                failures += 1
                self.failing = True
                self.stats["failures"] += 1
                delay = self.backoff(failures)
                log.warning("HTTP push to %s failed (%s); retrying in %.1f s",
                            self.target.url, _reason(exc), delay)
                await self.sleep(delay)

    def backoff(self, failures: int) -> float:
        """Jittered exponential backoff, capped: every retry doubles as the probe."""
        ceiling = min(self.backoff_initial * 2 ** (failures - 1), self.backoff_max)
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter

    def _gathered(self) -> bool:
        return (len(self.pending) >= self.target.batch_size
                or self.clock() >= self._first_pending + self.target.max_wait_s)

    # -- calls ------------------------------------------------------------------------------

    def _records(self, contexts: Iterable[Context]) -> list[tuple[str, dict[str, Any]]]:
        out = []
        for ctx in contexts:
            record = self.encoder.agent_record(ctx)
            if record is not None:
                out.append((str(ctx["agent"]), record))
        return out

    async def _snapshot(self, http: httpx.AsyncClient, feed: Feed) -> None:
        # Taken in one step with clearing `pending`: what is pending now is in the snapshot,
        # and whatever changes later is newer and goes after it.
        now = self.encoder.clock()
        views = feed.engine.snapshot()
        self.pending.clear()
        records = self._records(self.encoder.snapshot_contexts(views, now))
        covered = {view.agent for view in views}
        offline = feed.engine.state_map.code("OFFLINE", "", None)
        stale = self._records(context(v, "logout", now, removed=True)
                              for v in stale_views(self.told, views, offline, now))
        size = self.target.batch_size
        try:
            if self.target.snapshot_flag and len(records) <= size:
                # The WFM logs out everyone of the source missing from this one call.
                await self._post(http, records, is_snapshot=True)
            else:
                everyone = stale + records  # the no-longer-covered first: before the snapshot
                gone = {agent for agent, _ in stale}
                for start in range(0, len(everyone), size):
                    chunk = everyone[start : start + size]
                    await self._post(http, chunk, is_snapshot=False)
                    # remembered call by call: a stop halfway still knows whom it told
                    if self.told is not None:
                        self.told.update({"agent": agent, "removed": agent in gone}
                                         for agent, _ in chunk)
        except BaseException:
            self.snapshot_due = True  # all of it again, with the state current by then
            raise
        self.stats["logged_out_stale"] += len(stale)
        if self.told is not None:
            self.told.replace(covered)
        self.stats["snapshots"] += 1
        self.snapshot_due = False

    async def _send_pending(self, http: httpx.AsyncClient) -> None:
        agents = list(self.pending)[: self.target.batch_size]
        chunk = self.sending = {agent: self.pending.pop(agent) for agent in agents}
        try:
            await self._post(http, self._records(chunk.values()), is_snapshot=False)
        except BaseException:
            # Back to the front, except agents whose newer state arrived meanwhile: it wins.
            restored = {a: ctx for a, ctx in chunk.items() if a not in self.pending}
            self.pending = {**restored, **self.pending}
            raise
        finally:
            self.sending = {}
        if self.told is not None:
            self.told.update(chunk.values())
        if self.pending:
            self._first_pending = self.clock()

    async def _post(self, http: httpx.AsyncClient, records: list[tuple[str, dict[str, Any]]],
                    *, is_snapshot: bool) -> None:
        if not records and not is_snapshot:
            return
        values = {
            **self.target.values,
            "records": [record for _, record in records],
            "is_snapshot": is_snapshot,
            "count": len(records),
            "sent_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        }
        body = fill(self.target.body, values)
        self.stats["calls"] += 1
        try:
            response = await self._call(http, body)
        except Rejected as exc:
            self.stats["rejected"] += 1
            log.error("HTTP push to %s: %s", self.target.url, exc)
            return
        self.stats["bytes_sent"] += len(response.request.content)
        if response.status_code not in self.target.success:
            self.stats["rejected"] += 1
            log.error("HTTP push to %s refused a batch of %d: HTTP %d %s", self.target.url,
                      len(records), response.status_code, response.text[:200])
            return
        self.stats["states_sent"] += len(records)

    async def _call(self, http: httpx.AsyncClient, body: Any) -> httpx.Response:
        for attempt in (1, 2):
            headers = await self.auth.headers(http)
            response = await http.request(self.target.method, self.target.url, json=body,
                                          headers=headers, auth=self.auth.basic())
            if response.status_code == 401 and attempt == 1 and self.auth.spec.kind in (
                    "oauth-client-credentials", "token-exchange"):
                self.auth.forget()  # the token expired early: one fresh token, one retry
                continue
            if response.status_code >= 500 or response.status_code in (408, 429):
                raise httpx.HTTPStatusError(f"HTTP {response.status_code}",
                                            request=response.request, response=response)
            return response
        return response

    def health(self) -> dict[str, Any]:
        return {
            "sink": self.name,
            "address": self.target.url,
            # not yet confirmed by the WFM: held, or in the call under way
            "pending": len(self.pending.keys() | self.sending.keys()),
            "failing": self.failing,
            "rejected_agents": len(self.encoder.rejected),
            **self.stats,
        }


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


async def _wait(event: asyncio.Event, timeout: float) -> None:
    # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancel (a stop would hang).
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await event.wait()

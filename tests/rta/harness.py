"""Shared pieces of the RTA end-to-end tests: a live twin, relay settings, Verint clients."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from wfmcli.genesys.auth import Credential
from wfmcli.genesys.retry import RetryPolicy
from wfmcli.reports.profiles import load_profile
from wfmcli.rta.channels import ChannelPolicy
from wfmcli.rta.model import Media, Presence, Routing
from wfmcli.rta.records import Layout, layout_from
from wfmcli.rta.service import RelaySettings, SinkSpec
from wfmcli.rta.source import SourceConfig
from wfmcli.rta.statemap import StateMap, derive
from wfmcli.sim import RunningTwin
from wfmcli.sim.ledger import OFFLINE_RS
from wfmcli.sim.org import ROUTING_STATUSES, SYSTEM_PRESENCES
from wfmcli.sim.remote import TwinControl

NOW_MS = 1_773_154_800_000  # 2026-03-10 15:00 UTC: a working afternoon in the twin
FAST = ChannelPolicy(backoff_initial=0.05, backoff_max=0.3)


def control(twin: RunningTwin) -> TwinControl:
    """The twin's control API (start it with `control=True`), as a user's CI would drive it."""
    return TwinControl(twin.base_url)


def pause(twin: RunningTwin) -> None:
    """Freezes the twin's live clock where it is (no new events) without moving it back."""
    control(twin).pause()


def resume(twin: RunningTwin, speed: float) -> None:
    control(twin).resume(speed)


def source_config(twin: RunningTwin, *, sets: int = 1, **kwargs: object) -> SourceConfig:
    credentials = [Credential(c.client_id, c.client_secret) for c in twin.credentials[:sets]]
    return SourceConfig("lab", twin.base_url, twin.base_url, credentials, "Contact Center Agent",
                        policy=FAST, retry=RetryPolicy(time_scale=0.01), **kwargs)  # type: ignore[arg-type]


def layout(profile: str, *, unicode: bool = False) -> Layout:
    """The compiled RTA record layout of a built-in profile."""
    rta = load_profile(profile).rta
    assert rta is not None
    return layout_from(rta, profile, unicode=unicode)


def settings(twin: RunningTwin, profile: str, sinks: list[SinkSpec], **kwargs: object
             ) -> RelaySettings:
    rta = load_profile(profile).rta
    assert rta is not None
    source = kwargs.pop("source", None) or source_config(twin)
    name = str(kwargs.pop("name", f"lab/{profile}"))
    return RelaySettings(name, layout(profile), dict(rta.state_map), [source],  # type: ignore[list-item]
                         sinks, **kwargs)  # type: ignore[arg-type]


_MEDIA_ORDER = ("voice", "callback", "email", "message", "chat")


def truth(twin: RunningTwin, profile: str, *, detailed: bool = False
          ) -> dict[str, tuple[str, str]]:
    """What the WFM should hold now: agent -> (code, reason), straight from the twin's state."""
    rta = load_profile(profile).rta
    assert rta is not None
    codes = StateMap(rta.state_map)
    org = twin.org
    result = {}
    for user in org.users:
        if not user.licensed:
            continue
        now = twin.runtime.center.states.now[user.index]
        definition = org.presences[now.presence_def]
        secondary = None if definition.primary else definition.name
        status = "OFF_QUEUE" if now.routing_status == OFFLINE_RS else (
            ROUTING_STATUSES[now.routing_status])
        media = None
        if detailed:
            media = Media(tuple(m for m in _MEDIA_ORDER if now.active.get(m)),
                          tuple(m for m in _MEDIA_ORDER if now.acw.get(m)), 0)
        state, reason, refinement = derive(
            Presence(SYSTEM_PRESENCES[now.system_presence], secondary, 0), Routing(status, 0), media
        )
        result[user.username] = (str(codes.code(state, reason, refinement)), reason[:24])
    return result


@dataclass
class VerintClient:
    """A Verint-like peer: connects, keeps every record, and the latest per agent."""

    host: str
    port: int
    records: list[list[str]] = field(default_factory=list)
    latest: dict[str, tuple[str, str]] = field(default_factory=dict)
    links: list[str] = field(default_factory=list)
    connected_at: float = 0.0
    _task: asyncio.Task[None] | None = None

    async def start(self) -> VerintClient:
        self._task = asyncio.create_task(self._run())
        return self

    async def _run(self) -> None:
        while True:
            try:
                reader, writer = await asyncio.open_connection(self.host, self.port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            self.connected_at = time.monotonic()
            try:
                while line := await reader.readline():
                    self._take(line.decode().rstrip("\r\n").split("|"))
            finally:
                writer.close()

    def _take(self, fields: list[str]) -> None:
        self.records.append(fields)
        if fields[9] != "0":
            self.links.append(fields[9])
            return
        self.latest[fields[1]] = (fields[4], fields[8])

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


async def eventually(check: Callable[[], bool | Awaitable[bool]], timeout: float = 15.0,
                     what: str = "condition") -> float:
    """Waits until `check()` holds; returns how long it took (seconds)."""
    start = time.monotonic()
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise AssertionError(f"{what} did not hold within {timeout} s")
        await asyncio.sleep(0.05)

"""The relay as one asyncio service: sources -> lanes (engine -> feed -> sinks), plus operations.

One relay per scope: each Genesys agent is subscribed once (the sources), and every RTA
destination of the scope is a lane with its own agent ids, state map, engine, layout and sinks.
Sources key observations by Genesys user id; each lane turns the id into its own WFM agent id
(username, email, employee id or the agent map's id) and leaves out agents it has no id for.
`rta serve SCOPE/DEST` is the same with one lane.

Everything runs under one TaskGroup; `stop` (SIGTERM, Ctrl-C) cancels it, and each sink's
cleanup tells its clients (Verint: extErrorCode 4, graceful shutdown) before closing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from wfmcli.errors import ConfigError
from wfmcli.rta.engine import Blend, Engine
from wfmcli.rta.feed import Feed
from wfmcli.rta.heap import CHECK_EVERY_S, SETTLE_EVERY_S, Heap
from wfmcli.rta.model import AgentIds, Observation
from wfmcli.rta.ops import OpsServer, StatusWriter
from wfmcli.rta.persist import restore
from wfmcli.rta.records import Encoder, Layout, id_problems
from wfmcli.rta.sinks import Sink
from wfmcli.rta.sinks.http_push import HttpPushSink, HttpTarget
from wfmcli.rta.sinks.stdout import StdoutSink
from wfmcli.rta.sinks.tcp_client import TcpClientSink
from wfmcli.rta.sinks.tcp_server import TcpServerSink
from wfmcli.rta.source import GenesysSource, SourceConfig
from wfmcli.rta.statemap import StateMap
from wfmcli.rta.told import ToldStore

log = logging.getLogger("wfm.rta")
HOUSEKEEPING_S = 0.25
SinkKind = Literal["tcp-server", "tcp-client", "http-push", "stdout"]


@dataclass(frozen=True)
class SinkSpec:
    kind: SinkKind
    host: str = "127.0.0.1"
    port: int = 0
    http: HttpTarget | None = None
    tls: bool = False
    tls_cert: Path | None = None
    tls_key: Path | None = None
    max_buffer: int = 8 * 1024 * 1024
    snapshot_every_s: float = 15 * 60
    backoff_max_s: float | None = None  # http-push: the cap of its retry backoff


@dataclass(frozen=True)
class RelaySettings:
    """One RTA destination (a lane); `sources` are the scopes whose agents feed it."""

    name: str  # SCOPE/DEST
    layout: Layout
    state_map: dict[str, str | int]
    sources: Sequence[SourceConfig]
    sinks: Sequence[SinkSpec]
    overrides: dict[str, str | int] = field(default_factory=dict)
    min_state_seconds: float = 0.0
    detailed: bool = False
    heartbeat_s: float = 30.0
    blend: Blend | None = None  # default: the layout's
    ops_host: str = "127.0.0.1"
    ops_port: int | None = None
    status_path: Path | None = None
    told_path: Path | None = None  # whom the WFM was told about (None: not remembered)
    agent_ids: AgentIds | None = None  # None: the source's own agent_id (as configured there)
    state_path: Path | None = None  # roster and last states kept for a restart (rta/persist)


def _server_tls(spec: SinkSpec) -> ssl.SSLContext | None:
    if spec.tls_cert is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(spec.tls_cert, spec.tls_key)
    return context


def build_sink(spec: SinkSpec, layout: Layout, heartbeat_s: float, told: ToldStore) -> Sink:
    if spec.kind == "tcp-server":
        return TcpServerSink(spec.host, spec.port, Encoder(layout), tls=_server_tls(spec),
                             heartbeat_s=heartbeat_s, max_buffer=spec.max_buffer, told=told)
    if spec.kind == "tcp-client":
        tls = ssl.create_default_context() if spec.tls else None
        return TcpClientSink(spec.host, spec.port, Encoder(layout), tls=tls,
                             max_buffer=spec.max_buffer, told=told)
    if spec.kind == "http-push":
        assert spec.http is not None
        extra = {} if spec.backoff_max_s is None else {"backoff_max": spec.backoff_max_s}
        return HttpPushSink(spec.http, Encoder(layout), snapshot_every_s=spec.snapshot_every_s,
                            told=told, **extra)  # type: ignore[arg-type]
    return StdoutSink()


class Lane:
    """One destination: its engine, feed and sinks, and the scopes it listens to."""

    def __init__(self, settings: RelaySettings) -> None:
        self.settings = settings
        self.layout = settings.layout
        self.engine = Engine(
            StateMap(settings.state_map, settings.overrides),
            blend=settings.blend or self.layout.blend,
            min_state_ms=int(settings.min_state_seconds * 1000),
            detailed=settings.detailed,
        )
        self.feed = Feed(self.engine)
        self.feed.link = "starting"  # the vendor's "starting" until the channels are up
        self.scopes = {source.scope for source in settings.sources}
        self.told = ToldStore(settings.told_path)
        self.sinks: list[Sink] = [build_sink(s, self.layout, settings.heartbeat_s, self.told)
                                  for s in settings.sinks]
        self.ids: dict[str, str] = {}  # Genesys user id -> this destination's agent id

    def translate(self, observations: list[Observation]) -> list[Observation]:
        out = []
        for observation in observations:
            if observation.source not in self.scopes:
                continue
            agent = self.ids.get(observation.agent)
            if agent is not None:
                out.append(replace(observation, agent=agent))
        return out


class Relay:
    def __init__(self, settings: RelaySettings | Sequence[RelaySettings]) -> None:
        lanes = [settings] if isinstance(settings, RelaySettings) else list(settings)
        self.settings = lanes[0]
        self.lanes = [Lane(lane) for lane in lanes]
        self.name = self.settings.name if len(lanes) == 1 else self.settings.name.split("/")[0]
        # The lanes' scopes, each watched once: detailed if any lane wants it.
        configs: dict[str, SourceConfig] = {}
        for lane in lanes:
            for config in lane.sources:
                known = configs.get(config.scope)
                configs[config.scope] = config if known is None else replace(
                    known, detailed=known.detailed or config.detailed,
                    roster_refresh_s=min(known.roster_refresh_s, config.roster_refresh_s),
                    holders_check_s=min(known.holders_check_s, config.holders_check_s),
                    full_read_s=min(known.full_read_s, config.full_read_s))
        self.sources = [
            GenesysSource(replace(config, agent_key=self._keyer(config)), self._apply,
                          self._remove, self._source_ready)
            for config in configs.values()
        ]
        self.ops = (OpsServer(self, self.settings.ops_host, self.settings.ops_port)
                    if self.settings.ops_port is not None else None)
        self.started = time.time()
        self.ready_after_s: float | None = None
        self._sources_ready = 0
        self.heap = Heap()
        self._loop_lag: deque[float] = deque(maxlen=int(10 / HOUSEKEEPING_S))

    # convenience views of the first (often only) destination
    @property
    def engine(self) -> Engine:
        return self.lanes[0].engine

    @property
    def feed(self) -> Feed:
        return self.lanes[0].feed

    @property
    def sinks(self) -> list[Sink]:
        return [sink for lane in self.lanes for sink in lane.sinks]

    def _keyer(self, config: SourceConfig) -> Any:
        """The source's agent key: the user id, remembering each lane's agent id for it."""
        lanes = [lane for lane in self.lanes if config.scope in lane.scopes]
        fallback = AgentIds(config.agent_id, config.agent_map)  # type: ignore[arg-type]

        def key(user: Mapping[str, Any]) -> str | None:
            user_id = str(user.get("id") or "")
            known = False
            for lane in lanes:
                agent = (lane.settings.agent_ids or fallback).of(user)
                before = lane.ids.get(user_id)
                if before is not None and before != agent:
                    # re-mapped or unmapped: the WFM forgets the old id (logged out once)
                    lane.feed.publish(lane.engine.remove(before, config.scope,
                                                         int(time.time() * 1000)))
                if agent is None:
                    lane.ids.pop(user_id, None)
                else:
                    lane.ids[user_id] = agent
                    known = True
            return user_id if known and user_id else None

        return key

    # -- engine steps: apply and publish with no await in between -------------------------

    def _apply(self, observations: list[Observation]) -> None:
        now = int(time.time() * 1000)
        for lane in self.lanes:
            mine = lane.translate(observations)
            lane.feed.stats["observations"] += len(mine)
            lane.feed.publish(lane.engine.apply_all(mine, now))

    def _remove(self, user_id: str, source: str) -> None:
        now = int(time.time() * 1000)
        for lane in self.lanes:
            agent = lane.ids.get(user_id)
            if agent is not None and source in lane.scopes:
                lane.feed.publish(lane.engine.remove(agent, source, now))

    def _source_ready(self) -> None:
        self._sources_ready += 1
        if self._sources_ready == len(self.sources):
            self._check_ids()
            if not self.feed.ready.is_set():
                self.set_ready("loaded")
            # The roster and its state live as long as the relay: keep them out of the
            # collector's full passes, which otherwise stall the feed for hundreds of ms.
            self.heap.settle()

    def set_ready(self, how: str) -> None:
        self.ready_after_s = time.time() - self.started
        for lane in self.lanes:
            log.info("%s: initial state of %d agents %s in %.2f s", lane.settings.name,
                     lane.engine.agents(), how, self.ready_after_s)
            lane.feed.ready.set()

    def _check_ids(self) -> None:
        """Id width is a contract: a relay whose agents' ids do not fit refuses to start."""
        for lane in self.lanes:
            if any(s.kind != "stdout" for s in lane.settings.sinks):
                roster = {uid for source in self.sources if source.config.scope in lane.scopes
                          for uid in source.roster}
                ids = {uid: agent for uid, agent in lane.ids.items() if uid in roster}
                problems = id_problems(lane.layout, ids, lane.settings.name)
                if problems:
                    raise ConfigError(problems[0])

    # -- run --------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        saver = None
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(sink.run(lane.feed))
                         for lane in self.lanes for sink in lane.sinks]
                for source in self.sources:
                    source.restore_done.clear()
                tasks += [group.create_task(source.run()) for source in self.sources]
                if self.settings.state_path is not None:
                    # in steps: the sources' first requests go out meanwhile
                    saver = await restore(self)
                for source in self.sources:
                    source.restore_done.set()
                tasks.append(group.create_task(self._housekeeping()))
                if self.ops is not None:
                    tasks.append(group.create_task(self.ops.run()))
                for index, lane in enumerate(self.lanes):
                    if lane.settings.status_path is not None:
                        writer = StatusWriter(_LaneView(self, index), lane.settings.status_path)
                        tasks.append(group.create_task(writer.run()))
                if saver is not None:
                    tasks.append(group.create_task(saver.run()))
                await stop.wait()
                log.info("%s: stopping", self.name)
                saving = group.create_task(saver.final()) if saver is not None else None
                for lane in self.lanes:
                    lane.feed.link = "shutdown"
                for task in tasks:
                    task.cancel()
                if saving is not None:
                    await saving
        except BaseExceptionGroup as grouped:
            raise _first_leaf(grouped) from None
        finally:
            for lane in self.lanes:
                lane.told.flush()
                if lane.settings.status_path is not None:
                    with contextlib.suppress(OSError):
                        lane.settings.status_path.unlink()

    async def _housekeeping(self) -> None:
        """Releases held-back states (flicker filter), keeps the link status current and the
        told-agents files written, and keeps the held states out of the collector's passes."""
        loop = asyncio.get_running_loop()
        settle_at, check_at = loop.time() + SETTLE_EVERY_S, loop.time() + CHECK_EVERY_S
        while True:
            planned = loop.time() + HOUSEKEEPING_S
            await asyncio.sleep(HOUSEKEEPING_S)
            # How late the loop woke us: what every event waited at worst meanwhile.
            self._loop_lag.append(max(0.0, loop.time() - planned))
            if self._sources_ready >= len(self.sources) and loop.time() >= settle_at:
                self.heap.settle()  # the states that changed since (see rta/heap.py)
                settle_at = loop.time() + SETTLE_EVERY_S
                if loop.time() >= check_at:
                    self.heap.check()
                    check_at = loop.time() + CHECK_EVERY_S
            up = all(source.link == "normal" for source in self.sources)
            for lane in self.lanes:
                if lane.engine.min_state_ms:
                    lane.feed.publish(lane.engine.tick(int(time.time() * 1000)))
                if lane.feed.ready.is_set() and (up or lane.feed.link != "starting"):
                    lane.feed.set_link("normal" if up else "unavailable")
                lane.told.flush()

    # -- views ------------------------------------------------------------------------------

    def status(self, index: int | None = None) -> dict[str, Any]:
        """The status of one destination; of the first, with every destination listed, when
        several share the relay."""
        if index is None and len(self.lanes) > 1:
            return {**self.status(0), "name": self.name,
                    "destinations": [self.status(i) for i in range(len(self.lanes))]}
        lane = self.lanes[index or 0]
        stats = lane.feed.stats
        return {
            "name": lane.settings.name,
            "started": self.started,
            "uptime_s": round(time.time() - self.started, 1),
            "ready": lane.feed.ready.is_set(),
            "ready_after_s": self.ready_after_s,
            "link": lane.feed.link,
            "loop_lag_max_ms": round(1000 * max(self._loop_lag, default=0.0), 1),
            "agents": lane.engine.agents(),
            "by_state": lane.engine.by_state(),
            "observations": stats["observations"],
            "changes_out": stats["changes"],
            "engine": dict(lane.engine.stats),
            "sources": [source.health() for source in self.sources
                        if source.config.scope in lane.scopes],
            "sinks": [sink.health() for sink in lane.sinks],
        }


@dataclass(frozen=True)
class _LaneView:
    relay: Relay
    index: int

    def status(self) -> dict[str, Any]:
        return self.relay.status(self.index)


def _first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first

"""The relay as one asyncio service: sources -> engine -> feed -> sinks, plus operations.

Everything runs under one TaskGroup; `stop` (SIGTERM, Ctrl-C) cancels it, and each sink's
cleanup tells its clients (Verint: extErrorCode 4, graceful shutdown) before closing.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import ssl
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from wfmcli.rta.engine import Blend, Engine
from wfmcli.rta.feed import Feed
from wfmcli.rta.model import Observation
from wfmcli.rta.ops import OpsServer, StatusWriter
from wfmcli.rta.persist import restore
from wfmcli.rta.records import Encoder, Layout, layout_for
from wfmcli.rta.sinks import Sink
from wfmcli.rta.sinks.http_push import CalabrioSink
from wfmcli.rta.sinks.stdout import StdoutSink
from wfmcli.rta.sinks.tcp_client import TcpClientSink
from wfmcli.rta.sinks.tcp_server import TcpServerSink
from wfmcli.rta.source import GenesysSource, SourceConfig
from wfmcli.rta.statemap import StateMap

log = logging.getLogger("wfm.rta")
HOUSEKEEPING_S = 0.25
SinkKind = Literal["tcp-server", "tcp-client", "http-push", "stdout"]


@dataclass(frozen=True)
class SinkSpec:
    kind: SinkKind
    host: str = "127.0.0.1"
    port: int = 0
    url: str = ""
    api_key: str = ""
    source_id: str = ""
    tls: bool = False
    tls_cert: Path | None = None
    tls_key: Path | None = None
    max_buffer: int = 8 * 1024 * 1024
    snapshot_every_s: float = 15 * 60


@dataclass(frozen=True)
class RelaySettings:
    name: str  # SCOPE/DEST
    protocol: str  # the profile's rta.protocol: picks the record layout
    state_map: dict[str, str | int]
    sources: Sequence[SourceConfig]
    sinks: Sequence[SinkSpec]
    overrides: dict[str, str | int] = field(default_factory=dict)
    min_state_seconds: float = 0.0
    detailed: bool = False
    heartbeat_s: float = 30.0
    blend: Blend | None = None  # default: the layout's
    unicode: bool = False
    ops_host: str = "127.0.0.1"
    ops_port: int | None = None
    status_path: Path | None = None
    state_path: Path | None = None  # roster and last states kept for a restart (rta/persist)


def _server_tls(spec: SinkSpec) -> ssl.SSLContext | None:
    if spec.tls_cert is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(spec.tls_cert, spec.tls_key)
    return context


def build_sink(spec: SinkSpec, layout: Layout, heartbeat_s: float) -> Sink:
    if spec.kind == "tcp-server":
        return TcpServerSink(spec.host, spec.port, Encoder(layout), tls=_server_tls(spec),
                             heartbeat_s=heartbeat_s, max_buffer=spec.max_buffer)
    if spec.kind == "tcp-client":
        tls = ssl.create_default_context() if spec.tls else None
        return TcpClientSink(spec.host, spec.port, Encoder(layout), tls=tls,
                             max_buffer=spec.max_buffer)
    if spec.kind == "http-push":
        return CalabrioSink(
            spec.url, spec.api_key, spec.source_id, layout, snapshot_every_s=spec.snapshot_every_s
        )
    return StdoutSink()


class Relay:
    def __init__(self, settings: RelaySettings) -> None:
        self.settings = settings
        self.layout = layout_for(settings.protocol, unicode=settings.unicode)
        self.engine = Engine(
            StateMap(settings.state_map, settings.overrides),
            blend=settings.blend or self.layout.blend,
            min_state_ms=int(settings.min_state_seconds * 1000),
            detailed=settings.detailed,
        )
        self.feed = Feed(self.engine)
        self.sinks: list[Sink] = [build_sink(s, self.layout, settings.heartbeat_s)
                                  for s in settings.sinks]
        self.sources = [
            GenesysSource(config, self._apply, self._remove, self._source_ready)
            for config in settings.sources
        ]
        self.ops = (OpsServer(self, settings.ops_host, settings.ops_port)
                    if settings.ops_port is not None else None)
        self.started = time.time()
        self.ready_after_s: float | None = None
        self._sources_ready = 0
        self._loop_lag: deque[float] = deque(maxlen=int(10 / HOUSEKEEPING_S))

    # -- engine steps: apply and publish with no await in between -------------------------

    def _apply(self, observations: list[Observation]) -> None:
        self.feed.stats["observations"] += len(observations)
        self.feed.publish(self.engine.apply_all(observations, int(time.time() * 1000)))

    def _remove(self, agent: str, source: str) -> None:
        self.feed.publish(self.engine.remove(agent, source, int(time.time() * 1000)))

    def _source_ready(self) -> None:
        self._sources_ready += 1
        if self._sources_ready == len(self.sources):
            if not self.feed.ready.is_set():
                self.set_ready("loaded")
            # The roster and its state live as long as the relay: keep them out of the
            # collector's full passes, which otherwise stall the feed for hundreds of ms.
            gc.freeze()

    def set_ready(self, how: str) -> None:
        self.ready_after_s = time.time() - self.started
        log.info("%s: initial state of %d agents %s in %.2f s", self.settings.name,
                 self.engine.agents(), how, self.ready_after_s)
        self.feed.ready.set()

    # -- run --------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        saver = None
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(sink.run(self.feed)) for sink in self.sinks]
                for source in self.sources:
                    source.restore_done.clear()
                tasks += [group.create_task(source.run()) for source in self.sources]
                if self.settings.state_path is not None:
                    await asyncio.sleep(0)  # the sources' first requests go out first
                    saver = restore(self)
                for source in self.sources:
                    source.restore_done.set()
                tasks.append(group.create_task(self._housekeeping()))
                if self.ops is not None:
                    tasks.append(group.create_task(self.ops.run()))
                if self.settings.status_path is not None:
                    writer = StatusWriter(self, self.settings.status_path)
                    tasks.append(group.create_task(writer.run()))
                if saver is not None:
                    tasks.append(group.create_task(saver.run()))
                await stop.wait()
                log.info("%s: stopping", self.settings.name)
                saving = group.create_task(saver.final()) if saver is not None else None
                self.feed.link = "shutdown"
                for task in tasks:
                    task.cancel()
                if saving is not None:
                    await saving
        except BaseExceptionGroup as grouped:
            raise _first_leaf(grouped) from None
        finally:
            if self.settings.status_path is not None:
                with contextlib.suppress(OSError):
                    self.settings.status_path.unlink()

    async def _housekeeping(self) -> None:
        """Releases held-back states (flicker filter) and keeps the link status current."""
        loop = asyncio.get_running_loop()
        while True:
            planned = loop.time() + HOUSEKEEPING_S
            await asyncio.sleep(HOUSEKEEPING_S)
            # How late the loop woke us: what every event waited at worst meanwhile.
            self._loop_lag.append(max(0.0, loop.time() - planned))
            if self.engine.min_state_ms:
                self.feed.publish(self.engine.tick(int(time.time() * 1000)))
            if self.feed.ready.is_set():
                up = all(source.link == "normal" for source in self.sources)
                self.feed.set_link("normal" if up else "unavailable")

    # -- views ------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        stats = self.feed.stats
        return {
            "name": self.settings.name,
            "started": self.started,
            "uptime_s": round(time.time() - self.started, 1),
            "ready": self.feed.ready.is_set(),
            "ready_after_s": self.ready_after_s,
            "link": self.feed.link,
            "loop_lag_max_ms": round(1000 * max(self._loop_lag, default=0.0), 1),
            "agents": self.engine.agents(),
            "by_state": self.engine.by_state(),
            "observations": stats["observations"],
            "changes_out": stats["changes"],
            "engine": dict(self.engine.stats),
            "sources": [source.health() for source in self.sources],
            "sinks": [sink.health() for sink in self.sinks],
        }


def _first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first

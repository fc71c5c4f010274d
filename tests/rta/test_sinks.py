"""Sinks over real sockets on 127.0.0.1, fed by a hand-driven engine (no twin)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import socket
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import trustme
from aiohttp import web

from tests.rta.harness import eventually, layout
from wfmcli.config.model import RtaSettings
from wfmcli.reports.profiles import load_profile
from wfmcli.rta.engine import Engine
from wfmcli.rta.feed import Feed
from wfmcli.rta.model import Observation, Presence, Routing
from wfmcli.rta.records import Encoder
from wfmcli.rta.settings import http_target
from wfmcli.rta.sinks.http_push import HttpPushSink
from wfmcli.rta.sinks.stdout import StdoutSink
from wfmcli.rta.sinks.tcp_client import TcpClientSink
from wfmcli.rta.sinks.tcp_server import TcpServerSink
from wfmcli.rta.statemap import StateMap

pytestmark = pytest.mark.timeout(30)
KEY, SOURCE = "secret-key-1", "7"
PRESENCES = ("BREAK", "MEAL", "TRAINING", "MEETING", "AWAY")


def make_feed(profile: str, overrides: dict[str, str | int] | None = None) -> Feed:
    rta = load_profile(profile).rta
    assert rta is not None
    feed = Feed(Engine(StateMap(rta.state_map, overrides), blend=layout(profile).blend))
    feed.ready.set()
    return feed


def put(feed: Feed, agent: str, system: str, t: int) -> None:
    if system == "ON_QUEUE":
        observation = Observation(agent, "lab", Presence(system, None, t), Routing("IDLE", t))
    else:
        observation = Observation(agent, "lab", Presence(system, None, t), Routing("OFF_QUEUE", t))
    feed.publish(feed.engine.apply(observation, t))


def fill(feed: Feed, agents: int) -> None:
    for n in range(agents):
        put(feed, f"agent{n:04d}", PRESENCES[n % len(PRESENCES)], 1000)


async def run_sink(sink: Any, feed: Feed) -> asyncio.Task[None]:
    return asyncio.create_task(sink.run(feed))


async def cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


# -- Calabrio -------------------------------------------------------------------------------


@dataclass
class CalabrioEndpoint:
    """Enforces the published Rta/State/Batch rules; keeps each agent's state and every call."""

    failing: bool = False
    held: asyncio.Event | None = None  # when given: each call waits for it before answering
    states: dict[str, str] = field(default_factory=dict)
    received: list[tuple[str, str]] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    async def batch(self, request: web.Request) -> web.Response:
        if self.held is not None:
            await self.held.wait()
        if self.failing:
            return web.Response(status=503, text="down for maintenance")
        body = await request.json()
        self.calls.append(body)
        if body.get("AuthenticationKey") != KEY:
            return web.Response(status=400, text="Invalid authentication key")
        if body.get("SourceId") != SOURCE:
            return web.Response(status=400, text=f"Source id \"{body.get('SourceId')}\" not found")
        states = body.get("States") or []
        if len(states) > 50:
            self.violations.append(f"batch of {len(states)}")
            return web.Response(status=400, text="Incoming batch too large, must be below 50")
        for state in states:
            if len(state["StateCode"]) > 25:
                self.violations.append(f"state code {state['StateCode']!r} over 25")
            self.states[state["UserCode"]] = state["StateCode"]
            self.received.append((state["UserCode"], state["StateCode"]))
        if body.get("IsSnapshot"):  # closing the snapshot logs out everyone not in it
            sent = {s["UserCode"] for s in states}
            for user in self.states:
                if user not in sent:
                    self.states[user] = "CCC Logged out"
        return web.Response(status=200)


@asynccontextmanager
async def calabrio_endpoint() -> AsyncIterator[tuple[CalabrioEndpoint, str]]:
    endpoint = CalabrioEndpoint()
    app = web.Application()
    app.router.add_post("/Rta/State/Batch", endpoint.batch)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield endpoint, f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def calabrio_sink(url: str, feed: Feed, **kwargs: Any) -> HttpPushSink:
    rta = load_profile("calabrio").rta
    assert rta is not None
    kwargs.setdefault("backoff_initial", 0.02)
    kwargs.setdefault("backoff_max", 0.1)
    settings = RtaSettings.model_validate(
        {"endpoint": url, "api_key": kwargs.pop("key", KEY), "source_id": SOURCE})
    target = http_target("lab/calabrio rta", rta, settings)
    return HttpPushSink(target, Encoder(layout("calabrio")), **kwargs)


def codes(feed: Feed) -> dict[str, str]:
    return {v.agent: str(v.code)[:25] for v in feed.engine.snapshot()}


def test_calabrio_snapshot_in_batches_of_50_then_changes() -> None:
    async def scenario() -> None:
        feed = make_feed("calabrio", {"MEETING": "IN A MEETING WITH THE WHOLE TEAM"})
        fill(feed, 120)
        async with calabrio_endpoint() as (endpoint, url):
            sink = calabrio_sink(url, feed)
            task = await run_sink(sink, feed)
            await eventually(lambda: endpoint.states == codes(feed), what="snapshot delivered")
            assert [len(c["States"]) for c in endpoint.calls] == [50, 50, 20]
            assert not any(c["IsSnapshot"] for c in endpoint.calls)  # would log out the rest
            put(feed, "agent0001", "ON_QUEUE", 2000)
            put(feed, "agent0002", "OFFLINE", 2000)
            await eventually(lambda: endpoint.states == codes(feed), what="changes delivered")
            assert endpoint.states["agent0001"] == "READY"
            assert endpoint.states["agent0002"] == "OFF"
            assert endpoint.violations == []
            assert "IN A MEETING WITH THE WHO" in endpoint.states.values()
            await cancel(task)

    asyncio.run(scenario())


@asynccontextmanager
async def calabrio_delivering(agents: int
                              ) -> AsyncIterator[tuple[Feed, CalabrioEndpoint, HttpPushSink]]:
    """A Calabrio sink running against the endpoint, its first snapshot delivered."""
    feed = make_feed("calabrio")
    fill(feed, agents)
    async with calabrio_endpoint() as (endpoint, url):
        sink = calabrio_sink(url, feed)
        task = await run_sink(sink, feed)
        await eventually(lambda: endpoint.states == codes(feed), what="first snapshot")
        try:
            yield feed, endpoint, sink
        finally:
            await cancel(task)


def test_calabrio_small_snapshot_closes_and_repeats() -> None:
    async def scenario() -> None:
        feed = make_feed("calabrio")
        fill(feed, 10)
        async with calabrio_endpoint() as (endpoint, url):
            endpoint.states["ghost"] = "READY"  # known to Calabrio, no longer watched by us
            sink = calabrio_sink(url, feed, snapshot_every_s=0.2)
            task = await run_sink(sink, feed)
            await eventually(lambda: sink.stats["snapshots"] >= 3, what="periodic snapshots")
            assert all(c["IsSnapshot"] for c in endpoint.calls)
            assert endpoint.states.pop("ghost") == "CCC Logged out"
            assert endpoint.states == codes(feed)
            await cancel(task)

    asyncio.run(scenario())


def test_calabrio_outage_keeps_only_the_latest_state_per_agent() -> None:
    async def scenario() -> None:
        async with calabrio_delivering(60) as (feed, endpoint, sink):
            endpoint.failing = True
            for step, system in enumerate(("ON_QUEUE", "MEAL", "TRAINING", "AWAY"), start=1):
                put(feed, "agent0000", system, 2000 + step)
                put(feed, f"agent{step:04d}", "OFFLINE", 2000 + step)
            await eventually(lambda: sink.stats["failures"] >= 3, what="failed calls")
            # the five changed agents are held, latest state each, or in the retry under way
            # (or a whole snapshot is due, which carries them)
            health = sink.health()
            assert health["failing"]
            assert health["pending"] == 5 or sink.snapshot_due, sink.stats
            received_before = len(endpoint.received)
            endpoint.failing = False
            await eventually(lambda: endpoint.states == codes(feed), what="recovery")
            after = [code for user, code in endpoint.received[received_before:]
                     if user == "agent0000"]
            assert after == ["AWAY"]  # never READY, MEAL or TRAINING after the outage
            # the endpoint has the states before the sink reads its answer
            await eventually(lambda: not sink.health()["failing"], what="the sink to see success")

    asyncio.run(scenario())


def test_states_in_a_call_under_way_count_as_pending_until_it_is_answered() -> None:
    async def scenario() -> None:
        async with calabrio_delivering(10) as (feed, endpoint, sink):
            endpoint.held = held = asyncio.Event()
            try:
                for step in range(1, 4):
                    put(feed, f"agent{step:04d}", "OFFLINE", 3000 + step)
                await eventually(lambda: bool(sink.sending), what="the call under way")
                assert sink.pending == {}
                assert sink.health()["pending"] == len(sink.sending) == 3
            finally:
                held.set()
            await eventually(lambda: endpoint.states == codes(feed), what="delivered")
            await eventually(lambda: sink.health()["pending"] == 0, what="the answer read")

    asyncio.run(scenario())


def test_calabrio_refusal_is_logged_and_does_not_stop_the_sink(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> None:
        feed = make_feed("calabrio")
        fill(feed, 3)
        async with calabrio_endpoint() as (endpoint, url):
            sink = calabrio_sink(url, feed, key="wrong")
            task = await run_sink(sink, feed)
            await eventually(lambda: sink.stats["rejected"] >= 1, what="a refusal")
            put(feed, "agent0000", "ON_QUEUE", 5000)
            await eventually(lambda: sink.stats["rejected"] >= 2, what="still sending")
            assert endpoint.states == {}
            await cancel(task)

    with caplog.at_level(logging.ERROR, logger="wfm.rta.sinks"):
        asyncio.run(scenario())
    assert "Invalid authentication key" in caplog.text
    assert "wrong" not in caplog.text


# -- TCP ------------------------------------------------------------------------------------


@dataclass
class FixedWidthServer:
    """An Aspect-like RTA server: we connect to it and send fixed-width records."""

    lines: list[str] = field(default_factory=list)
    writers: list[asyncio.StreamWriter] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        while line := await reader.readline():
            self.lines.append(line.decode("ascii").rstrip("\r\n"))

    def latest(self) -> dict[str, str]:
        return {line[1:11].strip(): line[17:21] for line in self.lines if line.startswith("A")}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_tcp_client_reconnects_and_sends_a_snapshot_each_time() -> None:
    async def scenario() -> None:
        feed = make_feed("alvaria")
        fill(feed, 5)
        expected = {v.agent[:10]: f"{v.code:0>4}" for v in feed.engine.snapshot()}
        port = free_port()
        sink = TcpClientSink("127.0.0.1", port, Encoder(layout("alvaria")),
                             backoff_initial=0.02, backoff_max=0.1)
        task = await run_sink(sink, feed)
        await eventually(lambda: sink.failures >= 2, what="refused connects")  # nobody listens
        wfm = FixedWidthServer()
        server = await asyncio.start_server(wfm.handle, "127.0.0.1", port)
        await eventually(lambda: wfm.latest() == expected, what="snapshot on connect")
        assert sum(1 for line in wfm.lines if line.startswith("H")) == 1
        wfm.writers[0].close()  # the WFM drops us
        await eventually(lambda: sink.connects == 2, what="reconnect")
        await eventually(lambda: sum(1 for line in wfm.lines if line.startswith("A")) == 10,
                         what="second snapshot")
        put(feed, "agent0003", "ON_QUEUE", 3000)
        await eventually(lambda: wfm.latest()["agent0003"] == "0001", what="change")
        await cancel(task)
        server.close()

    asyncio.run(scenario())


def verint_lines(data: bytes) -> list[list[str]]:
    return [line.split("|") for line in data.decode().split("\r\n") if line]


def test_slow_client_is_dropped_without_holding_back_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> None:
        feed = make_feed("verint")
        fill(feed, 10)
        sink = TcpServerSink("127.0.0.1", 0, Encoder(layout("verint")),
                             max_buffer=64 * 1024)
        task = await run_sink(sink, feed)
        await sink.listening.wait()
        slow = socket.socket()
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.connect(("127.0.0.1", sink.port))  # connects and never reads
        reader, writer = await asyncio.open_connection("127.0.0.1", sink.port)
        await eventually(lambda: len(sink.clients) == 2, what="both clients registered")
        received = bytearray()

        async def read() -> None:
            while chunk := await reader.read(65536):
                received.extend(chunk)

        reading = asyncio.create_task(read())
        t = 2000
        while sink.dropped == 0 and t < 200_000:
            for n in range(10):
                put(feed, f"agent{n:04d}", PRESENCES[(t + n) % len(PRESENCES)], t)
            t += 1
            if t % 50 == 0:
                await asyncio.sleep(0)
        assert sink.dropped == 1 and len(sink.clients) == 1
        final = {v.agent: str(v.code) for v in feed.engine.snapshot()}
        await eventually(
            lambda: {f[1]: f[4] for f in verint_lines(bytes(received)) if f[9] == "0"} == final,
            what="the fast client kept up",
        )
        reading.cancel()
        writer.close()
        slow.close()
        await cancel(task)

    with caplog.at_level(logging.WARNING, logger="wfm.rta.sinks"):
        asyncio.run(scenario())
    assert "fell" in caplog.text and "dropping it" in caplog.text


def test_tls_server_sends_the_snapshot_over_tls() -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)

    async def scenario() -> None:
        feed = make_feed("verint")
        fill(feed, 4)
        sink = TcpServerSink("127.0.0.1", 0, Encoder(layout("verint")),
                             tls=server_context)
        task = await run_sink(sink, feed)
        await sink.listening.wait()
        reader, writer = await asyncio.open_connection("127.0.0.1", sink.port,
                                                       ssl=client_context)
        lines = [(await reader.readline()).decode().split("|") for _ in range(5)]
        assert lines[0][9].strip() == "3"  # link status first: Genesys not connected here
        assert sorted(f[1] for f in lines[1:]) == [f"agent{n:04d}" for n in range(4)]
        writer.close()
        await cancel(task)

    asyncio.run(scenario())


def test_stdout_json_lines() -> None:
    async def scenario() -> list[dict[str, Any]]:
        feed = make_feed("verint")
        fill(feed, 2)
        out = io.BytesIO()
        sink = StdoutSink(out)
        task = await run_sink(sink, feed)
        await eventually(lambda: out.getvalue().count(b"\n") == 2, what="snapshot")
        put(feed, "agent0000", "ON_QUEUE", 3000)
        await cancel(task)
        return [json.loads(line) for line in out.getvalue().splitlines()]

    records = asyncio.run(scenario())
    assert [r["event"] for r in records] == ["snapshot", "snapshot", "change"]
    assert records[2]["agent"] == "agent0000" and records[2]["state"] == "IDLE"


def test_a_client_sending_garbage_does_not_disturb_the_feed() -> None:
    """WFM clients may send keep-alives or garbage: read and thrown away, never buffered."""

    async def scenario() -> None:
        feed = make_feed("verint")
        fill(feed, 5)
        sink = TcpServerSink("127.0.0.1", 0, Encoder(layout("verint")))
        task = await run_sink(sink, feed)
        await sink.listening.wait()
        _noisy_reader, noisy = await asyncio.open_connection("127.0.0.1", sink.port)
        reader, writer = await asyncio.open_connection("127.0.0.1", sink.port)
        await eventually(lambda: len(sink.clients) == 2, what="both clients registered")
        for _ in range(200):
            noisy.write(b"\x00\xffGARBAGE|||\r\n" * 500)
            await noisy.drain()
        put(feed, "agent0002", "ON_QUEUE", 9000)
        seen: list[list[str]] = []
        while not any(f[1] == "agent0002" and f[4] == "1" for f in seen):
            seen.append((await reader.readline()).decode().rstrip("\r\n").split("|"))
        assert len(sink.clients) == 2 and sink.health()["buffered"] < 64 * 1024
        noisy.close()
        writer.close()
        await cancel(task)

    asyncio.run(scenario())

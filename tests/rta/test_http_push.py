"""The generic HTTP push against local HTTPS endpoints that check what they receive; customer
layouts over TCP; recovery after long outages on a compressed clock."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiohttp import web

from tests.rta.harness import eventually, layout
from tests.rta.test_sinks import (
    KEY,
    SOURCE,
    CalabrioEndpoint,
    calabrio_endpoint,
    calabrio_sink,
    cancel,
    codes,
    fill,
    make_feed,
    put,
    run_sink,
)
from wfmcli.config.model import RtaSettings
from wfmcli.errors import ConfigError
from wfmcli.reports.profiles import load_profile, load_profile_file
from wfmcli.rta.records import Encoder, layout_from
from wfmcli.rta.settings import http_target
from wfmcli.rta.sinks.http_push import HttpPushSink
from wfmcli.rta.sinks.tcp_server import TcpServerSink
from wfmcli.rta.told import ToldStore

pytestmark = pytest.mark.timeout(60)
TENANT, ACCESS_ID, ACCESS_SECRET = "acme", "AK-1", "s3cret-access"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@asynccontextmanager
async def https_app(app: web.Application, ca: trustme.CA) -> AsyncIterator[str]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    try:
        yield f"https://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def trusting(ca: trustme.CA, target: Any) -> Any:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return replace(target, verify=context)


# -- Calabrio over HTTPS --------------------------------------------------------------------


def test_calabrio_push_over_https(ca: trustme.CA) -> None:
    async def scenario() -> None:
        feed = make_feed("calabrio")
        fill(feed, 12)
        endpoint = CalabrioEndpoint()
        app = web.Application()
        app.router.add_post("/Rta/State/Batch", endpoint.batch)
        async with https_app(app, ca) as url:
            sink = calabrio_sink(url, feed)
            sink.target = trusting(ca, sink.target)
            task = await run_sink(sink, feed)
            await eventually(lambda: endpoint.states == codes(feed), what="snapshot over TLS")
            put(feed, "agent0003", "OFFLINE", 9000)
            await eventually(lambda: endpoint.states.get("agent0003") == "OFF", what="change")
            assert endpoint.violations == [] and endpoint.calls[0]["IsSnapshot"] is True
            await cancel(task)

    asyncio.run(scenario())


# -- NICE CXone: token exchange, then agent states ---------------------------------------------


@dataclass
class CxoneEndpoint:
    """Checks the published parts: the token exchange's inputs, a bearer token on every call,
    Event ID + Event Reason per agent state."""

    token: str = "tok-1"
    tokens_issued: int = 0
    states: dict[str, tuple[str, str]] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/token", self.token_route)
        app.router.add_post("/agent-states", self.states_route)
        return app

    async def token_route(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body != {"tenantName": TENANT, "accessKeyId": ACCESS_ID,
                    "accessKeySecret": ACCESS_SECRET}:
            return web.json_response({"error": "invalid_client"}, status=401)
        self.tokens_issued += 1
        return web.json_response({"access_token": self.token, "expires_in": 3600})

    async def states_route(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.Response(status=401)
        body = await request.json()
        for state in body.get("agentStates") or []:
            if set(state) != {"agentId", "eventId", "eventReason", "timestamp", "sourceId"}:
                self.violations.append(f"fields {sorted(state)}")
            if not state["timestamp"].endswith("Z"):
                self.violations.append(f"timestamp {state['timestamp']}")
            self.states[state["agentId"]] = (state["eventId"], state["eventReason"])
        return web.Response(status=202)


def test_nice_cxone_destination_streams_agent_states_over_https(ca: trustme.CA) -> None:
    async def scenario() -> None:
        feed = make_feed("nice-cxone")
        fill(feed, 8)
        endpoint = CxoneEndpoint()
        async with https_app(endpoint.app(), ca) as url:
            rta = load_profile("nice-cxone").rta
            assert rta is not None
            settings = RtaSettings.model_validate({
                "endpoint": f"{url}/agent-states", "tenant": TENANT, "client_id": ACCESS_ID,
                "client_secret": ACCESS_SECRET, "token_url": f"{url}/token"})
            target = trusting(ca, http_target("lab/cxone rta", rta, settings))
            sink = HttpPushSink(target, Encoder(layout("nice-cxone")), backoff_initial=0.02,
                                backoff_max=0.1)
            task = await run_sink(sink, feed)
            expected = {v.agent: (str(v.code), v.reason) for v in feed.engine.snapshot()}
            await eventually(lambda: endpoint.states == expected, what="snapshot at CXone")
            endpoint.token = "tok-2"  # the token is revoked early: one fresh token, one retry
            put(feed, "agent0001", "ON_QUEUE", 9000)
            await eventually(lambda: endpoint.states["agent0001"] == ("Available", ""),
                             what="a change with a fresh token")
            assert endpoint.tokens_issued == 2 and endpoint.violations == []
            await cancel(task)

    asyncio.run(scenario())


def test_http_push_names_the_missing_destination_values() -> None:
    rta = load_profile("nice-cxone").rta
    assert rta is not None
    settings = RtaSettings.model_validate({"endpoint": "https://cxone.example/agent-states"})
    with pytest.raises(ConfigError, match="needs client_id, client_secret, tenant, token_url"):
        http_target("lab/cxone rta", rta, settings)


# -- outages on a compressed clock ----------------------------------------------------------


@pytest.mark.parametrize("outage_s", [10.0, 30.0, 90.0])
def test_calabrio_outage_ends_with_a_correct_wfm_within_the_backoff_cap(outage_s: float) -> None:
    """Every retry is a probe and the backoff is capped: whatever the outage, the WFM holds the
    current states within the cap (plus one call) of the endpoint's return."""
    cap = 4.0

    async def scenario() -> None:
        feed = make_feed("calabrio")
        fill(feed, 60)
        async with calabrio_endpoint() as (endpoint, url):
            now = [0.0]
            end = [0.0]

            async def sleep(seconds: float) -> None:  # the sink only sleeps while failing
                now[0] += seconds
                endpoint.failing = now[0] < end[0]
                await asyncio.sleep(0)

            sink = calabrio_sink(url, feed, backoff_initial=0.5, backoff_max=cap,
                                 clock=lambda: now[0], sleep=sleep)
            task = await run_sink(sink, feed)
            await eventually(lambda: endpoint.states == codes(feed), what="first snapshot")
            end[0] = now[0] + outage_s
            endpoint.failing = True
            for n in range(5):
                put(feed, f"agent{n:04d}", "OFFLINE", 5000 + n)
            # each probe is a real HTTPS call: allow a loaded machine real time for ~25 of them
            await eventually(lambda: not endpoint.failing and endpoint.states == codes(feed),
                             timeout=90.0, what="recovery")
            # no sleep after the endpoint's return: the clock stands where the WFM caught up
            assert now[0] - end[0] <= cap
            assert sink.stats["failures"] >= outage_s / cap  # it kept probing while down
            # the endpoint holds the states before the sink has read the answer
            await eventually(lambda: not sink.failing, what="the sink to see its success")
            await cancel(task)

    asyncio.run(scenario())


def test_backoff_is_capped() -> None:
    sink = HttpPushSink(http_target("x", _calabrio(), _calabrio_settings()),
                        Encoder(layout("calabrio")), backoff_initial=0.5, backoff_max=4.0)
    delays = [sink.backoff(n) for n in range(1, 40)]
    assert max(delays) <= 4.0 and delays[-1] >= 2.0


def _calabrio() -> Any:
    rta = load_profile("calabrio").rta
    assert rta is not None
    return rta


def _calabrio_settings() -> RtaSettings:
    return RtaSettings.model_validate({"endpoint": "http://127.0.0.1:9", "api_key": KEY,
                                       "source_id": SOURCE})


# -- told sets: agents no longer covered are logged out before the snapshot -----------------


def test_calabrio_above_one_batch_logs_out_the_remembered_agents(tmp_path: Path) -> None:
    async def scenario() -> None:
        feed = make_feed("calabrio")
        fill(feed, 70)  # more than one call holds: no IsSnapshot
        told = ToldStore(tmp_path / "told.json")
        told.replace(["left-while-down", "agent0001"])
        async with calabrio_endpoint() as (endpoint, url):
            endpoint.states["left-while-down"] = "READY"
            sink = calabrio_sink(url, feed, told=told)
            task = await run_sink(sink, feed)
            await eventually(lambda: sink.stats["snapshots"] == 1, what="snapshot")
            assert endpoint.states.pop("left-while-down") == "OFF"
            assert endpoint.states == codes(feed)
            assert endpoint.calls[0]["States"][0] == {"UserCode": "left-while-down",
                                                      "StateCode": "OFF"}
            assert not any(c["IsSnapshot"] for c in endpoint.calls)
            told.flush()
            assert ToldStore(tmp_path / "told.json").agents() == set(codes(feed))
            await cancel(task)

    asyncio.run(scenario())


# -- a customer layout, only YAML, byte for byte over TCP ----------------------------------


CUSTOMER = """\
name: acme-aspect
extends: alvaria
rta:
  encoding: latin-1
  terminator: "\\n"
  header: []
  fields:
    - {name: mark, expr: '"R"', width: 1}
    - {name: agent, expr: agent, width: 12, pad: "."}
    - {name: state, expr: code, format: int, width: 3, pad: "0"}
    - {name: reason, expr: reason, map: {Break: 7, Lunch: 8}, default: 0, format: int, width: 2}
    - {name: event, expr: event, map: {login: I, logout: O, change: C}, width: 1}
"""


def test_a_customer_layout_reaches_a_tcp_client_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "acme-aspect.yaml"
    path.write_text(CUSTOMER, encoding="utf-8")
    profile = load_profile_file(path, user_dir=tmp_path)
    assert profile.rta is not None

    async def scenario() -> bytes:
        feed = make_feed("alvaria")
        put(feed, "agent0001", "BREAK", 1000)
        put(feed, "agent0002", "ON_QUEUE", 1000)
        sink = TcpServerSink("127.0.0.1", 0, Encoder(layout_from(profile.rta, "acme-aspect")))
        task = await run_sink(sink, feed)
        await sink.listening.wait()
        reader, writer = await asyncio.open_connection("127.0.0.1", sink.port)
        await eventually(lambda: len(sink.clients) == 1, what="client registered")
        put(feed, "agent0002", "OFFLINE", 2000)
        data = await reader.readexactly(3 * 20)
        writer.close()
        await cancel(task)
        return data

    assert asyncio.run(scenario()) == (
        b"Ragent0001...003 7I\n"
        b"Ragent0002...001 0I\n"
        b"Ragent0002...000 0O\n"
    )


# -- every auth kind, as the profile's data says -------------------------------------------


def _expected_header(kind: str) -> tuple[str, str]:
    import base64

    basic = base64.b64encode(b"wfm:pa55").decode()
    return {
        "bearer": ("Authorization", "Bearer k-123"),
        "header": ("X-Api-Key", "k-123"),
        "basic": ("Authorization", f"Basic {basic}"),
        "oauth-client-credentials": ("Authorization", "Bearer oauth-token"),
    }[kind]


@pytest.mark.parametrize("kind", ["bearer", "header", "basic", "oauth-client-credentials"])
def test_every_auth_kind_reaches_an_https_endpoint_that_checks_it(ca: trustme.CA,
                                                                  kind: str) -> None:
    import base64

    from wfmcli.reports.spec import RtaAuth

    seen: list[dict[str, Any]] = []
    refused: list[str] = []

    async def token(request: web.Request) -> web.Response:
        form = await request.post()
        wanted = "Basic " + base64.b64encode(b"cid:csecret").decode()
        if form.get("grant_type") != "client_credentials" or request.headers.get(
                "Authorization") != wanted:
            return web.json_response({"error": "invalid_client"}, status=401)
        return web.json_response({"access_token": "oauth-token", "expires_in": 600})

    async def states(request: web.Request) -> web.Response:
        name, value = _expected_header(kind)
        if request.headers.get(name) != value:
            refused.append(str(request.headers.get(name)))
            return web.Response(status=401)
        seen.append(await request.json())
        return web.Response(status=204)

    async def scenario() -> None:
        feed = make_feed("nice-cxone")
        fill(feed, 3)
        app = web.Application()
        app.router.add_post("/oauth/token", token)
        app.router.add_put("/states", states)
        async with https_app(app, ca) as url:
            rta = load_profile("nice-cxone").rta
            assert rta is not None and rta.http is not None
            http = rta.http.model_copy(update={
                "method": "PUT", "body": {"n": "{count}", "items": "{records}"},
                "auth": RtaAuth(kind=kind, header="X-Api-Key")})  # type: ignore[arg-type]
            spec = rta.model_copy(update={"http": http})
            settings = RtaSettings.model_validate({
                "endpoint": f"{url}/states", "api_key": "k-123", "username": "wfm",
                "password": "pa55", "client_id": "cid", "client_secret": "csecret",
                "token_url": f"{url}/oauth/token"})
            target = trusting(ca, http_target("lab/push rta", spec, settings))
            sink = HttpPushSink(target, Encoder(layout("nice-cxone")), backoff_initial=0.02,
                                backoff_max=0.1)
            task = await run_sink(sink, feed)
            await eventually(lambda: bool(seen), what="an accepted call")
            assert seen[0]["n"] == 3 and len(seen[0]["items"]) == 3
            assert refused == []
            await cancel(task)

    asyncio.run(scenario())

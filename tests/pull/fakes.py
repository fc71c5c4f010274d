"""A stand-in for the twin's analytics routes until the twin serves them.

`AnalyticsFront` is a real HTTP server on 127.0.0.1: analytics queries are answered here from the
twin's own event log (in Genesys' wire shape, bucketed as Genesys does: `start + k*granularity`);
every other request (OAuth, users, queues, roles...) is passed through to the twin unchanged.
Once the twin answers analytics itself, tests point the pull at `twin.base_url` instead.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import httpx
from aiohttp import web

from tests.pull.ledger import Observation, StateSpan, observations, state_spans
from wfmcli.sim import RunningTwin

ANALYTICS = "/api/v2/analytics/"
_PERIOD = re.compile(r"^PT(\d+)([MH])$")


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _interval(text: str) -> tuple[int, int]:
    start, end = text.split("/")
    return (
        int(datetime.fromisoformat(start).timestamp() * 1000),
        int(datetime.fromisoformat(end).timestamp() * 1000),
    )


def _granularity(text: str) -> int:
    match = _PERIOD.match(text)
    if not match:
        raise web.HTTPBadRequest(text=f"granularity {text}")
    return int(match.group(1)) * (60_000 if match.group(2) == "M" else 3_600_000)


def _wanted(body: dict[str, Any], dimension: str) -> set[str] | None:
    filters = [body.get("filter")] if body.get("filter") else body.get("userFilters") or []
    values = {
        str(p["value"])
        for f in filters
        for p in f.get("predicates", [])
        if p.get("dimension") == dimension
    }
    return values or None


class AnalyticsFake:
    def __init__(self, twin: RunningTwin) -> None:
        self.twin = twin
        self.obs = observations(twin)
        self.spans = state_spans(twin, twin.now_ms())
        self.by_user: dict[str, list[Observation]] = defaultdict(list)
        self.by_queue: dict[str, list[Observation]] = defaultdict(list)
        for o in self.obs:
            self.by_user[o.user_id].append(o)
            self.by_queue[o.queue_id].append(o)
        self.spans_by_user: dict[str, list[StateSpan]] = defaultdict(list)
        for span in self.spans:
            self.spans_by_user[span.user_id].append(span)
        self.calls: dict[str, int] = defaultdict(int)
        self.bodies: list[tuple[str, dict[str, Any]]] = []

    def conversations(self, body: dict[str, Any]) -> dict[str, Any]:
        start, end = _interval(body["interval"])
        step = _granularity(body["granularity"])
        group_by = body["groupBy"]
        metrics = set(body["metrics"])
        queues, users = _wanted(body, "queueId"), _wanted(body, "userId")
        views = body.get("views") or []
        if len(views) > 10:
            raise web.HTTPBadRequest(text="more than 10 views")
        cells: dict[tuple[str, ...], dict[int, dict[str, Any]]] = defaultdict(dict)
        if users is not None:
            candidates: Iterable[Observation] = (o for u in users for o in self.by_user[u])
        elif queues is not None:
            candidates = (o for q in queues for o in self.by_queue[q])
        else:
            candidates = self.obs
        for o in candidates:
            if not start <= o.t_ms < end or (o.metric not in metrics):
                continue
            if queues is not None and o.queue_id not in queues:
                continue
            if users is not None and o.user_id not in users:
                continue
            if "userId" in group_by and not o.user_id:
                continue
            key = tuple(o.dimension(d) for d in group_by)
            bucket = cells[key].setdefault((o.t_ms - start) // step, {"m": {}, "v": {}})
            _add(bucket["m"], o.metric, o)
            for view in views:
                bound = view["range"]
                if view["target"] == o.metric and bound.get("gte", -1) <= o.value_ms < bound.get(
                    "lt", 1 << 62
                ):
                    _add(bucket["v"], view["name"], o)
        results = []
        for key, buckets in cells.items():
            group = {d: v for d, v in zip(group_by, key, strict=True) if v}
            data = []
            for index, bucket in sorted(buckets.items()):
                lo = start + index * step
                data.append(
                    {
                        "interval": f"{iso(lo)}/{iso(min(lo + step, end))}",
                        "metrics": [{"metric": m, "stats": s} for m, s in bucket["m"].items()],
                        "views": [
                            {"name": n, "stats": {"count": s["count"]}}
                            for n, s in bucket["v"].items()
                        ],
                    }
                )
            results.append({"group": group, "data": data})
        return {"results": results}

    def users(self, body: dict[str, Any]) -> dict[str, Any]:
        start, end = _interval(body["interval"])
        step = _granularity(body["granularity"])
        users = _wanted(body, "userId") or set()
        if len(users) > 100:
            raise web.HTTPBadRequest(text="more than 100 userIds")
        sums: dict[str, dict[int, dict[tuple[str, str], int]]] = defaultdict(dict)
        for span in (s for u in users for s in self.spans_by_user[u]):
            if span.end_ms <= start or span.start_ms >= end:
                continue
            lo = max(span.start_ms, start)
            while lo < min(span.end_ms, end):
                index = (lo - start) // step
                hi = min(span.end_ms, end, start + (index + 1) * step)
                cell = sums[span.user_id].setdefault(index, defaultdict(int))
                for key in _span_keys(span):
                    cell[key] += hi - lo
                lo = hi
        results = []
        for user_id, buckets in sums.items():
            data = []
            for index, cell in sorted(buckets.items()):
                lo = start + index * step
                data.append(
                    {
                        "interval": f"{iso(lo)}/{iso(min(lo + step, end))}",
                        "metrics": [
                            {"metric": m, "qualifier": q, "stats": {"sum": v}}
                            for (m, q), v in cell.items()
                        ],
                    }
                )
            results.append({"group": {"userId": user_id}, "data": data})
        return {"results": results, "systemToOrganizationMappings": {}}

    def details(self, body: dict[str, Any]) -> dict[str, Any]:
        start, end = _interval(body["interval"])
        users = sorted(_wanted(body, "userId") or set())
        paging = body.get("paging") or {}
        size, number = int(paging.get("pageSize", 25)), int(paging.get("pageNumber", 1))
        by_user: dict[str, list[StateSpan]] = defaultdict(list)
        for span in (s for u in users for s in self.spans_by_user[u]):
            if span.end_ms > start and span.start_ms < end:
                by_user[span.user_id].append(span)
        now = self.twin.now_ms()
        ids = sorted(by_user)
        details = []
        for user_id in ids[(number - 1) * size : number * size]:
            spans = by_user[user_id]
            presence = _merge(spans, lambda s: (s.system, s.definition_id), now)
            routing = _merge([s for s in spans if s.routing], lambda s: (s.routing,), now)
            details.append(
                {
                    "userId": user_id,
                    "primaryPresence": [
                        {
                            "startTime": iso(a),
                            **({"endTime": iso(b)} if b is not None else {}),
                            "systemPresence": k[0],
                            "organizationPresenceId": k[1],
                        }
                        for a, b, k in presence
                    ],
                    "routingStatus": [
                        {
                            "startTime": iso(a),
                            **({"endTime": iso(b)} if b is not None else {}),
                            "routingStatus": k[0],
                        }
                        for a, b, k in routing
                    ],
                }
            )
        return {"userDetails": details, "totalHits": len(ids)}


def _add(store: dict[str, Any], name: str, o: Observation) -> None:
    stats = store.setdefault(
        name,
        {"count": 0}
        if name.startswith("n")
        else {"count": 0, "sum": 0, "max": 0, "min": o.value_ms},
    )
    stats["count"] += 1
    if "sum" in stats:
        stats["sum"] += o.value_ms
        stats["max"] = max(stats["max"], o.value_ms)
        stats["min"] = min(stats["min"], o.value_ms)


def _span_keys(span: StateSpan) -> Iterable[tuple[str, str]]:
    yield ("tSystemPresence", span.system)
    yield ("tOrganizationPresence", span.definition_id)
    if span.routing:
        yield ("tAgentRoutingStatus", span.routing)


def _merge(
    spans: list[StateSpan], key: Any, now: int
) -> list[tuple[int, int | None, tuple[str, ...]]]:
    merged: list[list[Any]] = []
    for span in sorted(spans, key=lambda s: s.start_ms):
        k = key(span)
        if merged and merged[-1][2] == k and merged[-1][1] == span.start_ms:
            merged[-1][1] = span.end_ms
        else:
            merged.append([span.start_ms, span.end_ms, k])
    return [(a, None if b >= now else b, k) for a, b, k in merged]


class AnalyticsFront:
    """Analytics from AnalyticsFake, everything else from the twin, on one 127.0.0.1 port."""

    def __init__(self, twin: RunningTwin) -> None:
        self.twin = twin
        self.fake = AnalyticsFake(twin)
        self.base_url = ""
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, daemon=True)
        self._thread.start()
        self._ready.wait(30)

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())
        self._loop.close()

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        self._stop = asyncio.Event()
        async with httpx.AsyncClient(base_url=self.twin.base_url, trust_env=False) as upstream:
            self._upstream = upstream
            self._ready.set()
            await self._stop.wait()
        await runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.path.startswith(ANALYTICS):
            body = await request.json()
            self.fake.calls[request.path] += 1
            self.fake.bodies.append((request.path, body))
            if request.path.endswith("conversations/aggregates/query"):
                return web.json_response(self.fake.conversations(body))
            if request.path.endswith("users/aggregates/query"):
                return web.json_response(self.fake.users(body))
            if request.path.endswith("users/details/query"):
                return web.json_response(self.fake.details(body))
            raise web.HTTPNotFound()
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() in ("authorization", "content-type")
        }
        answer = await self._upstream.request(
            request.method, request.path_qs, content=await request.read(), headers=headers
        )
        return web.Response(
            body=answer.content, status=answer.status_code, content_type="application/json"
        )

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

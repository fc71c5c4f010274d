"""Analytics routes: conversation and user aggregates, user details."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from wfmcli.sim.analytics import conversation_aggregates, user_aggregates, user_details
from wfmcli.sim.buckets import QueryError
from wfmcli.sim.httputil import ApiError, json_response
from wfmcli.sim.observations import queue_observations
from wfmcli.sim.runtime import Runtime

Query = Callable[[dict[str, Any]], dict[str, Any]]


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ApiError(400, "bad.request", "The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "bad.request", "The request body must be a JSON object")
    return body


def _handler(runtime: Runtime, query: Query) -> Callable[[web.Request], Any]:
    async def handle(request: web.Request) -> web.Response:
        body = await _body(request)
        runtime.catch_up()
        try:
            return json_response(query(body))
        except QueryError as exc:
            raise ApiError(400, exc.code, exc.message) from None

    return handle


def add_routes(app: web.Application, runtime: Runtime) -> None:
    org, center = runtime.org, runtime.center
    base = "/api/v2/analytics"
    app.router.add_post(
        f"{base}/conversations/aggregates/query",
        _handler(runtime, lambda b: conversation_aggregates(org, center, b)),
    )
    app.router.add_post(
        f"{base}/users/aggregates/query",
        _handler(runtime, lambda b: user_aggregates(org, center, b, runtime.now_ms())),
    )
    app.router.add_post(
        f"{base}/queues/observations/query",
        _handler(runtime, lambda b: queue_observations(org, center, b)),
    )
    app.router.add_post(
        f"{base}/users/details/query",
        _handler(runtime, lambda b: user_details(org, center, b, runtime.now_ms())),
    )

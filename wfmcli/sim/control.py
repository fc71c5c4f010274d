"""The twin's control API: its fault knobs, clock, roster and request counter over HTTP.

Served under `/_twin/` on the twin's own port, and only with `wfm sim serve --control`: a path no
Genesys client uses, so a CI smoke test or any tool outside the test suite can drive a running
twin without importing it. It takes no token (the twin is a test tool on 127.0.0.1), answers JSON,
and refuses bad input with a 4xx and `{"error": {"code", "message"}}`.

Each handler is a thin call into what tests already use in-process: `Faults`, the `TokenStore`,
the notification `Sockets`, `Runtime`'s clock and the `Org`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from wfmcli.sim.httputil import ApiError, json_response
from wfmcli.sim.notify_routes import SOCKETS_KEY
from wfmcli.sim.org import User
from wfmcli.sim.wire import iso

if TYPE_CHECKING:
    from wfmcli.sim.server import TwinServer

PREFIX = "/_twin"
MAX_STEP_S = 7 * 86_400  # a bigger step would hold the twin's loop for too long


@web.middleware
async def _errors(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        response: web.StreamResponse = await handler(request)
    except ApiError as exc:
        return json_response({"error": {"code": exc.code, "message": exc.message}}, exc.status)
    except web.HTTPException as exc:
        message = f"{request.method} {request.path}: {exc.reason} (see GET {PREFIX}/)"
        return json_response({"error": {"code": "not.found", "message": message}}, exc.status)
    return response


async def _body(request: web.Request) -> dict[str, Any]:
    """The JSON object sent, or {} for an empty body."""
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except json.JSONDecodeError:
        raise ApiError(400, "bad.request", "the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "bad.request", "the request body must be a JSON object")
    return body


def _number(
    body: dict[str, Any], name: str, default: float | None, low: float, high: float
) -> float:
    """A number field within [low, high]; `default` None makes it required."""
    if default is None and name not in body:
        raise ApiError(400, "invalid.value", f"{name} is required")
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ApiError(400, "invalid.value", f"{name} must be a number from {low} to {high}")
    return float(value)


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise ApiError(400, "invalid.value", f"{name} must be a string")
    return value or None


class Control:
    def __init__(self, server: TwinServer) -> None:
        self.server = server
        self.runtime = server.runtime
        self.org = server.runtime.org
        self.faults = server.faults
        self.sockets = server.app[SOCKETS_KEY]

    async def index(self, request: web.Request) -> web.Response:
        routes = sorted(
            {
                f"{r.method} {r.resource.canonical}"
                for r in request.app.router.routes()
                if r.resource and r.method != "HEAD"
            }
        )
        return json_response(
            {"control": True, "org": self.org.name, "clock": self._clock(), "endpoints": routes}
        )

    # -- notification sockets and tokens ------------------------------------------------------

    def _channel(self, body: dict[str, Any]) -> str | None:
        channel = _text(body, "channel")
        if channel is not None and channel not in self.sockets.by_channel:
            raise ApiError(404, "not.found", f"no socket is connected to channel {channel}")
        return channel

    async def drop_sockets(self, request: web.Request) -> web.Response:
        channel = self._channel(await _body(request))
        return json_response({"dropped": await self.sockets.drop_all(channel)})

    async def socket_closing(self, request: web.Request) -> web.Response:
        body = await _body(request)
        channel = self._channel(body)
        self.sockets.closing_grace_s = _number(body, "grace_s", 1.0, 0.0, 60.0)
        return json_response({"closing": await self.sockets.closing_all(channel)})

    async def expire_tokens(self, request: web.Request) -> web.Response:
        client_id = _text(await _body(request), "client_id")
        if client_id is not None and all(c.client_id != client_id for c in self.org.credentials):
            raise ApiError(404, "not.found", f"the twin has no OAuth client {client_id}")
        return json_response({"expired": self.server.tokens.expire_all(client_id)})

    # -- faults -------------------------------------------------------------------------------

    def _faults(self) -> dict[str, Any]:
        pending: list[dict[str, Any]] = []
        for status, prefix in self.faults.pending_failures():
            if pending and (pending[-1]["status"], pending[-1]["path"]) == (status, prefix):
                pending[-1]["count"] += 1
            else:
                pending.append({"count": 1, "status": status, "path": prefix})
        f = self.faults
        return {
            "latency_ms": round(f.latency_s * 1000),
            "error_rate": f.error_rate,
            "error_status": f.error_status,
            "rate_limit_per_minute": f.rate_limit_per_minute,
            "token_lifetime_s": f.token_lifetime_s,
            "fail_next": pending,
        }

    async def show_faults(self, request: web.Request) -> web.Response:
        return json_response(self._faults())

    async def reset_faults(self, request: web.Request) -> web.Response:
        self.faults.reset()
        return json_response(self._faults())

    async def fail_next(self, request: web.Request) -> web.Response:
        body = await _body(request)
        count = int(_number(body, "count", 1, 1, 100_000))
        status = int(_number(body, "status", 503, 400, 599))
        path = _text(body, "path") or ""
        if path and not path.startswith("/api/"):
            raise ApiError(400, "invalid.value", "path must be an API path prefix (/api/...)")
        self.faults.fail_next(count, status, path)
        return json_response(self._faults())

    async def latency(self, request: web.Request) -> web.Response:
        self.faults.latency_s = _number(await _body(request), "ms", None, 0, 60_000) / 1000
        return json_response(self._faults())

    # -- clock ----------------------------------------------------------------------------------

    def _clock(self) -> dict[str, Any]:
        now = self.runtime.now_ms()
        paused = self.runtime.paused
        speed = 0.0 if paused else self.runtime.speed
        return {"now": iso(now), "now_ms": now, "paused": paused, "speed": speed}

    async def clock(self, request: web.Request) -> web.Response:
        return json_response(self._clock())

    async def pause(self, request: web.Request) -> web.Response:
        self.runtime.pause()
        # Run the events up to the frozen moment now, not on the next tick: a caller that reads
        # the org right after the pause (a test's expected states) sees its final state.
        self.runtime.catch_up()
        return json_response(self._clock())

    async def resume(self, request: web.Request) -> web.Response:
        speed = _number(await _body(request), "speed", 0, 0, 100_000)
        self.runtime.resume(speed or None)
        return json_response(self._clock())

    async def step(self, request: web.Request) -> web.Response:
        seconds = _number(await _body(request), "seconds", None, 0, MAX_STEP_S)
        events = self.runtime.step(seconds)
        return json_response({**self._clock(), "events": events})

    # -- users ----------------------------------------------------------------------------------

    def _user(self, request: web.Request) -> User:
        key = request.match_info["user"]
        user = self.org.find_user(key)
        if user is None:
            raise ApiError(
                404, "not.found", f"the twin has no user {key!r} (id, username or email)"
            )
        return user

    def _user_json(self, user: User) -> dict[str, Any]:
        names = {r.id: r.name for r in self.org.roles}
        return {
            "id": user.id,
            "username": user.username,
            "name": user.name,
            "division": user.division.name,
            "licensed": user.licensed,
            "roles": [names[r] for r in user.role_ids if r in names],
        }

    async def user(self, request: web.Request) -> web.Response:
        return json_response(self._user_json(self._user(request)))

    async def license(self, request: web.Request) -> web.Response:
        user = self._user(request)
        self.org.set_licensed(user, request.match_info["action"] == "license")
        return json_response(self._user_json(user))

    async def move(self, request: web.Request) -> web.Response:
        user = self._user(request)
        key = _text(await _body(request), "division")
        division = self.org.find_division(key) if key else None
        if division is None:
            names = ", ".join(d.name for d in self.org.divisions)
            raise ApiError(404, "not.found", f"division must be one of: {names}")
        user.division = division
        return json_response(self._user_json(user))

    # -- request counter ----------------------------------------------------------------------

    def _requests(self) -> dict[str, Any]:
        counts = self.server.by_endpoint
        rows = [
            {"method": method, "route": route, "count": count}
            for (method, route), count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        ]
        return {"total": sum(counts.values()), "endpoints": rows}

    async def requests(self, request: web.Request) -> web.Response:
        return json_response(self._requests())

    async def reset_requests(self, request: web.Request) -> web.Response:
        """Answers the counts as they were, then starts again from zero (nothing lost between)."""
        counts = self._requests()
        self.server.by_endpoint.clear()
        return json_response(counts)


def add_routes(app: web.Application, server: TwinServer) -> None:
    control = Control(server)
    sub = web.Application(middlewares=[_errors])
    sub.router.add_get("/", control.index)
    sub.router.add_post("/sockets/drop", control.drop_sockets)
    sub.router.add_post("/sockets/closing", control.socket_closing)
    sub.router.add_post("/tokens/expire", control.expire_tokens)
    sub.router.add_get("/faults", control.show_faults)
    sub.router.add_delete("/faults", control.reset_faults)
    sub.router.add_post("/faults/fail-next", control.fail_next)
    sub.router.add_put("/faults/latency", control.latency)
    sub.router.add_get("/clock", control.clock)
    sub.router.add_post("/clock/pause", control.pause)
    sub.router.add_post("/clock/resume", control.resume)
    sub.router.add_post("/clock/step", control.step)
    sub.router.add_get("/users/{user}", control.user)
    sub.router.add_post("/users/{user}/{action:license|unlicense}", control.license)
    sub.router.add_post("/users/{user}/division", control.move)
    sub.router.add_get("/requests", control.requests)
    sub.router.add_delete("/requests", control.reset_requests)
    app.add_subapp(PREFIX, sub)

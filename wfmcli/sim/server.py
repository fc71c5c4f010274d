"""The twin's HTTP + WebSocket front: aiohttp serving Genesys' paths on one port.

The middleware does what every Genesys API call goes through, in order: correlation id, fault
knobs (latency, forced 5xx, forced 429), bearer-token check, the per-token rate limit. Handlers
only read the contact center and render with `wfmcli.sim.wire`.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable

from aiohttp import web

from wfmcli.sim.auth import OAuthError, TokenInvalid, TokenStore
from wfmcli.sim.faults import Faults
from wfmcli.sim.httputil import TOKEN_KEY, ApiError, error_response, json_response
from wfmcli.sim.runtime import Runtime

log = logging.getLogger("wfm.sim")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class TwinServer:
    def __init__(self, runtime: Runtime, faults: Faults, *, control: bool = False) -> None:
        self.runtime = runtime
        self.faults = faults
        self.tokens = TokenStore(runtime.org.credentials)
        self.app = web.Application(middlewares=[self._middleware])
        self.requests = 0  # API requests served since start
        # (method, route template) -> requests, login included; the control API can reset it
        self.by_endpoint: Counter[tuple[str, str]] = Counter()
        self.app.on_response_prepare.append(self._date)
        self._routes(control)

    def _routes(self, control: bool) -> None:
        from wfmcli.sim import analytics_routes, directory, notify_routes

        self.app.router.add_post("/oauth/token", self._token)
        directory.add_routes(self.app, self.runtime)
        analytics_routes.add_routes(self.app, self.runtime)
        notify_routes.add_routes(self.app, self.runtime)
        if control:
            from wfmcli.sim import control as control_routes

            control_routes.add_routes(self.app, self)

    async def _token(self, request: web.Request) -> web.Response:
        forced = self.faults.take_forced_token_status()
        if forced is not None:
            body = {
                "error": "temporarily_unavailable",
                "description": "injected fault",
                "error_description": "injected fault",
            }
            return json_response(body, forced)
        form = {k: str(v) for k, v in (await request.post()).items()}
        try:
            token = self.tokens.issue(
                request.headers.get("Authorization"), form, self.faults.token_lifetime_s
            )
        except OAuthError as exc:
            return json_response(exc.body(), exc.status)
        return json_response(
            {
                "access_token": token.value,
                "token_type": "bearer",
                "expires_in": self.faults.token_lifetime_s,
            }
        )

    async def _date(self, request: web.Request, response: web.StreamResponse) -> None:
        """Every answer's `Date`, read from a clock `faults.clock_skew_s` off the real one."""
        if self.faults.clock_skew_s:
            skewed = time.time() + self.faults.clock_skew_s
            response.headers["Date"] = email.utils.formatdate(skewed, usegmt=True)

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        context_id = str(uuid.uuid4())
        path = request.path
        if path.startswith(("/api/", "/oauth/")):
            self.by_endpoint[request.method, _route_template(request)] += 1
        if not path.startswith("/api/"):
            return await handler(request)  # /oauth/token, the WebSocket stream, /_twin/
        self.requests += 1
        if self.faults.latency_s > 0:
            await asyncio.sleep(self.faults.latency_s)
        forced = self.faults.take_forced_status(path)
        if forced is not None:
            code = "service.unavailable" if forced == 503 else "internal.server.error"
            message = "The service is currently unavailable (injected fault)"
            return error_response(forced, code, message, context_id)
        throttle = self.faults.take_forced_throttle()
        if throttle is not None:
            return self._too_many(throttle, context_id, 0, self.faults.rate_limit_per_minute)
        try:
            token = self.tokens.check(request.headers.get("Authorization"))
        except TokenInvalid as exc:
            return error_response(401, exc.code, exc.message, context_id)
        decision = self.tokens.spend(token, self.faults.rate_limit_per_minute)
        if not decision.allowed:
            return self._too_many(decision.reset_s, context_id, decision.count, decision.limit)
        request[TOKEN_KEY] = token
        try:
            response = await handler(request)
        except ApiError as exc:
            response = error_response(exc.status, exc.code, exc.message, context_id)
        except web.HTTPException as exc:  # no such route or method: still a platform error body
            code = {404: "not.found", 405: "method.not.allowed"}.get(exc.status, "bad.request")
            response = error_response(exc.status, code, exc.reason, context_id)
        except Exception:
            log.exception("twin: %s %s failed", request.method, path)
            response = error_response(
                500, "internal.server.error", "The twin failed to answer (see its log)", context_id
            )
        response.headers["ININ-Correlation-Id"] = context_id
        response.headers["inin-ratelimit-count"] = str(decision.count)
        response.headers["inin-ratelimit-allowed"] = str(decision.limit)
        response.headers["inin-ratelimit-reset"] = str(decision.reset_s)
        return response

    @staticmethod
    def _too_many(retry_after: int, context_id: str, count: int, limit: int) -> web.Response:
        message = f"Rate limit exceeded the maximum. Retry the request in [{retry_after}] seconds"
        return error_response(
            429,
            "too.many.requests.retry.after",
            message,
            context_id,
            **{
                "Retry-After": str(retry_after),
                "inin-ratelimit-count": str(count),
                "inin-ratelimit-allowed": str(limit),
                "inin-ratelimit-reset": str(retry_after),
            },
        )


def _route_template(request: web.Request) -> str:
    """The route a request matched, as registered (`/api/v2/users/{user_id}`), or its path."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else request.path

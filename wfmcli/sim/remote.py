"""A client of a running twin's control API (`wfm sim serve --control`), over HTTP with httpx.

What `wfm sim fault|clock|users|requests` and the project's own end-to-end tests call. It imports
nothing of the twin itself, so it drives a twin in another process (or on another machine) alike.
Failures become `wfmcli.errors` with one readable line.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote

import httpx

from wfmcli.errors import RemoteError, UsageError

URL_ENV = "WFM_SIM_URL"
DEFAULT_URL = "http://127.0.0.1:8765"  # serve with `--port 8765`, or set WFM_SIM_URL
PREFIX = "/_twin"
_START_HINT = "start it with 'wfm sim serve --control', or pass --url / set WFM_SIM_URL"


def default_url() -> str:
    return os.environ.get(URL_ENV) or DEFAULT_URL


class TwinControl:
    def __init__(self, url: str | None = None, timeout: float = 30.0) -> None:
        self.url = (url or default_url()).rstrip("/")
        self.timeout = timeout

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """One control request; the JSON object it answers."""
        target = f"{self.url}{PREFIX}{path}"
        try:
            # No proxy: the twin is local, and a corporate proxy would only get in the way.
            with httpx.Client(timeout=self.timeout, trust_env=False) as client:
                response = client.request(method, target, json=body)
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise UsageError(
                f"--url {self.url!r} is not an http(s) URL", hint="e.g. http://127.0.0.1:8765"
            ) from exc
        except httpx.HTTPError as exc:
            reason = str(exc) or type(exc).__name__
            raise RemoteError(f"no twin answers at {self.url}: {reason}", hint=_START_HINT) from exc
        return self._answer(response)

    def _answer(self, response: httpx.Response) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError:
            data = None
        error = data.get("error") if isinstance(data, dict) else None
        if response.is_success and isinstance(data, dict):
            return data
        if isinstance(error, dict):
            message = f"{error.get('message', response.reason_phrase)} (twin at {self.url})"
            if response.status_code < 500:
                raise UsageError(message)
            raise RemoteError(message)
        if response.status_code == 404:
            raise RemoteError(
                f"{self.url} does not serve the twin control API",
                hint="start the twin with 'wfm sim serve --control'",
            )
        raise RemoteError(
            f"{response.request.method} {response.url.path} answered HTTP {response.status_code}"
        )

    # -- one method per endpoint ---------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return self.call("GET", "/")

    def drop_sockets(self, channel: str | None = None) -> int:
        return int(self.call("POST", "/sockets/drop", _some(channel=channel))["dropped"])

    def socket_closing(self, channel: str | None = None, grace_s: float | None = None) -> int:
        body = _some(channel=channel, grace_s=grace_s)
        return int(self.call("POST", "/sockets/closing", body)["closing"])

    def expire_tokens(self, client_id: str | None = None) -> int:
        return int(self.call("POST", "/tokens/expire", _some(client_id=client_id))["expired"])

    def faults(self) -> dict[str, Any]:
        return self.call("GET", "/faults")

    def reset_faults(self) -> dict[str, Any]:
        return self.call("DELETE", "/faults")

    def fail_next(self, count: int, status: int = 503, path: str | None = None) -> dict[str, Any]:
        body = _some(count=count, status=status, path=path)
        return self.call("POST", "/faults/fail-next", body)

    def latency(self, ms: float) -> dict[str, Any]:
        return self.call("PUT", "/faults/latency", {"ms": ms})

    def clock(self) -> dict[str, Any]:
        return self.call("GET", "/clock")

    def pause(self) -> dict[str, Any]:
        return self.call("POST", "/clock/pause")

    def resume(self, speed: float | None = None) -> dict[str, Any]:
        return self.call("POST", "/clock/resume", _some(speed=speed))

    def step(self, seconds: float) -> dict[str, Any]:
        return self.call("POST", "/clock/step", {"seconds": seconds})

    def user(self, user: str) -> dict[str, Any]:
        return self.call("GET", f"/users/{quote(user, safe='')}")

    def license(self, user: str, licensed: bool = True) -> dict[str, Any]:
        action = "license" if licensed else "unlicense"
        return self.call("POST", f"/users/{quote(user, safe='')}/{action}")

    def move(self, user: str, division: str) -> dict[str, Any]:
        return self.call("POST", f"/users/{quote(user, safe='')}/division", {"division": division})

    def requests(self, reset: bool = False) -> dict[str, Any]:
        return self.call("DELETE" if reset else "GET", "/requests")


def _some(**fields: Any) -> dict[str, Any]:
    """The fields that were given: the twin applies its own defaults to the rest."""
    return {k: v for k, v in fields.items() if v is not None}

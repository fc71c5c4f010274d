"""OAuth client-credentials tokens, one per credential set, refreshed before they expire.

`POST {login}/oauth/token` with Basic auth and `grant_type=client_credentials` answers
`{access_token, token_type, expires_in}`. A token is renewed when less than a tenth of its life
(at most a minute) is left, and at once when the API answers 401 to it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from wfmcli.errors import RemoteError
from wfmcli.genesys.counter import RequestCounter
from wfmcli.genesys.failures import error_from_exception, error_from_token_response
from wfmcli.genesys.retry import RetryPolicy
from wfmcli.secrets import register_secret

TOKEN_ENDPOINT = "POST /oauth/token"  # noqa: S105 - an endpoint name, not a password


@dataclass(frozen=True)
class Credential:
    client_id: str
    client_secret: str = field(repr=False)


@dataclass(frozen=True)
class Token:
    access_token: str = field(repr=False)
    token_type: str
    lifetime: float  # seconds, as granted
    expires_at: float  # on the monotonic clock


class TokenManager:
    """Holds the current token of one credential set; concurrent callers share one fetch."""

    def __init__(
        self,
        credential: Credential,
        login_url: str,
        http: httpx.AsyncClient,
        *,
        counter: RequestCounter,
        policy: RetryPolicy,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.credential = credential
        self._url = login_url.rstrip("/") + "/oauth/token"
        self._login_url = login_url.rstrip("/")
        self._http = http
        self._counter = counter
        self._policy = policy
        self._clock = clock
        self._token: Token | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0

    def _fresh(self, token: Token | None) -> bool:
        if token is None:
            return False
        margin = min(token.lifetime / 10, 60.0)
        return self._clock() < token.expires_at - margin

    async def token(self) -> Token:
        if self._fresh(self._token):
            assert self._token is not None
            return self._token
        async with self._lock:
            if not self._fresh(self._token):
                self._token = await self._fetch_with_retries()
            assert self._token is not None
            return self._token

    def invalidate(self, token: Token) -> None:
        """Drops `token` after a 401; a newer token fetched meanwhile by another task stays."""
        if self._token is token:
            self._token = None

    async def _fetch_with_retries(self) -> Token:
        async for attempt in self._policy.retrying():
            with attempt:
                return await self._fetch()
        raise AssertionError("tenacity re-raises the last failure")  # pragma: no cover

    async def _fetch(self) -> Token:
        self.fetches += 1
        self._counter.add(self.credential.client_id, TOKEN_ENDPOINT)
        auth = httpx.BasicAuth(self.credential.client_id, self.credential.client_secret)
        try:
            response = await self._http.post(
                self._url, auth=auth, data={"grant_type": "client_credentials"}
            )
        except httpx.HTTPError as exc:
            raise error_from_exception(exc, what="login", host=httpx.URL(self._url).host) from exc
        if response.status_code != 200:
            raise error_from_token_response(
                response, client_id=self.credential.client_id, login_url=self._login_url
            )
        return self._parse(response)

    def _parse(self, response: httpx.Response) -> Token:
        try:
            body = response.json()
            access_token = str(body["access_token"])
            lifetime = float(body.get("expires_in", 0))
        except (ValueError, KeyError, TypeError) as exc:
            raise RemoteError(
                f"Genesys Cloud login at {self._login_url} answered without a usable token"
            ) from exc
        register_secret(access_token)
        if lifetime <= 0:
            lifetime = 300.0  # the shortest life Genesys allows; refresh early rather than late
        return Token(
            access_token=access_token,
            token_type=str(body.get("token_type", "bearer")),
            lifetime=lifetime,
            expires_at=self._clock() + lifetime,
        )

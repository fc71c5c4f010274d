"""OAuth client-credentials tokens, one per credential set, refreshed before they expire.

`POST {login}/oauth/token` with Basic auth and `grant_type=client_credentials` answers
`{access_token, token_type, expires_in}`. A token is renewed when less than a tenth of its life
(at most a minute) is left, and at once when the API answers 401 to it.

Tokens outlive the process: `wfm run` from cron is a new process every 15 minutes, and a new token
each time would cost a request per run per credential set. `TokenCache` keeps each credential
set's current token in `<data dir>/state/oauth-tokens/` (folder 0700, files 0600, never logged);
the next process reuses it while it is fresh, and a 401 deletes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from wfmcli import paths
from wfmcli.errors import RemoteError
from wfmcli.genesys.counter import RequestCounter
from wfmcli.genesys.failures import error_from_exception, error_from_token_response
from wfmcli.genesys.retry import RetryPolicy
from wfmcli.secrets import register_secret

TOKEN_ENDPOINT = "POST /oauth/token"  # noqa: S105 - an endpoint name, not a password
log = logging.getLogger("wfm.genesys")


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


@dataclass(frozen=True)
class StoredToken:
    access_token: str = field(repr=False)
    token_type: str
    lifetime: float
    expires_at: float  # seconds since the epoch (wall clock: it must mean the same next process)


class TokenCache:
    """One small JSON file per credential set and login host, written atomically with mode 0600.

    The file name is a hash of the login URL, the client id and the secret, so a rotated secret
    or another org never picks up a stale token. A damaged or unreadable file counts as none.
    """

    def __init__(self, folder: Path | None = None, clock: Callable[[], float] = time.time) -> None:
        self.folder = folder or paths.data_dir() / "state" / "oauth-tokens"
        self.clock = clock

    def path(self, login_url: str, credential: Credential) -> Path:
        text = "\n".join((login_url.rstrip("/"), credential.client_id, credential.client_secret))
        return self.folder / f"{hashlib.sha256(text.encode()).hexdigest()[:32]}.json"

    def load(self, login_url: str, credential: Credential) -> StoredToken | None:
        try:
            raw = json.loads(self.path(login_url, credential).read_text(encoding="utf-8"))
            token = StoredToken(
                str(raw["access_token"]),
                str(raw.get("token_type", "bearer")),
                float(raw["lifetime"]),
                float(raw["expires_at"]),
            )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError):
            log.debug("ignoring an unreadable stored token for client %s", credential.client_id)
            return None
        register_secret(token.access_token)
        return token

    def save(self, login_url: str, credential: Credential, token: StoredToken) -> None:
        path = self.path(login_url, credential)
        document = {
            "client_id": credential.client_id,
            "access_token": token.access_token,
            "token_type": token.token_type,
            "lifetime": token.lifetime,
            "expires_at": token.expires_at,
        }
        try:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            temp = path.with_name(f".{path.stem}.{os.getpid()}.tmp")
            handle = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(document, out)
            temp.chmod(0o600)  # an older leftover keeps its mode through O_TRUNC
            temp.replace(path)
        except OSError as exc:
            # Not fatal: the next process simply logs in again.
            log.warning("cannot keep the OAuth token for the next run (%s)", exc.strerror or exc)

    def drop(self, login_url: str, credential: Credential, access_token: str) -> None:
        """Deletes the stored token if it is still `access_token` (another process may have
        stored a newer one meanwhile)."""
        stored = self.load(login_url, credential)
        if stored is not None and stored.access_token == access_token:
            with contextlib.suppress(OSError):
                self.path(login_url, credential).unlink()


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
        cache: TokenCache | None = None,
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
        self._cache = cache
        self._looked_up = cache is None
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
            if not self._looked_up:
                self._looked_up = True
                self._token = self._stored()
            if not self._fresh(self._token):
                self._token = await self._fetch_with_retries()
                self._store(self._token)
            assert self._token is not None
            return self._token

    def invalidate(self, token: Token) -> None:
        """Drops `token` after a 401; a newer token fetched meanwhile by another task stays."""
        if self._token is token:
            self._token = None
            if self._cache is not None:
                self._cache.drop(self._login_url, self.credential, token.access_token)

    def _stored(self) -> Token | None:
        """The token a previous process left, moved onto this process's monotonic clock."""
        assert self._cache is not None
        stored = self._cache.load(self._login_url, self.credential)
        if stored is None:
            return None
        left = stored.expires_at - self._cache.clock()
        return Token(stored.access_token, stored.token_type, stored.lifetime, self._clock() + left)

    def _store(self, token: Token) -> None:
        if self._cache is None:
            return
        expires_at = self._cache.clock() + (token.expires_at - self._clock())
        stored = StoredToken(token.access_token, token.token_type, token.lifetime, expires_at)
        self._cache.save(self._login_url, self.credential, stored)

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

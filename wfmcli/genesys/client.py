"""The asyncio Genesys Cloud client: one pooled httpx client, a session per credential set.

A source has 1 to 5 OAuth credential sets; each gets its own token, rate gate and request tally,
and all of them share one connection pool. Callers fan work out across `client.sessions` (the pull
in parallel, the relay one set per group of channels).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, NoReturn, Protocol, TypeVar

import httpx

from wfmcli import __version__
from wfmcli.errors import AuthError, RemoteError
from wfmcli.genesys.auth import Credential, Token, TokenCache, TokenManager
from wfmcli.genesys.counter import RequestCounter, endpoint_template
from wfmcli.genesys.failures import error_from_exception, error_from_response
from wfmcli.genesys.retry import RateGate, RetryPolicy
from wfmcli.genesys.stream import fold_items

log = logging.getLogger("wfm.genesys")

DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=30.0, pool=30.0)
Params = Mapping[str, str | int | float | bool | Sequence[str]]


class Fold(Protocol):
    def add(self, item: Any) -> None: ...


F = TypeVar("F", bound=Fold)


def _query(params: Params | None) -> dict[str, str | int | float | bool] | None:
    """Genesys takes list parameters comma-joined (`expand=presence,routingStatus`)."""
    if params is None:
        return None
    return {
        key: ",".join(value) if isinstance(value, list | tuple) else value  # type: ignore[misc]
        for key, value in params.items()
    }


class GenesysClient:
    """Use as `async with GenesysClient(...) as client:`; close() releases the pool."""

    def __init__(
        self,
        api_url: str,
        login_url: str,
        credentials: Sequence[Credential],
        *,
        proxy: str | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        counter: RequestCounter | None = None,
        max_connections: int = 20,
        token_cache: TokenCache | None = None,
        persist_tokens: bool = True,
    ) -> None:
        """`persist_tokens`: keep tokens for the next process (in `token_cache`, by default
        the data folder's), so that a job run every 15 minutes does not log in every time."""
        if not credentials:
            raise ValueError("a Genesys client needs at least one credential set")
        self.api_url = api_url.rstrip("/")
        self.login_url = login_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.counter = counter or RequestCounter()
        self.token_cache = (token_cache or TokenCache()) if persist_tokens else None
        # trust_env keeps HTTPS_PROXY/NO_PROXY working unless the source names its own proxy.
        self.http = httpx.AsyncClient(
            proxy=proxy,
            trust_env=True,
            timeout=timeout,
            limits=httpx.Limits(max_connections=max_connections),
            headers={"User-Agent": f"wfm/{__version__}", "Accept": "application/json"},
        )
        self.sessions = [
            CredentialSession(self, index, credential)
            for index, credential in enumerate(credentials)
        ]

    def session(self, index: int = 0) -> CredentialSession:
        return self.sessions[index]

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> GenesysClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class CredentialSession:
    """Requests made with one credential set's token, counted, paced and retried."""

    def __init__(self, client: GenesysClient, index: int, credential: Credential) -> None:
        self.client = client
        self.index = index
        self.client_id = credential.client_id
        self.tokens = TokenManager(
            credential,
            client.login_url,
            client.http,
            counter=client.counter,
            policy=client.retry,
            cache=client.token_cache,
        )
        self.gate = RateGate(client.retry)

    async def get(
        self, path: str, *, params: Params | None = None, template: str | None = None
    ) -> Any:
        return await self.request("GET", path, params=params, template=template)

    async def post(
        self,
        path: str,
        *,
        json: Any = None,
        params: Params | None = None,
        template: str | None = None,
    ) -> Any:
        return await self.request("POST", path, json=json, params=params, template=template)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        template: str | None = None,
    ) -> Any:
        """The parsed JSON answer (None when empty); retries transient failures within policy.

        `path` is relative to the API host (`/api/v2/users`) or an absolute URL on it, as in
        Genesys' `nextUri`. `template` names the endpoint for the request tally when the
        automatic id detection would not (e.g. `GET /api/v2/things/{name}`).
        """
        endpoint = f"{method.upper()} {template}" if template else endpoint_template(method, path)
        async for attempt in self.client.retry.retrying():
            with attempt:
                return await self._send(method, path, params, json, endpoint)
        raise AssertionError("tenacity re-raises the last failure")  # pragma: no cover

    async def post_items(self, path: str, *, json: Any, prefix: str, fold: Callable[[], F]) -> F:
        """POST, folding the answer's items at `prefix` (ijson's notation: `results.item`) one
        by one into `fold()` while the body streams in, so a large answer is never held whole.
        Each try folds into a new `fold()`: the one returned saw exactly one whole answer."""
        endpoint = endpoint_template("POST", path)
        async for attempt in self.client.retry.retrying():
            with attempt:
                folded = fold()
                await self._send("POST", path, None, json, endpoint, (prefix, folded.add))
                return folded
        raise AssertionError("tenacity re-raises the last failure")  # pragma: no cover

    async def _send(
        self,
        method: str,
        path: str,
        params: Params | None,
        body: Any,
        endpoint: str,
        items: tuple[str, Callable[[Any], None]] | None = None,
    ) -> Any:
        url = path if path.startswith(("http://", "https://")) else self.client.api_url + path
        token = await self.tokens.token()
        for renewed in (False, True):
            async with self._exchange(method, url, params, body, endpoint, token) as response:
                if response.status_code == 401 and not renewed:
                    # Tokens can be revoked or expire early; a fresh one decides whether it is ours.
                    log.debug("401 from %s with client %s; renewing the token", endpoint,
                              self.client_id)  # fmt: skip
                    self.tokens.invalidate(token)
                    token = await self.tokens.token()
                    continue
                if response.is_success and items is not None:
                    what = f"Genesys Cloud {endpoint} answered HTTP {response.status_code}"
                    await fold_items(response.aiter_bytes(), *items, what=what)
                    return None
                await response.aread()
                if response.is_success:
                    return self._parse(response, endpoint)
                self._refused(response, endpoint)
        raise AssertionError("the second try returns or raises")  # pragma: no cover

    def _refused(self, response: httpx.Response, endpoint: str) -> NoReturn:
        error = error_from_response(response, what=endpoint)
        if response.status_code == 429:
            self.gate.block(getattr(error, "retry_after", None) or 1.0)
        if isinstance(error, AuthError) and response.status_code == 401:
            error.hint = (
                f"credential set {self.index + 1} (client {self.client_id}) was refused with a "
                "fresh token too; check the OAuth client in Genesys Cloud admin"
            )
        raise error

    @contextlib.asynccontextmanager
    async def _exchange(
        self,
        method: str,
        url: str,
        params: Params | None,
        body: Any,
        endpoint: str,
        token: Token,
    ) -> AsyncIterator[httpx.Response]:
        """One counted, paced request whose body is read inside the block; a network failure,
        also half-way through the body, comes out as a TransientError."""
        await self.gate.wait()
        self.client.counter.add(self.client_id, endpoint)
        headers = {"Authorization": f"Bearer {token.access_token}"}
        try:
            async with self.client.http.stream(
                method, url, params=_query(params), json=body, headers=headers
            ) as response:
                try:
                    yield response
                finally:  # after the body: the wait the headers ask for starts at the end
                    self.gate.observe(response.headers)
        except httpx.HTTPError as exc:
            raise error_from_exception(exc, what=endpoint, host=httpx.URL(url).host) from exc

    @staticmethod
    def _parse(response: httpx.Response, endpoint: str) -> Any:
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise RemoteError(
                f"Genesys Cloud {endpoint} answered HTTP {response.status_code} with a body "
                "that is not JSON"
            ) from exc

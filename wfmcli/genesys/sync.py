"""A blocking facade over the asyncio client, for commands and jobs that are not async.

All calls run on one private event loop (`asyncio.Runner`), so the connection pool, tokens and
rate gates persist between calls. Not for use from inside a running event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from types import TracebackType
from typing import Any, TypeVar

import httpx

from wfmcli.genesys.auth import Credential
from wfmcli.genesys.client import DEFAULT_TIMEOUT, GenesysClient, Params
from wfmcli.genesys.counter import RequestCounter
from wfmcli.genesys.paging import iter_entities
from wfmcli.genesys.retry import RetryPolicy

T = TypeVar("T")


async def _collect(items: AsyncIterator[T]) -> list[T]:
    return [item async for item in items]


class SyncGenesysClient:
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
    ) -> None:
        self._runner = asyncio.Runner()
        self.client = GenesysClient(
            api_url,
            login_url,
            credentials,
            proxy=proxy,
            timeout=timeout,
            retry=retry,
            counter=counter,
        )

    @property
    def counter(self) -> RequestCounter:
        return self.client.counter

    def run(self, work: Callable[[GenesysClient], Awaitable[T]]) -> T:
        """Runs `work(client)` on the client's loop: the way to use the async helpers."""

        async def call() -> T:
            return await work(self.client)

        return self._runner.run(call())

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        credential_set: int = 0,
    ) -> Any:
        session = self.client.session(credential_set)
        return self._runner.run(session.request(method, path, params=params, json=json))

    def get(self, path: str, *, params: Params | None = None, credential_set: int = 0) -> Any:
        return self.request("GET", path, params=params, credential_set=credential_set)

    def entities(
        self,
        path: str,
        *,
        params: Params | None = None,
        page_size: int = 100,
        credential_set: int = 0,
    ) -> list[Any]:
        session = self.client.session(credential_set)
        return self._runner.run(
            _collect(iter_entities(session, path, params=params, page_size=page_size))
        )

    def close(self) -> None:
        try:
            self._runner.run(self.client.aclose())
        finally:
            self._runner.close()

    def __enter__(self) -> SyncGenesysClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

"""Spread independent requests over every credential set of a source.

The pull issues hundreds of independent queries (user aggregates in batches of 100 users, one
query per day...). Each credential set has its own rate budget, so the work runs on a few
workers per set drawing from one queue: a throttled set simply takes fewer items.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from wfmcli.genesys.client import CredentialSession, GenesysClient

T = TypeVar("T")
R = TypeVar("R")


async def map_sessions(
    client: GenesysClient,
    items: Sequence[T],
    work: Callable[[CredentialSession, T], Awaitable[R]],
    *,
    per_set: int = 4,
) -> list[R]:
    """`work(session, item)` for every item, results in the order of `items`.

    The first failure cancels the rest and is raised as itself (not an ExceptionGroup), so the
    command line still shows one clear line.
    """
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(len(items)):
        queue.put_nowait(index)
    results: dict[int, R] = {}

    async def worker(session: CredentialSession) -> None:
        while True:
            try:
                index = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            results[index] = await work(session, items[index])

    try:
        async with asyncio.TaskGroup() as group:
            for session in client.sessions:
                for _ in range(max(per_set, 1)):
                    group.create_task(worker(session))
    except BaseExceptionGroup as grouped:
        raise _first_leaf(grouped) from None
    return [results[index] for index in range(len(items))]


def _first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first

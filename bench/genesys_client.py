"""Throughput of the Genesys client against the twin (same process, its own thread).

Run: .venv/bin/python bench/genesys_client.py [--agents 5000] [--requests 600]
The twin's rate limit is lifted so the client, not the budget, is measured. Both sides share one
Python process and its GIL on this machine, so these are floors for a real network deployment.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from wfmcli.genesys.auth import Credential
from wfmcli.genesys.client import CredentialSession, GenesysClient
from wfmcli.genesys.fanout import map_sessions
from wfmcli.genesys.paging import iter_entities
from wfmcli.genesys.retry import RetryPolicy
from wfmcli.sim import RunningTwin, start_twin


async def _timed(
    twin: RunningTwin, sets: int, work: Callable[[GenesysClient], Awaitable[int]]
) -> tuple[float, int]:
    credentials = [Credential(c.client_id, c.client_secret) for c in twin.credentials[:sets]]
    retry = RetryPolicy(time_scale=0.001)
    async with GenesysClient(twin.base_url, twin.base_url, credentials, retry=retry) as client:
        for session in client.sessions:
            await session.tokens.token()  # the grant is not what is measured
        started = time.perf_counter()
        count = await work(client)
        return time.perf_counter() - started, count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=600)
    args = parser.parse_args()

    built = time.perf_counter()
    twin = start_twin(seed=1, agents=args.agents, queues=20, days=0, live=False, credentials=5)
    print(f"twin with {args.agents} agents started in {time.perf_counter() - built:.1f} s")
    twin.faults.rate_limit_per_minute = 10**9
    ids = [u.id for u in twin.org.users]

    async def sequential(client: GenesysClient) -> int:
        for _ in range(args.requests):
            await client.session().get("/api/v2/authorization/divisions")
        return args.requests

    async def paging(client: GenesysClient) -> int:
        users = iter_entities(client.session(), "/api/v2/users", page_size=500)
        return len([u async for u in users])

    async def fetch(session: CredentialSession, user_id: str) -> Any:
        return await session.get(f"/api/v2/users/{user_id}")

    def fan_out(per_set: int) -> Callable[[GenesysClient], Awaitable[int]]:
        async def run(client: GenesysClient) -> int:
            picked = [ids[i % len(ids)] for i in range(args.requests)]
            return len(await map_sessions(client, picked, fetch, per_set=per_set))

        return run

    cases: list[tuple[str, int, Callable[[GenesysClient], Awaitable[int]]]] = [
        ("sequential GET, 1 set", 1, sequential),
        ("page all users (500/page), 1 set", 1, paging),
        ("fan-out GET user, 1 set x 4", 1, fan_out(4)),
        ("fan-out GET user, 5 sets x 4", 5, fan_out(4)),
    ]
    print(f"{'case':<36} {'items':>7} {'seconds':>8} {'per second':>11}")
    try:
        for name, sets, work in cases:
            seconds, count = asyncio.run(_timed(twin, sets, work))
            print(f"{name:<36} {count:>7} {seconds:>8.2f} {count / seconds:>11.0f}")
    finally:
        twin.stop()


if __name__ == "__main__":
    main()

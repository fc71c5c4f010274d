"""The client against the Genesys twin over real sockets: storms, bursts, expiry, drops.

One twin serves the module (history built once, clock frozen); each test resets its knobs.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.conftest import RunWfm
from wfmcli.errors import AuthError, RemoteError, TransientError
from wfmcli.genesys.auth import Credential
from wfmcli.genesys.client import CredentialSession, GenesysClient
from wfmcli.genesys.fanout import map_sessions
from wfmcli.genesys.notifications import FollowPolicy, Notification, follow
from wfmcli.genesys.paging import iter_entities, iter_pages
from wfmcli.genesys.retry import RetryPolicy
from wfmcli.sim import RunningTwin, start_twin

pytestmark = pytest.mark.timeout(60)
T = TypeVar("T")
FAST = RetryPolicy(attempts=6, time_scale=0.001)


@pytest.fixture(scope="module")
def twin() -> Iterator[RunningTwin]:
    running = start_twin(seed=11, agents=240, queues=6, days=1, live=False, credentials=2)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(autouse=True)
def calm(twin: RunningTwin) -> Iterator[None]:
    twin.faults.reset()
    yield
    twin.faults.reset()


def credentials(twin: RunningTwin) -> list[Credential]:
    return [Credential(c.client_id, c.client_secret) for c in twin.credentials]


def run(
    twin: RunningTwin,
    work: Callable[[GenesysClient], Awaitable[T]],
    *,
    retry: RetryPolicy = FAST,
    creds: list[Credential] | None = None,
) -> T:
    async def main() -> T:
        async with GenesysClient(
            twin.base_url, twin.base_url, creds or credentials(twin), retry=retry
        ) as client:
            return await work(client)

    return asyncio.run(main())


async def all_users(client: GenesysClient, page_size: int = 100) -> list[Any]:
    return [u async for u in iter_entities(client.session(), "/api/v2/users", page_size=page_size)]


def test_every_user_is_paged_exactly_once(twin: RunningTwin) -> None:
    users = run(twin, all_users)
    assert sorted(u["id"] for u in users) == sorted(u.id for u in twin.org.users)


def test_429_storm_is_ridden_out(twin: RunningTwin) -> None:
    twin.faults.throttle_next(8, retry_after_s=3)

    async def work(client: GenesysClient) -> tuple[Any, int]:
        page = await client.session().get("/api/v2/users", params={"pageSize": 3})
        return page, client.counter.count(endpoint="GET /api/v2/users")

    retry = RetryPolicy(attempts=10, time_scale=0.001)
    page, counted = run(twin, work, retry=retry)
    assert len(page["entities"]) == 3
    assert counted == 9


def test_429_storm_longer_than_the_budget_fails_clearly(twin: RunningTwin) -> None:
    twin.faults.throttle_next(20, retry_after_s=1)
    with pytest.raises(TransientError) as caught:
        run(
            twin, lambda c: c.session().get("/api/v2/users"), retry=RetryPolicy(3, time_scale=0.001)
        )
    line = caught.value.one_line()
    assert "GET /api/v2/users failed: HTTP 429 too.many.requests" in line
    assert "contextId" in line


def test_the_real_per_token_rate_limit_is_a_clear_error(twin: RunningTwin) -> None:
    """Five requests a minute allowed: the sixth is refused with Retry-After, not hung."""
    twin.faults.rate_limit_per_minute = 5

    async def work(client: GenesysClient) -> None:
        for _ in range(6):
            await client.session().get("/api/v2/authorization/divisions")

    with pytest.raises(TransientError) as caught:
        run(twin, work, retry=RetryPolicy(attempts=2, time_scale=0.001))
    assert "HTTP 429" in caught.value.message
    assert caught.value.retry_after is not None and 0 < caught.value.retry_after <= 60


def test_5xx_burst_is_retried(twin: RunningTwin) -> None:
    twin.faults.fail_next(4, status=503)
    users = run(twin, all_users)
    assert len(users) == len(twin.org.users)


def test_5xx_beyond_the_budget_fails_clearly(twin: RunningTwin) -> None:
    twin.faults.fail_next(10, status=503)
    with pytest.raises(TransientError, match=r"HTTP 503 service\.unavailable.*contextId"):
        run(twin, all_users, retry=RetryPolicy(attempts=3, time_scale=0.001))


def test_random_5xx_and_latency_do_not_lose_or_double_rows(twin: RunningTwin) -> None:
    twin.faults.error_rate = 0.3
    twin.faults.latency_s = 0.005
    users = run(twin, lambda c: all_users(c, page_size=25), retry=RetryPolicy(12, time_scale=0.001))
    assert sorted(u["id"] for u in users) == sorted(u.id for u in twin.org.users)


def test_token_expiry_in_the_middle_of_paging(twin: RunningTwin) -> None:
    async def work(client: GenesysClient) -> tuple[list[Any], int]:
        users: list[Any] = []
        async for page in iter_pages(client.session(), "/api/v2/users", page_size=50):
            users += page["entities"]
            if page["pageNumber"] == 2:
                await asyncio.to_thread(twin.expire_tokens)
        return users, client.session().tokens.fetches

    users, fetches = run(twin, work)
    assert len({u["id"] for u in users}) == len(twin.org.users)
    assert fetches == 2


def test_wrong_secret_is_an_auth_error(twin: RunningTwin) -> None:
    wrong = [Credential(twin.client_id, "definitely-wrong")]
    with pytest.raises(AuthError, match="authentication failed"):
        run(twin, all_users, creds=wrong)


def test_credential_sets_are_counted_apart(twin: RunningTwin) -> None:
    async def work(client: GenesysClient) -> dict[str, dict[str, int]]:
        await asyncio.gather(
            *(s.get("/api/v2/authorization/divisions") for s in client.sessions for _ in range(3))
        )
        return client.counter.by_credential()

    counts = run(twin, work)
    assert set(counts) == {c.client_id for c in twin.credentials}
    for per_set in counts.values():
        assert per_set == {"POST /oauth/token": 1, "GET /api/v2/authorization/divisions": 3}


def test_notification_stream_survives_drops_and_socket_closing(twin: RunningTwin) -> None:
    """Heartbeats flow; a dropped socket and a socket_closing each end in a marked reconnect."""
    twin.set_heartbeat(0.05)
    topics = [f"v2.users.{u.id}.activity" for u in twin.org.users[:5]]
    policy = FollowPolicy(heartbeat_timeout=2.0, backoff_initial=0.01)

    async def work(client: GenesysClient) -> list[Notification]:
        seen: list[Notification] = []
        stream = follow(client.session(), topics, policy)
        async for note in stream:
            seen.append(note)
            kinds = [n.kind for n in seen]
            if kinds.count("heartbeat") == 1 and note.kind == "heartbeat":
                await asyncio.to_thread(twin.drop_sockets)
            elif note.kind == "reconnected" and kinds.count("reconnected") == 1:
                await asyncio.to_thread(twin.socket_closing, 0.05)
            elif kinds.count("reconnected") == 2 and note.kind == "heartbeat":
                break
        await stream.aclose()
        return seen

    try:
        seen = run(twin, work)
    finally:
        twin.set_heartbeat(30)
    kinds = [n.kind for n in seen]
    assert kinds.count("reconnected") == 2
    assert "socket_closing" in kinds
    assert kinds.index("socket_closing") > kinds.index("reconnected")
    channels = {n.body["channelId"] for n in seen if n.kind == "reconnected"}
    assert len(channels) == 2  # same channel after the drop, a new one after socket_closing


def test_wfm_auth_test_against_the_twin(twin: RunningTwin, tmp_path: Path, run_wfm: RunWfm) -> None:
    role = next(r for r in twin.org.roles if r.licensing)
    home = next(d for d in twin.org.divisions if d.home)
    lines = [
        "version: 1",
        "scopes:",
        "  twin:",
        "    source:",
        f"      base_url: {twin.base_url}",
        "      credentials:",
    ]
    env = {}
    for number, cred in enumerate(twin.credentials, start=1):
        lines += [
            f"        - client_id: {cred.client_id}",
            f"          client_secret: ${{S{number}}}",
        ]
        env[f"S{number}"] = cred.client_secret
    lines += [f"      divisions: [{home.name}]", f"      licensed_role: {role.name}"]
    config = tmp_path / "config.yaml"
    config.write_text("\n".join(lines) + "\n")

    result = run_wfm("--config", str(config), "auth", "test", "--json", env=env)
    assert result.exit_code == 0, result.stderr
    (scope,) = json.loads(result.stdout)["data"]["scopes"]
    expected_users = [
        u for u in twin.org.users if role.id in u.role_ids and u.division.id == home.id
    ]
    assert scope["licensed_users"] == len(expected_users)
    assert scope["queues"] == len([q for q in twin.org.queues if q.division.id == home.id])
    assert [c["ok"] for c in scope["credentials"]] == [True, True]
    assert [c["rate_limit_per_minute"] for c in scope["credentials"]] == [300, 300]
    assert scope["notification_capacity"] == 40_000
    assert sorted(scope["credentials"][0]["divisions_visible"]) == sorted(
        d.name for d in twin.org.divisions
    )


def test_fan_out_uses_every_credential_set_and_keeps_order(twin: RunningTwin) -> None:
    ids = [u.id for u in twin.org.users[:40]]

    async def fetch(session: CredentialSession, user_id: str) -> str:
        user = await session.get(f"/api/v2/users/{user_id}")
        return str(user["id"])

    async def work(client: GenesysClient) -> tuple[list[str], dict[str, dict[str, int]]]:
        found = await map_sessions(client, ids, fetch, per_set=3)
        return found, client.counter.by_credential()

    found, counts = run(twin, work)
    assert found == ids
    per_set = [c.get("GET /api/v2/users/{id}", 0) for c in counts.values()]
    assert len(per_set) == 2 and all(n > 0 for n in per_set) and sum(per_set) == 40


def test_fan_out_raises_the_first_failure_itself(twin: RunningTwin) -> None:
    async def fetch(session: CredentialSession, path: str) -> Any:
        return await session.get(path)

    paths = ["/api/v2/authorization/divisions"] * 5 + ["/api/v2/users/not-a-user"]
    with pytest.raises(RemoteError, match="HTTP 404"):
        run(twin, lambda client: map_sessions(client, paths, fetch, per_set=2))

"""The async client against a scripted server on 127.0.0.1: tokens, retries, errors, counting."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import pytest

from tests.genesys.fake_server import (
    CLIENT_ID,
    CLIENT_SECRET,
    FakeGenesys,
    Reply,
    error_body,
    too_many,
)
from wfmcli.errors import AuthError, RemoteError, TransientError
from wfmcli.genesys.auth import Credential
from wfmcli.genesys.client import GenesysClient
from wfmcli.genesys.counter import endpoint_template
from wfmcli.genesys.retry import RetryPolicy

pytestmark = pytest.mark.timeout(30)

T = TypeVar("T")
FAST = RetryPolicy(attempts=5, time_scale=0.001)


def run_client(
    base_url: str,
    work: Callable[[GenesysClient], Awaitable[T]],
    *,
    secret: str = CLIENT_SECRET,
    retry: RetryPolicy = FAST,
    **options: Any,
) -> T:
    async def main() -> T:
        credentials = [Credential(CLIENT_ID, secret)]
        async with GenesysClient(base_url, base_url, credentials, retry=retry, **options) as client:
            return await work(client)

    return asyncio.run(main())


def get_users(client: GenesysClient) -> Awaitable[Any]:
    return client.session().get("/api/v2/users", params={"pageSize": 5})


def test_token_is_fetched_once_with_basic_auth_and_reused(fake: FakeGenesys) -> None:
    """One client-credentials grant serves many API calls."""

    async def work(client: GenesysClient) -> None:
        for _ in range(3):
            await get_users(client)

    run_client(fake.base_url, work)
    assert fake.token_requests == 1
    token_request = fake.requests_to("/oauth/token")[0]
    assert token_request.method == "POST"
    assert token_request.body == b"grant_type=client_credentials"
    assert token_request.headers["content-type"] == "application/x-www-form-urlencoded"
    api_calls = fake.requests_to("/api/v2/users")
    assert len(api_calls) == 3
    assert all(call.headers["authorization"].startswith("Bearer ") for call in api_calls)


def test_token_is_renewed_before_it_expires(fake: FakeGenesys) -> None:
    """A token granted for less than the refresh margin is renewed on the next call."""
    fake.token_lifetime = 0.2  # refresh margin is a tenth of the life: stale after 0.18 s

    async def work(client: GenesysClient) -> None:
        await get_users(client)
        await asyncio.sleep(0.2)
        await get_users(client)

    run_client(fake.base_url, work)
    assert fake.token_requests == 2


def test_429_storm_is_ridden_out_honouring_retry_after(fake: FakeGenesys) -> None:
    """Four 429s then success: the call succeeds and each try is counted."""
    fake.script("/api/v2/users", *(too_many(30) for _ in range(4)))
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(seconds)

    policy = RetryPolicy(attempts=6, time_scale=0.001, sleep=record)

    async def work(client: GenesysClient) -> Any:
        page = await get_users(client)
        return page, client.counter.count(CLIENT_ID, "GET /api/v2/users")

    page, counted = run_client(fake.base_url, work, retry=policy)
    assert len(page["entities"]) == 5
    assert counted == 5
    # Every wait follows Retry-After (30 s, scaled), not the short exponential backoff.
    assert len([wait for wait in waits if 0.029 <= wait <= 0.034]) == 4
    assert max(waits) <= 0.034


def test_429_storm_beyond_the_retry_budget_is_a_clear_transient_error(fake: FakeGenesys) -> None:
    fake.script("/api/v2/users", *(too_many(1) for _ in range(10)))
    with pytest.raises(TransientError) as caught:
        run_client(fake.base_url, get_users,
                   retry=RetryPolicy(attempts=3, throttled_attempts=3, time_scale=0.001))
    message = caught.value.one_line()
    assert "HTTP 429 too.many.requests.retry.after" in message
    assert "contextId" in message
    assert caught.value.retry_after == 1.0
    assert len(fake.requests_to("/api/v2/users")) == 3


def test_429s_do_not_spend_the_budget_for_other_failures(fake: FakeGenesys) -> None:
    # Parallel requests of one set waiting out one Retry-After come back together and only
    # some get in: a request refused again and again is not failing, it is queueing.
    fake.script("/api/v2/users", *(too_many(1) for _ in range(8)))
    page = run_client(fake.base_url, get_users, retry=RetryPolicy(attempts=2, time_scale=0.001))
    assert page["pageNumber"] == 1
    assert len(fake.requests_to("/api/v2/users")) == 9


def test_other_failures_keep_their_own_budget_between_429s(fake: FakeGenesys) -> None:
    unavailable = Reply(503, error_body(503, "service.unavailable", "Service Unavailable"))
    fake.script("/api/v2/users", too_many(1), unavailable, too_many(1), unavailable, unavailable)
    with pytest.raises(TransientError, match="HTTP 503"):
        run_client(fake.base_url, get_users, retry=RetryPolicy(attempts=3, time_scale=0.001))
    assert len(fake.requests_to("/api/v2/users")) == 5


def test_5xx_burst_is_retried_with_backoff(fake: FakeGenesys) -> None:
    fake.script(
        "/api/v2/users",
        Reply(503, error_body(503, "service.unavailable", "Service Unavailable")),
        Reply(502, None),
        Reply(504, error_body(504, "request.timeout", "The request timed out")),
    )
    page = run_client(fake.base_url, get_users)
    assert page["pageNumber"] == 1
    assert len(fake.requests_to("/api/v2/users")) == 4


def test_4xx_is_not_retried_and_keeps_the_context_id(fake: FakeGenesys) -> None:
    body = error_body(400, "bad.request", "The interval is invalid")
    fake.script("/api/v2/users", Reply(400, body))
    with pytest.raises(RemoteError) as caught:
        run_client(fake.base_url, get_users)
    assert not isinstance(caught.value, TransientError)
    assert body["contextId"] in caught.value.message
    assert "GET /api/v2/users failed: HTTP 400 bad.request: The interval is invalid" in (
        caught.value.message
    )
    assert len(fake.requests_to("/api/v2/users")) == 1


def test_403_is_an_auth_error_without_retry(fake: FakeGenesys) -> None:
    fake.script(
        "/api/v2/users", Reply(403, error_body(403, "missing.permissions", "Missing directory"))
    )
    with pytest.raises(AuthError, match=r"HTTP 403 missing\.permissions"):
        run_client(fake.base_url, get_users)
    assert len(fake.requests_to("/api/v2/users")) == 1


def test_revoked_token_is_renewed_once_on_401(fake: FakeGenesys) -> None:
    async def work(client: GenesysClient) -> Any:
        await get_users(client)
        fake.revoke_tokens()
        return await get_users(client)

    page = run_client(fake.base_url, work)
    assert page["entities"]
    assert fake.token_requests == 2


def test_a_401_that_survives_a_new_token_is_an_auth_error(fake: FakeGenesys) -> None:
    refusal = Reply(401, error_body(401, "bad.credentials", "Invalid login credentials."))
    fake.script("/api/v2/users", refusal, refusal)
    with pytest.raises(AuthError, match=r"HTTP 401 bad\.credentials"):
        run_client(fake.base_url, get_users)
    assert fake.token_requests == 2
    assert len(fake.requests_to("/api/v2/users")) == 2


def test_wrong_secret_is_a_one_line_auth_error_without_the_secret(fake: FakeGenesys) -> None:
    with pytest.raises(AuthError) as caught:
        run_client(fake.base_url, get_users, secret="not-the-secret")
    line = caught.value.one_line()
    assert f"refused client {CLIENT_ID}" in line
    assert "authentication failed" in line
    assert "not-the-secret" not in line
    assert fake.token_requests == 1  # a refused secret is not retried


def test_unreachable_host_is_a_transient_error_naming_the_host() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    url = f"http://127.0.0.1:{port}"
    with pytest.raises(TransientError, match=r"cannot reach 127\.0\.0\.1"):
        run_client(url, get_users, retry=RetryPolicy(attempts=2, time_scale=0.001))


def test_a_slow_answer_times_out_as_a_transient_error(fake: FakeGenesys) -> None:
    fake.script("/api/v2/users", Reply(200, {"entities": []}, delay=1.0))
    timeout = httpx.Timeout(0.2)
    with pytest.raises(TransientError, match="did not answer in time") as raised:
        run_client(fake.base_url, get_users, retry=RetryPolicy(attempts=1), timeout=timeout)
    assert "timeout" not in (raised.value.hint or "")  # no setting changes it: not offered


def test_timeouts_are_retried(fake: FakeGenesys) -> None:
    fake.script("/api/v2/users", Reply(200, {"entities": []}, delay=0.6))
    page = run_client(fake.base_url, get_users, timeout=httpx.Timeout(0.3))
    assert len(page["entities"]) == 5


def test_rate_limit_headers_hold_back_the_next_request(fake: FakeGenesys) -> None:
    spent = {
        "inin-ratelimit-count": "300",
        "inin-ratelimit-allowed": "300",
        "inin-ratelimit-reset": "45",
    }
    fake.script("/api/v2/users", Reply(200, {"entities": []}, headers=spent))
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(seconds)

    async def work(client: GenesysClient) -> None:
        await get_users(client)
        await get_users(client)

    run_client(fake.base_url, work, retry=RetryPolicy(time_scale=0.001, sleep=record))
    assert waits and 0.04 <= sum(waits) <= 0.06
    assert len(fake.requests_to("/api/v2/users")) == 2


def test_requests_are_counted_per_credential_set_and_endpoint_template(fake: FakeGenesys) -> None:
    user_id = str(uuid.uuid4())
    fake.routes[("GET", f"/api/v2/users/{user_id}")] = lambda seen: Reply(200, {"id": user_id})
    fake.clients["second-client"] = "second-secret"

    async def main() -> dict[str, dict[str, int]]:
        credentials = [
            Credential(CLIENT_ID, CLIENT_SECRET),
            Credential("second-client", "second-secret"),
        ]
        async with GenesysClient(fake.base_url, fake.base_url, credentials, retry=FAST) as client:
            first, second = client.sessions
            await first.get(f"/api/v2/users/{user_id}")
            await first.get("/api/v2/users", params={"pageSize": 1})
            await second.get(
                f"/api/v2/users/{user_id}", params={"expand": ["presence", "routingStatus"]}
            )
            await second.get(f"/api/v2/users/{user_id}")
            return client.counter.by_credential()

    counts = asyncio.run(main())
    assert counts == {
        CLIENT_ID: {"POST /oauth/token": 1, "GET /api/v2/users/{id}": 1, "GET /api/v2/users": 1},
        "second-client": {"POST /oauth/token": 1, "GET /api/v2/users/{id}": 2},
    }
    # List parameters go comma-joined, as the Genesys SDKs send them.
    expanded = [s for s in fake.seen if s.query.get("expand")]
    assert expanded[0].query["expand"] == "presence,routingStatus"


def test_source_proxy_carries_every_request(fake: FakeGenesys) -> None:
    """With a per-source proxy, requests for the Genesys host go to the proxy in absolute form."""
    api = "http://api.genesys.invalid"

    async def main() -> Any:
        credentials = [Credential(CLIENT_ID, CLIENT_SECRET)]
        async with GenesysClient(
            api, "http://login.genesys.invalid", credentials, proxy=fake.base_url, retry=FAST
        ) as client:
            return await client.session().get("/api/v2/users", params={"pageSize": 2})

    page = asyncio.run(main())
    assert len(page["entities"]) == 2
    targets = [seen.target for seen in fake.seen]
    assert targets[0] == "http://login.genesys.invalid/oauth/token"
    assert targets[1].startswith("http://api.genesys.invalid/api/v2/users?")


def test_system_proxy_from_the_environment_is_respected(
    fake: FakeGenesys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", fake.base_url)
    monkeypatch.setenv("NO_PROXY", "")
    api = "http://api.genesys.invalid"

    async def main() -> Any:
        credentials = [Credential(CLIENT_ID, CLIENT_SECRET)]
        async with GenesysClient(api, api, credentials, retry=FAST) as client:
            return await client.session().get("/api/v2/users")

    assert asyncio.run(main())["entities"]
    assert fake.seen[-1].target.startswith("http://api.genesys.invalid/")


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("get", "/api/v2/users", "GET /api/v2/users"),
        ("GET", "/api/v2/users?pageNumber=2", "GET /api/v2/users"),
        (
            "POST",
            "https://api.mypurecloud.ie/api/v2/notifications/channels/streaming-0-abc12/subscriptions",
            "POST /api/v2/notifications/channels/{id}/subscriptions",
        ),
        (
            "GET",
            "/api/v2/analytics/users/details/jobs/0123456789abcdef0123/results?cursor=x",
            "GET /api/v2/analytics/users/details/jobs/{id}/results",
        ),
        (
            "GET",
            f"/api/v2/routing/queues/{uuid.UUID(int=7)}/members",
            "GET /api/v2/routing/queues/{id}/members",
        ),
    ],
)
def test_endpoint_templates_hide_ids(method: str, path: str, expected: str) -> None:
    assert endpoint_template(method, path) == expected

"""Paging helpers against the scripted server: envelopes, token expiry mid-walk, loop guards."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import pytest

from tests.genesys.fake_server import CLIENT_ID, CLIENT_SECRET, FakeGenesys, Reply, Seen
from wfmcli.errors import RemoteError
from wfmcli.genesys.auth import Credential
from wfmcli.genesys.client import CredentialSession, GenesysClient
from wfmcli.genesys.paging import iter_cursor, iter_entities, iter_next_uri
from wfmcli.genesys.retry import RetryPolicy
from wfmcli.genesys.sync import SyncGenesysClient

pytestmark = pytest.mark.timeout(30)
T = TypeVar("T")


def with_session(fake: FakeGenesys, work: Callable[[CredentialSession], Awaitable[T]]) -> T:
    async def main() -> T:
        credentials = [Credential(CLIENT_ID, CLIENT_SECRET)]
        retry = RetryPolicy(time_scale=0.001)
        async with GenesysClient(fake.base_url, fake.base_url, credentials, retry=retry) as client:
            return await work(client.session())

    return asyncio.run(main())


async def collect(items: AsyncIterator[Any]) -> list[Any]:
    return [item async for item in items]


def test_page_number_listing_is_walked_to_page_count(fake: FakeGenesys) -> None:
    users = with_session(fake, lambda s: collect(iter_entities(s, "/api/v2/users", page_size=100)))
    assert [u["id"] for u in users] == [u["id"] for u in fake.users]
    assert [s.query["pageNumber"] for s in fake.requests_to("/api/v2/users")] == ["1", "2", "3"]


def test_token_expiry_in_the_middle_of_paging_is_invisible(fake: FakeGenesys) -> None:
    """The token dies after page 1; page 2 gets a 401, a new token, and the walk goes on."""
    original = fake.routes[("GET", "/api/v2/users")]

    def expire_after_first_page(seen: Seen) -> Reply:
        reply = original(seen)
        if seen.query["pageNumber"] == "1":
            fake.revoke_tokens()
        return reply

    fake.routes[("GET", "/api/v2/users")] = expire_after_first_page
    users = with_session(fake, lambda s: collect(iter_entities(s, "/api/v2/users", page_size=50)))
    assert len(users) == 230
    assert len({u["id"] for u in users}) == 230
    assert fake.token_requests == 2


def test_listing_without_total_stops_when_next_uri_is_absent(fake: FakeGenesys) -> None:
    """Queue members carry no pageCount: the page without nextUri is the last."""
    path = "/api/v2/routing/queues/q1/members"

    def members(seen: Seen) -> Reply:
        number = int(seen.query["pageNumber"])
        body: dict[str, Any] = {"entities": [{"id": f"m{number}"}], "pageNumber": number}
        if number < 3:
            body["nextUri"] = f"{path}?pageNumber={number + 1}"
        return Reply(200, body)

    fake.routes[("GET", path)] = members
    found = with_session(fake, lambda s: collect(iter_entities(s, path)))
    assert [m["id"] for m in found] == ["m1", "m2", "m3"]


def test_a_server_ignoring_page_number_is_stopped(fake: FakeGenesys) -> None:
    path = "/api/v2/broken"
    fake.routes[("GET", path)] = lambda seen: Reply(
        200, {"entities": [{"id": 1}], "pageNumber": 1, "pageCount": 5}
    )
    with pytest.raises(RemoteError, match="answered page 1 when asked for page 2"):
        with_session(fake, lambda s: collect(iter_entities(s, path)))


def test_max_pages_bounds_an_endless_listing(fake: FakeGenesys) -> None:
    path = "/api/v2/endless"
    fake.routes[("GET", path)] = lambda seen: Reply(
        200,
        {"entities": [{"id": 1}], "pageNumber": int(seen.query["pageNumber"]), "nextUri": "x"},
    )
    with pytest.raises(RemoteError, match="more than 4 pages"):
        with_session(fake, lambda s: collect(iter_entities(s, path, max_pages=4)))


def test_next_uri_chain_is_followed_and_a_repeat_is_refused(fake: FakeGenesys) -> None:
    path = "/api/v2/authorization/divisions/query"
    chain = {
        None: {"entities": [{"id": "a"}], "nextUri": f"{path}?after=a"},
        "a": {"entities": [{"id": "b"}], "nextUri": f"{path}?after=b"},
        "b": {"entities": [{"id": "c"}]},
    }
    fake.routes[("GET", path)] = lambda seen: Reply(200, chain[seen.query.get("after")])
    found = with_session(fake, lambda s: collect(iter_next_uri(s, path)))
    assert [d["id"] for d in found] == ["a", "b", "c"]

    chain["b"] = {"entities": [{"id": "c"}], "nextUri": f"{path}?after=a"}
    with pytest.raises(RemoteError, match="repeated nextUri"):
        with_session(fake, lambda s: collect(iter_next_uri(s, path)))


def test_analytics_cursor_pages_and_loop_guard(fake: FakeGenesys) -> None:
    path = "/api/v2/analytics/users/details/jobs/j1/results"
    pages = {
        None: {"userDetails": [{"userId": "u1"}], "cursor": "c1"},
        "c1": {"userDetails": [{"userId": "u2"}], "cursor": "c2"},
        "c2": {"userDetails": [{"userId": "u3"}]},
    }
    fake.routes[("GET", path)] = lambda seen: Reply(200, pages[seen.query.get("cursor")])
    found = with_session(fake, lambda s: collect(iter_cursor(s, path, key="userDetails")))
    assert [d["userId"] for d in found] == ["u1", "u2", "u3"]

    pages["c2"] = {"userDetails": [], "cursor": "c1"}
    with pytest.raises(RemoteError, match="repeated a cursor"):
        with_session(fake, lambda s: collect(iter_cursor(s, path, key="userDetails")))


def test_sync_facade_keeps_one_token_across_calls(fake: FakeGenesys) -> None:
    with SyncGenesysClient(
        fake.base_url,
        fake.base_url,
        [Credential(CLIENT_ID, CLIENT_SECRET)],
        retry=RetryPolicy(time_scale=0.001),
    ) as client:
        users = client.entities("/api/v2/users", page_size=100)
        first = client.get("/api/v2/users", params={"pageSize": 1})
        assert client.counter.count(CLIENT_ID) == 5
    assert len(users) == 230
    assert first["entities"][0]["id"] == fake.users[0]["id"]
    assert fake.token_requests == 1

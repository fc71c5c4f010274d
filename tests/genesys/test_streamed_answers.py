"""Large answers folded item by item as they stream in (`CredentialSession.post_items`)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.genesys.fake_server import FakeGenesys, Reply
from tests.genesys.test_client import run_client
from wfmcli.errors import RemoteError
from wfmcli.genesys.client import GenesysClient
from wfmcli.genesys.stream import fold_items

PATH = "/api/v2/analytics/conversations/aggregates/query"
RESULTS = [
    {
        "group": {"userId": f"u{n}", "mediaType": "voice"},
        "data": [{"interval": "2026-03-10T08:00:00.000Z/2026-03-10T08:15:00.000Z",
                  "metrics": [{"metric": "tHandle", "stats": {"count": n, "sum": 1500.5 * n}}]}],
    }
    for n in range(40)
]  # fmt: skip
ANSWER = {"results": RESULTS}


class Collected:
    made: list[Collected] = []

    def __init__(self) -> None:
        self.items: list[Any] = []
        Collected.made.append(self)

    def add(self, item: Any) -> None:
        self.items.append(item)


def post(client: GenesysClient) -> Any:
    return client.session().post_items(PATH, json={}, prefix="results.item", fold=Collected)


def test_items_come_as_json_decodes_them(fake: FakeGenesys) -> None:
    fake.routes[("POST", PATH)] = lambda seen: Reply(200, ANSWER)
    folded = run_client(fake.base_url, post)
    assert folded.items == RESULTS
    counts = [r["data"][0]["metrics"][0]["stats"]["count"] for r in folded.items]
    assert all(type(count) is int for count in counts)  # not Decimal, not float


def test_an_answer_cut_half_way_is_asked_again_and_folded_once(fake: FakeGenesys) -> None:
    whole = len(json.dumps(ANSWER))
    fake.script(PATH, Reply(200, ANSWER, cut_after=whole // 2))
    fake.routes[("POST", PATH)] = lambda seen: Reply(200, ANSWER)
    Collected.made.clear()
    folded = run_client(fake.base_url, post)
    assert len(fake.requests_to(PATH)) == 2
    first, second = Collected.made
    assert 0 < len(first.items) < len(RESULTS), "the cut answer was read item by item"
    assert folded is second and folded.items == RESULTS


def test_a_refused_answer_raises_as_a_plain_request_does(fake: FakeGenesys) -> None:
    fake.routes[("POST", PATH)] = lambda seen: Reply(400, {"message": "bad query", "code": "x"})
    with pytest.raises(RemoteError, match="400"):
        run_client(fake.base_url, post)


async def _chunks(body: bytes, cuts: list[int]) -> AsyncIterator[bytes]:
    edges = sorted({0, len(body), *(c % (len(body) + 1) for c in cuts)})
    for low, high in pairwise(edges):
        yield body[low:high]


@given(st.lists(st.integers(min_value=0), max_size=30))
def test_any_chunking_gives_the_same_items(cuts: list[int]) -> None:
    body = json.dumps(ANSWER).encode()
    items: list[Any] = []
    asyncio.run(fold_items(_chunks(body, cuts), "results.item", items.append, what="x"))
    assert items == RESULTS


@pytest.mark.parametrize("body", [b'{"results": [{"a": 1}, {"b": ', b"", b"<html>busy</html>"])
def test_a_body_that_is_not_whole_json_is_a_remote_error(body: bytes) -> None:
    items: list[Any] = []
    what = "Genesys Cloud POST /q answered HTTP 200"
    with pytest.raises(RemoteError, match=f"{what} with a body that is not JSON"):
        asyncio.run(fold_items(_chunks(body, [7]), "results.item", items.append, what=what))

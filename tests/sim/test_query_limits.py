"""The twin refuses, as Genesys does, every query shape the pull uses once it is past Genesys'
documented limits (reference §3.2, §3.7): the pull's own bodies stay just inside them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.sim.conftest import NOW_MS
from wfmcli.pull.directory import QueueInfo
from wfmcli.pull.queries import (
    USER_BATCH,
    Window,
    agent_conversation_body,
    queue_queries,
    user_aggregate_body,
    user_details_body,
)
from wfmcli.sim.analytics import conversation_aggregates, user_aggregates, user_details
from wfmcli.sim.buckets import QueryError
from wfmcli.sim.org import build_org
from wfmcli.sim.runtime import Runtime

ZONE = ZoneInfo("Europe/Berlin")
WINDOW = Window(
    datetime(2026, 3, 9).date(),
    datetime(2026, 3, 9, tzinfo=ZONE).astimezone(UTC),
    datetime(2026, 3, 10, tzinfo=ZONE).astimezone(UTC),
    ZONE,
)
IDS = [f"00000000-0000-4000-8000-{i:012d}" for i in range(USER_BATCH + 1)]


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    return Runtime(build_org(seed=5, agents=60, queues=5), now_ms=NOW_MS, days=2, live=False)


def _users(runtime: Runtime, body: dict[str, Any]) -> Any:
    return user_aggregates(runtime.org, runtime.center, body, NOW_MS)


def test_the_pulls_own_bodies_are_accepted(runtime: Runtime) -> None:
    org, center = runtime.org, runtime.center
    assert conversation_aggregates(org, center, agent_conversation_body(WINDOW, 15))["results"]
    queues = [QueueInfo(q.id, q.name, {q.media: (q.sl_ms, q.sl_target)}) for q in org.queues]
    for query in queue_queries(queues):
        conversation_aggregates(org, center, query.body(WINDOW, 15))
    ids = [u.id for u in org.users][:USER_BATCH]
    assert _users(runtime, user_aggregate_body(WINDOW, 15, ids))["results"]
    assert user_details(org, center, user_details_body(WINDOW, ids, 1), NOW_MS)["userDetails"]


@pytest.mark.parametrize(
    "change",
    [
        lambda b: b["filter"]["predicates"].append(  # 101 userIds
            {"type": "dimension", "dimension": "userId", "value": IDS[-1]}
        ),
        lambda b: b.update(filter={"type": "or", "clauses": [b["filter"], b["filter"]]}),  # nested
        lambda b: b.update(groupBy=["userId", "queueId"]),  # group by userId only
        lambda b: b["filter"]["predicates"][0].update(dimension="queueId"),  # filter by userId only
        lambda b: b.update(metrics=["tAgentRoutingStatus", "tTalk"]),  # three metrics only
    ],
)
def test_user_aggregates_past_the_limits_are_refused(runtime: Runtime, change: Any) -> None:
    body = user_aggregate_body(WINDOW, 15, IDS[:USER_BATCH])
    _users(runtime, body)
    change(body)
    with pytest.raises(QueryError):
        _users(runtime, body)


def test_more_than_ten_views_are_refused(runtime: Runtime) -> None:
    queues = [QueueInfo(f"q{t}", "q", {"voice": (t * 1000, 0.8)}) for t in range(1, 7)]
    first, *_ = queue_queries(queues)
    body = first.body(WINDOW, 15)
    assert len(body["views"]) == 10  # five thresholds a query: the limit exactly
    conversation_aggregates(runtime.org, runtime.center, body)
    body["views"].append({**body["views"][0], "name": "oneTooMany"})
    with pytest.raises(QueryError):
        conversation_aggregates(runtime.org, runtime.center, body)


def test_user_details_pages_and_intervals_past_the_limits_are_refused(runtime: Runtime) -> None:
    body = user_details_body(WINDOW, IDS[:USER_BATCH], 1)
    body["paging"]["pageSize"] = 101
    with pytest.raises(QueryError):
        user_details(runtime.org, runtime.center, body, NOW_MS)
    body = user_details_body(WINDOW, IDS[:USER_BATCH], 1)
    body["interval"] = "2026-02-01T00:00:00Z/2026-03-05T00:00:00Z"  # 32 days, with filters
    with pytest.raises(QueryError):
        user_details(runtime.org, runtime.center, body, NOW_MS)

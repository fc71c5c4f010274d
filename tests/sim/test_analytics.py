"""Analytics from the event log: Genesys semantics, internal consistency, limits, determinism."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from itertools import pairwise

import httpx
import numpy as np
import pytest

from tests.sim.conftest import NOW_MS
from wfmcli.sim import RunningTwin
from wfmcli.sim.analytics import conversation_aggregates, user_aggregates, user_details
from wfmcli.sim.buckets import QueryError, build_grid
from wfmcli.sim.ledger import ABANDONED, ANSWERED, FLOWED_OUT, RS
from wfmcli.sim.org import build_org
from wfmcli.sim.runtime import Runtime
from wfmcli.sim.wire import iso

DAY = "2026-03-09T00:00:00.000Z/2026-03-10T00:00:00.000Z"
DAY_START = int(datetime(2026, 3, 9, tzinfo=UTC).timestamp() * 1000)
DAY_END = DAY_START + 86_400_000


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    return Runtime(build_org(seed=5, agents=60, queues=5), now_ms=NOW_MS, days=2, live=False)


def _metric(results: list[dict], name: str, qualifier: str | None = None) -> dict[str, int]:
    """Per group label (queueId or userId): the summed stats of one metric."""
    out: dict[str, Counter[str]] = {}
    for result in results:
        label = result["group"].get("queueId") or result["group"].get("userId")
        for data in result["data"]:
            for metric in data["metrics"]:
                if metric["metric"] == name and metric.get("qualifier") == qualifier:
                    out.setdefault(label, Counter()).update(metric["stats"])
    return {k: dict(v) for k, v in out.items()}


def test_offered_equals_answered_abandoned_flowed_out_per_queue_day(runtime: Runtime) -> None:
    org, center = runtime.org, runtime.center
    body = {
        "interval": DAY,
        "groupBy": ["queueId"],
        "metrics": ["nOffered", "tAnswered", "tAbandon", "tFlowOut"],
        "filter": {"type": "and", "predicates": [{"dimension": "direction", "value": "inbound"}]},
    }
    results = conversation_aggregates(org, center, body)["results"]
    offered = _metric(results, "nOffered")
    ended = [_metric(results, m) for m in ("tAnswered", "tAbandon", "tFlowOut")]
    legs = center.legs
    for queue in org.queues:
        # Contacts that entered today and left the queue tomorrow (or not yet), minus the ones
        # that entered yesterday and left today, make the only difference.
        carried_out = carried_in = 0
        for i in range(len(legs)):
            if legs.queue[i] != queue.index or legs.direction[i] != 0:
                continue
            entered_today = DAY_START <= legs.enter[i] < DAY_END
            end = legs.end_queue[i]
            ended_today = end >= 0 and DAY_START <= end < DAY_END
            carried_out += entered_today and not ended_today
            carried_in += ended_today and not entered_today
        total_ended = sum(m.get(queue.id, {}).get("count", 0) for m in ended)
        assert offered[queue.id]["count"] > 0
        assert offered[queue.id]["count"] == total_ended + carried_out - carried_in


def test_every_leg_ends_exactly_one_way(runtime: Runtime) -> None:
    legs = runtime.center.legs
    outcomes = Counter(legs.outcome[i] for i in range(len(legs)) if legs.direction[i] == 0)
    assert outcomes[ANSWERED] > outcomes[ABANDONED] > 0
    assert outcomes[FLOWED_OUT] >= 0
    for i in range(len(legs)):
        if legs.outcome[i] == ANSWERED and legs.acw_end[i] >= 0:
            assert legs.enter[i] <= legs.answer[i] <= legs.talk_end[i] <= legs.acw_end[i]


def test_routing_status_time_adds_up_to_logged_in_time(runtime: Runtime) -> None:
    org = runtime.org
    users = org.users[:40]
    body = {
        "interval": DAY,
        "granularity": "PT30M",
        "groupBy": ["userId"],
        "metrics": ["tAgentRoutingStatus", "tSystemPresence", "tOrganizationPresence"],
        "filter": {
            "type": "or",
            "predicates": [
                {"type": "dimension", "dimension": "userId", "value": u.id} for u in users
            ],
        },
    }
    response = user_aggregates(org, runtime.center, body, NOW_MS)
    logged_in = Counter[str]()
    routing = Counter[str]()
    presence = Counter[str]()
    organization = Counter[str]()
    for result in response["results"]:
        user = result["group"]["userId"]
        for data in result["data"]:
            bucket = sum(
                m["stats"]["sum"] for m in data["metrics"] if m["metric"] == "tSystemPresence"
            )
            assert bucket == 1_800_000  # every half hour is fully accounted for
            for m in data["metrics"]:
                stat = m["stats"]["sum"]
                if m["metric"] == "tAgentRoutingStatus":
                    routing[user] += stat
                elif m["metric"] == "tSystemPresence":
                    presence[user] += stat
                    if m["qualifier"] != "OFFLINE":
                        logged_in[user] += stat
                else:
                    organization[user] += stat
    assert len(response["results"]) == 40
    assert routing == logged_in
    assert presence == organization
    assert sum(routing.values()) > 0
    mapping = response["systemToOrganizationMappings"]
    assert set(mapping) == {
        "AVAILABLE",
        "AWAY",
        "BUSY",
        "OFFLINE",
        "IDLE",
        "ON_QUEUE",
        "MEAL",
        "TRAINING",
        "MEETING",
        "BREAK",
    }


def test_user_details_match_user_aggregates(runtime: Runtime) -> None:
    org = runtime.org
    user = org.users[2]
    details = user_details(
        org,
        runtime.center,
        {
            "interval": DAY,
            "userFilters": [
                {"type": "or", "predicates": [{"dimension": "userId", "value": user.id}]}
            ],
        },
        NOW_MS,
    )
    assert details["totalHits"] == 1
    record = details["userDetails"][0]
    idle_from_details = 0
    for row in record["routingStatus"]:
        start = max(DAY_START, _ms(row["startTime"]))
        end = min(DAY_END, _ms(row["endTime"]))
        if row["routingStatus"] == "IDLE" and end > start:
            idle_from_details += end - start
    aggregates = user_aggregates(
        org,
        runtime.center,
        {
            "interval": DAY,
            "metrics": ["tAgentRoutingStatus"],
            "filter": {"type": "or", "predicates": [{"dimension": "userId", "value": user.id}]},
        },
        NOW_MS,
    )
    idle = _metric(aggregates["results"], "tAgentRoutingStatus", "IDLE")[user.id]["sum"]
    assert idle == idle_from_details > 0


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def test_metrics_count_in_the_interval_of_their_emit_time(runtime: Runtime) -> None:
    org, center = runtime.org, runtime.center
    body = {
        "interval": DAY,
        "granularity": "PT30M",
        "metrics": ["nOffered", "tAnswered"],
        "groupBy": ["queueId"],
    }
    results = conversation_aggregates(org, center, body)["results"]
    edges = build_grid(DAY, "PT30M", None).edges
    legs = center.legs
    expected = Counter[tuple[str, int]]()
    for i in range(len(legs)):
        if legs.outcome[i] == ANSWERED and DAY_START <= legs.answer[i] < DAY_END:
            bucket = int(np.searchsorted(edges, legs.answer[i], side="right") - 1)
            expected[(org.queues[legs.queue[i]].id, bucket)] += 1
    labels = build_grid(DAY, "PT30M", None).labels()
    seen = Counter[tuple[str, int]]()
    for result in results:
        for data in result["data"]:
            for m in data["metrics"]:
                if m["metric"] == "tAnswered":
                    seen[(result["group"]["queueId"], labels.index(data["interval"]))] += m[
                        "stats"
                    ]["count"]
    assert seen == expected


def test_stat_shapes_counters_timers_and_service_level(
    twin: RunningTwin, api: httpx.Client
) -> None:
    body = {
        "interval": DAY,
        "groupBy": ["queueId"],
        "metrics": ["nOffered", "tHandle", "oServiceLevel", "tTalk"],
    }
    response = api.post("/api/v2/analytics/conversations/aggregates/query", json=body)
    assert response.status_code == 200
    results = response.json()["results"]
    assert results
    for result in results:
        assert result["group"]["mediaType"] in {"voice", "chat", "email", "message", "callback"}
        for data in result["data"]:
            assert data["interval"] == DAY
            for metric in data["metrics"]:
                stats = metric["stats"]
                if metric["metric"] == "nOffered":
                    assert set(stats) == {"count"}
                elif metric["metric"] == "oServiceLevel":
                    assert set(stats) == {"ratio", "numerator", "denominator", "target"}
                    assert stats["ratio"] == pytest.approx(
                        stats["numerator"] / stats["denominator"]
                    )
                    assert 0 < stats["target"] < 1
                else:
                    assert set(stats) == {"max", "min", "count", "sum"}
                    assert all(isinstance(v, int) for v in stats.values())
                    assert stats["min"] <= stats["max"] <= stats["sum"]


def test_groups_without_data_are_absent(runtime: Runtime) -> None:
    org, center = runtime.org, runtime.center
    before = "2026-03-01T00:00:00.000Z/2026-03-02T00:00:00.000Z"
    body = {"interval": before, "metrics": ["nOffered"], "groupBy": ["queueId"]}
    assert conversation_aggregates(org, center, body) == {"results": []}
    body = {
        "interval": DAY,
        "granularity": "PT30M",
        "metrics": ["tAbandon"],
        "groupBy": ["queueId"],
    }
    for result in conversation_aggregates(org, center, body)["results"]:
        for data in result["data"]:
            assert data["metrics"] and all(m["stats"]["count"] > 0 for m in data["metrics"])


def test_buckets_follow_the_time_zone_across_dst() -> None:
    # 2026-03-08 is the US spring-forward day: 23 local hours.
    spring = "2026-03-08T00:00:00-05:00/2026-03-09T00:00:00-04:00"
    assert len(build_grid(spring, "PT30M", "America/New_York").edges) - 1 == 46
    week = "2026-03-07T00:00:00-05:00/2026-03-10T00:00:00-04:00"
    edges = build_grid(week, "P1D", "America/New_York").edges
    assert [(b - a) // 3_600_000 for a, b in pairwise(edges)] == [24, 23, 24]
    autumn = "2026-11-01T00:00:00-04:00/2026-11-02T00:00:00-05:00"
    assert len(build_grid(autumn, "PT1H", "America/New_York").edges) - 1 == 25
    kathmandu = build_grid(
        "2026-03-09T00:00:00+05:45/2026-03-10T00:00:00+05:45", "P1D", "Asia/Kathmandu"
    )
    assert kathmandu.labels() == ["2026-03-08T18:15:00.000Z/2026-03-09T18:15:00.000Z"]


def test_bucketing_neither_loses_nor_doubles(runtime: Runtime) -> None:
    org, center = runtime.org, runtime.center
    local_day = "2026-03-08T19:00:00-05:00/2026-03-09T19:00:00-04:00"
    whole = conversation_aggregates(
        org,
        center,
        {"interval": local_day, "metrics": ["nOffered"], "timeZone": "America/New_York"},
    )
    split = conversation_aggregates(
        org,
        center,
        {
            "interval": local_day,
            "metrics": ["nOffered"],
            "granularity": "PT30M",
            "timeZone": "America/New_York",
        },
    )
    total = sum(
        m["stats"]["count"] for r in whole["results"] for d in r["data"] for m in d["metrics"]
    )
    parts = sum(
        m["stats"]["count"] for r in split["results"] for d in r["data"] for m in d["metrics"]
    )
    assert total == parts > 0


def test_more_than_100_user_predicates_is_a_400(twin: RunningTwin, api: httpx.Client) -> None:
    predicates = [
        {"dimension": "userId", "value": f"00000000-0000-4000-8000-{i:012d}"} for i in range(101)
    ]
    body = {
        "interval": DAY,
        "metrics": ["tAgentRoutingStatus"],
        "groupBy": ["userId"],
        "filter": {"type": "or", "predicates": predicates},
    }
    response = api.post("/api/v2/analytics/users/aggregates/query", json=body)
    assert response.status_code == 400
    assert response.json()["status"] == 400
    body["filter"]["predicates"] = predicates[:100]
    assert api.post("/api/v2/analytics/users/aggregates/query", json=body).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"interval": DAY, "metrics": ["nNope"]},
        {"interval": "yesterday", "metrics": ["nOffered"]},
        {"interval": DAY, "metrics": ["nOffered"], "granularity": "PT7Q"},
        {"interval": DAY, "metrics": ["nOffered"], "timeZone": "Mars/Olympus"},
        {"interval": DAY, "metrics": ["nOffered"], "groupBy": ["shoeSize"]},
    ],
)
def test_bad_conversation_queries_are_400(runtime: Runtime, body: dict) -> None:
    with pytest.raises(QueryError):
        conversation_aggregates(runtime.org, runtime.center, body)


def test_user_details_interval_limit(runtime: Runtime) -> None:
    long = "2026-03-01T00:00:00Z/2026-03-09T00:00:00Z"
    with pytest.raises(QueryError):
        user_details(runtime.org, runtime.center, {"interval": long}, NOW_MS)


def test_same_seed_same_answers_other_seed_other_answers() -> None:
    body = {
        "interval": DAY,
        "granularity": "PT1H",
        "groupBy": ["queueId"],
        "metrics": ["nOffered", "tHandle", "oServiceLevel"],
    }
    answers = []
    for seed in (11, 11, 12):
        rt = Runtime(build_org(seed=seed, agents=25, queues=3), now_ms=NOW_MS, days=1, live=False)
        answers.append(
            (conversation_aggregates(rt.org, rt.center, body), [u.id for u in rt.org.users])
        )
    assert answers[0] == answers[1]
    assert answers[0] != answers[2]


def test_user_details_shape_and_every_routing_status(runtime: Runtime) -> None:
    org = runtime.org
    details = user_details(
        org, runtime.center, {"interval": DAY, "paging": {"pageSize": 100}}, NOW_MS
    )
    assert details["totalHits"] == 60 == len(details["userDetails"])
    statuses = set()
    for record in details["userDetails"]:
        assert set(record) == {"userId", "primaryPresence", "routingStatus"}
        for row in record["primaryPresence"][:-1]:
            assert set(row) == {"startTime", "endTime", "systemPresence", "organizationPresenceId"}
        current = record["primaryPresence"][-1]  # may still be going on: no endTime yet
        assert {"startTime", "systemPresence", "organizationPresenceId"} <= set(current)
        for a, b in pairwise(record["routingStatus"]):
            assert a["startTime"] < a["endTime"] <= b["startTime"]
        statuses |= {row["routingStatus"] for row in record["routingStatus"]}
    assert statuses == {"OFF_QUEUE", "IDLE", "INTERACTING", "NOT_RESPONDING", "COMMUNICATING"}


def test_secondary_presences_show_up_by_definition_id(runtime: Runtime) -> None:
    org = runtime.org
    body = {"interval": DAY, "metrics": ["tOrganizationPresence"], "groupBy": ["userId"]}
    response = user_aggregates(org, runtime.center, body, NOW_MS)
    used = {m["qualifier"] for r in response["results"] for d in r["data"] for m in d["metrics"]}
    lunch = org.secondary_definition("Lunch").id
    assert lunch in used
    assert lunch in response["systemToOrganizationMappings"]["MEAL"]
    assert used <= {p.id for p in org.presences}


def test_range_bound_views_count_the_target_within_range(runtime: Runtime) -> None:
    org, center = runtime.org, runtime.center
    body = {
        "interval": DAY,
        "granularity": "PT1H",
        "groupBy": ["queueId"],
        "metrics": ["tAnswered"],
        "views": [
            {
                "target": "tAnswered",
                "name": "slAnswered20000",
                "function": "rangeBound",
                "range": {"lt": 20001},
            },
            {
                "target": "tAbandon",
                "name": "abandonLong",
                "function": "rangeBound",
                "range": {"gte": 30000},
            },
        ],
    }
    results = conversation_aggregates(org, center, body)["results"]
    legs = center.legs
    quick = sum(
        1
        for i in range(len(legs))
        if legs.outcome[i] == ANSWERED
        and DAY_START <= legs.answer[i] < DAY_END
        and legs.answer[i] - legs.enter[i] < 20001
    )
    seen = Counter[str]()
    for result in results:
        for data in result["data"]:
            answered = {m["metric"]: m["stats"]["count"] for m in data["metrics"]}
            for view in data.get("views", []):
                assert set(view) == {"name", "stats"} and set(view["stats"]) == {"count"}
                seen[view["name"]] += view["stats"]["count"]
                if view["name"] == "slAnswered20000":
                    assert view["stats"]["count"] <= answered["tAnswered"]
    assert seen["slAnswered20000"] == quick > 0
    assert seen["abandonLong"] > 0
    too_many = {**body, "views": body["views"] * 6}
    with pytest.raises(QueryError):
        conversation_aggregates(org, center, too_many)


def test_outbound_campaign_traffic(runtime: Runtime) -> None:
    org, center = runtime.org, runtime.center
    body = {
        "interval": DAY,
        "groupBy": ["outboundCampaignId", "originatingDirection"],
        "metrics": ["nOutboundAttempted", "nOutboundConnected", "nOutbound", "tDialing", "tHandle"],
        "filter": {
            "type": "and",
            "predicates": [{"dimension": "originatingDirection", "value": "outbound"}],
        },
    }
    results = conversation_aggregates(org, center, body)["results"]
    voice = {c.id for c in org.campaigns if c.kind == "voice"}
    assert results and {r["group"]["outboundCampaignId"] for r in results} <= voice
    for result in results:
        assert result["group"]["originatingDirection"] == "outbound"
        stats = {m["metric"]: m["stats"] for d in result["data"] for m in d["metrics"]}
        assert (
            stats["nOutboundAttempted"]["count"]
            >= stats["nOutboundConnected"]["count"]
            >= stats["nOutbound"]["count"]
            > 0
        )


@pytest.mark.parametrize(("start_h", "end_h"), [(10, 11), (0, 24), (23, 39)])
def test_state_segments_match_a_naive_reading_of_the_log(
    runtime: Runtime, start_h: int, end_h: int
) -> None:
    from wfmcli.sim.analytics import state_segments

    log = runtime.center.states
    start, end = DAY_START + start_h * 3_600_000, DAY_START + end_h * 3_600_000
    rows: dict[int, list[tuple[int, int]]] = {}
    for row in range(len(log)):
        rows.setdefault(log.user[row], []).append((log.t[row], log.rs[row]))
    expected = []
    for user in (3, 17, 42):
        changes = rows[user]
        for i, (t, rs) in enumerate(changes):
            stop = changes[i + 1][0] if i + 1 < len(changes) else NOW_MS
            if stop > start and t < end:
                expected.append((user, t, stop, rs))
    seg = state_segments(runtime.center, start, end, NOW_MS, [3, 17, 42])
    got = list(
        zip(seg.user.tolist(), seg.start.tolist(), seg.end.tolist(), seg.rs.tolist(), strict=True)
    )
    assert [g for g in got if g[2] > start] == expected


def test_queue_observations_match_the_current_state(runtime: Runtime) -> None:
    from wfmcli.sim.observations import queue_observations

    org, center = runtime.org, runtime.center
    body = {
        "filter": {
            "type": "or",
            "predicates": [{"dimension": "queueId", "value": q.id} for q in org.queues],
        },
        "metrics": [
            "oWaiting",
            "oInteracting",
            "oAlerting",
            "oMemberUsers",
            "oActiveUsers",
            "oOnQueueUsers",
            "oOffQueueUsers",
            "oUserPresences",
        ],
    }
    results = queue_observations(org, center, body)["results"]
    by_queue: dict[str, dict[str, int]] = {}
    for result in results:
        counts = by_queue.setdefault(result["group"]["queueId"], Counter())
        for entry in result["data"]:
            counts[entry["metric"]] += entry["stats"]["count"]
    for queue in org.queues:
        counts = by_queue[queue.id]
        assert counts["oMemberUsers"] == len(queue.member_indexes) == counts["oUserPresences"]
        assert counts["oActiveUsers"] == counts["oOnQueueUsers"] + counts["oOffQueueUsers"]
        assert counts["oWaiting"] == center.waiting(queue.index)
    busy_agents = sum(1 for state in center.states.now if state.routing_status == RS["INTERACTING"])
    handling = sum(c["oInteracting"] + c["oAlerting"] for c in by_queue.values())
    assert handling == busy_agents > 0
    with pytest.raises(QueryError):
        queue_observations(
            org,
            center,
            {"filter": {"predicates": [{"dimension": "userId", "value": org.users[0].id}]}},
        )


def test_an_answer_after_the_twin_moved_on_counts_the_new_contacts() -> None:
    # The leg columns are kept between queries while nothing happens; a step of the engine
    # must show in the next answer, exactly as a twin that keeps nothing would give it.
    from wfmcli.sim import analytics

    rt = Runtime(build_org(seed=5, agents=30, queues=3), now_ms=NOW_MS, days=1, live=False)
    window = {"interval": f"{iso(NOW_MS - 3_600_000)}/{iso(NOW_MS + 3_600_000)}",
              "groupBy": ["queueId"], "metrics": ["nOffered", "tAnswered"]}
    before = _metric(conversation_aggregates(rt.org, rt.center, window)["results"], "nOffered")
    assert rt.center.run_until(NOW_MS + 1_800_000) > 0
    after = conversation_aggregates(rt.org, rt.center, window)
    analytics._LEGS.clear()
    assert after == conversation_aggregates(rt.org, rt.center, window)
    grown = _metric(after["results"], "nOffered")
    assert sum(s["count"] for s in grown.values()) > sum(s["count"] for s in before.values())

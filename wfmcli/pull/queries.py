"""Request bodies for the pull: one query per span per batch, grouped instead of per entity.

Every aggregate query asks with the destination's zone as `timeZone`, so Genesys cuts buckets at
local boundaries. Ranges are split at local midnights into day windows (the cache's day
partitions); consecutive windows that together last at most `MAX_QUERY_SPAN` are asked as one
span (a scheduled run just after midnight re-checks yesterday's last hours with today's first
ones), and the answers are split back into the windows by bucket. Each query stays far inside
Genesys' interval limits (31 days for user details with user filters).

Service level: queues are grouped by SL threshold and each query carries `rangeBound` views on
`tAnswered` and `tAbandon` (at most five thresholds, ten views, per query). The views give the
WFM files the raw counts they need ("answered within 20 s"); `oServiceLevel` would give a ratio
whose numerator and denominator depend on org-wide SL options (flow-outs, short abandons) and
cannot be split back into answered-in-SL and abandoned-in-SL counts.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from wfmcli.pull.directory import QueueInfo
from wfmcli.timegrid import local_midnight

USER_BATCH = 100  # Genesys' limit of userId predicates per user-aggregate query
QUEUE_BATCH = 100
THRESHOLDS_PER_QUERY = 5  # two views each, Genesys allows ten views per query
DETAILS_PAGE_SIZE = 100
# The grouped agent x queue answer grows with agents x hours; one query holds at most this many
# agent-hours (a full day of 800 agents, 11 hours of 1,800, one hour of 20,000), so its answer
# stays some tens of MB while a scheduled run (a few hours) still asks once.
AGENT_HOURS_PER_QUERY = 20_000
# Day windows asked as one query: enough for a run's re-send window across midnight, while a
# pull of whole days still asks day by day (answers, and the memory they take, stay per day).
MAX_QUERY_SPAN = timedelta(hours=24)

QUEUE_METRICS = (
    "nOffered",
    "tAnswered",
    "tAbandon",
    "tShortAbandon",
    "tFlowOut",
    "nTransferred",
    "tTalk",
    "tHeld",
    "tAcw",
    "tHandle",
)
AGENT_METRICS = ("tAnswered", "nTransferred", "tTalk", "tHeld", "tAcw", "tHandle")
USER_METRICS = ("tAgentRoutingStatus", "tSystemPresence", "tOrganizationPresence")
QUEUE_GROUP_BY = ("queueId", "mediaType", "originatingDirection", "outboundCampaignId")
AGENT_GROUP_BY = ("userId", "queueId", "mediaType", "originatingDirection")


@dataclass(frozen=True)
class Window:
    """The part of one local day a query covers: half-open [start, end), tz-aware."""

    day: date
    start: datetime
    end: datetime
    zone: ZoneInfo

    @property
    def interval(self) -> str:
        """ISO-8601 `start/end` in local time with offsets, as Genesys takes it."""
        local_start = self.start.astimezone(self.zone).isoformat()
        local_end = self.end.astimezone(self.zone).isoformat()
        return f"{local_start}/{local_end}"


def day_windows(start: datetime, end: datetime, zone: ZoneInfo) -> list[Window]:
    """[start, end) cut at the zone's local midnights."""
    windows: list[Window] = []
    day = start.astimezone(zone).date()
    while True:
        day_start = local_midnight(day, zone).to_pydatetime()
        day_end = local_midnight(day + timedelta(days=1), zone).to_pydatetime()
        lo, hi = max(start, day_start), min(end, day_end)
        if lo >= end:
            return windows
        if lo < hi:
            windows.append(Window(day, lo, hi, zone))
        day += timedelta(days=1)


def query_spans(windows: Sequence[Window], minutes: int) -> list[list[Window]]:
    """Consecutive day windows grouped into the spans one query each asks for: together at most
    MAX_QUERY_SPAN long, each next window starting where the one before ended, a whole number
    of intervals after the span's start (Genesys steps buckets from the interval's start, so
    they then fall on each day's own grid)."""
    spans: list[list[Window]] = []
    for window in windows:
        span = spans[-1] if spans else None
        if (
            span is not None
            and span[-1].end == window.start
            and window.end - span[0].start <= MAX_QUERY_SPAN
            and (window.start - span[0].start) % timedelta(minutes=minutes) == timedelta(0)
        ):
            span.append(window)
        else:
            spans.append([window])
    return spans


def span_window(windows: Sequence[Window]) -> Window:
    """One window over consecutive day windows (named by the first day)."""
    return Window(windows[0].day, windows[0].start, windows[-1].end, windows[0].zone)


def granularity(minutes: int) -> str:
    return f"PT{minutes}M"


def chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for index in range(0, len(items), size):
        yield list(items[index : index + size])


def _any_of(dimension: str, values: Sequence[str]) -> dict[str, Any]:
    return {
        "type": "or",
        "predicates": [
            {"type": "dimension", "dimension": dimension, "operator": "matches", "value": value}
            for value in values
        ],
    }


def _aggregate(window: Window, minutes: int) -> dict[str, Any]:
    return {
        "interval": window.interval,
        "granularity": granularity(minutes),
        "timeZone": window.zone.key,
    }


def answered_view(threshold_ms: int) -> str:
    return f"slAnswered{threshold_ms}"


def abandon_view(threshold_ms: int) -> str:
    return f"slAbandon{threshold_ms}"


def _views(thresholds: Sequence[int]) -> list[dict[str, Any]]:
    # "Within the threshold" includes the threshold itself; ranges are [gte, lt) in whole ms.
    views = []
    for threshold in thresholds:
        bound = {"lt": threshold + 1}
        views.append(
            {
                "target": "tAnswered",
                "name": answered_view(threshold),
                "function": "rangeBound",
                "range": bound,
            }
        )
        views.append(
            {
                "target": "tAbandon",
                "name": abandon_view(threshold),
                "function": "rangeBound",
                "range": bound,
            }
        )
    return views


@dataclass(frozen=True)
class QueueQuery:
    """One queue-aggregate query: which queues, which SL thresholds as views, and the queues
    whose plain metrics this query supplies (a queue whose media span two threshold sets is
    asked twice; only its owning query counts its metrics)."""

    queue_ids: tuple[str, ...]
    thresholds: tuple[int, ...]
    owned: frozenset[str]

    def body(self, window: Window, minutes: int) -> dict[str, Any]:
        return {
            **_aggregate(window, minutes),
            "groupBy": list(QUEUE_GROUP_BY),
            "filter": _any_of("queueId", self.queue_ids),
            "metrics": list(QUEUE_METRICS),
            "views": _views(self.thresholds),
        }


def queue_queries(queues: Sequence[QueueInfo]) -> list[QueueQuery]:
    """Queues grouped by SL threshold: as few queries as the view and filter limits allow."""
    thresholds = sorted({threshold for q in queues for threshold, _ in q.service_levels.values()})
    sets = [
        tuple(thresholds[i : i + THRESHOLDS_PER_QUERY])
        for i in range(0, len(thresholds), THRESHOLDS_PER_QUERY)
    ]
    owner: dict[str, int] = {}
    queries: list[QueueQuery] = []
    for set_index, threshold_set in enumerate(sets):
        members = [
            q.id for q in queues if any(t in threshold_set for t, _ in q.service_levels.values())
        ]
        for queue_id in members:
            owner.setdefault(queue_id, set_index)
        for batch in chunks(members, QUEUE_BATCH):
            owned = frozenset(q for q in batch if owner[q] == set_index)
            queries.append(QueueQuery(tuple(batch), threshold_set, owned))
    return queries


def agent_block_minutes(minutes: int, agents: int) -> int:
    """The length of one grouped agent x queue query: whole intervals, at least one."""
    hours = AGENT_HOURS_PER_QUERY / max(agents, 1)
    return max(minutes, int(hours * 60) // minutes * minutes)


def agent_blocks(window: Window, minutes: int, agents: int) -> list[Window]:
    """`window` cut into consecutive blocks of whole intervals, each of at most
    AGENT_HOURS_PER_QUERY / agents hours (one interval at least): one grouped query each."""
    step = timedelta(minutes=agent_block_minutes(minutes, agents))
    blocks: list[Window] = []
    start = window.start
    while start < window.end:
        end = min(start + step, window.end)
        blocks.append(Window(window.day, start, end, window.zone))
        start = end
    return blocks


def agent_conversation_body(
    window: Window, minutes: int, user_ids: Sequence[str] | None = None
) -> dict[str, Any]:
    """Agent x queue work. The pull asks once per block for every user (no user predicates),
    as Genesys' own Verint exporter does: grouping by userId already splits the answer per
    agent, so per-100-user batches would only repeat the query. The answer then also holds
    users outside the directory (unlicensed, other divisions); the assembler keeps only the
    directory's agents, exactly the set the batched queries named. `user_ids` restricts the
    query to named users (tests compare both plans)."""
    body = {
        **_aggregate(window, minutes),
        "groupBy": list(AGENT_GROUP_BY),
        "metrics": list(AGENT_METRICS),
    }
    if user_ids is not None:
        body["filter"] = _any_of("userId", user_ids)
    return body


def user_aggregate_body(window: Window, minutes: int, user_ids: Sequence[str]) -> dict[str, Any]:
    return {
        **_aggregate(window, minutes),
        "groupBy": ["userId"],
        "filter": _any_of("userId", user_ids),
        "metrics": list(USER_METRICS),
    }


def user_details_body(window: Window, user_ids: Sequence[str], page: int) -> dict[str, Any]:
    return {
        "interval": window.interval,
        "order": "asc",
        "userFilters": [_any_of("userId", user_ids)],
        "paging": {"pageSize": DETAILS_PAGE_SIZE, "pageNumber": page},
    }

"""Which periods a run must deliver: closed and never delivered, or recent enough to re-check.

A period is one interval or one local day, as the report's `per` says. It has closed when
`end + lag <= now`. Reports of agent data may wait for a longer block (`agent_every`, e.g. one
hour of quarter-hours at a time), because each pull of agent data costs a request per 100 agents
while queue data costs one per 100 queues. Periods older than `max_backfill` are left alone;
periods that ended within `resend` are re-rendered whenever the report has new periods to deliver,
and re-sent only if they changed.

A run pulls once per group of local days (`pull_groups`): a run just after midnight that
re-checks yesterday's last hours asks for them and today's first ones in one pull.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from wfmcli.pull.queries import MAX_QUERY_SPAN
from wfmcli.timegrid import day_grid, local_midnight

Per = Literal["interval", "day"]
AGENT_FRAMES = frozenset({"agent_interval", "agent_queue_interval", "agent_status"})


@dataclass(frozen=True)
class Report:
    name: str
    per: Per
    frame: str  # the canonical frame it reads


@dataclass(frozen=True, order=True)
class Period:
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive
    report: str


@dataclass(frozen=True)
class Timing:
    zone: ZoneInfo
    minutes: int
    lag: timedelta
    resend: timedelta
    max_backfill: timedelta
    agent_every: timedelta | None = None  # None: agent data as soon as each period closes


@dataclass(frozen=True)
class Plan:
    new: list[Period]  # closed, never delivered: oldest first
    recheck: list[Period]  # delivered, inside the re-send window

    @property
    def periods(self) -> list[Period]:
        return sorted([*self.new, *self.recheck])


def _local_days(start: datetime, end: datetime, zone: ZoneInfo) -> Iterator[date]:
    day = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date()
    while day <= last:
        yield day
        day += timedelta(days=1)


def closed_periods(report: Report, timing: Timing, now: datetime, since: datetime) -> list[Period]:
    """Every period of the report that starts at or after `since` and is ready by `now`."""
    block = timing.agent_every if report.frame in AGENT_FRAMES else None
    periods: list[Period] = []
    for day in _local_days(since, now, timing.zone):
        midnight = local_midnight(day, timing.zone).to_pydatetime()
        next_midnight = local_midnight(day + timedelta(days=1), timing.zone).to_pydatetime()
        if report.per == "day":
            starts, step = [midnight], next_midnight - midnight
        else:
            starts = [s.to_pydatetime() for s in day_grid(day, timing.zone, timing.minutes)]
            step = timedelta(minutes=timing.minutes)
        for start in starts:
            end = start + step
            ready = _block_end(end, midnight, next_midnight, block) if block else end
            if start >= since and ready + timing.lag <= now:
                periods.append(Period(start.astimezone(UTC), end.astimezone(UTC), report.name))
    return periods


def _block_end(
    end: datetime, midnight: datetime, next_midnight: datetime, block: timedelta
) -> datetime:
    """The end of the block (counted from local midnight) that holds a period ending at `end`."""
    blocks = -((midnight - end) // block)  # ceiling division of timedeltas
    return min(midnight + blocks * block, next_midnight)


def plan_run(
    reports: Iterable[Report],
    timing: Timing,
    now: datetime,
    delivered: set[tuple[str, str]],
) -> Plan:
    """delivered: (report, period start ISO) pairs already at the destination."""
    horizon = now - timing.max_backfill
    resend_from = now - timing.resend
    new: list[Period] = []
    recheck: list[Period] = []
    for report in reports:
        fresh, seen = [], []
        for period in closed_periods(report, timing, now, horizon):
            if (report.name, period.start.isoformat()) not in delivered:
                fresh.append(period)
            elif period.end > resend_from:
                seen.append(period)
        new += fresh
        # re-checks ride along with new deliveries, so slow (agent) reports cost no extra pulls
        recheck += seen if fresh else []
    return Plan(sorted(new), sorted(recheck))


def plan_range(
    reports: Iterable[Report], timing: Timing, start: datetime, end: datetime, now: datetime
) -> Plan:
    """Every closed period inside [start, end), for a deliberate re-delivery."""
    periods = [
        period
        for report in reports
        for period in closed_periods(report, timing, now, start)
        if period.end <= end
    ]
    return Plan(sorted(periods), [])


def by_local_day(periods: Iterable[Period], zone: ZoneInfo) -> list[list[Period]]:
    """The periods of each local day they start in, oldest day first."""
    days: dict[date, list[Period]] = {}
    for period in sorted(periods):
        days.setdefault(period.start.astimezone(zone).date(), []).append(period)
    return [days[day] for day in sorted(days)]


def pull_groups(
    periods: Iterable[Period], zone: ZoneInfo, frame_of: Mapping[str, str]
) -> list[list[list[Period]]]:
    """The local days of `periods` (each a list, as `by_local_day`), grouped into what one pull
    serves: consecutive days whose periods meet at midnight and read the same frames, together
    spanning at most the pull's MAX_QUERY_SPAN (so its queries ask them as one interval and the
    cache gets each day's part exactly as a pull of that day would write it). A catch-up of
    whole days still pulls day by day, saving progress as it goes."""
    groups: list[list[list[Period]]] = []
    for day in by_local_day(periods, zone):
        group = groups[-1] if groups else None
        if group is not None and _joins(group, day, frame_of):
            group.append(day)
        else:
            groups.append([day])
    return groups


def _joins(group: list[list[Period]], day: list[Period], frame_of: Mapping[str, str]) -> bool:
    previous = group[-1]
    start = min(p.start for p in group[0])
    return (
        max(p.end for p in previous) == min(p.start for p in day)
        and max(p.end for p in day) - start <= MAX_QUERY_SPAN
        and {frame_of[p.report] for p in previous} == {frame_of[p.report] for p in day}
    )

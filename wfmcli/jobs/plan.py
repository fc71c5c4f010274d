"""Which periods a run must deliver: closed and never delivered, or recent enough to re-check.

A period is one interval or one local day, as the report's `per` says. It has closed when
`end + lag <= now`. Reports of agent data may wait for a longer block (`agent_every`, e.g. one
hour of quarter-hours at a time), because each pull of agent data costs a request per 100 agents
while queue data costs one per 100 queues. Periods older than `max_backfill` are left alone;
periods that ended within `resend` are re-rendered whenever the report has new periods to deliver,
and re-sent only if they changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

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

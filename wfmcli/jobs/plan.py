"""Which periods a run must deliver: closed and never delivered, or recent enough to re-check.

A period is one interval or one local day, as the report's `per` says. It has closed when
`end + lag <= now`. Periods older than `max_backfill` are left alone; periods that ended within
`resend` are re-rendered every run and re-sent only if their content changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from reports.timegrid import day_grid, local_midnight

Per = Literal["interval", "day"]


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


@dataclass(frozen=True)
class Plan:
    new: list[Period]  # closed, never delivered: oldest first
    recheck: list[Period]  # delivered, inside the re-send window

    @property
    def periods(self) -> list[Period]:
        return sorted([*self.new, *self.recheck])

    def local_days(self, zone: ZoneInfo) -> list[date]:
        """The local days the plan touches, oldest first: the unit of one pull."""
        days = {p.start.astimezone(zone).date() for p in self.periods}
        return sorted(days)


def _local_days(start: datetime, end: datetime, zone: ZoneInfo) -> Iterator[date]:
    day = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date()
    while day <= last:
        yield day
        day += timedelta(days=1)


def closed_periods(
    report: str, per: Per, timing: Timing, now: datetime, since: datetime
) -> list[Period]:
    """Every period of the report that starts at or after `since` and has closed by `now`."""
    periods: list[Period] = []
    for day in _local_days(since, now, timing.zone):
        midnight = local_midnight(day, timing.zone).to_pydatetime()
        next_midnight = local_midnight(day + timedelta(days=1), timing.zone).to_pydatetime()
        if per == "day":
            starts, step = [midnight], next_midnight - midnight
        else:
            starts = [s.to_pydatetime() for s in day_grid(day, timing.zone, timing.minutes)]
            step = timedelta(minutes=timing.minutes)
        for start in starts:
            end = start + step
            if start >= since and end + timing.lag <= now:
                periods.append(Period(start.astimezone(UTC), end.astimezone(UTC), report))
    return periods


def plan_run(
    reports: Iterable[tuple[str, Per]],
    timing: Timing,
    now: datetime,
    delivered: set[tuple[str, str]],
) -> Plan:
    """delivered: (report, period start ISO) pairs already at the destination."""
    horizon = now - timing.max_backfill
    resend_from = now - timing.resend
    new: list[Period] = []
    recheck: list[Period] = []
    for report, per in reports:
        for period in closed_periods(report, per, timing, now, horizon):
            if (report, period.start.isoformat()) not in delivered:
                new.append(period)
            elif period.end > resend_from:
                recheck.append(period)
    return Plan(sorted(new), sorted(recheck))


def plan_range(
    reports: Iterable[tuple[str, Per]],
    timing: Timing,
    start: datetime,
    end: datetime,
    now: datetime,
) -> Plan:
    """Every closed period inside [start, end), for a deliberate re-delivery."""
    periods = [
        period
        for report, per in reports
        for period in closed_periods(report, per, timing, now, start)
        if period.end <= end
    ]
    return Plan(sorted(periods), [])

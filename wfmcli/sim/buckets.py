"""Analytics intervals and buckets: ISO-8601 `start/end`, `granularity` periods and `timeZone`.

Sub-day granularities step in absolute time from the interval start (so a fall-back day in
`PT30M` has 50 buckets and a spring-forward day 46); day, week and month granularities step in
local calendar units of `timeZone` (a local day may last 23 or 25 hours). The last bucket is cut
at the interval's end.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wfmcli.sim.wire import iso

_PERIOD = re.compile(
    r"^P(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)


class QueryError(Exception):
    """A query Genesys would refuse with 400; `code` is the platform error code."""

    def __init__(self, message: str, code: str = "bad.request") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Grid:
    start_ms: int
    end_ms: int
    edges: list[int]  # bucket boundaries, edges[0] = start, edges[-1] = end

    def labels(self) -> list[str]:
        return [f"{iso(a)}/{iso(b)}" for a, b in pairwise(self.edges)]


def parse_instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise QueryError(f"Invalid date [{text}]", "invalid.date") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def parse_interval(text: object) -> tuple[datetime, datetime]:
    if not isinstance(text, str) or text.count("/") != 1:
        raise QueryError("interval must be an ISO-8601 interval 'start/end'", "invalid.date")
    start_text, end_text = text.split("/")
    start, end = parse_instant(start_text), parse_instant(end_text)
    if end <= start:
        raise QueryError(f"interval end must be after its start: {text}", "invalid.date")
    return start, end


def zone(name: object) -> ZoneInfo:
    if name is None:
        return ZoneInfo("UTC")
    if not isinstance(name, str):
        raise QueryError("timeZone must be an IANA zone name")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise QueryError(f"Unknown timeZone [{name}]", "invalid.value") from None


def _ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def build_grid(interval: object, granularity: object, time_zone: object) -> Grid:
    start, end = parse_interval(interval)
    tz = zone(time_zone)
    start_ms, end_ms = _ms(start), _ms(end)
    if granularity is None:
        return Grid(start_ms, end_ms, [start_ms, end_ms])
    if not isinstance(granularity, str) or not (match := _PERIOD.match(granularity)):
        raise QueryError(f"Invalid granularity [{granularity}]", "invalid.value")
    parts = {k: int(v) for k, v in match.groupdict().items() if v}
    if not parts or not any(parts.values()):
        raise QueryError(f"Invalid granularity [{granularity}]", "invalid.value")
    clock = timedelta(
        hours=parts.get("hours", 0),
        minutes=parts.get("minutes", 0),
        seconds=parts.get("seconds", 0),
    )
    months = parts.get("months", 0)
    days = parts.get("days", 0) + 7 * parts.get("weeks", 0)
    if (months or days) and clock:
        raise QueryError(
            f"Granularity [{granularity}] mixes calendar and clock units", "invalid.value"
        )
    edges = [start_ms]
    if clock:
        step = int(clock.total_seconds() * 1000)
        if (end_ms - start_ms) // step > 20_000:
            raise QueryError("Too many buckets for this interval and granularity")
        edges.extend(range(start_ms + step, end_ms, step))
    else:
        local = start.astimezone(tz)
        count = 1
        while True:
            nxt = _add_local(local, months * count, days * count, tz)
            if _ms(nxt) >= end_ms or count > 20_000:
                break
            edges.append(_ms(nxt))
            count += 1
    edges.append(end_ms)
    return Grid(start_ms, end_ms, edges)


def _add_local(local: datetime, months: int, days: int, tz: ZoneInfo) -> datetime:
    """Add calendar months and days in wall time, then resolve the wall time in `tz`."""
    month_index = local.month - 1 + months
    year, month = local.year + month_index // 12, month_index % 12 + 1
    day = min(local.day, _days_in_month(year, month))
    naive = local.replace(tzinfo=None, year=year, month=month, day=day) + timedelta(days=days)
    return naive.replace(tzinfo=tz).astimezone(UTC)


def _days_in_month(year: int, month: int) -> int:
    following = datetime(year + month // 12, month % 12 + 1, 1)
    return (following - timedelta(days=1)).day

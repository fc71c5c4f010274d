"""Interval grids in a destination's zone: local-midnight aligned, half-open, DST-correct.

Each local day is cut from its own midnight to the next in steps of real (UTC) time, so a
spring-forward day has 92 quarter-hours, a fall-back day 100 (the repeated hour appears twice, with
two different UTC starts) and 30/45-minute offset zones land on their own boundaries.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pandas as pd

from wfmcli.errors import UsageError


def local_midnight(day: date, zone: ZoneInfo) -> pd.Timestamp:
    return pd.Timestamp(datetime.combine(day, time(0), tzinfo=zone)).tz_convert("UTC")


def day_grid(day: date, zone: ZoneInfo, minutes: int) -> pd.DatetimeIndex:
    """The UTC starts of every interval of one local day."""
    start = local_midnight(day, zone)
    end = local_midnight(day + timedelta(days=1), zone)
    if (end - start) % pd.Timedelta(minutes=minutes):
        # e.g. Lord Howe's 23.5-hour day at 60 minutes: the last interval would overlap the next day
        raise UsageError(
            f"{day} in {zone.key} is {(end - start) / pd.Timedelta(hours=1):g} hours long, "
            f"which {minutes}-minute intervals cannot tile",
            hint="use 15- or 30-minute intervals for this zone",
        )
    return pd.date_range(start, end, freq=f"{minutes}min", inclusive="left", unit="ns")


def grid(start: datetime, end: datetime, zone: ZoneInfo, minutes: int) -> pd.DatetimeIndex:
    """Interval starts (UTC) of every interval in [start, end); start must be on the grid."""
    if start.tzinfo is None or end.tzinfo is None:
        raise UsageError("start and end must carry a time zone")
    if end <= start:
        raise UsageError(f"the end {end.isoformat()} is not after the start {start.isoformat()}")
    first = pd.Timestamp(start).tz_convert("UTC")
    last = pd.Timestamp(end).tz_convert("UTC")
    day = first.tz_convert(zone).date()
    final_day = last.tz_convert(zone).date()
    parts = []
    while day <= final_day:
        parts.append(day_grid(day, zone, minutes))
        day += timedelta(days=1)
    starts = parts[0].append(parts[1:]) if len(parts) > 1 else parts[0]
    if first not in starts:
        raise UsageError(
            f"start {start.isoformat()} is not on the {minutes}-minute grid of {zone.key}",
            hint="start at a local interval boundary, e.g. local midnight",
        )
    return starts[(starts >= first) & (starts < last)]


def parse_local(text: str, zone: ZoneInfo) -> datetime:
    """'2026-03-29', '2026-03-29T06:00' (local) or an ISO time with an offset."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(
            f"cannot read the time {text!r}", hint="use YYYY-MM-DD or YYYY-MM-DDTHH:MM"
        ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed

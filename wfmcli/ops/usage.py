"""Named and concurrent licence usage from user status timelines: pure functions, no I/O.

The rule, as Genesys bills a concurrent licence:

* A user is **logged in** while their primary presence is anything but OFFLINE.
* The **concurrency** at an instant is the number of distinct licensed users logged in then
  (overlapping records of one user count once).
* The **concurrent peak** is the highest count that held without a break for at least
  30 minutes: the largest N such that, for some t, at least N users were logged in during all of
  [t, t + 30 min). A spike above N shorter than 30 minutes does not count (29:59 does not,
  30:00 does).
* Durations are real elapsed time, so a peak across a DST change is measured in UTC; a day is a
  local calendar day (23 or 25 hours on DST days).
* A 30-minute window belongs to the local day it starts in, so a peak from 23:45 to 00:15
  counts once, on the first day. The period's peak is the largest daily peak.
* **Named usage** is the number of distinct licensed users logged in at any time in the period.

Times are epoch milliseconds, as Genesys' analytics carry them.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

PEAK_MINIMUM = timedelta(minutes=30)
Span = tuple[int, int]  # [start_ms, end_ms)


@dataclass(frozen=True)
class Step:
    """`level` users logged in from `start_ms` until the next step."""

    start_ms: int
    level: int


@dataclass(frozen=True)
class DailyPeak:
    day: date
    peak: int  # sustained at least PEAK_MINIMUM, window starting this day
    peak_from: datetime | None  # start of the first window reaching it
    instantaneous: int  # the highest count at any instant of the day, however brief
    users: int  # distinct users logged in during the day


@dataclass(frozen=True)
class UsageFigures:
    start: datetime
    end: datetime
    timezone: str
    licensed_users: int
    named_users: int
    concurrent_peak: int
    concurrent_peak_from: datetime | None
    instantaneous_peak: int
    days: list[DailyPeak]


def merge_spans(spans: Iterable[Span]) -> list[Span]:
    """One user's spans as disjoint, sorted spans; touching spans join."""
    merged: list[Span] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def concurrency(timelines: Mapping[str, Iterable[Span]]) -> list[Step]:
    """The step function of how many users are logged in; level 0 after the last step."""
    deltas: dict[int, int] = {}
    for spans in timelines.values():
        for start, end in merge_spans(spans):
            deltas[start] = deltas.get(start, 0) + 1
            deltas[end] = deltas.get(end, 0) - 1
    steps: list[Step] = []
    level = 0
    for at in sorted(deltas):
        if deltas[at] == 0:
            continue
        level += deltas[at]
        steps.append(Step(at, level))
    return steps


def sustained_levels(
    steps: Sequence[Step], starts: Sequence[int], minimum_ms: int, data_end_ms: int
) -> list[int | None]:
    """For each window start t (ascending), the lowest level during [t, t + minimum).

    None where the window runs past `data_end_ms`: the data cannot say whether it was held.
    A sliding-window minimum over the steps: both window ends only move forward.
    """
    result: list[int | None] = []
    window: deque[int] = deque()  # step indexes with increasing levels
    left = right = -1  # last step starting at or before t; last step starting before t + min
    for t in starts:
        if t + minimum_ms > data_end_ms:
            result.append(None)
            continue
        while right + 1 < len(steps) and steps[right + 1].start_ms < t + minimum_ms:
            right += 1
            while window and steps[window[-1]].level >= steps[right].level:
                window.pop()
            window.append(right)
        while left + 1 < len(steps) and steps[left + 1].start_ms <= t:
            left += 1
        while window and window[0] < left:
            window.popleft()
        result.append(_window_min(steps, window, left))
    return result


def _window_min(steps: Sequence[Step], window: deque[int], left: int) -> int:
    if left < 0:  # the window starts before the first step: level 0 at its start
        return 0
    return steps[window[0]].level if window else steps[left].level


def local_days(start: datetime, end: datetime, zone: ZoneInfo) -> list[tuple[date, int, int]]:
    """(day, start ms, end ms) of each local day overlapping [start, end), clipped to it."""
    days: list[tuple[date, int, int]] = []
    day = start.astimezone(zone).date()
    while True:
        lo = datetime(day.year, day.month, day.day, tzinfo=zone)
        following = day + timedelta(days=1)
        hi = datetime(following.year, following.month, following.day, tzinfo=zone)
        lo_ms, hi_ms = max(_ms(lo), _ms(start)), min(_ms(hi), _ms(end))
        if lo_ms >= _ms(end):
            return days
        if lo_ms < hi_ms:
            days.append((day, lo_ms, hi_ms))
        day = following


def usage_figures(
    timelines: Mapping[str, Iterable[Span]],
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    *,
    licensed_users: int,
    data_end: datetime | None = None,
    minimum: timedelta = PEAK_MINIMUM,
) -> UsageFigures:
    """Named usage, the concurrent peak and daily peaks for [start, end) in `zone`.

    `timelines`: logged-in spans per licensed user (only licensed users belong here).
    `data_end`: how far the timelines are known (default `end`); a window starting near the end
    of the period may use data up to there.
    """
    merged = {user: merge_spans(spans) for user, spans in timelines.items()}
    steps = concurrency(merged)
    minimum_ms = int(minimum.total_seconds() * 1000)
    bounds = local_days(start, end, zone)
    # The best window starts where a step starts, or at a day's own start.
    starts = sorted(
        {lo for _, lo, _ in bounds}
        | {s.start_ms for s in steps if _ms(start) <= s.start_ms < _ms(end)}
    )
    sustained = sustained_levels(steps, starts, minimum_ms, _ms(data_end or end))
    at_start = _levels_at(steps, starts)
    days: list[DailyPeak] = []
    for day, lo, hi in bounds:
        first, last = bisect_left(starts, lo), bisect_left(starts, hi)
        candidates = list(zip(starts[first:last], sustained[first:last], strict=True))
        peak, peak_at = max(
            ((level, -t) for t, level in candidates if level is not None), default=(0, 0)
        )
        users = sum(1 for spans in merged.values() if any(a < hi and b > lo for a, b in spans))
        days.append(
            DailyPeak(
                day=day,
                peak=peak,
                peak_from=_local(-peak_at, zone) if peak else None,
                instantaneous=max(at_start[first:last], default=0),
                users=users,
            )
        )
    best = max(days, key=lambda d: d.peak, default=None)
    s, e = _ms(start), _ms(end)
    named = sum(1 for spans in merged.values() if any(a < e and b > s for a, b in spans))
    return UsageFigures(
        start=start,
        end=end,
        timezone=zone.key,
        licensed_users=licensed_users,
        named_users=named,
        concurrent_peak=best.peak if best else 0,
        concurrent_peak_from=best.peak_from if best and best.peak else None,
        instantaneous_peak=max((d.instantaneous for d in days), default=0),
        days=days,
    )


def _levels_at(steps: Sequence[Step], moments: Sequence[int]) -> list[int]:
    """The level at each moment (ascending)."""
    levels = []
    index, level = 0, 0
    for moment in moments:
        while index < len(steps) and steps[index].start_ms <= moment:
            level = steps[index].level
            index += 1
        levels.append(level)
    return levels


def _local(ms: int, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(zone)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)

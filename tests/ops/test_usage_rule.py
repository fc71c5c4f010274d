"""The 30-minute concurrency rule, with hand-made timelines at its edges."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from wfmcli.ops.usage import (
    Span,
    UsageFigures,
    concurrency,
    merge_spans,
    sustained_levels,
    usage_figures,
)

UTC_ZONE = ZoneInfo("UTC")
BERLIN = ZoneInfo("Europe/Berlin")
DAY = datetime(2026, 3, 10, tzinfo=UTC)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def at(hours: float, base: datetime = DAY) -> int:
    return ms(base + timedelta(hours=hours))


def base_with_spike(spike: timedelta) -> dict[str, list[Span]]:
    """Five users logged in 08:00-17:00; three more join at 10:00 for `spike`."""
    timelines = {f"u{i}": [(at(8), at(17))] for i in range(5)}
    start = DAY + timedelta(hours=10)
    for i in range(3):
        timelines[f"s{i}"] = [(ms(start), ms(start + spike))]
    return timelines


def figures(
    timelines: dict[str, list[Span]], zone: ZoneInfo = UTC_ZONE, days: int = 1
) -> UsageFigures:
    start = DAY.astimezone(zone).replace(hour=0, minute=0)
    return usage_figures(
        timelines, start, start + timedelta(days=days), zone, licensed_users=len(timelines)
    )


def test_a_peak_of_29_59_is_ignored() -> None:
    result = figures(base_with_spike(timedelta(minutes=29, seconds=59)))
    assert result.concurrent_peak == 5
    assert result.instantaneous_peak == 8
    assert result.named_users == 8


def test_a_peak_of_30_00_is_counted() -> None:
    result = figures(base_with_spike(timedelta(minutes=30)))
    assert result.concurrent_peak == 8
    assert result.concurrent_peak_from == DAY + timedelta(hours=10)


def test_overlapping_peaks_count_only_the_level_held_for_30_minutes() -> None:
    # 10:00-10:20 three more users, 10:10-10:45 two more: 5+3+2 = 10 for only 10 minutes,
    # 5+2 = 7 from 10:10 to 10:45 (35 min), 5+3 = 8 for 20 min.
    timelines = {f"u{i}": [(at(8), at(17))] for i in range(5)}
    for i in range(3):
        timelines[f"a{i}"] = [(at(10), at(10 + 20 / 60))]
    for i in range(2):
        timelines[f"b{i}"] = [(at(10 + 10 / 60), at(10.75))]
    result = figures(timelines)
    assert result.instantaneous_peak == 10
    assert result.concurrent_peak == 7
    assert result.concurrent_peak_from == DAY + timedelta(hours=10)  # 8, 10, then 7: min 7


def test_one_user_with_overlapping_records_counts_once() -> None:
    timelines = {"u": [(at(8), at(12)), (at(9), at(10)), (at(12), at(13))]}
    assert merge_spans(timelines["u"]) == [(at(8), at(13))]
    assert figures(timelines).concurrent_peak == 1


def test_a_staircase_takes_the_highest_step_held_30_minutes() -> None:
    # levels 1 (60 min), 2 (40 min), 3 (25 min), then back down: the staircase peaks at 2
    timelines = {
        "a": [(at(9), at(12))],
        "b": [(at(10), at(11 + 5 / 60))],
        "c": [(at(10 + 15 / 60), at(10 + 40 / 60))],
    }
    assert figures(timelines).concurrent_peak == 2


def test_a_peak_crossing_midnight_counts_on_the_day_it_starts() -> None:
    timelines = {f"u{i}": [(at(20), at(23 + 45 / 60))] for i in range(2)}
    for i in range(4):
        timelines[f"n{i}"] = [(at(23 + 45 / 60), at(24 + 15 / 60))]
    result = figures(timelines, days=2)
    assert result.concurrent_peak == 4
    first, second = result.days
    assert (first.peak, second.peak) == (4, 0)
    assert second.instantaneous == 4
    assert second.users == 4
    assert first.peak_from == DAY + timedelta(hours=23, minutes=45)


def test_a_peak_at_the_end_of_the_data_is_not_assumed_to_last() -> None:
    timelines = {"u": [(at(23 + 45 / 60), at(26))]}
    assert figures(timelines).concurrent_peak == 0
    end = DAY + timedelta(days=1)
    longer = usage_figures(
        timelines, DAY, end, UTC_ZONE, licensed_users=1, data_end=end + timedelta(minutes=30)
    )
    assert longer.concurrent_peak == 1


def test_spring_forward_peak_is_measured_in_real_minutes() -> None:
    # 2026-03-29, Berlin: 02:00 CET jumps to 03:00 CEST. 01:45 -> 03:15 local is 30 real minutes.
    day = datetime(2026, 3, 29, tzinfo=BERLIN)
    counted = {
        f"u{i}": [(ms(day.replace(hour=1, minute=45)), ms(day.replace(hour=3, minute=15)))]
        for i in range(3)
    }
    start, end = day, datetime(2026, 3, 30, tzinfo=BERLIN)
    assert (end - start) == timedelta(hours=24)  # wall clock; the real length is 23 h
    assert ms(end) - ms(start) == 23 * 3_600_000
    result = usage_figures(counted, start, end, BERLIN, licensed_users=3)
    assert result.concurrent_peak == 3
    assert [d.day for d in result.days] == [date(2026, 3, 29)]
    short = {
        f"u{i}": [(ms(day.replace(hour=1, minute=50)), ms(day.replace(hour=3, minute=15)))]
        for i in range(3)
    }  # 85 minutes on the clock face, 25 real minutes
    assert usage_figures(short, start, end, BERLIN, licensed_users=3).concurrent_peak == 0


def test_fall_back_day_has_25_hours_and_a_peak_across_the_repeated_hour() -> None:
    # 2026-10-25, Berlin: 03:00 CEST falls back to 02:00 CET. 02:40 CEST -> 02:10 CET = 30 min.
    first = datetime(2026, 10, 25, 0, 40, tzinfo=UTC)  # 02:40 CEST
    timelines = {f"u{i}": [(ms(first), ms(first + timedelta(minutes=30)))] for i in range(6)}
    start = datetime(2026, 10, 25, tzinfo=BERLIN)
    end = datetime(2026, 10, 27, tzinfo=BERLIN)
    result = usage_figures(timelines, start, end, BERLIN, licensed_users=6)
    assert result.concurrent_peak == 6
    assert [d.peak for d in result.days] == [6, 0]
    peak_from = result.days[0].peak_from
    assert peak_from is not None and peak_from.utcoffset() == timedelta(hours=2)
    assert (peak_from.hour, peak_from.minute) == (2, 40)
    one_short = {u: [(a, b - 1)] for u, [(a, b)] in timelines.items()}
    assert usage_figures(one_short, start, end, BERLIN, licensed_users=6).concurrent_peak == 0


def test_days_of_a_month_with_a_dst_change() -> None:
    start = datetime(2026, 3, 1, tzinfo=BERLIN)
    end = datetime(2026, 4, 1, tzinfo=BERLIN)
    result = usage_figures({}, start, end, BERLIN, licensed_users=0)
    assert len(result.days) == 31
    assert result.concurrent_peak == 0 and result.named_users == 0


def brute_force(timelines: dict[str, list[Span]], start: int, end: int, minute_ms: int) -> int:
    """Minute by minute: the highest level held for 30 consecutive minutes."""
    best = 0
    for t in range(start, end - 30 * minute_ms + 1, minute_ms):
        level = min(
            sum(1 for spans in timelines.values() if any(a <= m < b for a, b in merge_spans(spans)))
            for m in range(t, t + 30 * minute_ms, minute_ms)
        )
        best = max(best, level)
    return best


@pytest.mark.parametrize("seed", range(6))
def test_matches_a_brute_force_count_on_random_minute_timelines(seed: int) -> None:
    rng = random.Random(seed)
    minute = 60_000
    start, end = ms(DAY), ms(DAY) + 6 * 60 * minute
    timelines: dict[str, list[Span]] = {}
    for user in range(8):
        spans = []
        for _ in range(rng.randint(0, 3)):
            a = start + rng.randrange(0, 330) * minute
            spans.append((a, a + rng.randint(5, 90) * minute))
        timelines[f"u{user}"] = spans
    steps = concurrency(timelines)
    starts = list(range(start, end - 30 * minute + 1, minute))
    levels = sustained_levels(steps, starts, 30 * minute, end + 10**9)
    assert max(level or 0 for level in levels) == brute_force(timelines, start, end, minute)

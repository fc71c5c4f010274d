"""Run planning: closed periods only, nothing lost or doubled across DST and downtime."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from wfmcli.jobs.plan import Report, Timing, closed_periods, plan_run

NEW_YORK = ZoneInfo("America/New_York")
QUEUE = Report("q", "interval", "queue_interval")
AGENTS = Report("a", "interval", "agent_interval")
DAILY = Report("d", "day", "agent_interval")


def _timing(zone: ZoneInfo = NEW_YORK, minutes: int = 15, lag: int = 10) -> Timing:
    return Timing(zone, minutes, timedelta(minutes=lag), timedelta(hours=2), timedelta(days=3))


def test_only_closed_intervals_after_lag() -> None:
    now = datetime(2026, 6, 1, 14, 24, tzinfo=UTC)  # 10:24 in New York
    plan = plan_run([QUEUE], _timing(), now, set())
    assert plan.new[-1].end == datetime(2026, 6, 1, 14, 0, tzinfo=UTC)  # 10:15 closes at 10:25
    assert plan.new[0].start == datetime(2026, 5, 29, 14, 30, tzinfo=UTC)  # 3 days back
    assert plan.recheck == []


def test_delivered_periods_inside_resend_window_are_rechecked() -> None:
    now = datetime(2026, 6, 1, 14, 24, tzinfo=UTC)
    first = plan_run([QUEUE], _timing(), now, set())
    delivered = {("q", p.start.isoformat()) for p in first.new}
    later = now + timedelta(minutes=15)
    second = plan_run([QUEUE], _timing(), later, delivered)
    assert [p.start for p in second.new] == [datetime(2026, 6, 1, 14, 0, tzinfo=UTC)]
    assert len(second.recheck) == 6  # delivered, ending after 12:39 (2 h before 14:39)
    assert all(p.end > later - timedelta(hours=2) for p in second.recheck)


def test_day_files_wait_for_the_whole_local_day() -> None:
    now = datetime(2026, 6, 2, 4, 9, tzinfo=UTC)  # 00:09 in New York: day closed, lag not over
    assert closed_periods(DAILY, _timing(), now, now - timedelta(days=1)) == []
    later = now + timedelta(minutes=1)
    (period,) = closed_periods(DAILY, _timing(), later, later - timedelta(hours=25))
    assert period.start == datetime(2026, 6, 1, 4, tzinfo=UTC)
    assert period.end == datetime(2026, 6, 2, 4, tzinfo=UTC)


@given(
    zone=st.sampled_from(
        [
            "America/New_York",
            "Europe/Berlin",
            "Asia/Kolkata",
            "Asia/Kathmandu",
            "America/St_Johns",
        ]
    ),
    minutes=st.sampled_from([15, 30, 60]),
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 25)),
    hops=st.lists(st.integers(min_value=1, max_value=600), min_size=1, max_size=12),
)
@settings(max_examples=40, deadline=None)
def test_runs_at_any_times_deliver_every_interval_exactly_once(
    zone: str, minutes: int, start: datetime, hops: list[int]
) -> None:
    """Runs at arbitrary moments (across DST changes) cover the timeline with no gap or overlap."""
    timing = Timing(ZoneInfo(zone), minutes, timedelta(minutes=5), timedelta(0), timedelta(days=30))
    now = start.replace(tzinfo=UTC)
    delivered: set[tuple[str, str]] = set()
    first_now = now
    spans = []
    for hop in hops:
        now += timedelta(minutes=hop)
        plan = plan_run([QUEUE], timing, now, delivered)
        for period in plan.new:
            key = ("q", period.start.isoformat())
            assert key not in delivered
            delivered.add(key)
            spans.append((period.start, period.end))
    spans.sort()
    for (_, end), (next_start, _) in itertools.pairwise(spans):
        assert end == next_start  # contiguous, no overlap
    if spans:
        assert spans[-1][1] + timedelta(minutes=5) <= now
        assert spans[0][0] >= first_now - timedelta(days=30)


def test_agent_reports_wait_for_their_hourly_block() -> None:
    """Queue intervals go as each closes; agent intervals an hour at a time, after the hour."""
    timing = Timing(
        NEW_YORK, 15, timedelta(minutes=10), timedelta(0), timedelta(hours=3), timedelta(hours=1)
    )
    at = datetime(2026, 6, 1, 14, 54, tzinfo=UTC)  # 10:54 New York
    plan = plan_run([QUEUE, AGENTS], timing, at, set())
    queue_ends = [p.end for p in plan.new if p.report == "q"]
    agent_ends = [p.end for p in plan.new if p.report == "a"]
    assert max(queue_ends) == datetime(2026, 6, 1, 14, 30, tzinfo=UTC)  # 10:30 closed at 10:40
    assert max(agent_ends) == datetime(2026, 6, 1, 14, 0, tzinfo=UTC)  # the 09:00 hour
    later = plan_run([QUEUE, AGENTS], timing, at + timedelta(minutes=16), set())  # 11:10
    assert max(p.end for p in later.new if p.report == "a") == datetime(
        2026, 6, 1, 15, 0, tzinfo=UTC
    )

"""Properties of the pull's day windows and bucket grid (hypothesis)."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wfmcli.errors import RemoteError
from wfmcli.pull.assemble import BucketGrid
from wfmcli.pull.queries import Window, day_windows
from wfmcli.timegrid import day_grid, local_midnight

ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Adelaide",
    "America/St_Johns",
    "Europe/London",
]
days = st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31))


@settings(max_examples=150, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    first=days,
    length=st.integers(1, 40),
    minutes=st.sampled_from([15, 30, 60]),
)
def test_windows_tile_the_range(zone: str, first: date, length: int, minutes: int) -> None:
    tz = ZoneInfo(zone)
    start = local_midnight(first, tz).to_pydatetime()
    end = local_midnight(first + timedelta(days=length), tz).to_pydatetime()
    windows = day_windows(start, end, tz)
    assert len(windows) == length
    assert windows[0].start == start and windows[-1].end == end
    for before, after in itertools.pairwise(windows):
        assert before.end == after.start  # no gap, no overlap
        assert after.day == before.day + timedelta(days=1)
    for window in windows:
        starts = day_grid(window.day, tz, minutes)
        hours = (window.end - window.start).total_seconds() / 3600
        assert len(starts) == hours * 60 / minutes
        assert hours in (23, 23.5, 24, 24.5, 25)


@settings(max_examples=150, deadline=None)
@given(zone=st.sampled_from(ZONES), day=days)
def test_quarter_hours_per_local_day(zone: str, day: date) -> None:
    tz = ZoneInfo(zone)
    starts = day_grid(day, tz, 15)
    length = local_midnight(day + timedelta(days=1), tz) - local_midnight(day, tz)
    assert len(starts) == length / pd.Timedelta(minutes=15)
    assert len(starts) in (92, 94, 96, 98, 100)  # Adelaide/St John's shifts are whole hours too
    assert starts.is_monotonic_increasing and starts.is_unique
    assert (starts[1:] - starts[:-1] == pd.Timedelta(minutes=15)).all()


@settings(max_examples=100, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    day=days,
    minutes=st.sampled_from([15, 30, 60]),
    offset=st.integers(1, 14),
)
def test_buckets_off_the_grid_are_refused(zone: str, day: date, minutes: int, offset: int) -> None:
    tz = ZoneInfo(zone)
    start = local_midnight(day, tz).to_pydatetime()
    window = Window(day, start, local_midnight(day + timedelta(days=1), tz).to_pydatetime(), tz)
    buckets = BucketGrid(window, minutes)
    first = start.astimezone(ZoneInfo("UTC"))
    assert buckets.start(f"{first:%Y-%m-%dT%H:%M:%S}.000Z/x") == pd.Timestamp(first)
    skewed = first + timedelta(minutes=offset)
    with pytest.raises(RemoteError, match="off the"):
        buckets.start(f"{skewed:%Y-%m-%dT%H:%M:%S}.000Z/x")


def test_dst_days_have_their_real_length() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    spring = day_windows(
        datetime(2026, 3, 29, tzinfo=berlin), datetime(2026, 3, 31, tzinfo=berlin), berlin
    )
    assert [len(day_grid(w.day, berlin, 15)) for w in spring] == [92, 96]
    autumn = day_windows(
        datetime(2026, 10, 25, tzinfo=berlin), datetime(2026, 10, 26, tzinfo=berlin), berlin
    )
    assert len(day_grid(autumn[0].day, berlin, 15)) == 100
    assert autumn[0].interval == "2026-10-25T00:00:00+02:00/2026-10-26T00:00:00+01:00"

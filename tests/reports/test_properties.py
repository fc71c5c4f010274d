"""Property tests: interval grids in any zone (DST, 30/45-minute offsets) and format round trips."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wfmcli.profiles as builtin
from wfmcli import frames
from wfmcli.errors import UsageError
from wfmcli.reports.formats import from_text, to_text
from wfmcli.reports.profiles import load_profile
from wfmcli.reports.reader import read_fields, read_values
from wfmcli.reports.render import Destination, build_table, render_reports
from wfmcli.timegrid import day_grid, grid, local_midnight

ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "America/Chicago",
    "America/St_Johns",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Adelaide",
    "Pacific/Chatham",
    "Australia/Lord_Howe",
]
days = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))


@settings(max_examples=150, deadline=None)
@given(
    day=days,
    zone_name=st.sampled_from(ZONES),
    minutes=st.sampled_from([15, 30, 60]),
    length=st.integers(1, 3),
)
def test_grid_tiles_local_days_without_gap_or_overlap(
    day: date, zone_name: str, minutes: int, length: int
) -> None:
    zone = ZoneInfo(zone_name)
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    end_day = day + timedelta(days=length)
    end = datetime(end_day.year, end_day.month, end_day.day, tzinfo=zone)
    step = pd.Timedelta(minutes=minutes)
    try:
        starts = grid(start, end, zone, minutes)
    except UsageError as exc:
        assert "cannot tile" in exc.message and zone_name == "Australia/Lord_Howe" and minutes == 60
        return
    first, last = local_midnight(day, zone), local_midnight(end_day, zone)
    assert starts[0] == first
    assert starts[-1] + step == last
    assert (starts[1:] - starts[:-1] == step).all()
    assert len(starts) == (last - first) / step
    for offset in range(length):
        one = day + timedelta(days=offset)
        hours = (
            local_midnight(one + timedelta(days=1), zone) - local_midnight(one, zone)
        ) / pd.Timedelta(hours=1)
        assert hours in (23, 23.5, 24, 24.5, 25)
        assert len(day_grid(one, zone, minutes)) == hours * 60 / minutes
    local = starts.tz_convert(zone)
    assert ((local.hour * 60 + local.minute) % 15 == 0).all()


def test_known_dst_days_have_92_and_100_quarter_hours() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    assert len(day_grid(date(2026, 3, 29), berlin, 15)) == 92
    assert len(day_grid(date(2026, 10, 25), berlin, 15)) == 100
    fall = day_grid(date(2026, 10, 25), berlin, 15).tz_convert(berlin)
    assert list(fall.strftime("%H:%M")).count("02:00") == 2
    assert "02:00" not in set(
        day_grid(date(2026, 3, 29), berlin, 15).tz_convert(berlin).strftime("%H:%M")
    )
    kathmandu = day_grid(date(2026, 6, 1), ZoneInfo("Asia/Kathmandu"), 60)
    assert kathmandu[0].isoformat() == "2026-05-31T18:15:00+00:00" and len(kathmandu) == 24


@settings(max_examples=20, deadline=None)
@given(day=days, zone_name=st.sampled_from(ZONES[:8]))
def test_full_day_fill_writes_one_row_per_interval_and_queue(day: date, zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    starts = day_grid(day, zone, 15)
    queue = _queue_frame(
        starts[:1], [(0, "q1", "voice", 0), (0, "q2", "voice", 0)], [[1, 1, 0, 0, 0, 0, 0.0]] * 2
    )
    profile = PROFILES["calabrio"]
    table = build_table(profile.reports["queue"], queue, profile, Destination(zone_name), starts)
    assert len(table.index) == len(starts) * 2
    assert table.values["time"].nunique() <= len(starts)
    assert start.date() == starts[0].tz_convert(zone).date()


# ---------------------------------------------------------------- round trips

DAY = date(2026, 10, 25)
ZONE = "Europe/Berlin"
QUEUE_KEYS = [
    (slot, q, m) for slot in range(4) for q in ("q1", "q2") for m in ("voice", "chat", "email")
]


def _queue_frame(starts, keys, numbers) -> pd.DataFrame:
    rows = []
    for (slot, queue_id, media, *_), (
        answered,
        abandoned,
        flow_out,
        sl_part,
        short,
        ab_sl,
        seconds,
    ) in zip(keys, numbers, strict=True):
        rows.append(
            {
                "interval_start": starts[slot],
                "interval_minutes": 15,
                "queue_id": queue_id,
                "queue_name": f"Queue {queue_id}",
                "media": media,
                "direction": "inbound",
                "campaign_id": "",
                "offered": answered + abandoned + flow_out,
                "answered": answered,
                "abandoned": abandoned,
                "short_abandoned": min(short, abandoned),
                "answered_in_sl": min(sl_part, answered),
                "abandoned_in_sl": min(ab_sl, abandoned - min(short, abandoned)),
                "flow_out": flow_out,
                "transferred": 0,
                **{name: seconds * (i + 1) for i, name in enumerate(_SECONDS)},
                **dict.fromkeys(
                    ("talk_count", "hold_count", "acw_count", "handle_count"), answered
                ),
                "sl_threshold_s": 20.0,
                "sl_target": 0.8,
            }
        )
    return (
        frames.coerce("queue_interval", pd.DataFrame(rows))
        if rows
        else frames.empty_frame("queue_interval")
    )


_SECONDS = [
    "answer_wait_s",
    "answer_wait_max_s",
    "abandon_wait_s",
    "abandon_wait_max_s",
    "talk_s",
    "hold_s",
    "acw_s",
    "handle_s",
]

counts = st.integers(0, 400)
queue_numbers = st.tuples(
    counts,
    counts,
    st.integers(0, 20),
    counts,
    counts,
    counts,
    st.floats(0, 5e4, allow_nan=False).map(lambda x: round(x, 3)),
)
agent_numbers = st.lists(
    st.floats(0, 900, allow_nan=False).map(lambda x: round(x, 2)), min_size=4, max_size=4
)


def _agent_frame(starts, values) -> pd.DataFrame:
    rows = []
    for index, (logged, talk, acw, idle) in enumerate(values):
        rows.append(
            {
                "interval_start": starts[index % 4],
                "interval_minutes": 15,
                "user_id": f"u{index}",
                "agent_id": f"agent{index}@example.com",
                "agent_name": f"Agent {index}",
                **{
                    c.name: 0.0
                    for c in frames.FRAMES["agent_interval"].columns
                    if c.kind == "seconds"
                },
                "logged_in_s": logged,
                "talk_s": talk,
                "acw_s": acw,
                "idle_s": idle,
                "handled": index,
                "transferred": 0,
                "outbound_count": 0,
            }
        )
    return (
        frames.coerce("agent_interval", pd.DataFrame(rows))
        if rows
        else frames.empty_frame("agent_interval")
    )


PROFILES = {
    name: load_profile(name)
    for name in builtin.builtin_files()
    if name != "alvaria-via"  # the same reports as alvaria
}
REPORTS = sorted((name, report) for name, profile in PROFILES.items() for report in profile.reports)


NAMES = ["", "Lunch", "Coffee, short", 'Say "hi"', "Pause; kurz", "Öffnung|Ä"]
status_changes = st.lists(
    st.tuples(
        st.integers(0, 3599),
        st.sampled_from(["AVAILABLE", "ON_QUEUE", "BREAK", "OFFLINE"]),
        st.sampled_from(NAMES),
        st.sampled_from(["OFF_QUEUE", "IDLE", "INTERACTING", "NOT_RESPONDING"]),
    ),
    max_size=8,
    unique_by=lambda change: change[0],
)


def _status_frame(starts, changes) -> pd.DataFrame:
    rows = [
        {
            "user_id": "u-1",
            "agent_id": "agent,1@example.com",
            "agent_name": "Agent One",
            "start": starts[0] + pd.Timedelta(seconds=second, milliseconds=7),
            "end": pd.NaT,
            "system_presence": presence,
            "secondary_presence": secondary,
            "routing_status": routing,
        }
        for second, presence, secondary, routing in changes
    ]
    return (
        frames.coerce("agent_status", pd.DataFrame(rows))
        if rows
        else frames.empty_frame("agent_status")
    )


@pytest.mark.parametrize(("profile_name", "report_name"), REPORTS)
@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    keys=st.lists(st.sampled_from(QUEUE_KEYS), unique=True, max_size=8).flatmap(
        lambda ks: st.tuples(
            st.just(ks), st.lists(queue_numbers, min_size=len(ks), max_size=len(ks))
        )
    ),
    agents=st.lists(agent_numbers, max_size=6),
    changes=status_changes,
)
def test_rendered_files_read_back_the_same(
    profile_name: str, report_name: str, keys, agents, changes
) -> None:
    zone = ZoneInfo(ZONE)
    starts = day_grid(DAY, zone, 15)[8:12]  # 02:00-03:00 CEST then the repeated 02:00 CET
    data = {
        "queue_interval": _queue_frame(starts, keys[0], keys[1]),
        "agent_interval": _agent_frame(starts, agents),
        "agent_status": _status_frame(starts, changes),
    }
    profile = PROFILES[profile_name]
    report = profile.reports[report_name]
    destination = Destination(ZONE, reports=[report_name])
    table = build_table(
        report,
        data.get(report.frame, frames.empty_frame(report.frame)),
        profile,
        destination,
        starts,
    )
    with TemporaryDirectory() as folder:
        written = render_reports(
            data,
            profile,
            destination,
            starts[0].to_pydatetime(),
            (starts[-1] + pd.Timedelta(minutes=15)).to_pydatetime(),
            Path(folder),
        )
        contents = [f.path.read_bytes() for f in written]
    parsed = [row for data_bytes in contents for row in read_values(report, data_bytes)]
    fields = [row for data_bytes in contents for row in read_fields(report, data_bytes)]
    assert len(parsed) == len(table.index)
    for column in report.columns:
        value = table.values[column.name]
        if column.format == "text" or column.format.startswith("datetime"):
            want_text = to_text(value, column.format, table.index, report.null_text).to_pylist()
            got_text = [row[column.name] for row in fields]
            if report.layout == "fixed":
                got_text = [text.strip() for text in got_text]
            assert got_text == want_text, column.name
            continue
        expected = value if isinstance(value, pd.Series) else pd.Series(value, index=table.index)
        for position, row in enumerate(parsed):
            want = float(expected.iloc[position])
            assert row[column.name] == pytest.approx(_rounded(want, column.format), abs=1e-9), (
                column.name,
                want,
            )


def _rounded(value: float, fmt: str) -> float:
    kind, _, places = fmt.partition(":")
    if kind in ("int", "seconds", "mm", "hh"):
        return float(int(value + 0.5) if value >= 0 else -int(-value + 0.5))
    digits = int(places) if places else (0 if kind == "percent" else 2)
    scale = 100.0 if kind == "percent" else 1.0
    return round(value * scale + 1e-12, digits) / scale


def test_reader_parses_clock_and_percent_formats() -> None:
    assert from_text("61:05", "mm:ss") == 3665
    assert from_text("01:01:05", "hh:mm:ss") == 3665
    assert from_text("87.5", "percent:1") == pytest.approx(0.875)
    assert from_text("-0:05", "mm:ss") == -5


def _python_text(value: float, fmt: str) -> str:
    """The format in plain Python: ties round up (toward +infinity), in float arithmetic."""
    if fmt in ("int", "seconds"):
        return str(math.floor(value + 0.5))
    if fmt in ("mm:ss", "hh:mm:ss"):
        total = math.floor(value + 0.5)
        sign, total = ("-" if total < 0 else ""), abs(total)
        if fmt == "mm:ss":
            return f"{sign}{total // 60}:{total % 60:02d}"
        return f"{sign}{total // 3600:02d}:{total // 60 % 60:02d}:{total % 60:02d}"
    kind, _, places = fmt.partition(":")
    digits = int(places) if places else (0 if kind == "percent" else 2)
    scaled = value * (100.0 if kind == "percent" else 1.0)
    if digits == 0:
        return str(math.floor(scaled + 0.5))
    whole = math.floor(scaled * 10**digits + 0.5)
    sign, whole = ("-" if whole < 0 else ""), abs(whole)
    return f"{sign}{whole // 10**digits}.{whole % 10**digits:0{digits}d}"


FORMATS = ["int", "seconds", "mm:ss", "hh:mm:ss", "decimal:0", "decimal:1", "decimal:2"]
FORMATS += ["percent", "percent:1"]
numbers = st.one_of(
    st.integers(-400_000, 400_000).map(float),
    st.integers(-4_000_000, 4_000_000).map(lambda n: n / 8),  # halves and eighths: exact ties
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: round(x, 3)),
)


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(numbers, min_size=1, max_size=40),
    fmt=st.sampled_from(FORMATS),
    constant=st.booleans(),
)
def test_number_formats_match_plain_python(values: list[float], fmt: str, constant: bool) -> None:
    index = pd.RangeIndex(len(values))
    if constant:  # a profile constant: one value for every row
        values = [values[0]] * len(values)
        text = to_text(values[0], fmt, index).to_pylist()
    else:
        text = to_text(pd.Series(values), fmt, index).to_pylist()
    assert text == [_python_text(value, fmt) for value in values]


@settings(max_examples=60, deadline=None)
@given(
    stamps=st.lists(
        st.one_of(st.none(), st.integers(1_700_000_000_000, 1_800_000_000_000)),
        min_size=1,
        max_size=30,
    ),
    zone=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kathmandu"]),
    pattern=st.sampled_from(["%Y-%m-%d %H:%M:%S %Z", "%m/%d/%Y %I:%M %p", "%H:%M:%S.%f"]),
)
def test_datetime_format_matches_strftime_of_each_value(
    stamps: list[int | None], zone: str, pattern: str
) -> None:
    times = pd.Series(pd.to_datetime(stamps, unit="ms", utc=True)).dt.tz_convert(zone)
    text = to_text(times, f"datetime:{pattern}", pd.RangeIndex(len(times))).to_pylist()
    assert text == ["" if pd.isna(t) else t.strftime(pattern) for t in times]


@settings(max_examples=200, deadline=None)
@given(
    texts=st.lists(st.text(alphabet=st.sampled_from('ab,;"\r\né€ \t|')), max_size=12),
    cut=st.tuples(st.integers(0, 12), st.integers(0, 12)),
    chunks=st.integers(1, 3),
    specials=st.sampled_from([',"\r\n', ';"\r\n', '\t"\r\n', '|\'\r\n']),
)
def test_delimiter_byte_scan_agrees_with_python(
    texts: list[str], cut: tuple[int, int], chunks: int, specials: str
) -> None:
    """The layout's byte scan (which decides whether a text column needs quoting at all) sees
    exactly the strings in use: sliced arrays, chunked columns, multi-byte UTF-8."""
    import pyarrow as pa

    from wfmcli.reports.layout import _holds_any

    low, high = sorted(cut)
    whole = pa.array(texts, type=pa.large_string())
    sliced = whole.slice(low, max(0, high - low))
    used = texts[low:high]
    size = max(1, -(-len(used) // chunks))
    chunked = pa.chunked_array(
        [pa.array(used[i : i + size], type=pa.large_string()) for i in range(0, len(used), size)]
        or [pa.array([], type=pa.large_string())]
    )
    expected = any(c in s for s in used for c in specials)
    assert _holds_any(sliced, specials) == expected
    assert _holds_any(chunked, specials) == expected


@settings(max_examples=100, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["q1", "q2", "q3"]),
            st.sampled_from(["voice", "chat"]),
            st.sampled_from(["inbound", "outbound"]),
        ),
        max_size=40,
    )
)
def test_row_groups_number_rows_as_pandas_groups_them(rows: list[tuple[str, str, str]]) -> None:
    """Queue pairs are grouped by codes: the same groups, in first-seen order, as pandas'."""
    from wfmcli.reports.groups import row_groups

    frame = pd.DataFrame(rows, columns=["queue_id", "media", "direction"], dtype="str")
    columns = ["queue_id", "media", "direction"]
    number, first = row_groups([frame[name] for name in columns])
    expected = frame.groupby(columns, sort=False).ngroup().to_numpy()
    assert number.tolist() == expected.tolist()
    assert first.tolist() == [expected.tolist().index(g) for g in range(len(first))]

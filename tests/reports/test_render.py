"""The render engine: consistency rules, interval binning, names, layout limits, files."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from tests.reports.fixtures import day_frames
from wfmcli.errors import UsageError
from wfmcli.reports.checks import ConsistencyError
from wfmcli.reports.profiles import load_profile
from wfmcli.reports.reader import read_values
from wfmcli.reports.render import Destination, render_reports
from wfmcli.reports.spec import Profile

BERLIN = ZoneInfo("Europe/Berlin")
DAY = date(2026, 6, 15)
START = datetime(2026, 6, 15, tzinfo=BERLIN)
END = datetime(2026, 6, 16, tzinfo=BERLIN)


def calabrio_queue(carry_window: int | None = None) -> Profile:
    """Calabrio's queue report alone, in one file per day (its day checks read best so),
    optionally with a narrower carry-over window."""
    profile = load_profile("calabrio")
    report = profile.reports["queue"].model_copy(update={"per": "day"})
    if carry_window is not None:
        checks = [
            c.model_copy(update={"carry_window": carry_window}) if c.per == "day" else c
            for c in report.checks
        ]
        report = report.model_copy(update={"checks": checks})
    return profile.model_copy(update={"reports": {"queue": report}})


def frames_with(**changes: object) -> dict[str, pd.DataFrame]:
    frames = day_frames(DAY, "Europe/Berlin")
    queue = frames["queue_interval"]
    for column, value in changes.items():
        queue.loc[queue.index[1], column] = value
    return frames


def test_consistent_day_renders_without_warnings(tmp_path: Path) -> None:
    [written] = render_reports(
        frames_with(), calabrio_queue(), Destination("Europe/Berlin"), START, END, tmp_path
    )
    # one Calabrio queue per Genesys queue x media: the two queues carry four
    assert written.rows == 96 * 4 and written.warnings == ()
    rows = read_values(calabrio_queue().reports["queue"], written.path.read_bytes())
    assert (
        sum(r["offd_direct_call_cnt"] for r in rows) == written.totals["offd_direct_call_cnt"] == 26
    )


def test_sl_answered_above_answered_stops_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConsistencyError) as caught:
        render_reports(
            frames_with(answered_in_sl=40),
            calabrio_queue(),
            Destination("Europe/Berlin"),
            START,
            END,
            tmp_path,
        )
    message = caught.value.one_line()
    assert "answered within SL fails for Sales Voice at 2026-06-15 09:00 CEST" in message
    assert "ans_servicelevel_cnt=40" in message and "answ_call_cnt=6" in message
    assert list(tmp_path.iterdir()) == []


def test_midday_imbalance_is_a_fault_and_names_queue_day_and_numbers(tmp_path: Path) -> None:
    with pytest.raises(ConsistencyError) as caught:
        render_reports(
            frames_with(offered=30),
            calabrio_queue(carry_window=60),
            Destination("Europe/Berlin"),
            START,
            END,
            tmp_path,
        )
    # the queue field is Calabrio's numeric code: Sales Voice is 1 (codes follow first traffic)
    assert "flow balance: day 2026-06-15, queue 1:" in caught.value.message
    assert "off by +21" in caught.value.message


def test_contacts_crossing_midnight_are_warnings_not_faults(tmp_path: Path) -> None:
    frames = day_frames(DAY, "Europe/Berlin")
    queue = frames["queue_interval"]
    last = queue.index[-1]  # q-support voice in the day's last interval: offered 3
    queue.loc[last, "answered"] = 0
    queue.loc[last, "abandoned"] = 1  # two contacts still waiting at midnight
    queue.loc[last, ["short_abandoned", "abandoned_in_sl", "answered_in_sl"]] = 0
    first = queue.index[
        0
    ]  # q-sales voice at 00:00: offered 2, one answered contact came from before
    queue.loc[first, "answered"] = 3
    [written] = render_reports(
        frames, calabrio_queue(), Destination("Europe/Berlin"), START, END, tmp_path
    )
    assert len(written.warnings) == 2
    assert any(
        "queue 2:" in w and "off by +2" in w and "waiting across midnight" in w
        for w in written.warnings
    )
    assert any("queue 1:" in w and "off by -1" in w for w in written.warnings)
    assert written.path.exists()


def test_long_queue_waits_widen_the_day_edges(tmp_path: Path) -> None:
    """An email answered at 09:00 after waiting since yesterday is carry-over, not a fault."""
    frames = day_frames(DAY, "Europe/Berlin")
    queue = frames["queue_interval"]
    email = queue.index[queue["media"] == "email"][0]  # q-sales email at 09:30: offered 5
    queue.loc[email, "answered"] += 3
    queue.loc[email, "answer_wait_max_s"] = 11 * 3600.0
    narrow = calabrio_queue(carry_window=60)
    [written] = render_reports(frames, narrow, Destination("Europe/Berlin"), START, END, tmp_path)
    assert any("queue 4:" in w and "off by -3" in w for w in written.warnings)  # Sales Email
    queue.loc[email, "answer_wait_max_s"] = 3600.0  # an hour's wait cannot reach back to midnight
    with pytest.raises(ConsistencyError, match="off by -3"):
        render_reports(frames, narrow, Destination("Europe/Berlin"), START, END, tmp_path)


def test_thirty_minute_destination_sums_quarter_hours(tmp_path: Path) -> None:
    profile = load_profile("nice-iex")
    frames = day_frames(DAY, "Europe/Berlin")
    written = render_reports(
        frames, profile, Destination("Europe/Berlin", 30, reports=["queue"]), START, END, tmp_path
    )
    assert len(written) == 48
    by_name = {f.path.name: f for f in written}
    ten = read_values(profile.reports["queue"], by_name["061526.0900"].path.read_bytes())
    tags = {r["queue_tag"]: r["received"] for r in ten}
    # voice at 09:00 and chat at 09:15 fall in one half hour, each under its own contact type
    assert tags["Support, 2nd line Voice"] == 4 and tags["Support, 2nd line Chat"] == 3
    assert by_name["061526.0900"].intervals == 1


def test_agent_id_mapping_and_queue_names_override_frame_values(tmp_path: Path) -> None:
    profile = load_profile("calabrio")
    destination = Destination(
        "Europe/Berlin",
        reports=["agent_queue"],
        agent_ids={"u-1": "1001"},
        queue_names={"q-sales": "Verkauf"},
    )
    written = render_reports(
        day_frames(DAY, "Europe/Berlin"), profile, destination, START, END, tmp_path
    )
    text = "".join(f.path.read_text(encoding="utf-8") for f in written)
    # generated queue labels take the destination's queue names; codes follow first traffic
    assert ";1001;Ann Lee;1;Verkauf Voice;" in text
    assert ";bob@example.com;Bob Ng;2;Support, 2nd line Voice;" in text


def test_fixed_width_overflow_and_encoding_and_name_length_are_clear_errors(tmp_path: Path) -> None:
    verint = load_profile("verint")
    call = verint.reports["call_stats"]
    narrow = call.model_copy(
        update={
            "columns": [
                call.columns[0],
                call.columns[1].model_copy(update={"width": 3, "overflow": "error"}),
                *call.columns[2:],
            ]
        }
    )
    profile = verint.model_copy(update={"reports": {"call_stats": narrow}})
    with pytest.raises(UsageError, match="column queue: 'Sales Voice' is wider than 3 characters"):
        render_reports(
            day_frames(DAY, "Europe/Berlin"),
            profile,
            Destination("Europe/Berlin"),
            START,
            END,
            tmp_path,
        )

    calabrio = load_profile("calabrio")
    latin = calabrio.reports["agent"].model_copy(update={"encoding": "ascii"})
    profile = calabrio.model_copy(update={"reports": {"agent": latin}})
    with pytest.raises(UsageError, match="cannot be written in ascii"):
        render_reports(
            day_frames(DAY, "Europe/Berlin"),
            profile,
            Destination("Europe/Berlin"),
            START,
            END,
            tmp_path,
        )

    cxone = load_profile("nice-cxone")
    long_name = cxone.reports["history"].model_copy(
        update={"file_name": "History-{start:%Y%m%d%H%M}-extra-long.txt"}
    )
    profile = cxone.model_copy(update={"reports": {"history": long_name}})
    with pytest.raises(UsageError, match="longer than the vendor's 30 characters"):
        render_reports(
            day_frames(DAY, "Europe/Berlin"),
            profile,
            Destination("Europe/Berlin"),
            START,
            END,
            tmp_path,
        )


def test_delimited_text_with_the_delimiter_is_quoted(tmp_path: Path) -> None:
    profile = load_profile("alvaria")
    written = render_reports(
        day_frames(DAY, "Europe/Berlin"),
        profile,
        Destination("Europe/Berlin", reports=["contacts"]),
        START,
        END,
        tmp_path,
    )
    text = next(f for f in written if f.rows and "0900" in f.path.name).path.read_text(
        encoding="utf-8"
    )
    assert '"Support, 2nd line Voice","Support, 2nd line Voice",voice' in text


def test_range_must_start_on_the_grid_and_unknown_reports_are_named(tmp_path: Path) -> None:
    profile = load_profile("calabrio")
    with pytest.raises(UsageError, match="not on the 15-minute grid"):
        render_reports(
            {}, profile, Destination("Europe/Berlin"), START.replace(minute=7), END, tmp_path
        )
    with pytest.raises(UsageError, match="has no report 'nope'"):
        render_reports(
            {}, profile, Destination("Europe/Berlin", reports=["nope"]), START, END, tmp_path
        )


def test_missing_frames_render_empty_files(tmp_path: Path) -> None:
    kolkata = ZoneInfo("Asia/Kolkata")
    start, end = datetime(2026, 6, 15, tzinfo=kolkata), datetime(2026, 6, 16, tzinfo=kolkata)
    written = render_reports(
        {}, load_profile("calabrio"), Destination("Asia/Kolkata"), start, end, tmp_path
    )
    assert [f.rows for f in written] == [0] * 96 * 3  # intraday: a file per interval
    assert all(f.path.read_bytes() == b"" for f in written)
    assert written[0].start.isoformat() == "2026-06-15T00:00:00+05:30"


def test_frames_breaking_the_schema_are_refused(tmp_path: Path) -> None:
    frames = day_frames(DAY, "Europe/Berlin")
    frames["queue_interval"] = frames["queue_interval"].drop(columns=["offered"])
    with pytest.raises(UsageError, match="missing column"):
        render_reports(frames, calabrio_queue(), Destination("Europe/Berlin"), START, END, tmp_path)

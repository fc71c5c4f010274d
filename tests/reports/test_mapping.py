"""The queue mapping file: its rules, its errors (file, line, column), stable generated codes."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.reports.fixtures import day_frames
from wfmcli.errors import ConfigError
from wfmcli.reports.accounting import account, delivered_by_day
from wfmcli.reports.mapping import QueueMap, Seen, parse, render
from wfmcli.reports.profiles import load_profile
from wfmcli.reports.render import Destination, render_reports

Q1 = "6f1c1d1e-0000-4000-8000-000000000001"
Q2 = "6f1c1d1e-0000-4000-8000-000000000002"
HEADER = "queue_id,media,direction,campaign_id,key,code,name,action,queue_name,contacts\n"
CALABRIO = load_profile("calabrio").queue_key
NICE = load_profile("nice-cxone").queue_key


def _parse(text: str | bytes, spec=CALABRIO) -> QueueMap:  # type: ignore[no-untyped-def]
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    return parse(data, "queues.csv", spec, "split")


@pytest.mark.parametrize(
    ("body", "where", "what"),
    [
        ("not-a-queue,voice,inbound,,,12,Sales,,,\n", "queues.csv:2:1:", "not a Genesys queue id"),
        (f"{Q1},voice,inbound,,,12x,Sales,,,\n", "queues.csv:2:6:", "'12x' is not a number"),
        (f"{Q1},voice,inbound,,,1234567890,Sales,,,\n", "queues.csv:2:6:", "more than 9 digits"),
        (f"{Q1},voice,inbound,,,,Sales,,,\n", "queues.csv:2:6:", "is a number"),
        (f"{Q1},fax,inbound,,,1,Sales,,,\n", "queues.csv:2:2:", "'fax' is not a media type"),
        (
            f"{Q1},voice,inbound,,,7,Sales,,,\n{Q2},voice,inbound,,,7,Sales,,,\n",
            "queues.csv:3:5:",
            "duplicate key '7'",
        ),
        (
            f"{Q1},voice,inbound,,A,7,Sales,,,\n{Q2},voice,inbound,,B,7,Other,,,\n",
            "queues.csv:3:6:",
            "code 7 is already the code of key 'A'",
        ),
        (
            f"{Q1},voice,inbound,,,7,Sales,,,\n{Q1},voice,inbound,,,8,Sales,,,\n",
            "queues.csv:3:1:",
            "already mapped on line 2",
        ),
    ],
)
def test_a_bad_row_names_file_line_and_column(body: str, where: str, what: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _parse(HEADER + body)
    assert caught.value.message.startswith(where), caught.value.message
    assert what in caught.value.message


def test_since_is_a_utc_time_or_empty() -> None:
    header = HEADER.replace("contacts\n", "contacts,since\n")
    mapping = _parse(
        header + f"{Q1},voice,inbound,,,7,S,,,,2026-06-03T13:15:00Z\n{Q2},chat,inbound,,,8,C,,,,\n"
    )
    assert [row.since for row in mapping.rows] == ["2026-06-03T13:15:00Z", ""]
    with pytest.raises(ConfigError) as caught:
        _parse(header + f"{Q1},voice,inbound,,,7,S,,,,yesterday\n")
    assert caught.value.message.startswith("queues.csv:2:11: since: 'yesterday' is not a UTC time")


def test_wrong_encoding_and_keys_the_profile_refuses() -> None:
    latin = (HEADER + f"{Q1},voice,inbound,,,1,Caf\xe9,,,\n").encode("latin-1")
    with pytest.raises(ConfigError, match=r"queues.csv:2:\d+: not UTF-8 \(byte 0xe9\)"):
        _parse(latin)
    with pytest.raises(ConfigError, match=r"queues.csv:2:5: key: .* longer than the profile's 50"):
        _parse(HEADER + f"{Q1},voice,inbound,,{'K' * 51},,,,,\n", NICE)


def test_merge_rows_share_a_key_and_excluded_rows_need_none() -> None:
    mapping = _parse(
        HEADER
        + f"{Q1},voice,inbound,,,7,Sales,merge,,\n{Q1},callback,inbound,,,7,Sales,merge,,\n"
        + f"{Q2},chat,inbound,,,,,exclude,,\n"
        + f"{Q2},voice,outbound,*,,9,Dialer,,,\n"
    )
    assert mapping.find((Q1, "callback", "inbound", "")).key == "7"  # type: ignore[union-attr]
    assert mapping.find((Q2, "voice", "outbound", "any-campaign")).code == "9"  # type: ignore[union-attr]
    with pytest.raises(ConfigError, match="only with action merge"):
        _parse(HEADER + f"{Q1},voice,inbound,,,7,S,merge,,\n{Q1},chat,inbound,,,7,S,,,\n")


def test_generated_codes_are_kept_and_new_ones_count_on() -> None:
    first = QueueMap([], CALABRIO, "split", "queues.csv")
    first.extend([Seen((Q1, "voice", "inbound", ""), "Sales", 30),
                  Seen((Q1, "chat", "inbound", ""), "Sales", 3)])  # fmt: skip
    text = render(first.rows)
    # an engineer renumbers one queue by hand; the next run adds a queue after the highest code
    edited = text.replace(f"{Q1},chat,inbound,,2,2,", f"{Q1},chat,inbound,,40,40,")
    again = _parse(edited)
    added = again.extend([Seen((Q1, "chat", "inbound", ""), "Sales", 5),
                          Seen((Q2, "email", "inbound", ""), "Claims", 1)])  # fmt: skip
    assert [r.code for r in again.rows] == ["1", "40", "41"]
    assert [(r.queue_id, r.media) for r in added] == [(Q2, "email")]
    assert again.rows[2].name == "Claims Email"


def test_accounting_names_every_cause_and_balances(tmp_path: Path) -> None:
    day = date(2026, 6, 15)
    zone = ZoneInfo("Europe/Berlin")
    frames = day_frames(day, "Europe/Berlin")
    queue = frames["queue_interval"]
    queue.loc[queue.index[2], "direction"] = "outbound"  # q-support voice, 4 contacts
    profile = load_profile("verint")
    mapping = QueueMap([], profile.queue_key, "split")
    mapping.extend([Seen(("q-sales", "email", "inbound", ""), "Sales", 5)])
    mapping.rows[0] = mapping.rows[0].__class__(*mapping.rows[0].pair, key="", action="exclude")
    mapping = QueueMap(mapping.rows, profile.queue_key, "split")
    # chat is out of scope; Sales email is excluded by the mapping; the rest is carried
    destination = Destination(
        "Europe/Berlin", queue_map=mapping, media=("voice", "email", "outbound_voice")
    )
    start, end = datetime(2026, 6, 15, tzinfo=zone), datetime(2026, 6, 16, tzinfo=zone)
    written = render_reports(frames, profile, destination, start, end, tmp_path)
    [balance] = account(
        frames, profile, destination, start, end, delivered_by_day(written, profile, destination)
    )
    assert balance.reported == 26
    assert (balance.out_of_scope, balance.excluded, balance.delivered) == (3, 5, 18)
    assert balance.unaccounted == 0 and balance.not_carried == {}

    def with_call_filter(text: str, report: str = "call_stats"):  # type: ignore[no-untyped-def]
        call = profile.reports[report].model_copy(update={"filter": text})
        return profile.model_copy(update={"reports": {**profile.reports, report: call}})

    def balance_of(chosen, folder: str):  # type: ignore[no-untyped-def]
        written = render_reports(frames, chosen, destination, start, end, tmp_path / folder)
        [day_balance] = account(frames, chosen, destination, start, end,
                                delivered_by_day(written, chosen, destination))  # fmt: skip
        return day_balance

    # a profile without a report for outbound voice says so, per media and direction
    balance = balance_of(with_call_filter('media == "voice" and direction == "inbound"'), "b")
    assert balance.not_carried == {"voice outbound": 4} and balance.unaccounted == 0
    assert "4 voice outbound not carried by the profile" in balance.line("prod/verint")
    # a report that also takes other reports' contacts counts them twice: unaccounted, not hidden
    balance = balance_of(with_call_filter("true", "chat_stats"), "c")
    assert balance.delivered == 36 and balance.unaccounted == -18


def test_repeated_hour_merges_for_calabrio_and_shares_a_file_for_nice(tmp_path: Path) -> None:
    import pandas as pd

    zone = ZoneInfo("America/Chicago")
    frames = day_frames(date(2026, 11, 1), "America/Chicago")
    queue = frames["queue_interval"]
    first_pass = pd.Timestamp("2026-11-01 06:00", tz="UTC")  # 01:00 CDT
    second_pass = pd.Timestamp("2026-11-01 07:00", tz="UTC")  # 01:00 CST
    template = queue.iloc[[0]]
    extra = pd.concat(
        [template.assign(interval_start=first_pass, offered=5),
         template.assign(interval_start=second_pass, offered=7)],
        ignore_index=True,
    )  # fmt: skip
    frames["queue_interval"] = pd.concat([queue, extra], ignore_index=True)
    start, end = datetime(2026, 11, 1, tzinfo=zone), datetime(2026, 11, 2, tzinfo=zone)
    destination = Destination("America/Chicago")
    calabrio = load_profile("calabrio")
    written = render_reports(
        frames, calabrio, Destination("America/Chicago", reports=["queue"]), start, end,
        tmp_path / "c",
    )  # fmt: skip
    files = [f for f in written if not f.alias]
    assert len(files) == 96  # the 25-hour day's four repeated quarter-hours added into four
    [one] = [f for f in files if f.start.hour == 1 and f.start.minute == 0]
    rows = one.path.read_text().splitlines()
    sales_voice = [r for r in rows if ";Sales Voice;" in r]
    assert len(sales_voice) == 1 and sales_voice[0].split(";")[5] == "12"  # 5 + 7
    assert sum(f.alias for f in written) == 4  # so a job records the second passes delivered
    nice = load_profile("nice-cxone")
    written = render_reports(frames, nice, destination, start, end, tmp_path / "n")
    [shared] = [f for f in written if f.path.name == "History-2611010100.txt" and not f.alias]
    lines = [r for r in shared.path.read_text().splitlines() if r.startswith("Sales Voice")]
    assert [r.split(",")[3] for r in lines] == ["5", "7"]  # both periods, in time order
    assert all(len(f.path.name) <= 30 and "_" not in f.path.name for f in written)
    accounts = account(frames, nice, destination, start, end,
                       delivered_by_day(written, nice, destination))  # fmt: skip
    assert [a.unaccounted for a in accounts] == [0]


def test_a_job_adding_a_queue_keeps_an_edit_made_while_it_ran(tmp_path: Path) -> None:
    from wfmcli.mapfiles import complete, load_queue_map

    profile = load_profile("calabrio")
    path = tmp_path / "queues.csv"
    seen = [Seen((Q1, "voice", "inbound", ""), "Sales", 9)]
    complete(path, QueueMap([], profile.queue_key, "split", str(path)), seen)
    in_memory = load_queue_map(path, profile, None)  # a run loads the file...
    edited = path.read_text().replace(",1,1,Sales Voice,", ",1,1,Sales (main line),")
    path.write_text(edited)  # ...the engineer renames the queue meanwhile...
    added = complete(path, in_memory, [*seen, Seen((Q2, "chat", "inbound", ""), "Web", 2)])
    text = path.read_text()  # ...and the run's new queue does not undo the edit
    assert "Sales (main line)" in text and [r.code for r in added] == ["2"]
    assert [r.name for r in in_memory.rows] == ["Sales (main line)", "Web Chat"]


def test_policies_for_pairs_the_file_does_not_list() -> None:
    seen = [Seen((Q1, "voice", "inbound", ""), "Sales", 9),
            Seen((Q1, "chat", "inbound", ""), "Sales", 4)]  # fmt: skip
    merged = QueueMap([], NICE, "merge")
    merged.extend(seen)
    assert {r.key for r in merged.rows} == {"Sales"} and {r.action for r in merged.rows} == {
        "merge"
    }
    excluded = QueueMap([], NICE, "exclude")
    excluded.extend(seen)
    assert {r.action for r in excluded.rows} == {"exclude"}
    split = QueueMap([], NICE, "split")
    split.extend(seen)
    assert [r.key for r in split.rows] == ["Sales Voice", "Sales Chat"]
    # a key already taken gets a suffix that still fits the profile's length
    taken = QueueMap([], NICE, "split")
    taken.extend([Seen((Q2, "voice", "inbound", ""), "Sales Voice", 1), *seen[:1]])
    assert [r.key for r in taken.rows] == ["Sales Voice", "Sales Voice~2"]


def test_frames_of_several_days_render_in_one_go(tmp_path: Path) -> None:
    """Frames read from several cached days hold chunked text columns; layout takes them."""
    from wfmcli.pull.cache import FrameCache, Partition

    zone = ZoneInfo("Europe/Berlin")
    cache = FrameCache(tmp_path / "cache")
    for day in (date(2026, 6, 15), date(2026, 6, 16)):
        low = datetime(day.year, day.month, day.day, tzinfo=zone)
        high = datetime(day.year, day.month, day.day + 1, tzinfo=zone)
        for name, frame in day_frames(day, "Europe/Berlin").items():
            cache.write(Partition("prod", name, zone, 15, day), low, high, frame)
    start, end = datetime(2026, 6, 15, tzinfo=zone), datetime(2026, 6, 17, tzinfo=zone)
    names = ("queue_interval", "agent_interval")  # agent rows pass through unsummed
    frames = {name: cache.read("prod", name, zone, 15, start, end) for name in names}
    profile = load_profile("verint")
    destination = Destination("Europe/Berlin")
    written = render_reports(frames, profile, destination, start, end, tmp_path / "out")
    balances = account(frames, profile, destination, start, end,
                       delivered_by_day(written, profile, destination))  # fmt: skip
    assert [(b.reported, b.unaccounted) for b in balances] == [(26, 0), (26, 0)]

"""A run just after local midnight pulls once: yesterday's last hours and today's first ones are
one interval across midnight, split back into each local day's cache partition.

The destination is in Asia/Kolkata, whose midnight (18:30 UTC) falls in the twin's working hours
(shifts 06:00-22:00 UTC), so agents are busy, on contacts and changing state across it. The twin
is frozen at 01:00 local; the run at 00:40 re-checks 22:30 to 00:15 and delivers 00:15 to 00:30.
Both ways, the one-pull run and the old way (one pull per local day, as `pull_groups` made no
groups), run against the same frozen twin from their own data and cache folders.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pyarrow.parquet as pq
import pytest

from tests.pull.conftest import record_analytics
from wfmcli.config import load_config
from wfmcli.jobs import run as job_run
from wfmcli.jobs.build import build_job
from wfmcli.jobs.plan import Period, by_local_day
from wfmcli.pull import FrameCache, PullSpec, pull
from wfmcli.pull.assemble import AnswerSplitter
from wfmcli.pull.queries import Window, day_windows, query_spans
from wfmcli.sim import RunningTwin, start_twin
from wfmcli.timegrid import local_midnight

ZONE = ZoneInfo("Asia/Kolkata")
TODAY = date(2026, 3, 11)
YESTERDAY = TODAY - timedelta(days=1)
MIDNIGHT = local_midnight(TODAY, ZONE).to_pydatetime()
ANALYTICS = (
    ("POST", "/api/v2/analytics/conversations/aggregates/query"),
    ("POST", "/api/v2/analytics/users/aggregates/query"),
    ("POST", "/api/v2/analytics/users/details/query"),
)
# calabrio: queue, agent and agent x queue frames (and a per-day flow-balance check); alvaria:
# agent status timelines, whose rows near midnight depend on records of both days
PROFILES = ("calabrio", "alvaria")


def local(hour: int, minute: int, day: date = TODAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE)


@pytest.fixture(scope="module")
def twin() -> Iterator[RunningTwin]:
    frozen = local(1, 0).astimezone(UTC)
    with start_twin(
        seed=11, agents=30, queues=4, days=2, live=False,
        now_ms=int(frozen.timestamp() * 1000),
    ) as running:  # fmt: skip
        running.faults.rate_limit_per_minute = 1_000_000
        yield running


def write_config(folder: Path, twin: RunningTwin, profile: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.yaml"
    path.write_text(
        f"""
scopes:
  prod:
    source:
      base_url: {twin.base_url}
      credentials:
        - client_id: {twin.client_id}
          client_secret: {twin.client_secret}
      licensed_role: {twin.org.licensed_role.name}
    destinations:
      d:
        profile: {profile}
        agent_id: employee_id
        timezone: {ZONE.key}
        interval: 15
        agent_every: 15m
        lag: 10m
        resend: 2h
        max_backfill: 2d
        delivery:
          url: {(folder / "outbox").as_uri()}
""",
        encoding="utf-8",
    )
    return path


def one_pull_per_day(
    periods: Iterable[Period], zone: ZoneInfo, frame_of: object
) -> list[list[list[Period]]]:
    """The old way: every local day its own pull."""
    return [[day] for day in by_local_day(periods, zone)]


def analytics(twin: RunningTwin) -> Counter[tuple[str, str]]:
    served = twin.server.by_endpoint
    return Counter({key: served[key] for key in ANALYTICS if served.get(key)})


def run_day(folder: Path, twin: RunningTwin, profile: str) -> Counter[tuple[str, str]]:
    """Warm up at 00:25 (the backlog), then run at 00:40; the analytics requests of that run."""
    config = load_config(write_config(folder, twin, profile))
    job = build_job(config, "prod/d", folder / "data", cache_root=folder / "cache")
    # times in UTC, as cron's `wfm run` has them (the state's pruning compares ISO strings)
    job.run(local(0, 25).astimezone(UTC))
    before = analytics(twin)
    result = job.run(local(0, 40).astimezone(UTC))
    assert result.error == "", result.error
    assert result.rechecked_periods and result.new_periods
    return analytics(twin) - before


def files(root: Path, pattern: str) -> dict[str, Path]:
    """By path under root, less a file name's time of writing (Calabrio's `_YYYYmmddHHMMSS`)."""
    found = {re.sub(r"_\d{14}(?=\.)", "", p.relative_to(root).as_posix()): p
             for p in root.rglob(pattern)}  # fmt: skip
    return dict(sorted(found.items()))


def parquet(path: Path) -> pd.DataFrame:
    return pq.read_table(path).to_pandas()


def ranges(path: Path) -> list[tuple[str, str, int]]:
    """pulled.json without the times of pulling."""
    return [(r["start"], r["end"], r["rows"]) for r in json.loads(path.read_text("utf-8"))]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("profile", PROFILES)
def test_a_run_after_midnight_pulls_once_and_caches_as_two_pulls_would(
    tmp_path: Path, twin: RunningTwin, profile: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(job_run, "pull_groups", one_pull_per_day)
        two = run_day(tmp_path / "two", twin, profile)
    seen = record_analytics(monkeypatch)
    one = run_day(tmp_path / "one", twin, profile)

    # the 00:40 run: one pull, so every aggregate query of it exactly once where the old way
    # asked each twice (yesterday's part, today's part); user details stay one query a day
    details = ANALYTICS[2]
    assert one and two == Counter(
        {key: count if key == details else 2 * count for key, count in one.items()}
    )
    last_run = seen[-sum(one.values()) :]
    for kind, body in last_run:
        start, end = (datetime.fromisoformat(t) for t in body["interval"].split("/"))
        if kind == "users/details":
            assert (start, end) in ((local(22, 30, YESTERDAY), MIDNIGHT), (MIDNIGHT, local(0, 30)))
        else:
            assert start == local(22, 30, YESTERDAY) and end == local(0, 30)  # across midnight

    # the same files, byte for byte, and the same cache partitions, cell for cell
    one_out = files(tmp_path / "one" / "outbox", "*")
    two_out = files(tmp_path / "two" / "outbox", "*")
    assert one_out and list(one_out) == list(two_out)
    for name, path in one_out.items():
        assert path.read_bytes() == two_out[name].read_bytes(), name
    one_cache, two_cache = tmp_path / "one" / "cache", tmp_path / "two" / "cache"
    one_data, two_data = files(one_cache, "data.parquet"), files(two_cache, "data.parquet")
    assert list(one_data) == list(two_data)
    assert any(f"day={TODAY}" in name for name in one_data)
    for name, path in one_data.items():
        pd.testing.assert_frame_equal(parquet(path), parquet(two_data[name]), obj=name)
    for name, path in files(one_cache, "pulled.json").items():
        assert ranges(path) == ranges(two_cache / name), name


@pytest.mark.timeout(300)
def test_the_day_before_keeps_its_rows_and_equals_a_pull_of_that_day(
    tmp_path: Path, twin: RunningTwin
) -> None:
    """After the 00:40 run replaced yesterday's last 90 minutes, yesterday's partitions hold
    the whole day exactly as one pull of that day alone writes it."""
    run_day(tmp_path / "job", twin, "calabrio")
    run_day(tmp_path / "status", twin, "alvaria")
    config = load_config(write_config(tmp_path, twin, "calabrio"))
    from wfmcli.pull import PullSource

    source = PullSource.from_config(config.scope("prod").source)
    cache = FrameCache(tmp_path / "alone")
    spec = PullSpec("prod", local(0, 0, YESTERDAY), MIDNIGHT, ZONE, 15, agent_id="employee_id")
    pull(source, spec, cache=cache, keep_frames=False)
    alone = files(tmp_path / "alone", "data.parquet")
    day = f"day={YESTERDAY}"
    checked = 0
    for folder in ("job", "status"):
        for name, path in files(tmp_path / folder / "cache" / "frames", "data.parquet").items():
            if day in name:
                pd.testing.assert_frame_equal(parquet(path), parquet(alone[name]), obj=name)
                checked += 1
    # queue, agent, agent x queue (calabrio); queue, agent status (alvaria)
    assert checked == 5


@pytest.mark.timeout(300)
def test_a_pull_across_midnight_asks_once_and_writes_what_two_pulls_write(
    tmp_path: Path, twin: RunningTwin, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(write_config(tmp_path, twin, "calabrio"))
    from wfmcli.pull import PullSource

    source = PullSource.from_config(config.scope("prod").source)
    start, end = local(22, 30, YESTERDAY), local(0, 30)

    def spec(lo: datetime, hi: datetime) -> PullSpec:
        return PullSpec("prod", lo, hi, ZONE, 15, agent_id="employee_id")

    seen = record_analytics(monkeypatch)
    once = pull(source, spec(start, end), cache=FrameCache(tmp_path / "once"))
    asked_once = len(seen)
    parts = [
        pull(source, spec(lo, hi), cache=FrameCache(tmp_path / "twice"))
        for lo, hi in ((start, MIDNIGHT), (MIDNIGHT, end))
    ]
    statuses = sum(1 for kind, _ in seen[:asked_once] if kind == "users/details")
    assert asked_once and statuses == 2  # one a day (one batch of agents)
    # each of the two pulls asks every aggregate query again, and its own day's details
    assert len(seen) == asked_once + 2 * (asked_once - 1)
    assert once.days == [YESTERDAY, TODAY]
    for name, frame in once.data.items():
        both = pd.concat([p.data[name] for p in parts], ignore_index=True)
        pd.testing.assert_frame_equal(frame, both, check_dtype=False, obj=name)
        assert len(frame), name
    once_files = files(tmp_path / "once", "data.parquet")
    twice_files = files(tmp_path / "twice", "data.parquet")
    assert len(once_files) == 8 and list(once_files) == list(twice_files)
    for name, path in once_files.items():
        pd.testing.assert_frame_equal(parquet(path), parquet(twice_files[name]), obj=name)


def _windows(start: datetime, end: datetime, zone: ZoneInfo) -> list[list[Window]]:
    return query_spans(day_windows(start, end, zone), 15)


def test_query_spans_join_short_ranges_and_leave_whole_days_apart() -> None:
    utc = ZoneInfo("UTC")
    night = datetime(2026, 3, 10, 22, 0, tzinfo=utc)
    assert [len(s) for s in _windows(night, night + timedelta(hours=4), utc)] == [2]
    # exactly a day across midnight: one span; a whole day and a bit of the next: two
    assert [len(s) for s in _windows(night, night + timedelta(hours=24), utc)] == [2]
    day = datetime(2026, 3, 10, tzinfo=utc)
    assert [len(s) for s in _windows(day, day + timedelta(hours=24, minutes=15), utc)] == [1, 1]
    assert [len(s) for s in _windows(day, day + timedelta(days=3), utc)] == [1, 1, 1]


def test_answers_split_by_bucket_into_the_days_windows() -> None:
    start, end = local(23, 0, YESTERDAY), local(1, 0)
    windows = day_windows(start, end, ZONE)
    splitter = AnswerSplitter(windows)

    def entry(at: datetime) -> dict[str, object]:
        stop = at + timedelta(minutes=15)
        return {"interval": f"{at.isoformat()}/{stop.isoformat()}", "metrics": [at.hour]}

    body = {
        "systemToOrganizationMappings": {"AVAILABLE": ["p"]},
        "results": [
            {"group": {"userId": "a"}, "data": [entry(local(23, 45, YESTERDAY)), entry(MIDNIGHT)]},
            {"group": {"userId": "b"}, "data": [entry(local(0, 30))]},
        ],
    }
    yesterday, today = splitter.split(body)
    assert yesterday == {
        "systemToOrganizationMappings": {"AVAILABLE": ["p"]},
        "results": [{"group": {"userId": "a"}, "data": [entry(local(23, 45, YESTERDAY))]}],
    }
    assert [r["group"]["userId"] for r in today["results"]] == ["a", "b"]
    assert today["results"][0]["data"] == [entry(MIDNIGHT)]
    # what is not an answer, or a bucket outside both days, goes to the first day, whose
    # assembler reports it as for a one-day query
    assert splitter.split("nonsense") == ["nonsense", {"results": []}]
    stray = {"results": [{"group": {}, "data": [entry(local(3, 0))]}]}
    assert splitter.split(stray) == [stray, {"results": []}]

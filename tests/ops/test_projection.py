"""The API projection against the twin's own request counter: a day of scheduled runs and RTA."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from wfmcli.config import load_config
from wfmcli.genesys.auth import Credential
from wfmcli.genesys.client import GenesysClient
from wfmcli.jobs.build import build_job, renderer_for, timing_for
from wfmcli.jobs.plan import Report, Timing
from wfmcli.ops.projection import (
    OrgSizes,
    RelayPlan,
    RunSchedule,
    project,
    project_relay,
    pull_requests,
    pulls_per_day,
    relay_channels,
    relay_requests,
)
from wfmcli.ops.sizes import measure_sizes
from wfmcli.sim import RunningTwin, start_twin

NOW = datetime(2026, 3, 11, 6, 0, tzinfo=UTC)
DAY = date(2026, 3, 10)
ZONE = "Europe/Berlin"


@pytest.fixture(scope="module")
def twin() -> Iterator[RunningTwin]:
    with start_twin(
        seed=21, agents=120, queues=6, days=2, live=False, credentials=2,
        now_ms=int(NOW.timestamp() * 1000),
    ) as running:  # fmt: skip
        yield running


def twin_requests(twin: RunningTwin) -> int:
    return twin.server.requests + twin.server.tokens.issued


def write_config(tmp_path: Path, twin: RunningTwin) -> Path:
    creds = "\n".join(
        f"        - client_id: {c.client_id}\n          client_secret: {c.client_secret}"
        for c in twin.credentials
    )
    path = tmp_path / "config.yaml"
    path.write_text(
        f"""
scopes:
  prod:
    source:
      base_url: {twin.base_url}
      credentials:
{creds}
      licensed_role: {twin.org.licensed_role.name}
    destinations:
      nice:
        profile: nice-iex
        timezone: {ZONE}
        interval: 60
        schedule: 60m
        max_backfill: 1d
        delivery:
          url: {(tmp_path / "outbox").as_uri()}
""",
        encoding="utf-8",
    )
    return path


def sizes_of(twin: RunningTwin, role: str) -> OrgSizes:
    creds = [Credential(c.client_id, c.client_secret) for c in twin.credentials]

    async def measure() -> OrgSizes:
        async with GenesysClient(twin.base_url, twin.base_url, creds) as client:
            return await measure_sizes(
                client.session(0), credential_sets=len(creds), divisions=(), licensed_role=role
            )

    return asyncio.run(measure())


@pytest.mark.timeout(120)
def test_projection_matches_the_twin_counter_within_5_percent(
    tmp_path: Path, twin: RunningTwin
) -> None:
    config = load_config(write_config(tmp_path, twin))
    settings = config.scope("prod").destinations["nice"]
    job = build_job(config, "prod/nice", tmp_path / "data")
    zone = ZoneInfo(ZONE)
    schedule = RunSchedule(
        "prod/nice", timing_for(settings), tuple(renderer_for(settings).reports()),
        settings.schedule, settings.lag,
    )  # fmt: skip
    sizes = sizes_of(twin, twin.org.licensed_role.name)
    assert sizes.agents == sum(1 for u in twin.org.users if u.licensed)
    assert sizes.credential_sets == 2

    from wfmcli.ops.projection import run_times

    times = run_times(schedule, DAY)
    assert len(times) == 24 and times[0] == datetime(2026, 3, 10, 0, 10, tzinfo=zone)
    job.run(times[0] - schedule.every)  # warm-up: the backlog before the simulated day
    before = twin_requests(twin)
    for moment in times:
        result = job.run(moment)
        assert result.error == ""
    measured_runs = twin_requests(twin) - before

    # the warm-up run logged in; tokens are kept on disk, so the day's runs log in no more.
    # The relay's share is measured against the real relay by bench/api_budget_twin.py.
    projected = project(sizes, [schedule], [], DAY, token_lifetime_s=math.inf)
    assert abs(projected.per_day - measured_runs) <= 0.05 * measured_runs, (
        projected.per_day, measured_runs)


def test_pulls_per_day_follow_the_planner_around_midnight() -> None:
    timing = Timing(ZoneInfo("UTC"), 15, timedelta(minutes=10), timedelta(hours=2),
                    timedelta(days=7))  # fmt: skip
    queue = Report("q", "interval", "queue_interval")
    schedule = RunSchedule("s/d", timing, (queue,), timedelta(minutes=15),
                           timedelta(minutes=10))  # fmt: skip
    # 96 runs; 00:10 still touches only yesterday; 00:25 to 01:55 deliver today's periods and
    # re-check yesterday's last two hours in the same pull (one interval across midnight): one
    # pull each, spanning the re-send window and the new periods.
    pulls = pulls_per_day(schedule, date(2026, 3, 10))
    assert len(pulls) == 96
    after_midnight = [p for p in pulls if p.at.hour == 0 and p.at.minute == 40]
    assert [p.hours for p in after_midnight] == [2.0]  # 22:30 to 00:30, both days at once
    no_resend = RunSchedule("s/d", Timing(ZoneInfo("UTC"), 15, timedelta(minutes=10),
                            timedelta(0), timedelta(days=7)), schedule.reports,
                            schedule.every, schedule.offset)  # fmt: skip
    assert len(pulls_per_day(no_resend, date(2026, 3, 10))) == 96


def test_pull_requests_shard_agents_over_the_sets() -> None:
    sizes = OrgSizes(credential_sets=3, agents=6000, queues=250, queue_queries=4,
                     org_users=7000, org_queues=300, divisions=5, role_holders=6500)  # fmt: skip
    counts = pull_requests(sizes, tokens=True, hours=3)
    assert counts["POST /oauth/token"] == 3
    assert counts["POST /api/v2/analytics/users/aggregates/query"] == 60
    # 4 queue queries + one agent x queue query for every agent (3 h of 6,000 agents)
    assert counts["POST /api/v2/analytics/conversations/aggregates/query"] == 5
    # a whole day: blocks of 3 h 15 min (20,000 agent-hours a query), 8 of them
    day = pull_requests(sizes)
    assert day["POST /api/v2/analytics/conversations/aggregates/query"] == 4 + 8
    assert counts["GET /api/v2/users"] == 14
    assert "POST /oauth/token" not in pull_requests(sizes)  # a stored token is reused
    probe = pull_requests(sizes, directory=False, probe=True)
    assert probe["GET /api/v2/routing/queues"] == 1 and "GET /api/v2/users" not in probe
    # a pull across midnight: aggregates once for both days' parts, status timelines per day
    night = pull_requests(sizes, hours=2, days=2)
    assert night["POST /api/v2/analytics/users/aggregates/query"] == 60
    assert night["POST /api/v2/analytics/users/details/query"] == 120


def test_relay_renewals_and_restarts() -> None:
    sizes = OrgSizes(credential_sets=2, agents=2500, queues=10, queue_queries=1,
                     org_users=2600, org_queues=10, divisions=1, role_holders=2500)  # fmt: skip
    assert relay_channels(sizes, detailed=False) == [1000, 250, 1000, 250]
    assert relay_channels(sizes, detailed=True) == [1000, 1000, 500] * 2
    plan = RelayPlan("p/r", reconnects_per_day=0, channel_life_s=86_400, roster_refresh_s=0)
    line = project_relay(plan, sizes)
    # renewal in place: the same topics subscribed again, never a new channel
    assert line.endpoints == {"PUT /api/v2/notifications/channels/{id}/subscriptions": 4}
    assert "POST /oauth/token" not in line.endpoints  # the scope's stored tokens
    restart = project_relay(replace(plan, restarts_per_day=1), sizes)
    # a restart adds the roster, every channel again and a resync of everyone: 2500 agents are
    # more than a quarter of the roster, so one listing of all users (2600 / 500)
    assert restart.endpoints["GET /api/v2/users"] == 6 + 6
    assert restart.per_day > line.per_day
    # a dropped socket resyncs that channel's agents: 250 by id (3 reads), 1000 (more than
    # max(200, 2500 / 4)) by one listing of all users (6 pages)
    drops = relay_requests(replace(plan, drops_per_day=1), sizes)
    assert drops["GET /api/v2/users"] == 6 + 3 + 6 + 3
    # socket_closing: a new socket on the same channel, and the same resync as a drop
    assert relay_requests(replace(plan, reconnects_per_day=1), sizes) == drops
    # the roster, every 5 minutes: a full read once a day (the role, 5 pages of holders, 6 of
    # users, the divisions), the holders every hour (23 more reads of 5 pages) and a userCount
    # probe in each of the other 264 periods
    refresh = relay_requests(replace(plan, roster_refresh_s=300), sizes)
    assert refresh["GET /api/v2/users"] == 6
    assert refresh["GET /api/v2/authorization/roles/{id}/users"] == 5 + 23 * 5
    assert refresh["GET /api/v2/authorization/roles"] == 1 + 264
    assert refresh["GET /api/v2/authorization/divisions"] == 1
    # hourly periods: each reads the holders, one a day reads everything
    hourly = relay_requests(replace(plan, roster_refresh_s=3600), sizes)
    assert hourly["GET /api/v2/authorization/roles/{id}/users"] == 24 * 5
    assert hourly["GET /api/v2/authorization/roles"] == 1

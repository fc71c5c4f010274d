"""How many Genesys API requests a configuration makes per day: the model behind `wfm api-usage`.

Scheduled runs (`wfm run SCOPE/DEST`, from cron every `schedule`, starting `lag` after local
midnight as `wfm schedule` writes it). Each run plans its periods with the jobs' own planner
(new closed periods plus the re-send window) and pulls once per local day those periods touch.
Each pull is a fresh client, so it costs:

    tokens      one POST /oauth/token per credential set that gets work
    directory   divisions, roles, the role's users, all users, all queues (pages of 500),
                presence definitions (1)
    per day     queue queries (queues grouped by SL threshold, 100 per query)
                + per batch of 100 agents: agent conversation aggregates, user aggregates,
                  user details (one page: a page holds 100 users)

The RTA relay (one per scope with any destination that has `rta:`):

    topics      one per agent (v2.users.{id}.activity), two in detailed mode
    channels    per credential set, ceil(its topics / 1000); agents shard evenly over the sets
    per day     token renewals (86400 s / token lifetime per set); channel renewals before the
                24 h channel life (create + subscribe per channel); reconnects after Genesys'
                socket_closing (create + subscribe + resync of the channel's agents,
                GET /api/v2/users?id=... 100 per request); restarts (tokens + directory + every
                channel + a full resync)

The resync endpoint is an assumption until the relay (rta/) lands; everything else follows the
code of wfmcli.pull and wfmcli.jobs as they stand.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date, datetime, timedelta
from typing import Any

from wfmcli.frames import FRAMES
from wfmcli.genesys.notifications import DEFAULT_CHANNEL_LIFE, MAX_TOPICS_PER_CHANNEL
from wfmcli.jobs.plan import AGENT_FRAMES, Report, Timing, closed_periods, plan_run
from wfmcli.pull.directory_cache import DIRECTORY_TTL

ALL_FRAMES = frozenset(FRAMES)

LIST_PAGE = 500  # wfmcli.pull.directory pages its listings by 500
USER_BATCH = 100  # user ids per analytics query
RESYNC_BATCH = 100  # user ids per GET /api/v2/users?id=...
DAYS_PER_MONTH = 30

OAUTH = "POST /oauth/token"
CONVERSATION_AGGREGATES = "POST /api/v2/analytics/conversations/aggregates/query"
USER_AGGREGATES = "POST /api/v2/analytics/users/aggregates/query"
USER_DETAILS = "POST /api/v2/analytics/users/details/query"
CHANNELS = "POST /api/v2/notifications/channels"
SUBSCRIPTIONS = "PUT /api/v2/notifications/channels/{id}/subscriptions"
USERS = "GET /api/v2/users"


@dataclass(frozen=True)
class OrgSizes:
    """What the request counts depend on; `wfm doctor` measures and stores these."""

    credential_sets: int
    agents: int  # licensed users in the scope's divisions
    queues: int  # queues in the scope's divisions
    queue_queries: int  # queue aggregate queries per pulled day
    org_users: int  # every user the directory lists (the pull filters them itself)
    org_queues: int
    divisions: int
    role_holders: int

    def to_json(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OrgSizes:
        return cls(**{f.name: int(data[f.name]) for f in fields(cls)})


@dataclass(frozen=True)
class RunSchedule:
    """One destination's scheduled `wfm run`."""

    target: str
    timing: Timing
    reports: tuple[Report, ...]
    every: timedelta
    offset: timedelta  # after local midnight; wfm schedule uses the destination's lag


@dataclass(frozen=True)
class RelayPlan:
    target: str
    detailed: bool = False
    reconnects_per_day: float = 1.0  # socket_closing per channel (platform maintenance)
    restarts_per_day: float = 0.0
    token_lifetime_s: float = 86_400.0
    channel_life_s: float = DEFAULT_CHANNEL_LIFE


@dataclass
class ProjectionLine:
    target: str
    item: str
    per_day: float
    endpoints: dict[str, float] = field(default_factory=dict)


def _pages(count: int) -> int:
    return max(1, math.ceil(count / LIST_PAGE))


def _shards(agents: int, sets: int) -> list[int]:
    size = max(math.ceil(agents / sets), 1)
    return [max(0, min(size, agents - i * size)) for i in range(sets)]


def directory_requests(sizes: OrgSizes) -> dict[str, float]:
    return {
        "GET /api/v2/authorization/divisions": _pages(sizes.divisions),
        "GET /api/v2/authorization/roles": 1,
        "GET /api/v2/authorization/roles/{id}/users": _pages(sizes.role_holders),
        USERS: _pages(sizes.org_users),
        "GET /api/v2/routing/queues": _pages(sizes.org_queues),
        "GET /api/v2/presence/definitions": 1,
    }


def pull_requests(
    sizes: OrgSizes, frames: Collection[str] = ALL_FRAMES, *, directory: bool = True
) -> dict[str, float]:
    """One pull of one local day of the given frames, by endpoint (as wfmcli.pull.run asks);
    `directory`: whether this pull reads the directory rather than its cached copy."""
    sets = max(sizes.credential_sets, 1)
    shards = _shards(sizes.agents, sets)
    batches = sum(math.ceil(n / USER_BATCH) for n in shards)
    queue_queries = sizes.queue_queries if "queue_interval" in frames else 0
    agent_sets = {i for i, n in enumerate(shards) if n} if AGENT_FRAMES & set(frames) else set()
    used = {0} if directory else set()
    used |= agent_sets | {i % sets for i in range(queue_queries)}
    conversations = batches if {"agent_interval", "agent_queue_interval"} & set(frames) else 0
    requests = {
        OAUTH: len(used),
        **(directory_requests(sizes) if directory else {}),
        CONVERSATION_AGGREGATES: queue_queries + conversations,
        USER_AGGREGATES: batches if "agent_interval" in frames else 0,
        USER_DETAILS: batches if "agent_status" in frames else 0,
    }
    return {endpoint: count for endpoint, count in requests.items() if count}


def run_times(schedule: RunSchedule, day: date) -> list[datetime]:
    zone = schedule.timing.zone
    midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
    following = day + timedelta(days=1)
    end = datetime(following.year, following.month, following.day, tzinfo=zone)
    times = []
    moment = midnight + schedule.offset % schedule.every
    while moment < end:
        times.append(moment)
        moment += schedule.every
    return times


@dataclass(frozen=True)
class Pull:
    at: datetime
    frames: frozenset[str]


def pulls_per_day(schedule: RunSchedule, day: date) -> list[Pull]:
    """Each pull the day's runs make, in steady state (every earlier period already
    delivered). A run pulls once per local day its plan touches, only the frames due."""
    timing = schedule.timing
    # Steady state: nothing older than the re-send window is undelivered.
    short = replace(timing, max_backfill=timing.resend + timedelta(days=1))
    frame_of = {report.name: report.frame for report in schedule.reports}
    pulls: list[Pull] = []
    for now in run_times(schedule, day):
        before = now - schedule.every
        horizon = before - short.max_backfill
        delivered = {
            (report.name, p.start.isoformat())
            for report in schedule.reports
            for p in closed_periods(report, short, before, horizon)
        }
        days: dict[date, set[str]] = {}
        for period in plan_run(schedule.reports, short, now, delivered).periods:
            local_day = period.start.astimezone(timing.zone).date()
            days.setdefault(local_day, set()).add(frame_of[period.report])
        pulls += [Pull(now, frozenset(frames)) for _, frames in sorted(days.items())]
    return pulls


def project_runs(schedule: RunSchedule, sizes: OrgSizes, day: date) -> ProjectionLine:
    pulls = pulls_per_day(schedule, day)
    endpoints: dict[str, float] = {}
    fetched: datetime | None = None
    for pull in pulls:
        # the directory cache, as DirectoryCache keeps it (steady state: fetched just before)
        fresh = fetched is not None and pull.at - fetched <= DIRECTORY_TTL
        if not fresh:
            fetched = pull.at
        for endpoint, count in pull_requests(sizes, pull.frames, directory=not fresh).items():
            endpoints[endpoint] = endpoints.get(endpoint, 0) + count
    with_agents = sum(1 for pull in pulls if AGENT_FRAMES & pull.frames)
    item = (
        f"wfm run every {_minutes(schedule.every)} min: {len(pulls)} pulls a day, "
        f"{with_agents} of them with agent data"
    )
    return ProjectionLine(schedule.target, item, sum(endpoints.values()), endpoints)


def relay_channels(sizes: OrgSizes, detailed: bool) -> list[int]:
    """Topics on each channel of the relay, over every credential set."""
    per_agent = 2 if detailed else 1
    channels: list[int] = []
    for agents in _shards(sizes.agents, max(sizes.credential_sets, 1)):
        topics = agents * per_agent
        while topics > 0:
            channels.append(min(topics, MAX_TOPICS_PER_CHANNEL))
            topics -= MAX_TOPICS_PER_CHANNEL
    return channels


def project_relay(plan: RelayPlan, sizes: OrgSizes) -> ProjectionLine:
    per_agent = 2 if plan.detailed else 1
    channels = relay_channels(sizes, plan.detailed)
    sets = max(sizes.credential_sets, 1)
    resync = [math.ceil(topics / per_agent / RESYNC_BATCH) for topics in channels]
    endpoints: dict[str, float] = {
        OAUTH: sets * 86_400 / plan.token_lifetime_s,
        CHANNELS: len(channels) * (86_400 / plan.channel_life_s + plan.reconnects_per_day),
        SUBSCRIPTIONS: len(channels) * (86_400 / plan.channel_life_s + plan.reconnects_per_day),
        USERS: sum(resync) * plan.reconnects_per_day,
    }
    if plan.restarts_per_day:
        start = {OAUTH: sets, **directory_requests(sizes), CHANNELS: len(channels),
                 SUBSCRIPTIONS: len(channels)}  # fmt: skip
        start[USERS] = start[USERS] + sum(resync)
        for endpoint, count in start.items():
            endpoints[endpoint] = endpoints.get(endpoint, 0) + count * plan.restarts_per_day
    item = (
        f"RTA relay: {len(channels)} channel(s), {plan.reconnects_per_day:g} reconnect(s) and "
        f"{plan.restarts_per_day:g} restart(s) a day"
    )
    return ProjectionLine(plan.target, item, sum(endpoints.values()), endpoints)


@dataclass
class Projection:
    lines: list[ProjectionLine]
    sizes: OrgSizes

    @property
    def per_day(self) -> float:
        return sum(line.per_day for line in self.lines)

    @property
    def per_month(self) -> float:
        return self.per_day * DAYS_PER_MONTH

    def by_endpoint(self) -> dict[str, float]:
        total: dict[str, float] = {}
        for line in self.lines:
            for endpoint, count in line.endpoints.items():
                total[endpoint] = total.get(endpoint, 0) + count
        return dict(sorted(total.items()))


def project(
    sizes: OrgSizes,
    schedules: Sequence[RunSchedule],
    relays: Sequence[RelayPlan],
    day: date,
) -> Projection:
    lines = [project_runs(s, sizes, day) for s in schedules]
    lines += [project_relay(r, sizes) for r in relays]
    return Projection(lines, sizes)


def _minutes(value: timedelta) -> int:
    return int(value.total_seconds() // 60)

"""How many Genesys API requests a configuration makes per day: the model behind `wfm api-usage`.

Scheduled runs (`wfm run SCOPE/DEST`, from cron every `schedule`, starting `lag` after local
midnight as `wfm schedule` writes it). Each run plans its periods with the jobs' own planner
(new closed periods plus the re-send window) and pulls once per group of local days those
periods touch (wfmcli.jobs.plan.pull_groups: a run re-checking yesterday's last hours just after
midnight asks for both days' parts in one pull, one interval across midnight):

    per pull    queue queries (queues grouped by SL threshold, 100 per query)
                + one agent x queue conversation-aggregate query (grouped by userId, no user
                  predicates) when agent frames are due
                + per batch of 100 agents: user aggregates, and user details (one page: 100
                  users) for each local day the pull touches (status timelines stay per day)
    directory   read in full once a day (divisions, roles, the role's users, all users, all
                queues in pages of 500, presence definitions); in between a 2-request probe
                (the role, the queue listing) at most every 2 hours (wfmcli.pull.directory_cache)
    tokens      one per credential set per token lifetime: tokens are kept on disk and shared
                by every process of the scope, the relay included (wfmcli.genesys.auth)

The RTA relay (one per scope with any destination that has `rta:`), from rta/ as it stands:
see `relay_requests`, the one place to adjust when the relay changes.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date, datetime, timedelta
from typing import Any

from wfmcli.frames import FRAMES
from wfmcli.genesys.notifications import DEFAULT_CHANNEL_LIFE, MAX_TOPICS_PER_CHANNEL
from wfmcli.jobs.plan import (
    AGENT_FRAMES,
    Report,
    Timing,
    closed_periods,
    plan_run,
    pull_groups,
)
from wfmcli.pull.directory_cache import DIRECTORY_TTL, PROBE_EVERY
from wfmcli.pull.queries import agent_block_minutes
from wfmcli.rta.source import FULL_READ_S, HOLDERS_CHECK_S

ALL_FRAMES = frozenset(FRAMES)

LIST_PAGE = 500  # wfmcli.pull.directory pages its listings by 500
USER_BATCH = 100  # user ids per analytics query
RESYNC_BATCH = 100  # user ids per GET /api/v2/users?id=...
DAYS_PER_MONTH = 30
DEFAULT_TOKEN_LIFETIME_S = 86_400.0  # the twin's; Genesys lets each OAuth client set 300 s-48 h
ROSTER_PAGE = 500  # rta.source pages users and role holders by 500

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
    token_lifetime_s: float = DEFAULT_TOKEN_LIFETIME_S  # unused: logins are the scope's
    channel_life_s: float = DEFAULT_CHANNEL_LIFE
    drops_per_day: float = 0.0  # sockets lost without warning, per channel (network)
    roster_refresh_s: float = 300.0  # rta.roster_refresh
    holders_check_s: float = HOLDERS_CHECK_S  # rta.roster_holders_check
    full_read_s: float = FULL_READ_S  # rta.roster_full_read
    reads_divisions: bool = True  # the source names divisions (the roster then reads them)


@dataclass
class ProjectionLine:
    target: str
    item: str
    per_day: float
    endpoints: dict[str, float] = field(default_factory=dict)
    feed: str = "runs"  # runs (historical), relay (RTA) or tokens (both)


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


def probe_requests(sizes: OrgSizes) -> dict[str, float]:
    """wfmcli.pull.directory.probe_directory: the licensing role and the queue listing."""
    return {
        "GET /api/v2/authorization/roles": 1,
        "GET /api/v2/routing/queues": _pages(sizes.org_queues),
    }


def pull_requests(
    sizes: OrgSizes,
    frames: Collection[str] = ALL_FRAMES,
    *,
    directory: bool = True,
    probe: bool = False,
    tokens: bool = False,
    hours: float = 24.0,
    minutes: int = 15,
    days: int = 1,
) -> dict[str, float]:
    """One pull (one span, at most a day) of the given frames, by endpoint (as wfmcli.pull.run
    asks);
    `directory`: whether this pull reads the directory in full, `probe`: whether it probes it,
    `tokens`: whether it logs in (only when no stored token is fresh); `hours`: the span pulled
    and `minutes` its interval (the agent x queue query is one per block of hours); `days`: the
    local days it touches (user details are asked day by day)."""
    sets = max(sizes.credential_sets, 1)
    shards = _shards(sizes.agents, sets)
    batches = sum(math.ceil(n / USER_BATCH) for n in shards)
    queue_queries = sizes.queue_queries if "queue_interval" in frames else 0
    agent_sets = {i for i, n in enumerate(shards) if n} if AGENT_FRAMES & set(frames) else set()
    used = {0} if directory or probe else set()
    used |= agent_sets | {i % sets for i in range(queue_queries)}
    grouped = 0
    if {"agent_interval", "agent_queue_interval"} & set(frames) and sizes.agents > 0:
        grouped = math.ceil(hours * 60 / agent_block_minutes(minutes, sizes.agents) - 1e-9)
    requests: dict[str, float] = {
        OAUTH: len(used) if tokens else 0,
        CONVERSATION_AGGREGATES: queue_queries + grouped,
        USER_AGGREGATES: batches if "agent_interval" in frames else 0,
        USER_DETAILS: batches * days if "agent_status" in frames else 0,
    }
    if directory:
        _add(requests, directory_requests(sizes), 1)
    elif probe:
        _add(requests, probe_requests(sizes), 1)
    return {endpoint: count for endpoint, count in requests.items() if count}


def token_requests(sizes: OrgSizes, lifetime_s: float = DEFAULT_TOKEN_LIFETIME_S) -> float:
    """Logins per day for the whole scope: one per set per token life (renewed when less than
    a tenth of it, at most a minute, is left), shared by the runs and the relay."""
    if math.isinf(lifetime_s):
        return 0.0
    usable = lifetime_s - min(lifetime_s / 10, 60.0)
    return max(sizes.credential_sets, 1) * 86_400 / usable


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
    hours: float = 24.0  # the span of the periods it covers
    days: int = 1  # the local days it touches


def pulls_per_day(schedule: RunSchedule, day: date) -> list[Pull]:
    """Each pull the day's runs make, in steady state (every earlier period already
    delivered). A run pulls once per group of local days its plan touches (`pull_groups`, as
    the job does), only the frames due."""
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
        periods = plan_run(schedule.reports, short, now, delivered).periods
        for group in pull_groups(periods, timing.zone, frame_of):
            pulled = [period for day_periods in group for period in day_periods]
            span = max(p.end for p in pulled) - min(p.start for p in pulled)
            frames = frozenset(frame_of[p.report] for p in pulled)
            pulls.append(Pull(now, frames, span.total_seconds() / 3600, len(group)))
    return pulls


def project_runs(schedule: RunSchedule, sizes: OrgSizes, day: date) -> ProjectionLine:
    """The day's pulls, logins apart (see `token_requests`)."""
    pulls = pulls_per_day(schedule, day)
    endpoints: dict[str, float] = {}
    fetched: datetime | None = None
    probed: datetime | None = None
    for pull in pulls:
        # the directory cache, as DirectoryCache keeps it (steady state: read in full at the
        # day's first pull, then probed at most every PROBE_EVERY)
        full = fetched is None or pull.at - fetched > DIRECTORY_TTL
        probe = not full and probed is not None and pull.at - probed >= PROBE_EVERY
        if full:
            fetched = probed = pull.at
        elif probe:
            probed = pull.at
        counts = pull_requests(sizes, pull.frames, directory=full, probe=probe, hours=pull.hours,
                               minutes=schedule.timing.minutes, days=pull.days)  # fmt: skip
        _add(endpoints, counts, 1)
    with_agents = sum(1 for pull in pulls if AGENT_FRAMES & pull.frames)
    item = (
        f"wfm run every {_minutes(schedule.every)} min: {len(pulls)} pulls a day, "
        f"{with_agents} of them with agent data"
    )
    return ProjectionLine(schedule.target, item, sum(endpoints.values()), endpoints, "runs")


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


def relay_requests(plan: RelayPlan, sizes: OrgSizes) -> dict[str, float]:
    """The relay's requests per day by endpoint, from rta/ as it stands (logins apart: the relay
    shares the scope's stored tokens, see `token_requests`). Adjust here when rta/ changes.

    - renewal before the channel's life ends: the same topics subscribed again on the same
      channel (rta.channels), no new channel;
    - socket_closing and a dropped socket: a new socket on the same channel, then a resync of
      its agents: by id, 100 a request, or one listing of all users when more than
      max(200, roster / 4) are due;
    - roster refresh every `roster_refresh_s`: one probe of the role's userCount; instead of it
      the role's holders (pages of 500) every HOLDERS_CHECK_S, and the role, its holders, all
      users (pages of 500) and the divisions every FULL_READ_S (rta.source; a moved count also
      reads the holders and the joiners by id, rare enough to leave out);
    - a restart: presence definitions, the roster, every channel, a resync of everyone.
    """
    per_agent = 2 if plan.detailed else 1
    channels = relay_channels(sizes, plan.detailed)
    renewals = 86_400 / plan.channel_life_s
    roster: dict[str, float] = {
        "GET /api/v2/authorization/roles": 1,
        "GET /api/v2/authorization/roles/{id}/users": _pages(sizes.role_holders),
        USERS: _pages(sizes.org_users),
        "GET /api/v2/authorization/divisions": 1 if plan.reads_divisions else 0,
    }
    endpoints: dict[str, float] = {SUBSCRIPTIONS: len(channels) * renewals}
    resync = sum(_resync_requests(topics // per_agent, sizes) for topics in channels)
    _add(endpoints, {USERS: resync}, plan.drops_per_day + plan.reconnects_per_day)
    if plan.roster_refresh_s:
        _add(endpoints, roster_checks(plan, roster, sizes), 1)
    if plan.restarts_per_day:
        start = {"GET /api/v2/presencedefinitions": 1.0, **roster}
        start[CHANNELS] = start[SUBSCRIPTIONS] = len(channels)
        start[USERS] += _resync_requests(sizes.agents, sizes)
        _add(endpoints, start, plan.restarts_per_day)
    return {endpoint: count for endpoint, count in endpoints.items() if count}


def roster_checks(
    plan: RelayPlan, full_read: dict[str, float], sizes: OrgSizes
) -> dict[str, float]:
    """A day of the relay's roster checks: each period does one of a full read, a read of the
    role's holders or a probe of its userCount (rta.source `_refresh_loop`)."""
    refresh_s = plan.roster_refresh_s
    periods = 86_400 / refresh_s
    full = min(periods, 86_400 / max(plan.full_read_s, refresh_s))
    holders = max(0.0, min(periods, 86_400 / max(plan.holders_check_s, refresh_s)) - full)
    checks: dict[str, float] = {}
    _add(checks, full_read, full)
    _add(checks, {"GET /api/v2/authorization/roles/{id}/users": _pages(sizes.role_holders)},
         holders)
    _add(checks, {"GET /api/v2/authorization/roles": 1}, periods - full - holders)
    return checks


def _resync_requests(agents: int, sizes: OrgSizes) -> int:
    if agents > max(2 * RESYNC_BATCH, sizes.agents // 4):
        return _pages(sizes.org_users)  # one listing of every user, pages of 500
    return math.ceil(agents / RESYNC_BATCH)


def _add(total: dict[str, float], counts: dict[str, float], times: float) -> None:
    for endpoint, count in counts.items():
        total[endpoint] = total.get(endpoint, 0) + count * times


def project_relay(plan: RelayPlan, sizes: OrgSizes) -> ProjectionLine:
    endpoints = relay_requests(plan, sizes)
    item = (
        f"RTA relay: {len(relay_channels(sizes, plan.detailed))} channel(s), "
        f"{plan.reconnects_per_day:g} socket_closing, {plan.drops_per_day:g} drop(s) and "
        f"{plan.restarts_per_day:g} restart(s) a day, roster every {plan.roster_refresh_s:g} s"
    )
    return ProjectionLine(plan.target, item, sum(endpoints.values()), endpoints, "relay")


def project_tokens(target: str, sizes: OrgSizes, lifetime_s: float) -> ProjectionLine:
    endpoints = {OAUTH: token_requests(sizes, lifetime_s)}
    item = f"OAuth logins: tokens of {lifetime_s / 3600:g} h kept on disk, shared by both feeds"
    return ProjectionLine(target, item, endpoints[OAUTH], endpoints, "tokens")


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

    def feed(self, kind: str) -> float:
        """Requests per day of one feed: runs, relay or tokens."""
        return sum(line.per_day for line in self.lines if line.feed == kind)

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
    *,
    token_lifetime_s: float = DEFAULT_TOKEN_LIFETIME_S,
    target: str = "scope",
) -> Projection:
    lines = [project_runs(s, sizes, day) for s in schedules]
    lines += [project_relay(r, sizes) for r in relays]
    if schedules or relays:
        lines.append(project_tokens(target, sizes, token_lifetime_s))
    return Projection(lines, sizes)


def _minutes(value: timedelta) -> int:
    return int(value.total_seconds() // 60)

"""`pull(...)`: Genesys analytics for a scope and a time range -> the four canonical frames.

The directory is read once (credential set 1). Then, per span (a local day, or the consecutive
parts of days a short range touches, asked as one interval: `query_spans`), the work is sharded:
agents are split into one contiguous shard per credential set and asked for in batches of 100
userIds (user aggregates; user details day by day); agent x queue work is one
conversation-aggregate query per block of hours grouped by userId (no user predicates); queue
queries go round-robin over the sets. Each set runs a few requests at once behind its own token and
rate gate, so N sets pull about N times faster; of the agent x queue answers, which grow with the
org, at most two are read at once in all, each folded as it streams in. Each answer is split by
local day and folded in as it arrives, and agent rows are spilled to disk; each day is then
written to its cache partition piece by sorted piece (an interval of at most 5,000 agents, or a
batch of users, at a time) and released before the next, so a day of agent rows is never in
memory at once. Every request is counted, token requests included.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import math
import platform
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pandas as pd

from wfmcli import frames
from wfmcli.errors import RemoteError, UsageError
from wfmcli.genesys.auth import Credential
from wfmcli.genesys.client import CredentialSession, GenesysClient
from wfmcli.genesys.counter import RequestCounter
from wfmcli.genesys.retry import RetryPolicy
from wfmcli.pull.assemble import AnswerSplitter, ConversationFold, DayAssembler
from wfmcli.pull.cache import FrameCache, Partition
from wfmcli.pull.directory import AgentIdMode, Directory, load_directory, probe_directory
from wfmcli.pull.directory_cache import DirectoryCache, current_directory, directory_key
from wfmcli.pull.identity import ORG_PATH, OrgIdentity, region_of
from wfmcli.pull.queries import (
    DETAILS_PAGE_SIZE,
    USER_BATCH,
    Window,
    agent_blocks,
    agent_conversation_body,
    chunks,
    day_windows,
    query_spans,
    queue_queries,
    span_window,
    user_aggregate_body,
    user_details_body,
)
from wfmcli.timegrid import grid

CONVERSATION_AGGREGATES = "/api/v2/analytics/conversations/aggregates/query"
USER_AGGREGATES = "/api/v2/analytics/users/aggregates/query"
USER_DETAILS = "/api/v2/analytics/users/details/query"

FRAME_NAMES = {
    "queue": "queue_interval",
    "agent": "agent_interval",
    "agent_queue": "agent_queue_interval",
    "agent_status": "agent_status",
}
ALL_MEDIA = ("voice", "chat", "email", "message", "callback", "outbound_voice",
             "outbound_message")  # fmt: skip
INTERVALS = (15, 30, 60)
IN_FLIGHT_PER_SET = 4
# Grouped agent x queue answers being read at once, whatever the number of sets: each is folded
# as it streams in, but its rows (typed arrays) grow with the agents it covers.
LARGE_ANSWERS_IN_FLIGHT = 2
MAX_DETAIL_PAGES = 1000

Progress = Callable[[int, int], None]

if TYPE_CHECKING:
    from wfmcli.config import Source


@dataclass(frozen=True)
class PullSource:
    api_url: str
    login_url: str
    credentials: Sequence[Credential]
    licensed_role: str
    divisions: Sequence[str] = ()
    proxy: str | None = None

    @classmethod
    def from_config(cls, source: Source) -> PullSource:
        return cls(
            api_url=source.api_url,
            login_url=source.login_url,
            credentials=[
                Credential(c.client_id, c.client_secret.get_secret_value())
                for c in source.credentials
            ],
            licensed_role=source.licensed_role,
            divisions=tuple(source.divisions),
            proxy=source.proxy,
        )


@dataclass(frozen=True)
class PullSpec:
    scope: str
    start: datetime
    end: datetime
    zone: ZoneInfo
    interval: int = 15
    frames: tuple[str, ...] = tuple(frames.FRAMES)
    media: tuple[str, ...] = ALL_MEDIA
    agent_id: AgentIdMode = "username"
    agent_map: Mapping[str, str] | None = None


@dataclass
class FrameSummary:
    frame: str
    rows: int
    files: list[str] = field(default_factory=list)


@dataclass
class PullResult:
    scope: str
    start: datetime
    end: datetime
    timezone: str
    interval_minutes: int
    days: list[date]
    credential_sets: int
    agents: int
    queues: int
    unlicensed_users: int
    out_of_division_users: int
    out_of_division_queues: int
    unmapped_agents: int
    frames: list[FrameSummary]
    requests: int
    requests_by_endpoint: dict[str, int]
    requests_by_credential: dict[str, int]
    requests_per_agent_day: float
    seconds: float
    data: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)
    # the scope's queues and agents as this pull saw them (for zero-filling idle queues)
    directory: Directory | None = field(default=None, repr=False)

    def summary(self) -> dict[str, Any]:
        """Everything but the frames and the directory themselves, for --json."""
        return {k: v for k, v in self.__dict__.items() if k not in ("data", "directory")}


def frame_names(selection: Sequence[str]) -> tuple[str, ...]:
    """`queue,agent` (the CLI's short names) or canonical names -> canonical names."""
    names = []
    for item in selection:
        name = FRAME_NAMES.get(item, item)
        if name not in frames.FRAMES:
            raise UsageError(f"unknown frame {item!r}", hint=f"frames: {', '.join(FRAME_NAMES)}")
        if name not in names:
            names.append(name)
    return tuple(names)


def check_spec(spec: PullSpec) -> list[Window]:
    """The spec's day windows; raises UsageError for a range the grid cannot cut cleanly."""
    if spec.interval not in INTERVALS:
        raise UsageError(f"interval {spec.interval} minutes is not 15, 30 or 60")
    unknown = [m for m in spec.media if m not in ALL_MEDIA]
    if unknown:
        raise UsageError(f"unknown media {unknown[0]!r}", hint=f"media: {', '.join(ALL_MEDIA)}")
    frame_names(spec.frames)
    starts = grid(spec.start, spec.end, spec.zone, spec.interval)
    if starts[-1] + pd.Timedelta(minutes=spec.interval) != pd.Timestamp(spec.end):
        raise UsageError(
            f"end {spec.end.isoformat()} is not on the {spec.interval}-minute grid of "
            f"{spec.zone.key}",
            hint="end at a local interval boundary, e.g. the next local midnight",
        )
    return day_windows(spec.start, spec.end, spec.zone)


Work = Callable[[CredentialSession], Awaitable[None]]


@dataclass(frozen=True)
class Job:
    set_index: int
    work: Work
    large: bool = False  # a grouped agent x queue answer: its size grows with the org


class _Runner:
    """One window's requests, spread over the credential sets."""

    def __init__(self, client: GenesysClient, progress: Callable[[], None]) -> None:
        self.sessions = client.sessions
        self.gates = [asyncio.Semaphore(IN_FLIGHT_PER_SET) for _ in self.sessions]
        # Taken before a set's gate, so a large job waiting here holds no slot of its set.
        self.large = asyncio.Semaphore(LARGE_ANSWERS_IN_FLIGHT)
        self.progress = progress

    async def on(self, job: Job) -> None:
        large = self.large if job.large else contextlib.nullcontext()
        async with large, self.gates[job.set_index]:
            await job.work(self.sessions[job.set_index])
        self.progress()


def _shards(user_ids: list[str], sets: int) -> list[list[list[str]]]:
    """Contiguous shards, one per credential set, each cut into batches of USER_BATCH."""
    size = max(math.ceil(len(user_ids) / sets), 1)
    return [list(chunks(user_ids[i * size : (i + 1) * size], USER_BATCH)) for i in range(sets)]


async def _details(
    session: CredentialSession, window: Window, user_ids: list[str], assembler: DayAssembler
) -> None:
    merged: dict[str, dict[str, list[Any]]] = {}
    seen = 0
    for page in range(1, MAX_DETAIL_PAGES + 1):
        body = await session.post(USER_DETAILS, json=user_details_body(window, user_ids, page))
        details = (body or {}).get("userDetails") or []
        for detail in details:
            entry = merged.setdefault(
                str(detail.get("userId")), {"primaryPresence": [], "routingStatus": []}
            )
            for key in ("primaryPresence", "routingStatus"):
                entry[key].extend(detail.get(key) or [])
        seen += len(details)
        total = (body or {}).get("totalHits")
        if not details or (total is not None and seen >= int(total)):
            break
        if total is None and len(details) < DETAILS_PAGE_SIZE:
            break
    else:
        raise RemoteError(f"Genesys Cloud {USER_DETAILS} has more than {MAX_DETAIL_PAGES} pages")
    # A status spanning days can come back once per day; keep one copy of each record.
    assembler.add_user_details(
        {"userId": user_id, **{key: _unique(records) for key, records in entry.items()}}
        for user_id, entry in merged.items()
    )


def _unique(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[tuple[Any, ...], dict[str, Any]] = {}
    for record in records:
        seen.setdefault(tuple(sorted((k, str(v)) for k, v in record.items())), record)
    return list(seen.values())


def _span_jobs(
    window: Window,
    spec: PullSpec,
    directory: Directory,
    assemblers: Sequence[DayAssembler],
    wanted: tuple[str, ...],
    sets: int,
) -> list[Job]:
    """The requests of one span (`window`), each answer split back into the days'
    `assemblers`."""
    jobs: list[Job] = []
    minutes = spec.interval
    splitter = AnswerSplitter([assembler.window for assembler in assemblers])

    def by_day(body: Any) -> Iterator[tuple[DayAssembler, Any]]:
        return zip(assemblers, splitter.split(body), strict=True)

    if "queue_interval" in wanted:
        for number, query in enumerate(queue_queries(directory.queues)):

            async def queue_job(s: CredentialSession, q: Any = query) -> None:
                body = await s.post(CONVERSATION_AGGREGATES, json=q.body(window, minutes))
                for assembler, part in by_day(body):
                    assembler.add_queue_answer(q, part)

            jobs.append(Job(number % sets, queue_job))
    if {"agent_interval", "agent_queue_interval"} & set(wanted) and directory.agents:
        for block in agent_blocks(window, minutes, len(directory.agents)):

            async def conversations(s: CredentialSession, b: Window = block) -> None:
                body = agent_conversation_body(b, minutes)  # every agent in one query
                folded = await s.post_items(
                    CONVERSATION_AGGREGATES,
                    json=body,
                    prefix="results.item",
                    fold=lambda: ConversationFold(assemblers, splitter),
                )
                folded.commit()

            jobs.append(Job(len(jobs) % sets, conversations, large=True))
    user_ids = [agent.user_id for agent in directory.agents]
    for set_index, batches in enumerate(_shards(user_ids, sets)):
        for batch in batches:
            if "agent_interval" in wanted:

                async def users(s: CredentialSession, ids: list[str] = batch) -> None:
                    body = user_aggregate_body(window, minutes, ids)
                    for assembler, part in by_day(await s.post(USER_AGGREGATES, json=body)):
                        assembler.add_user_aggregates(part)

                jobs.append(Job(set_index, users))
            # Status timelines stay one query per day: Genesys joins a user's records that
            # run on past the interval's end, so a row ending just after midnight could end
            # elsewhere than a pull of its own day says (the aggregates split cleanly by bucket).
            for assembler in assemblers if "agent_status" in wanted else ():

                async def details(
                    s: CredentialSession, ids: list[str] = batch, a: DayAssembler = assembler
                ) -> None:
                    await _details(s, a.window, ids, a)

                jobs.append(Job(set_index, details))
    return jobs


async def pull_async(
    source: PullSource,
    spec: PullSpec,
    *,
    cache: FrameCache | None = None,
    directories: DirectoryCache | None = None,
    now: datetime | None = None,
    keep_frames: bool = True,
    progress: Progress | None = None,
    retry: RetryPolicy | None = None,
    counter: RequestCounter | None = None,
) -> PullResult:
    windows = check_spec(spec)
    wanted = frame_names(spec.frames)
    _arrow_from_the_c_heap()
    _large_blocks_back_to_the_system()
    began = time.monotonic()
    counter = counter or RequestCounter()
    summaries = {name: FrameSummary(name, 0) for name in wanted}
    kept: dict[str, list[pd.DataFrame]] = {name: [] for name in wanted}
    async with GenesysClient(
        source.api_url,
        source.login_url,
        source.credentials,
        proxy=source.proxy,
        retry=retry,
        counter=counter,
    ) as client:
        directory = await _directory(client.session(0), source, spec, directories, now)
        await _claim_cache(client.session(0), source, spec.scope, cache)
        sets = len(client.sessions)
        done = [0]
        plans = []
        for span in query_spans(windows, spec.interval):
            assemblers = [
                DayAssembler(window, spec.interval, directory, frozenset(spec.media))
                for window in span
            ]
            jobs = _span_jobs(span_window(span), spec, directory, assemblers, wanted, sets)
            plans.append((assemblers, jobs))
        total = sum(len(jobs) for _, jobs in plans)

        def tick() -> None:
            done[0] += 1
            if progress is not None:
                progress(done[0], total)

        runner = _Runner(client, tick)
        for assemblers, jobs in plans:
            with contextlib.ExitStack() as stack:
                for assembler in assemblers:
                    stack.enter_context(assembler)
                await _all(runner, jobs)
                for assembler in assemblers:
                    _store(assembler, spec, wanted, cache, summaries, kept, keep_frames)
    requests = counter.count()
    days = (spec.end - spec.start).total_seconds() / 86_400
    by_endpoint: dict[str, int] = {}
    for row in counter.rows():
        by_endpoint[row.endpoint] = by_endpoint.get(row.endpoint, 0) + row.count
    return PullResult(
        scope=spec.scope,
        start=spec.start,
        end=spec.end,
        timezone=spec.zone.key,
        interval_minutes=spec.interval,
        days=[w.day for w in windows],
        credential_sets=len(source.credentials),
        agents=len(directory.agents),
        queues=len(directory.queues),
        unlicensed_users=directory.unlicensed_users,
        out_of_division_users=directory.out_of_division_users,
        out_of_division_queues=directory.out_of_division_queues,
        unmapped_agents=len(directory.unmapped_agents),
        frames=list(summaries.values()),
        requests=requests,
        requests_by_endpoint=dict(sorted(by_endpoint.items())),
        requests_by_credential={k: sum(v.values()) for k, v in counter.by_credential().items()},
        requests_per_agent_day=round(requests / max(len(directory.agents), 1) / days, 4),
        seconds=round(time.monotonic() - began, 3),
        data={name: _concat(name, parts) for name, parts in kept.items()} if keep_frames else {},
        directory=directory,
    )


def _arrow_from_the_c_heap() -> None:
    """Arrow allocates from the C heap, as numpy and pandas do, not from its own mimalloc
    pool: a day's spills and pieces are allocated and freed by the hundred megabytes, mostly by
    one library and read by the other, and mimalloc kept what Arrow freed for Arrow alone (the
    store of a 20,000-agent day on five sets peaked 60-77 MiB higher with it).

    This sets pyarrow's default, which its Python calls use. Parquet's writer takes Arrow's C++
    default instead, which `ARROW_DEFAULT_MEMORY_POOL` chooses as pyarrow loads: importing
    `wfmcli` sets it (see `wfmcli/__init__.py`), so `wfm` itself has both on the C heap."""
    import pyarrow as pa

    if pa.default_memory_pool().backend_name != "system":
        pa.set_memory_pool(pa.system_memory_pool())


MMAP_THRESHOLD = 1024 * 1024
M_MMAP_THRESHOLD = -3  # mallopt's parameter number, from glibc's malloc.h


def _large_blocks_back_to_the_system() -> bool:
    """On glibc, blocks of a mebibyte and more come from the system and go back when freed.

    glibc raises its own threshold for that to the size of every large block freed, up to
    32 MiB, so a pull's arrays, freed and asked again by the megabyte in a day's store, stayed
    in the heap, which kept what it could not reuse: a 100,000-agent day's store rose 85 MiB
    above the pull's level with glibc's threshold and 55 MiB with this one. Elsewhere this does
    nothing; True where it was set."""
    if platform.libc_ver()[0] != "glibc":
        return False
    libc = ctypes.CDLL(None)
    return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))


def _store(
    assembler: DayAssembler,
    spec: PullSpec,
    wanted: tuple[str, ...],
    cache: FrameCache | None,
    summaries: dict[str, FrameSummary],
    kept: dict[str, list[pd.DataFrame]],
    keep_frames: bool,
) -> None:
    """One day window's frames into its cache partitions (and the kept frames)."""
    window = assembler.window
    for name in wanted:
        pieces = _tally(assembler.pieces(name), summaries[name], kept[name], keep_frames)
        if cache is None:
            for _ in pieces:
                pass
            continue
        partition = Partition(spec.scope, name, spec.zone, spec.interval, window.day)
        path = cache.write_sorted(partition, window.start, window.end, pieces)
        summaries[name].files.append(str(path))


async def _claim_cache(
    session: CredentialSession, source: PullSource, scope: str, cache: FrameCache | None
) -> None:
    """Record the org this pull reads; a cache another org wrote is refused before any write."""
    if cache is None:
        return
    ids = tuple(sorted(c.client_id for c in source.credentials))
    region = region_of(source.api_url)
    identity = cache.identity(scope)
    known = identity.known(region, ids)
    if known is None:
        me = await session.get(ORG_PATH)
        known = OrgIdentity(str(me["id"]), region, str(me.get("name", "")), ids)
    identity.claim(known, scope)


async def _directory(
    session: CredentialSession,
    source: PullSource,
    spec: PullSpec,
    directories: DirectoryCache | None,
    now: datetime | None,
) -> Directory:
    """The scope's directory: cached for the day, re-read when the change probe says so."""
    mapping = sorted((spec.agent_map or {}).items())
    key = directory_key(
        source.api_url, source.divisions, source.licensed_role, spec.agent_id, mapping
    )

    def read() -> Awaitable[Directory]:
        return load_directory(
            session,
            divisions=source.divisions,
            licensed_role=source.licensed_role,
            agent_id=spec.agent_id,
            agent_map=spec.agent_map,
        )

    def probe() -> Awaitable[str]:
        return probe_directory(session, source.licensed_role)

    return await current_directory(directories, key, now, read, probe)


async def _all(runner: _Runner, jobs: list[Job]) -> None:
    """Run a window's jobs; the first failure cancels the rest and is raised as itself, so the
    command line shows one clear line rather than an internal error about an ExceptionGroup."""
    try:
        async with asyncio.TaskGroup() as group:
            for job in jobs:
                group.create_task(runner.on(job))
    except BaseExceptionGroup as grouped:
        first: BaseException = grouped
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        raise first from None


def _tally(
    pieces: Iterator[pd.DataFrame], summary: FrameSummary, kept: list[pd.DataFrame], keep: bool
) -> Iterator[pd.DataFrame]:
    """Pass the pieces on, counting their rows and keeping them when the caller wants frames."""
    for piece in pieces:
        summary.rows += len(piece)
        if keep:
            kept.append(piece)
        yield piece


def _concat(name: str, parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return frames.empty_frame(name)
    df = pd.concat(parts, ignore_index=True)
    extra = [c for c in df.columns if str(c).startswith("secondary_")]
    df[extra] = df[extra].fillna(0.0)
    # Pieces concatenated leave text in many Arrow chunks; coerce makes each column one again.
    return frames.coerce(name, df)


def pull(source: PullSource, spec: PullSpec, **options: Any) -> PullResult:
    """Blocking form of `pull_async` for commands and jobs."""
    return asyncio.run(pull_async(source, spec, **options))

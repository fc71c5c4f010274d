"""The Genesys side of the relay: who to watch, their channels, and resyncs over REST.

Licensed agents (holders of the licensing role, in the configured divisions) each get a
`v2.users.{id}.activity` topic (plus `.conversationsummary` in detailed mode). Topics are packed
into channels of at most 1,000, at most 20 channels per credential set, spread over the sets.
Genesys replays nothing, so every (re)connect of a channel queues its agents for a REST read;
the reads are coalesced, and a large backlog becomes one paged listing of all users. A periodic
roster refresh picks up agents added to or removed from the role or divisions.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from wfmcli.errors import ConfigError, RemoteError, TransientError, UsageError, WfmError
from wfmcli.genesys.auth import Credential
from wfmcli.genesys.client import CredentialSession, GenesysClient
from wfmcli.genesys.fanout import map_sessions
from wfmcli.genesys.notifications import (
    MAX_CHANNELS_PER_CREDENTIAL_SET,
    MAX_TOPICS_PER_CHANNEL,
    Notification,
    notification_need,
    parse_message,
)
from wfmcli.genesys.paging import iter_entities
from wfmcli.genesys.retry import RetryPolicy
from wfmcli.rta.channels import ChannelPolicy, ChannelSlot, Event
from wfmcli.rta.model import AgentIds, Observation
from wfmcli.rta.records import LinkStatus
from wfmcli.rta.wire import PresenceDefinition, from_activity, from_user, media, topic_user

log = logging.getLogger("wfm.rta.source")
USERS_PAGE = 500
IDS_PER_READ = 100
APPLY_CHUNK = 500  # events applied between two yields to the loop
RESYNC_GATHER_MAX_S = 2.0
# A licence moved from one user to another keeps the role's userCount, so the holders are read
# this often whatever the count says; users and divisions (renames, division moves) once a day.
HOLDERS_CHECK_S = 3_600.0
FULL_READ_S = 86_400.0


@dataclass(frozen=True)
class SourceConfig:
    scope: str
    api_url: str
    login_url: str
    credentials: Sequence[Credential]
    licensed_role: str
    divisions: Sequence[str] = ()
    proxy: str | None = None
    agent_id: str = "username"  # username | email | employee_id | mapping
    agent_map: Mapping[str, str] | None = None  # user id/username/email -> WFM id ("mapping")
    detailed: bool = False
    roster_refresh_s: float = 300.0
    holders_check_s: float = HOLDERS_CHECK_S
    full_read_s: float = FULL_READ_S
    policy: ChannelPolicy = field(default_factory=ChannelPolicy)
    retry: RetryPolicy | None = None
    topics_per_channel: int = MAX_TOPICS_PER_CHANNEL  # Genesys' limit; tests use less
    # the relay's own key (fan-out: the user id, each destination naming it its way); wins
    agent_key: Callable[[Mapping[str, Any]], str | None] | None = None


Apply = Callable[[list[Observation]], None]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _UserRow:
    """What the relay keeps of one REST user: a few strings and its observation."""

    id: str
    division: str
    agent: str | None
    observation: Observation | None


def _ids(entities: list[dict[str, Any]]) -> list[str]:
    return [str(entity.get("id")) for entity in entities]
Remove = Callable[[str, str], None]


def _agent_key(user: Mapping[str, Any], config: SourceConfig) -> str | None:
    if config.agent_key is not None:
        return config.agent_key(user)
    return AgentIds(config.agent_id, config.agent_map).of(user)  # type: ignore[arg-type]


class GenesysSource:
    def __init__(
        self, config: SourceConfig, apply: Apply, remove: Remove, ready: Callable[[], None]
    ) -> None:
        self.config = config
        self._apply = apply
        self._remove = remove
        self._ready = ready
        self.definitions: dict[str, PresenceDefinition] = {}
        self.roster: dict[str, str] = {}  # user id -> agent key
        self.slots: list[ChannelSlot] = []
        self._slot_of: dict[str, int] = {}
        self._pending: set[str] = set()
        self.resyncing = False  # a REST read of agents' states is in flight
        self._wake = asyncio.Event()
        self._inbox: dict[str, Event] = {}  # topic -> latest event not yet applied
        self._inbox_ready = asyncio.Event()
        self.stats: dict[str, float] = {
            "events_in": 0, "coalesced": 0, "resyncs": 0, "resync_users": 0,
            "roster_refreshes": 0, "roster_probes": 0, "roster_holder_reads": 0,
            "last_event_lag_ms": 0.0,
        }
        self._group: asyncio.TaskGroup | None = None
        self._restored: dict[str, str] = {}
        self._role_id: str | None = None
        self._role_count: int | None = None  # the role's userCount at the last holders read
        self._probed_count: int | None = None
        self._holders: set[str] = set()
        self._divisions: set[str] | None = None  # None: every division
        self._first_resync = asyncio.Event()
        self.restore_done = asyncio.Event()  # a saved roster, if any, was handed over
        self._verify_pending = False  # a saved roster awaits its one check (no resyncs yet)
        self.restore_done.set()

    @property
    def link(self) -> LinkStatus:
        if self.slots and all(slot.connected for slot in self.slots):
            return "normal"
        return "unavailable"

    def health(self) -> dict[str, Any]:
        return {
            "scope": self.config.scope,
            "agents": len(self.roster),
            "channels": len(self.slots),
            "channels_connected": sum(1 for s in self.slots if s.connected),
            "reconnects": sum(s.reconnects for s in self.slots),
            "renewals": sum(s.renewals for s in self.slots),
            "recreated": sum(s.recreated for s in self.slots),
            "resync_pending": len(self._pending),
            "inbox": len(self._inbox),
            "resyncing": self.resyncing,
            **self.stats,
        }

    # -- run --------------------------------------------------------------------------------

    async def run(self) -> None:
        config = self.config
        async with GenesysClient(config.api_url, config.login_url, config.credentials,
                                 proxy=config.proxy, retry=config.retry) as client:
            await self._load_definitions(client.session(0))
            await self.restore_done.wait()  # the relay loads its saved state meanwhile
            if self._restored:
                # The saved roster goes on the channels at once; one roster read checks it
                # and the saved states when the channels are up (_verify_restored).
                self.roster.update(self._restored)
                self._verify_pending = True
                await self._place(sorted(self._restored), [], client)
            else:
                users = await self._load_roster(client)
                self._apply_users(users)
            self._ready()
            log.info("%s: watching %d licensed agents on %d channel(s)", config.scope,
                     len(self.roster), len(self.slots))
            async with asyncio.TaskGroup() as group:
                self._group = group
                for slot in self.slots:
                    group.create_task(slot.run())
                group.create_task(self._apply_loop())
                group.create_task(self._resync_loop(client))
                group.create_task(self._refresh_loop(client))

    async def _load_definitions(self, session: CredentialSession) -> None:
        async for item in iter_entities(session, "/api/v2/presencedefinitions", page_size=100):
            self.definitions[str(item.get("id"))] = PresenceDefinition(
                str(item.get("name") or ""), bool(item.get("primary", True))
            )

    # -- roster -----------------------------------------------------------------------------

    def restore_roster(self, roster: Mapping[str, str]) -> None:
        """A saved roster (user id -> agent) to start from; checked against Genesys soon."""
        self._restored = dict(roster)

    async def _licensed(self, client: GenesysClient) -> tuple[set[str], set[str] | None]:
        """(ids of the role's holders, ids of the configured divisions or None for all)."""
        session = client.session(0)
        wanted_role = self.config.licensed_role.casefold()
        role = None
        async for item in iter_entities(session, "/api/v2/authorization/roles",
                                        params={"userCount": True}):
            if str(item.get("name", "")).casefold() == wanted_role:
                role = item
                break
        if role is None:
            raise ConfigError(f"licensed_role {self.config.licensed_role!r} is not a role in "
                              f"the org of scope {self.config.scope!r}")
        self._role_id = str(role["id"])
        path = f"/api/v2/authorization/roles/{role['id']}/users"
        holders = set(await self._pages(client, path, {}, _ids))
        count = role.get("userCount")  # what later probes compare with
        self._role_count = count if isinstance(count, int) else None
        if not self.config.divisions:
            return holders, None
        keys = {d.casefold() for d in self.config.divisions}
        divisions = {
            str(d.get("id"))
            async for d in iter_entities(session, "/api/v2/authorization/divisions")
            if str(d.get("id")) in keys or str(d.get("name", "")).casefold() in keys
        }
        return holders, divisions

    def _expand(self) -> list[str]:
        return ["presence", "routingStatus"] + (
            ["conversationSummary"] if self.config.detailed else []
        )

    async def _pages(
        self,
        client: GenesysClient,
        path: str,
        params: dict[str, Any],
        convert: Callable[[list[dict[str, Any]]], list[T]],
    ) -> list[T]:
        """Every page of a listing, spread over the credential sets, each page converted as it
        arrives (100,000 raw users would otherwise sit in memory at once)."""
        params = {**params, "pageSize": USERS_PAGE}
        first = await client.session(0).get(path, params={**params, "pageNumber": 1})
        pages = int(first.get("pageCount") or 1)

        async def page(session: CredentialSession, number: int) -> list[T]:
            body = await session.get(path, params={**params, "pageNumber": number})
            return convert(list(body.get("entities") or []))

        result = convert(list(first.get("entities") or []))
        for chunk in await map_sessions(client, list(range(2, pages + 1)), page, per_set=2):
            result.extend(chunk)
        return result

    def _rows(self, users: list[dict[str, Any]]) -> list[_UserRow]:
        now = int(time.time() * 1000)
        rows = []
        for user in users:
            key = _agent_key(user, self.config)
            observation = (
                from_user(key, self.config.scope, user, self.definitions, now) if key else None
            )
            division = str((user.get("division") or {}).get("id"))
            rows.append(_UserRow(str(user.get("id")), division, key, observation))
        return rows

    async def _all_users(self, client: GenesysClient) -> list[_UserRow]:
        return await self._pages(client, "/api/v2/users", {"expand": self._expand()}, self._rows)

    async def _load_roster(self, client: GenesysClient) -> list[_UserRow]:
        (holders, divisions), listing = await asyncio.gather(
            self._licensed(client), self._all_users(client)
        )
        self._holders, self._divisions = holders, divisions
        rows = self._agents(listing)
        roster = {row.id: str(row.agent) for row in rows}
        await self._change_roster(client, roster, [uid for uid in self.roster if uid not in roster])
        return rows

    def _agents(self, rows: list[_UserRow]) -> list[_UserRow]:
        """The rows of licensed users with an agent key, in the configured divisions."""
        return [
            row for row in rows
            if row.id in self._holders and row.agent is not None
            and (self._divisions is None or row.division in self._divisions)
        ]

    async def _change_roster(
        self, client: GenesysClient, roster: dict[str, str], left: list[str]
    ) -> None:
        """Agents in `roster` join (or keep their channel), those in `left` leave."""
        added = [uid for uid in roster if uid not in self.roster]
        for uid in left:
            self._remove(self.roster.pop(uid), self.config.scope)
        self.roster.update(roster)
        await self._place(added, left, client)

    def _topics(self, user_id: str) -> list[str]:
        topics = [f"v2.users.{user_id}.activity"]
        if self.config.detailed:
            topics.append(f"v2.users.{user_id}.conversationsummary")
        return topics

    async def _place(self, added: list[str], removed: list[str], client: GenesysClient) -> None:
        """Stable placement: agents keep their channel; newcomers fill free room first."""
        per_agent = 2 if self.config.detailed else 1
        capacity = self.config.topics_per_channel // per_agent
        touched: set[int] = set()
        for uid in removed:
            freed = self._slot_of.pop(uid, None)
            if freed is not None:
                touched.add(freed)
        load = [0] * len(self.slots)
        for placed in self._slot_of.values():
            load[placed] += 1
        limit = MAX_CHANNELS_PER_CREDENTIAL_SET * len(client.sessions)
        need = notification_need(len(self._slot_of) + len(added), detailed=self.config.detailed,
                                 topics_per_channel=self.config.topics_per_channel)
        if need.channels > limit:
            raise UsageError(
                f"{need.agents} agents need {need.channels} notification channels; "
                f"{len(client.sessions)} credential set(s) hold {limit}",
                hint=f"add credential sets to the source (each covers "
                     f"{need.capacity_per_set:,} agents)",
            )
        index = 0
        for uid in sorted(added):
            while index < len(load) and load[index] >= capacity:
                index += 1
            if index == len(load):
                load.append(0)
                self._new_slot(client)
            self._slot_of[uid] = index
            load[index] += 1
            touched.add(index)
        # One sorted pass over the roster for all touched channels: a sort per channel held
        # the loop about 2 s when 100,000 agents joined 100 channels at start.
        members: dict[int, list[str]] = {slot_index: [] for slot_index in touched}
        for uid in sorted(self._slot_of):
            if (placed := self._slot_of[uid]) in members:
                members[placed].append(uid)
        for slot_index in sorted(touched):
            topics = [t for uid in members[slot_index] for t in self._topics(uid)]
            slot = self.slots[slot_index]
            if slot.topics != topics:
                if slot.connected:
                    await slot.set_topics(topics)
                else:
                    slot.topics = topics

    def _new_slot(self, client: GenesysClient) -> None:
        index = len(self.slots)
        session = client.sessions[index % len(client.sessions)]  # spread over credential sets
        slot = ChannelSlot(f"{self.config.scope}/channel-{index + 1}", session, [],
                           self._on_event, self._on_connected, self.config.policy,
                           proxy=self.config.proxy)
        self.slots.append(slot)
        if self._group is not None:
            self._group.create_task(slot.run())

    # -- events and resyncs -----------------------------------------------------------------

    def _on_event(self, topic: str, event: Event) -> None:
        """Keeps the latest event per topic until the apply loop takes it: an activity or
        conversation-summary event carries the whole state, so under overload the newer one
        replaces the older unread (latest state wins) and the backlog stays one per topic."""
        self.stats["events_in"] += 1
        if topic in self._inbox:
            self.stats["coalesced"] += 1
        self._inbox[topic] = event
        self._inbox_ready.set()

    async def _apply_loop(self) -> None:
        while True:
            await self._inbox_ready.wait()
            self._inbox_ready.clear()
            while self._inbox:
                batch, self._inbox = list(self._inbox.values()), {}
                for start in range(0, len(batch), APPLY_CHUNK):
                    self._apply_events(batch[start : start + APPLY_CHUNK])
                    await asyncio.sleep(0)  # let sockets and sinks run between chunks

    def _apply_events(self, events: list[Event]) -> None:
        observations = []
        now = int(time.time() * 1000)
        for event in events:
            try:
                note = event if isinstance(event, Notification) else parse_message(event)
            except RemoteError as exc:
                log.warning("%s: %s", self.config.scope, exc.one_line())
                continue
            observation = self._observe(note, now)
            if observation is not None:
                observations.append(observation)
        if observations:
            self._apply(observations)

    def _observe(self, note: Notification, now: int) -> Observation | None:
        user_id, kind = topic_user(note.topic)
        agent = self.roster.get(user_id)
        if agent is None or not isinstance(note.body, dict):
            return None
        if kind == "activity":
            observation = from_activity(agent, self.config.scope, note.body, self.definitions)
            stamp = max(observation.presence.since_ms if observation.presence else 0,
                        observation.routing.since_ms if observation.routing else 0)
            self.stats["last_event_lag_ms"] = max(0.0, now - stamp)
            return observation
        if kind == "conversationsummary":
            return Observation(agent, self.config.scope, media=media(note.body, now))
        return None

    async def _on_connected(self, slot: ChannelSlot) -> None:
        if self._verify_pending:
            return  # the check of a saved roster reads every user once they are all up
        users = {topic_user(topic)[0] for topic in slot.topics}
        self.request_resync(users)

    async def _verify_restored(self, client: GenesysClient) -> None:
        """After a restart from a saved roster: once the channels are up (or a short while
        passed), one roster read checks both the saved states and the roster itself; the
        listing of users it makes is the resync that every first connect would otherwise ask
        for. Channels still connecting after that resync as usual."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RESYNC_GATHER_MAX_S
        while loop.time() < deadline and not (
            self.slots and all(slot.connected for slot in self.slots)
        ):
            await asyncio.sleep(0.05)
        self._verify_pending = False
        late = {topic_user(t)[0] for slot in self.slots if not slot.connected
                for t in slot.topics}
        if not await self._refresh(client):
            self.request_resync(set(self.roster))  # at least the states, the usual way
            return
        self.stats["resyncs"] += 1
        self.stats["resync_users"] += len(self.roster)
        self._first_resync.set()
        if late:
            self.request_resync(late)

    def request_resync(self, user_ids: set[str]) -> None:
        self._pending |= user_ids
        self._wake.set()

    def _apply_users(self, rows: list[_UserRow]) -> None:
        self._apply([row.observation for row in rows
                     if row.observation is not None and row.id in self.roster])

    async def _resync_loop(self, client: GenesysClient) -> None:
        failures = 0
        while True:
            await self._wake.wait()
            await self._gather_reconnects()
            self._wake.clear()
            wanted = {uid for uid in self._pending if uid in self.roster}
            self._pending.clear()
            if not wanted:
                continue
            self.resyncing = True
            try:
                users = await self._read_users(client, wanted)
            except (TransientError, WfmError) as exc:
                failures += 1
                self._pending |= wanted
                delay = min(2.0 ** failures, 60.0) * self.config.policy.backoff_initial
                log.warning("%s: resync of %d agents failed (%s); retrying in %.1f s",
                            self.config.scope, len(wanted), exc.one_line(), delay)
                await asyncio.sleep(delay)
                self._wake.set()
                continue
            finally:
                self.resyncing = False
            failures = 0
            self._first_resync.set()
            self.stats["resyncs"] += 1
            self.stats["resync_users"] += len(wanted)
            self._apply_users(users)

    async def _gather_reconnects(self) -> None:
        """Lets a burst of reconnects coalesce into one read. When the read will be a listing
        of every user anyway (many channels came back) it waits, a bounded while, for the
        channels still reconnecting: one listing instead of two halves the requests."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RESYNC_GATHER_MAX_S
        await asyncio.sleep(0.05)
        while (self._full_listing(len(self._pending)) and loop.time() < deadline
               and any(not slot.connected for slot in self.slots)):
            await asyncio.sleep(0.05)

    def _full_listing(self, wanted: int) -> bool:
        return wanted > max(2 * IDS_PER_READ, len(self.roster) // 4)

    async def _read_users(self, client: GenesysClient, wanted: set[str]) -> list[_UserRow]:
        if self._full_listing(len(wanted)):
            return [row for row in await self._all_users(client) if row.id in wanted]
        ids = sorted(wanted)
        chunks = [ids[i : i + IDS_PER_READ] for i in range(0, len(ids), IDS_PER_READ)]

        async def read(session: CredentialSession, chunk: list[str]) -> list[_UserRow]:
            params: dict[str, Any] = {"id": chunk, "expand": self._expand(),
                                      "pageSize": IDS_PER_READ}
            body = await session.get("/api/v2/users", params=params)
            return self._rows(list(body.get("entities") or []))

        rows: list[_UserRow] = []
        for part in await map_sessions(client, chunks, read, per_set=2):
            rows.extend(part)
        return rows

    async def _refresh_loop(self, client: GenesysClient) -> None:
        """Roster changes by change detection: each period one request reads the licensing
        role's `userCount`; the role's holders are read when it moved and every
        `holders_check_s` (a swap keeps the count), and only the users who joined are read;
        users and divisions are read in full every `full_read_s`, and once soon after a
        restart from a saved roster."""
        if self._restored:
            await self._verify_restored(client)
        loop = asyncio.get_running_loop()
        full_at = holders_at = loop.time()
        while True:
            await asyncio.sleep(self.config.roster_refresh_s)
            now = loop.time()
            if now - full_at >= self.config.full_read_s:
                if await self._refresh(client):
                    full_at = holders_at = now
                continue
            due = now - holders_at >= self.config.holders_check_s
            if (due or await self._count_moved(client)) and await self._check_holders(client):
                holders_at = now

    async def _count_moved(self, client: GenesysClient) -> bool:
        if self._role_id is None or self._role_count is None:
            return True
        try:
            body = await client.session(0).get(
                "/api/v2/authorization/roles",
                params={"id": self._role_id, "userCount": True, "pageSize": 1})
        except (TransientError, WfmError) as exc:
            log.warning("%s: roster check failed (%s)", self.config.scope, exc.one_line())
            return False
        self.stats["roster_probes"] += 1
        entities = list(body.get("entities") or []) if isinstance(body, dict) else []
        count = entities[0].get("userCount") if entities else None
        self._probed_count = count if isinstance(count, int) else None
        return self._probed_count != self._role_count

    async def _check_holders(self, client: GenesysClient) -> bool:
        """Reads the role's holders; users who joined are read by id, those gone leave."""
        if self._role_id is None:
            return await self._refresh(client)
        path = f"/api/v2/authorization/roles/{self._role_id}/users"
        try:
            holders = set(await self._pages(client, path, {}, _ids))
            joined = holders - self._holders
            read = await self._read_users(client, joined) if joined else []
        except (TransientError, WfmError) as exc:
            log.warning("%s: roster check failed (%s); keeping the current roster",
                        self.config.scope, exc.one_line())
            return False
        self.stats["roster_holder_reads"] += 1
        self._holders = holders
        rows = self._agents(read)
        self._role_count = self._probed_count if self._probed_count is not None else len(holders)
        left = [uid for uid in self.roster if uid not in holders]
        added = {row.id: str(row.agent) for row in rows if row.id not in self.roster}
        if left or added:
            await self._change_roster(client, added, left)
            log.info("%s: roster: %d joined, %d left", self.config.scope, len(added), len(left))
            self._apply_users(rows)
            self.request_resync(set(added))  # again after their topics are live
        return True

    async def _refresh(self, client: GenesysClient) -> bool:
        try:
            before = set(self.roster)
            users = await self._load_roster(client)
        except (TransientError, WfmError) as exc:
            log.warning("%s: roster refresh failed (%s); keeping the current roster",
                        self.config.scope, exc.one_line())
            return False
        self.stats["roster_refreshes"] += 1
        added = set(self.roster) - before
        self._apply_users(users)
        if added:
            log.info("%s: %d agents joined the roster", self.config.scope, len(added))
            self.request_resync(added)  # again after their topics are live
        return True

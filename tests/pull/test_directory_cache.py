"""The directory cache: fresh copies are reused, stale or damaged ones are read afresh, and a
change probe between daily full reads re-reads only when the org changed."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path

from tests.pull.conftest import FAST
from wfmcli.pull import PullSpec, pull
from wfmcli.pull.directory import Agent, Directory, PresenceInfo, QueueInfo
from wfmcli.pull.directory_cache import DirectoryCache, current_directory

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def _directory() -> Directory:
    return Directory(
        agents=[Agent("u1", "ann", "Ann Lee")],
        queues=[QueueInfo("q1", "Sales", {"voice": (20000, 0.8)})],
        presences={"p1": PresenceInfo("p1", "Break", "BREAK", True)},
        division_ids={"d1"},
        unlicensed_users=3,
        unmapped_agents=["u9"],
    )


def test_fresh_copy_round_trips(tmp_path: Path) -> None:
    cache = DirectoryCache(tmp_path, ttl=timedelta(hours=1))
    cache.save("k", _directory(), NOW)
    loaded = cache.load("k", NOW + timedelta(minutes=59))
    assert loaded is not None
    assert loaded.agents == _directory().agents
    assert loaded.queues[0].service_level("voice") == (20000, 0.8)
    assert loaded.presences == _directory().presences
    assert loaded.division_ids == {"d1"} and loaded.unlicensed_users == 3


def test_stale_missing_and_damaged_copies_are_not_used(tmp_path: Path) -> None:
    cache = DirectoryCache(tmp_path, ttl=timedelta(hours=1))
    assert cache.load("k", NOW) is None
    cache.save("k", _directory(), NOW)
    assert cache.load("k", NOW + timedelta(hours=1, seconds=1)) is None
    (tmp_path / "k.json").write_text("{broken")
    assert cache.load("k", NOW) is None


def test_a_copy_without_fingerprint_or_past_the_day_is_read_afresh(tmp_path: Path) -> None:
    cache = DirectoryCache(tmp_path)
    reads: list[str] = []

    async def read() -> Directory:
        reads.append("read")
        return replace(_directory(), fingerprint="f1")

    async def probe() -> str:
        reads.append("probe")
        return "f1"

    cache.save("k", _directory(), NOW)  # an old copy: no fingerprint
    get = partial(current_directory, cache, "k", read=read, probe=probe)
    assert asyncio.run(get(NOW + timedelta(hours=3))).fingerprint == "f1"
    assert reads == ["read"]
    asyncio.run(get(NOW + timedelta(hours=4)))
    assert reads == ["read"]  # probed less than probe_every ago (by the read)
    asyncio.run(get(NOW + timedelta(hours=5, minutes=1)))
    assert reads == ["read", "probe"]
    asyncio.run(get(NOW + timedelta(hours=27, minutes=1)))  # the full read is a day old
    assert reads == ["read", "probe", "read"]


DIRECTORY_ENDPOINTS = {
    "GET /api/v2/authorization/divisions",
    "GET /api/v2/authorization/roles",
    "GET /api/v2/authorization/roles/{id}/users",
    "GET /api/v2/users",
    "GET /api/v2/routing/queues",
    "GET /api/v2/presence/definitions",
}


def test_the_twin_directory_is_probed_and_reread_only_on_change(
    org_factory, tmp_path: Path
) -> None:
    org = org_factory(11, "Europe/Berlin", date(2026, 6, 10), agents=60)
    cache = DirectoryCache(tmp_path)
    spec = PullSpec("lab", org.start, org.end, org.zone, 60, frames=("queue_interval",))
    start = datetime(2026, 6, 11, 1, tzinfo=UTC)

    def directory_requests(after: timedelta) -> tuple[set[str], int]:
        result = pull(org.source(), spec, directories=cache, now=start + after, retry=FAST)
        endpoints = {e for e in result.requests_by_endpoint if e in DIRECTORY_ENDPOINTS}
        return endpoints, result.agents

    full, agents = directory_requests(timedelta(0))
    assert full == DIRECTORY_ENDPOINTS
    assert directory_requests(timedelta(minutes=30)) == (set(), agents)
    probe = {"GET /api/v2/authorization/roles", "GET /api/v2/routing/queues"}
    assert directory_requests(timedelta(hours=2)) == (probe, agents)  # unchanged
    role = org.twin.org.licensed_role
    user = next(u for u in org.twin.org.users if u.licensed and u.division.name == "Sales")
    user.role_ids = tuple(r for r in user.role_ids if r != role.id)  # a licence taken away
    assert directory_requests(timedelta(hours=3)) == (set(), agents)  # not probed yet
    assert directory_requests(timedelta(hours=4, minutes=1)) == (full, agents - 1)
    assert directory_requests(timedelta(hours=5)) == (set(), agents - 1)
    org.twin.org.queues[0].sl_ms += 1000  # a service level changed
    assert directory_requests(timedelta(hours=6, minutes=2)) == (full, agents - 1)

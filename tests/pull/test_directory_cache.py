"""The directory cache: fresh copies are reused, stale or damaged ones are read afresh."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from wfmcli.pull.directory import Agent, Directory, PresenceInfo, QueueInfo
from wfmcli.pull.directory_cache import DirectoryCache

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

"""Keep the directory (agents, queues, presences) between pulls for the day, with change detection.

The directory costs about 2 requests per 500 users to read, yet changes rarely. A job that runs
every 15 minutes reads it in full at most once per `ttl` (a day); in between, at most once per
`probe_every` (2 hours), `probe_directory` (2 requests) compares the directory's fingerprint and
only a change triggers a full read. The cache is keyed by everything that shapes the directory.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from wfmcli.pull.directory import Agent, Directory, PresenceInfo, QueueInfo

log = logging.getLogger("wfm.pull")
DIRECTORY_TTL = timedelta(hours=24)  # a full read at least once a day
PROBE_EVERY = timedelta(hours=2)  # and a change probe at most this often in between


@dataclass
class CachedDirectory:
    directory: Directory
    fetched_at: datetime  # the full read
    probed_at: datetime  # the last full read or probe that found it unchanged


def directory_key(*parts: object) -> str:
    text = json.dumps([str(p) for p in parts], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class DirectoryCache:
    def __init__(
        self, root: Path, ttl: timedelta = DIRECTORY_TTL, probe_every: timedelta = PROBE_EVERY
    ) -> None:
        self.root = root
        self.ttl = ttl
        self.probe_every = probe_every

    def entry(self, key: str, now: datetime | None = None) -> CachedDirectory | None:
        """The cached directory with its times, or None when there is none younger than ttl."""
        try:
            raw = json.loads((self.root / f"{key}.json").read_text(encoding="utf-8"))
            fetched = datetime.fromisoformat(raw["fetched_at"])
            if (now or datetime.now(UTC)) - fetched > self.ttl:
                return None
            probed = datetime.fromisoformat(raw.get("probed_at") or raw["fetched_at"])
            return CachedDirectory(_from_json(raw["directory"]), fetched, probed)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring an unreadable directory cache (%s); reading it afresh", exc)
            return None

    def load(self, key: str, now: datetime | None = None) -> Directory | None:
        """The cached directory, or None when there is none younger than the ttl."""
        found = self.entry(key, now)
        return found.directory if found else None

    def save(
        self,
        key: str,
        directory: Directory,
        now: datetime | None = None,
        *,
        fetched_at: datetime | None = None,
    ) -> None:
        """`now`: when it was known current; `fetched_at`: its full read (default: now)."""
        self.root.mkdir(parents=True, exist_ok=True)
        moment = now or datetime.now(UTC)
        document = {
            "fetched_at": (fetched_at or moment).isoformat(),
            "probed_at": moment.isoformat(),
            "directory": _to_json(directory),
        }
        temp = self.root / f".{key}.{os.getpid()}.tmp"
        temp.write_text(json.dumps(document), encoding="utf-8")
        temp.replace(self.root / f"{key}.json")


def _to_json(directory: Directory) -> dict[str, Any]:
    return {
        "agents": [asdict(a) for a in directory.agents],
        "queues": [
            {"id": q.id, "name": q.name, "service_levels": dict(q.service_levels)}
            for q in directory.queues
        ],
        "presences": {k: asdict(p) for k, p in directory.presences.items()},
        "division_ids": sorted(directory.division_ids),
        "unlicensed_users": directory.unlicensed_users,
        "out_of_division_users": directory.out_of_division_users,
        "out_of_division_queues": directory.out_of_division_queues,
        "unmapped_agents": directory.unmapped_agents,
        "fingerprint": directory.fingerprint,
    }


async def current_directory(
    cache: DirectoryCache | None,
    key: str,
    now: datetime | None,
    read: Callable[[], Awaitable[Directory]],
    probe: Callable[[], Awaitable[str]],
) -> Directory:
    """The cached directory while it is fresh or the probe finds it unchanged; else a full read."""
    moment = now or datetime.now(UTC)
    found = cache.entry(key, moment) if cache else None
    if found is not None and moment - found.probed_at < cache.probe_every:  # type: ignore[union-attr]
        return found.directory
    if found is not None and found.directory.fingerprint:
        if await probe() == found.directory.fingerprint:
            assert cache is not None
            cache.save(key, found.directory, moment, fetched_at=found.fetched_at)
            return found.directory
        log.info("the Genesys directory changed; reading it afresh")
    directory = await read()
    if cache is not None:
        cache.save(key, directory, moment)
    return directory


def _from_json(raw: dict[str, Any]) -> Directory:
    return Directory(
        agents=[Agent(**a) for a in raw["agents"]],
        queues=[
            QueueInfo(
                q["id"],
                q["name"],
                {m: (int(t), float(g)) for m, (t, g) in q["service_levels"].items()},
            )
            for q in raw["queues"]
        ],
        presences={k: PresenceInfo(**p) for k, p in raw["presences"].items()},
        division_ids=set(raw["division_ids"]),
        unlicensed_users=raw["unlicensed_users"],
        out_of_division_users=raw["out_of_division_users"],
        out_of_division_queues=raw["out_of_division_queues"],
        unmapped_agents=list(raw["unmapped_agents"]),
        fingerprint=str(raw.get("fingerprint") or ""),
    )

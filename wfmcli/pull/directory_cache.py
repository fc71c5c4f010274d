"""Keep the directory (agents, queues, presences) between pulls for a while.

The directory costs about 2 requests per 500 users on every pull, yet changes rarely; a batch job
that runs every 15 minutes reads it at most once per `ttl`. Agents added to the licensing role
appear at the next refresh. The cache is keyed by everything that shapes the directory.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from wfmcli.pull.directory import Agent, Directory, PresenceInfo, QueueInfo

log = logging.getLogger("wfm.pull")
DIRECTORY_TTL = timedelta(hours=1)


def directory_key(*parts: object) -> str:
    text = json.dumps([str(p) for p in parts], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class DirectoryCache:
    def __init__(self, root: Path, ttl: timedelta = DIRECTORY_TTL) -> None:
        self.root = root
        self.ttl = ttl

    def load(self, key: str, now: datetime | None = None) -> Directory | None:
        """The cached directory, or None when there is none younger than the ttl."""
        try:
            raw = json.loads((self.root / f"{key}.json").read_text(encoding="utf-8"))
            fetched = datetime.fromisoformat(raw["fetched_at"])
            if (now or datetime.now(UTC)) - fetched > self.ttl:
                return None
            return _from_json(raw["directory"])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring an unreadable directory cache (%s); reading it afresh", exc)
            return None

    def save(self, key: str, directory: Directory, now: datetime | None = None) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        document = {
            "fetched_at": (now or datetime.now(UTC)).isoformat(),
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
    }


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
    )

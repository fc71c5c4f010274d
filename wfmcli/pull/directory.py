"""Who and what the pull covers: divisions, licensed agents, queues, presence definitions.

Scope rules: an agent is a user holding the licensing role whose division is configured; a queue
is in scope when its division is. Listings use pageSize 500, so a 20,000-user org costs about 40
requests for its users. Each agent row carries the id the WFM system knows the agent by:
username, email, employee id, or a mapping file.

A full read costs about 12 requests at 2,000 users; `probe_directory` tells in 2 whether it is
worth it: the licensing role's `userCount` (a user licensed or unlicensed) and the queue listing
(one page up to 500 queues: a queue added, removed, renamed, moved or given another service
level). Both are hashed into `Directory.fingerprint` at the full read, from the same fields.
What the probe cannot see (a user moved to another division, a username changed, one licence
moved from one user to another between two probes) waits for the daily full read.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from wfmcli.errors import ConfigError, RemoteError
from wfmcli.genesys.client import CredentialSession
from wfmcli.genesys.paging import iter_entities

AgentIdMode = Literal["username", "email", "employee_id", "mapping"]
LIST_PAGE = 500
DEFAULT_SL = (20_000, 0.8)  # Genesys' default service level: 80 % in 20 s
# Queue mediaSettings keys per analytics media type.
MEDIA_SETTINGS_KEY = {
    "voice": "call",
    "callback": "callback",
    "chat": "chat",
    "email": "email",
    "message": "message",
}


@dataclass(frozen=True)
class Agent:
    user_id: str
    agent_id: str
    name: str


@dataclass(frozen=True)
class QueueInfo:
    id: str
    name: str
    service_levels: Mapping[str, tuple[int, float]]  # media -> (threshold ms, target 0..1)

    def service_level(self, media: str) -> tuple[int, float]:
        return self.service_levels.get(media, DEFAULT_SL)


@dataclass(frozen=True)
class PresenceInfo:
    id: str
    name: str
    system_presence: str  # UPPER_SNAKE, as analytics spells it
    secondary: bool  # a user-defined (secondary) presence rather than a system one


@dataclass
class Directory:
    agents: list[Agent]
    queues: list[QueueInfo]
    presences: dict[str, PresenceInfo]
    division_ids: set[str]
    unlicensed_users: int = 0
    out_of_division_users: int = 0
    out_of_division_queues: int = 0
    unmapped_agents: list[str] = field(default_factory=list)
    fingerprint: str = ""  # what `probe_directory` compares; "" = unknown, always re-read

    @cached_property
    def agent_by_id(self) -> dict[str, Agent]:
        return {a.user_id: a for a in self.agents}

    @cached_property
    def queue_by_id(self) -> dict[str, QueueInfo]:
        return {q.id: q for q in self.queues}


def read_agent_map(path: Path) -> dict[str, str]:
    """A CSV of `genesys key,wfm id` rows; the key is a user id, username or email.

    A first row whose first cell is a column name (user_id, username, email, key) is a header.
    """
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = [row for row in csv.reader(handle) if row and not row[0].startswith("#")]
    except OSError as exc:
        raise ConfigError(
            f"cannot read the agent mapping file {path}: {exc.strerror or exc}",
            hint="agent_map_file is a CSV of user id (or username/email) to WFM agent id",
        ) from exc
    if rows and rows[0][0].strip().casefold() in ("user_id", "username", "email", "key"):
        rows = rows[1:]
    mapping: dict[str, str] = {}
    for number, row in enumerate(rows, start=1):
        if len(row) < 2 or not row[0].strip() or not row[1].strip():
            raise ConfigError(f"{path}: row {number} needs two values: genesys key, wfm id")
        mapping[row[0].strip().casefold()] = row[1].strip()
    return mapping


def _agent_id(user: dict[str, Any], mode: AgentIdMode, mapping: Mapping[str, str]) -> str:
    if mode == "email":
        return str(user.get("email") or "")
    if mode == "employee_id":
        return str((user.get("employerInfo") or {}).get("employeeId") or "")
    if mode == "mapping":
        for key in (user.get("id"), user.get("username"), user.get("email")):
            if key and str(key).casefold() in mapping:
                return mapping[str(key).casefold()]
        return ""
    return str(user.get("username") or "")


def _division_id(entity: dict[str, Any]) -> str:
    division = entity.get("division")
    return str(division.get("id")) if isinstance(division, dict) else ""


def _service_levels(queue: dict[str, Any]) -> dict[str, tuple[int, float]]:
    settings = queue.get("mediaSettings") or {}
    levels: dict[str, tuple[int, float]] = {}
    for media, key in MEDIA_SETTINGS_KEY.items():
        level = (settings.get(key) or {}).get("serviceLevel") or {}
        try:
            threshold = int(level["durationMs"])
            target = float(level["percentage"])
        except (KeyError, TypeError, ValueError):
            threshold, target = DEFAULT_SL
        levels[media] = (threshold, target)
    return levels


async def _listing(session: CredentialSession, path: str, **params: Any) -> list[dict[str, Any]]:
    return [
        item
        async for item in iter_entities(session, path, params=params or None, page_size=LIST_PAGE)
    ]


async def _divisions(session: CredentialSession, wanted: Sequence[str]) -> set[str]:
    visible = await _listing(session, "/api/v2/authorization/divisions")
    if not wanted:
        return {str(d.get("id")) for d in visible}
    by_key: dict[str, str] = {}
    for division in visible:
        by_key[str(division.get("id"))] = str(division.get("id"))
        by_key[str(division.get("name", "")).casefold()] = str(division.get("id"))
    missing = [w for w in wanted if w not in by_key and w.casefold() not in by_key]
    if missing:
        raise ConfigError(
            f"division {missing[0]!r} is not visible to the OAuth client",
            hint="check source.divisions and the client's division permissions",
        )
    return {by_key.get(w) or by_key[w.casefold()] for w in wanted}


def _licensing_role(roles: list[dict[str, Any]], role_name: str) -> dict[str, Any]:
    role = next(
        (r for r in roles if str(r.get("name", "")).casefold() == role_name.casefold()), None
    )
    if role is None:
        raise ConfigError(
            f"licensed_role {role_name!r} is not a role in the Genesys org",
            hint="set source.licensed_role to the role that licenses WFM agents",
        )
    return role


async def _role_holders(session: CredentialSession, role: dict[str, Any]) -> set[str]:
    holders = await _listing(session, f"/api/v2/authorization/roles/{role['id']}/users")
    return {str(u.get("id")) for u in holders}


def fingerprint(role: dict[str, Any], queues: list[dict[str, Any]]) -> str:
    """A hash of what the probe can re-read cheaply: the role's holder count and every queue's
    id, name, division and media settings."""
    facts = [
        [str(role.get("id")), role.get("userCount")],
        sorted(
            [str(q.get("id")), str(q.get("name")), _division_id(q), q.get("mediaSettings") or {}]
            for q in queues
        ),
    ]
    text = json.dumps(facts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


async def probe_directory(session: CredentialSession, licensed_role: str) -> str:
    """The directory's current fingerprint, in two requests (at up to 500 queues)."""
    roles = await _listing(session, "/api/v2/authorization/roles", name=licensed_role)
    role = _licensing_role(roles, licensed_role)
    queues = await _listing(session, "/api/v2/routing/queues")
    return fingerprint(role, queues)


async def _presences(session: CredentialSession) -> dict[str, PresenceInfo]:
    body = await session.get("/api/v2/presence/definitions")
    if not isinstance(body, dict) or not isinstance(body.get("entities"), list):
        raise RemoteError("Genesys Cloud GET /api/v2/presence/definitions answered no entities")
    presences: dict[str, PresenceInfo] = {}
    for item in body["entities"]:
        system = _upper_snake(str(item.get("systemPresence", "")))
        presences[str(item["id"])] = PresenceInfo(
            str(item["id"]), str(item.get("name", "")), system, item.get("type") == "User"
        )
    return presences


def _upper_snake(pascal: str) -> str:
    """`OnQueue` -> `ON_QUEUE`: the definitions API and analytics spell presences differently."""
    out = "".join(f"_{c}" if c.isupper() and i else c for i, c in enumerate(pascal))
    return out.upper()


async def load_directory(
    session: CredentialSession,
    *,
    divisions: Sequence[str],
    licensed_role: str,
    agent_id: AgentIdMode = "username",
    agent_map: Mapping[str, str] | None = None,
) -> Directory:
    division_ids = await _divisions(session, divisions)
    role = _licensing_role(await _listing(session, "/api/v2/authorization/roles"), licensed_role)
    holders = await _role_holders(session, role)
    users = await _listing(session, "/api/v2/users")
    queues = await _listing(session, "/api/v2/routing/queues")
    presences = await _presences(session)
    mapping = {k.casefold(): v for k, v in (agent_map or {}).items()}
    result = Directory([], [], presences, division_ids, fingerprint=fingerprint(role, queues))
    for user in users:
        user_id = str(user.get("id"))
        if user_id not in holders:
            result.unlicensed_users += 1
        elif _division_id(user) not in division_ids:
            result.out_of_division_users += 1
        else:
            wfm_id = _agent_id(user, agent_id, mapping)
            if not wfm_id:
                result.unmapped_agents.append(user_id)
            result.agents.append(Agent(user_id, wfm_id, str(user.get("name", ""))))
    for queue in queues:
        if _division_id(queue) not in division_ids:
            result.out_of_division_queues += 1
            continue
        result.queues.append(
            QueueInfo(str(queue.get("id")), str(queue.get("name", "")), _service_levels(queue))
        )
    result.agents.sort(key=lambda a: a.user_id)
    result.queues.sort(key=lambda q: q.id)
    return result

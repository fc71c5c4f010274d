"""Who sits in the queues and groups a WFM system will see, and whether each is licensed.

A WFM system imports agents from queue and group membership. Every member of a queue in the
scope's divisions, and of every group that feeds such a queue (the queue's `memberGroups` of type
GROUP), must be a licensed user: holding the licensing role, in one of the scope's divisions.
Licensed users outside the divisions are reported too: they are paid for and never exported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from wfmcli.genesys.client import CredentialSession
from wfmcli.genesys.paging import iter_entities

LIST_PAGE = 500
MEMBER_PAGE = 100  # Genesys' limit for queue and group members


@dataclass(frozen=True)
class Offender:
    user: str  # name (id)
    container: str  # "queue Sales Voice" or "group Night Shift"
    why: str


@dataclass
class Audit:
    division_ids: set[str]
    division_names: dict[str, str]
    role_found: bool
    holders: set[str]
    users: dict[str, dict[str, Any]]  # id -> user
    queues: list[dict[str, Any]]  # in the divisions
    queue_members: dict[str, list[str]]  # queue id -> user ids
    groups: dict[str, str]  # group id -> name, groups feeding queues in scope
    group_members: dict[str, list[str]]
    missing_divisions: list[str] = field(default_factory=list)


def _division_id(entity: dict[str, Any]) -> str:
    division = entity.get("division")
    return str(division.get("id")) if isinstance(division, dict) else ""


async def _all(session: CredentialSession, path: str, page_size: int = LIST_PAGE) -> list[Any]:
    return [item async for item in iter_entities(session, path, page_size=page_size)]


async def fetch_audit(
    session: CredentialSession, divisions: Sequence[str], licensed_role: str
) -> Audit:
    visible = await _all(session, "/api/v2/authorization/divisions")
    names = {str(d.get("id")): str(d.get("name")) for d in visible}
    by_key = {**{k: k for k in names}, **{v.casefold(): k for k, v in names.items()}}
    missing = [d for d in divisions if d not in by_key and d.casefold() not in by_key]
    ids = {by_key.get(d) or by_key[d.casefold()] for d in divisions if d not in missing}
    ids = ids if divisions else set(names)
    roles = await _all(session, "/api/v2/authorization/roles")
    role = next(
        (r for r in roles if str(r.get("name", "")).casefold() == licensed_role.casefold()), None
    )
    holders: set[str] = set()
    if role is not None:
        path = f"/api/v2/authorization/roles/{role['id']}/users"
        holders = {str(u.get("id")) for u in await _all(session, path)}
    users = {str(u.get("id")): u for u in await _all(session, "/api/v2/users")}
    queues = [q for q in await _all(session, "/api/v2/routing/queues") if _division_id(q) in ids]
    members: dict[str, list[str]] = {}
    groups: dict[str, str] = {}
    for queue in queues:
        path = f"/api/v2/routing/queues/{queue['id']}/members"
        entries = await _all(session, path, MEMBER_PAGE)
        members[str(queue["id"])] = [str(e.get("id") or (e.get("user") or {}).get("id"))
                                     for e in entries]  # fmt: skip
        for group in queue.get("memberGroups") or []:
            if str(group.get("type", "GROUP")).upper() == "GROUP":
                groups[str(group["id"])] = str(group.get("name") or group["id"])
    group_members: dict[str, list[str]] = {}
    for gid in sorted(groups):
        entries = await _all(session, f"/api/v2/groups/{gid}/members", MEMBER_PAGE)
        group_members[gid] = [str(e.get("id")) for e in entries]
    return Audit(ids, names, role is not None, holders, users, queues, members, groups,
                 group_members, missing)  # fmt: skip


def _label(audit: Audit, user_id: str) -> str:
    user = audit.users.get(user_id)
    return f"{user.get('name')} ({user_id})" if user else user_id


def why_unlicensed(audit: Audit, user_id: str, role: str) -> str | None:
    """None for a licensed user; otherwise what is wrong, for people."""
    user = audit.users.get(user_id)
    if user is None:
        return "not an active user of the org"
    reasons = []
    if user_id not in audit.holders:
        reasons.append(f"does not hold the licensing role {role!r}")
    division = _division_id(user)
    if division not in audit.division_ids:
        name = audit.division_names.get(division, division or "none")
        reasons.append(f"division {name!r} is outside the scope")
    return "; ".join(reasons) or None


def unlicensed_members(audit: Audit, role: str) -> list[Offender]:
    offenders = []
    for queue in audit.queues:
        for user_id in audit.queue_members.get(str(queue["id"]), []):
            why = why_unlicensed(audit, user_id, role)
            if why:
                container = f"queue {queue.get('name')}"
                offenders.append(Offender(_label(audit, user_id), container, why))
    for group_id, name in sorted(audit.groups.items()):
        for user_id in audit.group_members.get(group_id, []):
            why = why_unlicensed(audit, user_id, role)
            if why:
                offenders.append(Offender(_label(audit, user_id), f"group {name}", why))
    return offenders


def licensed_outside(audit: Audit) -> list[Offender]:
    outside = []
    for user_id in sorted(audit.holders):
        user = audit.users.get(user_id)
        if user is not None and _division_id(user) not in audit.division_ids:
            division = audit.division_names.get(_division_id(user), _division_id(user))
            outside.append(Offender(_label(audit, user_id), f"division {division}",
                                    "licensed, but outside the scope's divisions"))  # fmt: skip
    return outside


def licensed_in_scope(audit: Audit) -> int:
    return sum(
        1
        for user_id in audit.holders
        if user_id in audit.users and _division_id(audit.users[user_id]) in audit.division_ids
    )


def licensed_users(audit: Audit) -> list[dict[str, Any]]:
    """The users `licensed_in_scope` counts: holders of the role in the scope's divisions."""
    return [audit.users[user_id] for user_id in sorted(audit.holders)
            if user_id in audit.users
            and _division_id(audit.users[user_id]) in audit.division_ids]

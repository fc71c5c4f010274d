"""`wfm auth test`: authenticate every credential set of a source and size what it can see.

For each set: a token and its lifetime, and the divisions it can read. With the first working
set: the configured divisions found, the users holding the licensing role in them, the queues in
them, and how many credential sets the notification feed needs (20 channels of 1,000 topics each:
one topic per agent, two in detailed mode, one per queue), the sum the relay and doctor use.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from wfmcli.errors import ExitCode, WfmError
from wfmcli.genesys.auth import Credential
from wfmcli.genesys.client import CredentialSession, GenesysClient
from wfmcli.genesys.notifications import TOPICS_PER_CREDENTIAL_SET, notification_need
from wfmcli.genesys.paging import iter_entities
from wfmcli.genesys.retry import RetryPolicy

AGENTS_PER_CREDENTIAL_SET = TOPICS_PER_CREDENTIAL_SET  # one activity topic per agent
# A probe should fail within seconds, not ride out minutes of backoff like a nightly pull.
PROBE_RETRY = RetryPolicy(attempts=3, throttled_attempts=3, backoff_initial=0.5, backoff_max=2.0,
                          retry_after_max=10.0)


@dataclass
class CredentialCheck:
    set: int  # 1-based, as in the configuration
    client_id: str
    ok: bool = False
    token_lifetime_s: float | None = None
    rate_limit_per_minute: int | None = None  # from inin-ratelimit-allowed
    divisions_visible: list[str] = field(default_factory=list)
    error: str | None = None
    exit_code: int | None = None


@dataclass
class SourceCheck:
    scope: str
    region: str
    api_url: str
    login_url: str
    credentials: list[CredentialCheck]
    divisions: list[str] = field(default_factory=list)  # the configured ones found
    licensed_users: int | None = None
    queues: int | None = None
    agents_per_set: int = AGENTS_PER_CREDENTIAL_SET
    notification_capacity: int = 0
    sets_needed: int | None = None
    problems: list[str] = field(default_factory=list)
    problems_exit_code: int = int(ExitCode.CONFIG)
    requests: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems and all(check.ok for check in self.credentials)

    def exit_code(self) -> ExitCode:
        for check in self.credentials:
            if check.exit_code is not None:
                return ExitCode(check.exit_code)
        return ExitCode(self.problems_exit_code) if self.problems else ExitCode.OK

    def first_failure(self) -> str | None:
        for check in self.credentials:
            if check.error:
                return f"scope {self.scope}, credential set {check.set}: {check.error}"
        return f"scope {self.scope}: {self.problems[0]}" if self.problems else None


@dataclass(frozen=True)
class SourceSpec:
    scope: str
    region: str  # a label for people: region key or "base URL"
    api_url: str
    login_url: str
    credentials: Sequence[Credential]
    divisions: Sequence[str] = ()
    licensed_role: str = ""
    proxy: str | None = None
    detailed: bool = False  # an RTA destination wants detailed mode: two topics per agent


async def _check_credential(session: CredentialSession) -> CredentialCheck:
    check = CredentialCheck(set=session.index + 1, client_id=session.client_id)
    try:
        token = await session.tokens.token()
        check.token_lifetime_s = token.lifetime
        divisions = [d async for d in iter_entities(session, "/api/v2/authorization/divisions")]
    except WfmError as exc:
        check.error = exc.one_line()
        check.exit_code = int(exc.exit_code)
        return check
    check.divisions_visible = sorted(str(d.get("name") or d.get("id")) for d in divisions)
    check.rate_limit_per_minute = session.gate.allowed
    check.ok = True
    return check


def _division_ids(
    wanted: Sequence[str], visible: list[dict[str, Any]], problems: list[str]
) -> tuple[set[str], list[str]]:
    by_key: dict[str, dict[str, Any]] = {}
    for item in visible:
        by_key[str(item.get("id"))] = item
        by_key[str(item.get("name", "")).casefold()] = item
    if not wanted:
        return {str(d.get("id")) for d in visible}, sorted(str(d.get("name")) for d in visible)
    ids: set[str] = set()
    names: list[str] = []
    for entry in wanted:
        division: dict[str, Any] | None = by_key.get(entry) or by_key.get(entry.casefold())
        if division is None:
            problems.append(f"division {entry!r} is not visible to the OAuth client")
            continue
        ids.add(str(division.get("id")))
        names.append(str(division.get("name")))
    return ids, names


def _in_divisions(entity: dict[str, Any], ids: set[str]) -> bool:
    division = entity.get("division")
    return isinstance(division, dict) and str(division.get("id")) in ids


async def _size_scope(session: CredentialSession, spec: SourceSpec, result: SourceCheck) -> None:
    visible = [d async for d in iter_entities(session, "/api/v2/authorization/divisions")]
    ids, result.divisions = _division_ids(spec.divisions, visible, result.problems)
    queues = [q async for q in iter_entities(session, "/api/v2/routing/queues")]
    result.queues = sum(1 for queue in queues if _in_divisions(queue, ids))
    roles = [r async for r in iter_entities(session, "/api/v2/authorization/roles")]
    role = next(
        (r for r in roles if str(r.get("name", "")).casefold() == spec.licensed_role.casefold()),
        None,
    )
    if role is None:
        result.problems.append(f"licensed_role {spec.licensed_role!r} is not a role in the org")
        return
    holders = {
        str(u.get("id"))
        async for u in iter_entities(session, f"/api/v2/authorization/roles/{role['id']}/users")
    }
    users = [u async for u in iter_entities(session, "/api/v2/users", page_size=500)]
    licensed = sum(1 for u in users if str(u.get("id")) in holders and _in_divisions(u, ids))
    result.licensed_users = licensed
    # capacity as doctor, api-usage and the relay count it (notification_need)
    need = notification_need(licensed, queues=result.queues or 0, detailed=spec.detailed)
    result.sets_needed = need.sets
    if result.sets_needed > len(spec.credentials):
        result.problems.append(
            f"{licensed} licensed agents and {result.queues or 0} queues need {need.sets} "
            f"credential sets for notifications; {len(spec.credentials)} configured"
        )


async def check_source(spec: SourceSpec, *, retry: RetryPolicy = PROBE_RETRY) -> SourceCheck:
    async with GenesysClient(
        spec.api_url, spec.login_url, spec.credentials, proxy=spec.proxy, retry=retry
    ) as client:
        checks = await asyncio.gather(*(_check_credential(s) for s in client.sessions))
        result = SourceCheck(
            scope=spec.scope,
            region=spec.region,
            api_url=spec.api_url,
            login_url=spec.login_url,
            credentials=list(checks),
        )
        working = [s for s, c in zip(client.sessions, checks, strict=True) if c.ok]
        result.agents_per_set = notification_need(0, detailed=spec.detailed).capacity_per_set
        result.notification_capacity = result.agents_per_set * len(working)
        if working:
            try:
                await _size_scope(working[0], spec, result)
            except WfmError as exc:
                result.problems.append(exc.one_line())
                result.problems_exit_code = int(exc.exit_code)
        result.requests = client.counter.by_credential()
    return result


async def check_secret(
    login_url: str, credential: Credential, *, proxy: str | None = None
) -> float:
    """Token lifetime in seconds if Genesys accepts the credential; raises AuthError if not."""
    async with GenesysClient(
        login_url, login_url, [credential], proxy=proxy, retry=PROBE_RETRY
    ) as client:
        token = await client.session().tokens.token()
    return token.lifetime

"""`wfm doctor`: one pass/warn/fail line, with a fix, for everything a deployment needs.

Each check is one function returning a `Check`; `diagnose` runs them for a scope. Genesys checks
reuse `wfm auth test`'s probe; destination checks reuse `wfm transports test`'s probe.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import socket
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import httpx

from wfmcli.errors import WfmError
from wfmcli.genesys.auth import Credential
from wfmcli.genesys.client import CredentialSession, GenesysClient
from wfmcli.genesys.counter import RequestCounter
from wfmcli.genesys.notifications import (
    MAX_CHANNELS_PER_CREDENTIAL_SET,
    MAX_CREDENTIAL_SETS,
    MAX_TOPICS_PER_CHANNEL,
    TOPICS_PER_CREDENTIAL_SET,
    notification_need,
)
from wfmcli.genesys.paging import iter_pages
from wfmcli.genesys.probe import (
    PROBE_RETRY,
    SourceCheck,
    SourceSpec,
    check_source,
)
from wfmcli.genesys.retry import RetryPolicy
from wfmcli.ops import audit as audit_mod
from wfmcli.ops import network
from wfmcli.ops.budget import UsageStore
from wfmcli.ops.projection import OrgSizes
from wfmcli.ops.sizes import measure_sizes
from wfmcli.secrets import MASK, redact

if TYPE_CHECKING:
    from pathlib import Path

    from wfmcli.config import Destination, Scope

Status = Literal["pass", "warn", "fail"]
SKEW_WARN_S = 5.0
SKEW_FAIL_S = 120.0
CAPACITY_WARN = 0.8
LISTED = 50  # offenders shown per check; the count says how many in all


@dataclass
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""
    items: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class DoctorReport:
    scope: str
    checks: list[Check]
    sizes: dict[str, int] | None = None

    @property
    def ok(self) -> bool:
        return all(c.status != "fail" for c in self.checks)

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for c in self.checks if c.status == s) for s in ("pass", "warn", "fail")}


def check_credentials(probe: SourceCheck, fingerprints: dict[int, dict[str, Any]]) -> Check:
    failed = [c for c in probe.credentials if not c.ok]
    if failed:
        first = failed[0]
        return Check(
            "credentials", "fail",
            f"credential set {first.set} (client {first.client_id}) did not authenticate: "
            f"{first.error}",
            "check the client id and secret (wfm auth store), and that the OAuth client uses "
            "the client-credentials grant",
        )  # fmt: skip
    sets = len(probe.credentials)
    if len({_frozen(f) for f in fingerprints.values()}) > 1:
        base = fingerprints[1]
        items = [
            {"set": number, "differs_in": key, "set_1": _show(base.get(key)),
             "this_set": _show(print_value)}
            for number, print_ in sorted(fingerprints.items()) if number != 1
            for key, print_value in print_.items() if print_value != base.get(key)
        ]  # fmt: skip
        sets_named = sorted({str(i["set"]) for i in items})
        return Check(
            "credentials", "fail",
            f"{sets} credential sets authenticate, but set(s) {', '.join(sets_named)} differ "
            f"from set 1 in {', '.join(sorted({str(i['differs_in']) for i in items}))}",
            "give every OAuth client the same roles in the same divisions: the pull and the "
            "relay shard agents over the sets and must see the same org",
            items,
        )  # fmt: skip
    return Check(
        "credentials",
        "pass",
        f"{sets} credential set(s) authenticate with identical divisions and access",
    )


def _frozen(fingerprint: dict[str, Any]) -> str:
    return repr(sorted(fingerprint.items()))


def _show(value: Any) -> str:
    return ", ".join(value) if isinstance(value, list) else str(value)


async def fingerprint(session: CredentialSession) -> dict[str, Any]:
    """What one credential set can see and do: compared across sets."""
    result: dict[str, Any] = {}
    probes: list[tuple[str, str, Callable[[dict[str, Any]], Any]]] = [
        ("divisions", "/api/v2/authorization/divisions",
         lambda page: sorted(str(d.get("name")) for d in page.get("entities") or [])),
        ("users visible", "/api/v2/users", lambda page: page.get("total")),
        ("queues visible", "/api/v2/routing/queues", lambda page: page.get("total")),
        ("roles visible", "/api/v2/authorization/roles", lambda page: page.get("total")),
    ]  # fmt: skip
    for key, path, read in probes:
        try:
            page = await anext(iter_pages(session, path, page_size=500 if key == "divisions"
                                          else 1))  # fmt: skip
            result[key] = read(page)
        except WfmError as exc:
            result[key] = f"refused: {exc.one_line()}"
    return result


def check_divisions_and_role(audit: audit_mod.Audit, divisions: Sequence[str], role: str) -> Check:
    problems = [f"division {d!r} not found" for d in audit.missing_divisions]
    if not audit.role_found:
        problems.append(f"licensing role {role!r} not found")
    if problems:
        return Check(
            "divisions and role", "fail", "; ".join(problems),
            "fix source.divisions / source.licensed_role to names shown in Genesys Cloud admin "
            "(Divisions, Roles/Permissions), or give the OAuth client access to them",
        )  # fmt: skip
    chosen = ", ".join(sorted(audit.division_names[i] for i in audit.division_ids))
    scope = chosen if divisions else f"all visible ({chosen})"
    return Check(
        "divisions and role",
        "pass",
        f"divisions {scope}; role {role!r} held by {len(audit.holders)} user(s)",
    )


def _items(offenders: Sequence[audit_mod.Offender]) -> list[dict[str, Any]]:
    return [asdict(o) for o in offenders[:LISTED]]


def check_queue_members(audit: audit_mod.Audit, role: str) -> Check:
    offenders = audit_mod.unlicensed_members(audit, role)
    where = f"{len(audit.queues)} queue(s) and {len(audit.groups)} group(s) in scope"
    if not offenders:
        return Check("queue and group members", "pass",
                     f"{where} contain only licensed users")  # fmt: skip
    users = len({o.user for o in offenders})
    return Check(
        "queue and group members", "fail",
        f"{users} unlicensed user(s) in {where} ({len(offenders)} membership(s))",
        f"give each listed user the role {role!r} in a division of the scope, or remove them "
        "from the queue or group; WFM would otherwise import people it cannot schedule",
        _items(offenders),
    )  # fmt: skip


def check_licensed_outside(audit: audit_mod.Audit) -> Check:
    outside = audit_mod.licensed_outside(audit)
    if not outside:
        return Check("licensed users outside the divisions", "pass", "none")
    return Check(
        "licensed users outside the divisions", "warn",
        f"{len(outside)} user(s) hold the licensing role outside the scope's divisions: "
        "they are licensed but never exported",
        "move them into a division of the scope, add their division to source.divisions, or "
        "take the role away",
        _items(outside),
    )  # fmt: skip


def check_capacity(agents: int, queues: int, sets: int, detailed: bool) -> Check:
    need = notification_need(agents, queues=queues, detailed=detailed)
    capacity = sets * TOPICS_PER_CREDENTIAL_SET
    detail = (f"{agents:,} licensed agent(s){' x2 (detailed RTA)' if detailed else ''} and "
              f"{queues:,} queue(s) = {need.topics:,} topics on {need.channels:,} channel(s) "
              f"of {capacity:,} ({TOPICS_PER_CREDENTIAL_SET:,} per set: "
              f"{MAX_CHANNELS_PER_CREDENTIAL_SET} channels of {MAX_TOPICS_PER_CHANNEL:,}); "
              f"{need.sets} set(s) needed, {sets} configured")  # fmt: skip
    if need.sets > sets:
        return Check("notification capacity", "fail", detail,
                     f"add {need.sets - sets} OAuth client credential set(s) to "
                     f"source.credentials (at most {MAX_CREDENTIAL_SETS})")  # fmt: skip
    if need.channels > CAPACITY_WARN * sets * MAX_CHANNELS_PER_CREDENTIAL_SET:
        return Check("notification capacity", "warn", detail,
                     "plan another credential set before the org grows")  # fmt: skip
    return Check("notification capacity", "pass", detail)


def check_destination(name: str, settings: Destination) -> Check:
    from wfmcli.transports.deliver import probe

    label = f"destination {name}"
    if settings.delivery is None:
        return Check(label, "warn", "no delivery configured: files stay local",
                     "add delivery: {url: ...}")  # fmt: skip
    try:
        shown, steps = probe(settings.delivery.url, settings.delivery.transport_options())
    except WfmError as exc:
        return Check(label, "fail", redact(exc.one_line()),
                     exc.hint or "run wfm transports test with the same URL")  # fmt: skip
    failed = [s for s in steps if s.ok is False]
    items = [{"step": s.name, "ok": s.ok, "detail": redact(s.detail)} for s in steps]
    if failed:
        return Check(label, "fail", f"{shown}: {failed[0].name} failed: {redact(failed[0].detail)}",
                     "fix the URL, credentials or folder rights; check with wfm transports test",
                     items)  # fmt: skip
    return Check(label, "pass", f"{shown}: probe file written, renamed and deleted", items=items)


def check_mappings(scope: str, name: str, settings: Destination, data_dir: Path | None) -> Check:
    from wfmcli.mapfiles import destination_problems
    from wfmcli.paths import data_dir as default_data_dir

    problems = destination_problems(data_dir or default_data_dir(), scope, name, settings)
    if problems:
        return Check(f"mappings {name}", "fail", problems[0],
                     "fix the row it names; nothing is delivered with a mapping that fails",
                     [{"problem": p} for p in problems[:LISTED]])  # fmt: skip
    return Check(f"mappings {name}", "pass", "queue and agent mappings fit the profile")


def check_rta(name: str, listen: str | None, endpoint: str | None, timeout: float = 3.0) -> Check:
    label = f"RTA {name}"
    if listen:
        host, _, port_text = listen.rpartition(":")
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe_socket:
            try:
                probe_socket.bind((host.strip("[]"), int(port_text)))
            except OSError as exc:
                return Check(label, "fail", f"cannot listen on {listen}: {exc.strerror or exc}",
                             "free the port (another program, or a wfm rta serve already "
                             "running) or change rta.listen")  # fmt: skip
        return Check(label, "pass", f"{listen} is free to listen on")
    if endpoint:
        host, port, protocol = network.rta_target(endpoint)
        try:
            socket.create_connection((host, port), timeout=timeout).close()
        except OSError as exc:
            return Check(label, "fail", f"cannot reach {host}:{port} ({protocol}): {exc}",
                         "start the WFM RTA receiver or open the firewall to it")  # fmt: skip
        return Check(label, "pass", f"{host}:{port} ({protocol}) accepts connections")
    return Check(label, "warn", "rta has neither listen nor endpoint", "set one of them")


def check_rta_ids(scope: Scope, audit: audit_mod.Audit) -> list[Check]:
    """Every licensed agent's id must fit each RTA destination's record: never cut."""
    from wfmcli.rta.settings import scope_id_problems

    users = audit_mod.licensed_users(audit)
    checks = []
    try:
        found = scope_id_problems(scope.destinations, users)
    except WfmError as exc:
        return [Check("RTA agent ids", "fail", exc.one_line(), exc.hint or "")]
    for name, problems in found:
        label = f"RTA {name} agent ids"
        if problems:
            checks.append(Check(label, "fail", problems[0],
                                "map the agents to ids that fit: agent_id: mapping and "
                                "agent_map_file (wfm map agents)"))
        else:
            checks.append(Check(label, "pass", f"{len(users)} licensed agents' ids fit"))
    return checks


def check_clock(url: str, proxy: str | None, timeout: float = 10.0) -> Check:
    try:
        with httpx.Client(proxy=proxy, timeout=timeout, trust_env=True) as http:
            sent = time.time()
            answer = http.head(url)
            received = time.time()
    except httpx.HTTPError as exc:
        return Check("clock", "warn", f"could not ask {url} for its time: {exc}",
                     "check the network to Genesys Cloud")  # fmt: skip
    header = answer.headers.get("date")
    if not header:
        return Check("clock", "warn", f"{url} sent no Date header", "compare the clock by hand")
    server = email.utils.parsedate_to_datetime(header).timestamp()
    # Date has whole seconds: the server's clock read somewhere in [server, server + 1).
    skew = server + 0.5 - (sent + received) / 2
    slack = 0.5 + (received - sent) / 2
    shown = f"local clock is {abs(skew):.1f} s {'behind' if skew > 0 else 'ahead of'} {url}"
    if abs(skew) - slack > SKEW_FAIL_S:
        status: Status = "fail"
    elif abs(skew) - slack > SKEW_WARN_S:
        status = "warn"
    else:
        return Check("clock", "pass", f"{shown} (within {SKEW_WARN_S:g} s)")
    return Check(
        "clock",
        status,
        shown,
        "sync the clock with NTP (timedatectl set-ntp true; "
        "on Windows w32tm /resync): intervals close, tokens and S3 signatures use it",
    )


def check_proxy(configured: str | None, environment: dict[str, str] | None = None) -> Check:
    if configured:
        return Check("proxy", "pass", f"source.proxy {redact(_hide_password(configured))}")
    env = environment if environment is not None else urllib.request.getproxies()
    https = env.get("https") or env.get("all")
    if https:
        bypass = env.get("no")
        detail = f"from the environment (HTTPS_PROXY): {_hide_password(https)}"
        if bypass:
            detail += f"; NO_PROXY {bypass}"
        return Check("proxy", "pass", detail)
    return Check("proxy", "pass", "none: direct connections (no source.proxy, no HTTPS_PROXY)")


def _hide_password(url: str) -> str:
    parts = httpx.URL(url)
    return str(parts.copy_with(password=MASK)) if parts.password else url


def check_network(scope: Scope) -> Check:
    source = scope.source
    parts = [network.genesys_endpoints(source.api_url, source.login_url, source.proxy)]
    for name, dest in sorted(scope.destinations.items()):
        if dest.delivery is not None:
            options = dest.delivery.transport_options()
            parts.append(network.delivery_endpoint(name, dest.delivery.url, options))
        if dest.rta is not None:
            parts.append(network.rta_endpoints(name, dest.rta.listen, dest.rta.endpoint))
    endpoints = network.all_endpoints(parts)
    outgoing = sum(1 for e in endpoints if e.direction == "out")
    return Check("network", "pass",
                 f"{outgoing} outgoing and {len(endpoints) - outgoing} listening port(s) to open",
                 items=[asdict(e) for e in endpoints])  # fmt: skip


def rta_detailed(scope: Scope) -> bool:
    """Whether any RTA destination of the scope wants detailed mode (two topics per agent)."""
    return any(d.rta is not None and d.rta.detailed for d in scope.destinations.values())


def _spec(name: str, scope: Scope) -> SourceSpec:
    source = scope.source
    return SourceSpec(
        scope=name,
        region=source.region or "base URL",
        api_url=source.api_url,
        login_url=source.login_url,
        credentials=[
            Credential(c.client_id, c.client_secret.get_secret_value()) for c in source.credentials
        ],
        divisions=list(source.divisions),
        licensed_role=source.licensed_role,
        proxy=source.proxy,
        detailed=rta_detailed(scope),
    )


async def _genesys_checks(
    name: str, scope: Scope, retry: RetryPolicy, counter: RequestCounter
) -> tuple[list[Check], OrgSizes | None, dict[str, dict[str, int]]]:
    spec = _spec(name, scope)
    source = scope.source
    probe = await check_source(spec, retry=retry)
    async with GenesysClient(spec.api_url, spec.login_url, spec.credentials, proxy=spec.proxy,
                             retry=retry, counter=counter) as client:  # fmt: skip
        ok_sets = [c.set for c in probe.credentials if c.ok]
        prints = dict(zip(ok_sets, await asyncio.gather(
            *(fingerprint(client.session(n - 1)) for n in ok_sets)), strict=True))  # fmt: skip
        checks = [check_credentials(probe, prints)]
        if not ok_sets:
            return checks, None, probe.requests
        session = client.session(ok_sets[0] - 1)
        try:
            audit = await audit_mod.fetch_audit(session, source.divisions, source.licensed_role)
        except WfmError as exc:
            checks.append(Check("directory", "fail", exc.one_line(), exc.hint or ""))
            return checks, None, probe.requests
        checks.append(check_divisions_and_role(audit, source.divisions, source.licensed_role))
        checks.append(check_queue_members(audit, source.licensed_role))
        checks.append(check_licensed_outside(audit))
        agents = audit_mod.licensed_in_scope(audit)
        checks.append(check_capacity(agents, len(audit.queues), len(spec.credentials),
                                     spec.detailed))
        checks += check_rta_ids(scope, audit)
        sizes = None
        if audit.role_found and not audit.missing_divisions:
            sizes = await measure_sizes(session, credential_sets=len(spec.credentials),
                                        divisions=source.divisions,
                                        licensed_role=source.licensed_role)  # fmt: skip
    return checks, sizes, probe.requests


def diagnose(
    name: str,
    scope: Scope,
    *,
    retry: RetryPolicy = PROBE_RETRY,
    store: UsageStore | None = None,
    data_dir: Path | None = None,
) -> DoctorReport:
    """Every check of one scope. Records the requests it made and the sizes it measured."""
    counter = RequestCounter()
    genesys, sizes, probe_requests = asyncio.run(_genesys_checks(name, scope, retry, counter))
    checks = list(genesys)
    for dest_name, dest in sorted(scope.destinations.items()):
        checks.append(check_destination(dest_name, dest))
        checks.append(check_mappings(name, dest_name, dest, data_dir))
        if dest.rta is not None:
            checks.append(check_rta(dest_name, dest.rta.listen, dest.rta.endpoint))
    checks.append(check_clock(scope.source.api_url, scope.source.proxy))
    checks.append(check_proxy(scope.source.proxy))
    checks.append(check_network(scope))
    store = store or UsageStore()
    with contextlib.suppress(WfmError, OSError):  # bookkeeping must not fail the diagnosis
        store.record(name, probe_requests, datetime.now(UTC))
        store.record(name, counter.by_credential(), datetime.now(UTC))
        if sizes is not None:
            store.save_sizes(name, sizes.to_json())
    return DoctorReport(name, checks, sizes.to_json() if sizes else None)

"""wfm auth: keep OAuth client secrets in the OS keyring and test what the credentials reach."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from wfmcli.cli.context import JsonFlag, global_options
from wfmcli.cli.output import print_json, print_table
from wfmcli.errors import ConfigError, ExitCode, UsageError

if TYPE_CHECKING:
    from wfmcli.config import Source
    from wfmcli.genesys.probe import SourceCheck, SourceSpec

app = typer.Typer(
    help="Store OAuth client secrets and test Genesys Cloud access.", no_args_is_help=True
)


@dataclass
class StoreResult:
    scope: str
    set: int
    client_id: str
    keyring_service: str
    keyring_user: str
    checked: bool
    token_lifetime_s: float | None
    config_refers_to_keyring: bool


@dataclass
class _Target:
    client_id: str
    username: str
    refers_to_keyring: bool
    login_url: str
    proxy: str | None
    where: str


def _keyring_target(path: Path, scope: str, number: int) -> _Target:
    """Finds the credential set in the raw YAML: its secret need not resolve yet."""
    from wfmcli.config.resolve import Resolver, keyring_username
    from wfmcli.config.yamlfile import read_yaml
    from wfmcli.genesys.regions import resolve_region

    document = read_yaml(path)
    resolver = Resolver(document, dict(os.environ))
    data: Any = document.data
    scopes = data.get("scopes") if isinstance(data, dict) else None
    if not isinstance(scopes, dict) or scope not in scopes:
        known = ", ".join(sorted(scopes)) if isinstance(scopes, dict) else "none"
        raise ConfigError(f"no scope {scope!r} in {path}", hint=f"scopes: {known}")
    source = (scopes[scope] or {}).get("source") or {}
    credentials = source.get("credentials") or []
    if not 1 <= number <= len(credentials):
        raise UsageError(
            f"scope {scope!r} has {len(credentials)} credential set(s), not a set {number}",
            hint="--set counts from 1",
        )
    key_path = ("scopes", scope, "source", "credentials", number - 1)
    entry = credentials[number - 1] or {}
    client_id = str(resolver.resolve(entry.get("client_id", ""), (*key_path, "client_id")))
    if not client_id:
        raise ConfigError(f"{document.where(key_path)}: credential set {number} has no client_id")
    # What client_secret says, e.g. "keyring" or "keyring:<user>"; never the secret itself here.
    reference = str(entry.get("client_secret") or "")
    refers = reference == "keyring" or reference.startswith("keyring:")
    if refers and reference != "keyring":
        username = reference.removeprefix("keyring:")
    else:
        username = keyring_username(key_path, {"client_id": client_id})
    base_url = resolver.resolve(source.get("base_url"))
    region = resolver.resolve(source.get("region"))
    if base_url:
        login_url = str(base_url).rstrip("/")
    elif region:
        login_url = resolve_region(str(region)).login_url
    else:
        raise ConfigError(f"{document.where((*key_path[:3],))}: the source has no region")
    if resolver.problems:
        raise ConfigError(resolver.problems[0], problems=resolver.problems)
    proxy = resolver.resolve(source.get("proxy"))
    return _Target(
        client_id,
        username,
        refers,
        login_url,
        str(proxy) if proxy else None,
        document.where(key_path),
    )


def require_keyring() -> None:
    """Fail before prompting when no OS keyring can hold the secret."""
    try:
        import keyring
        from keyring.backends import fail
    except ImportError as exc:
        raise ConfigError(
            "the OS keyring support is not installed", hint="pip install 'wfm[keyring]'"
        ) from exc
    backend = keyring.get_keyring()
    priority = getattr(backend, "priority", 1)
    if isinstance(backend, fail.Keyring) or (isinstance(priority, int | float) and priority < 1):
        raise ConfigError(
            f"no usable OS keyring here ({type(backend).__module__}.{type(backend).__name__})",
            hint="run a Secret Service (e.g. gnome-keyring) or install keyrings.alt; "
            "or use client_secret_file with a chmod 600 file",
        )


def _save_secret(username: str, secret: str) -> str:
    try:
        import keyring
        import keyring.errors
    except ImportError as exc:
        raise ConfigError(
            "the OS keyring support is not installed", hint="pip install 'wfm[keyring]'"
        ) from exc
    from wfmcli.config.resolve import KEYRING_SERVICE

    try:
        keyring.set_password(KEYRING_SERVICE, username, secret)
    except keyring.errors.KeyringError as exc:
        raise ConfigError(
            f"the OS keyring refused to store the secret: {exc}",
            hint="use client_secret_file with a chmod 600 file instead",
        ) from exc
    return KEYRING_SERVICE


@app.command()
def store(
    ctx: typer.Context,
    scope: Annotated[str, typer.Argument(help="The scope whose credential set to store.")],
    set_number: Annotated[
        int, typer.Option("--set", min=1, help="Which credential set of the scope, from 1.")
    ] = 1,
    check: Annotated[
        bool,
        typer.Option("--check/--no-check", help="Try the secret on Genesys Cloud before saving."),
    ] = True,
    json_flag: JsonFlag = False,
) -> None:
    """Save a credential set's client secret in the OS keyring (prompted, never echoed)."""
    from wfmcli.genesys.auth import Credential
    from wfmcli.genesys.probe import check_secret
    from wfmcli.paths import default_config_path
    from wfmcli.secrets import register_secret

    options = global_options(ctx)
    target = _keyring_target(options.config_path or default_config_path(), scope, set_number)
    require_keyring()
    secret = typer.prompt(
        f"Client secret of {scope} set {set_number} (client {target.client_id})",
        hide_input=True,
        confirmation_prompt=True,
        err=True,
    ).strip()
    if not secret:
        raise UsageError("an empty client secret was not stored")
    register_secret(secret)
    lifetime = None
    if check:
        import asyncio

        credential = Credential(target.client_id, secret)
        lifetime = asyncio.run(check_secret(target.login_url, credential, proxy=target.proxy))
    service = _save_secret(target.username, secret)
    result = StoreResult(
        scope,
        set_number,
        target.client_id,
        service,
        target.username,
        check,
        lifetime,
        target.refers_to_keyring,
    )
    if options.json or json_flag:
        print_json("auth store", result)
        return
    checked = f", accepted by {target.login_url}" if check else ""
    sys.stdout.write(
        f"stored the client secret of {scope} set {set_number} in the OS keyring "
        f"(service {service!r}, user {target.username!r}){checked}\n"
    )
    if not target.refers_to_keyring:
        sys.stdout.write(
            f"next: at {target.where}, write 'client_secret: keyring' and remove any other "
            "client_secret or client_secret_file there\n"
        )


def _spec(name: str, source: Source, *, detailed: bool = False) -> SourceSpec:
    from wfmcli.genesys.auth import Credential
    from wfmcli.genesys.probe import SourceSpec
    from wfmcli.genesys.regions import resolve_region

    if source.region:
        region = resolve_region(source.region)
        label = f"{region.key} ({region.label})" if region.label else region.key
    else:
        label = "base URL"
    return SourceSpec(
        scope=name,
        region=label,
        api_url=source.api_url,
        login_url=source.login_url,
        credentials=[
            Credential(c.client_id, c.client_secret.get_secret_value()) for c in source.credentials
        ],
        divisions=list(source.divisions),
        licensed_role=source.licensed_role,
        proxy=source.proxy,
        detailed=detailed,
    )


def _rows(check: SourceCheck) -> list[tuple[str, str]]:
    rows = [("region", check.region), ("API", check.api_url), ("login", check.login_url)]
    for cred in check.credentials:
        if cred.ok:
            text = (
                f"ok: client {cred.client_id}, token lifetime {cred.token_lifetime_s:.0f} s, "
                f"{len(cred.divisions_visible)} division(s) visible"
            )
            if cred.rate_limit_per_minute is not None:
                text += f", {cred.rate_limit_per_minute} requests/min"
        else:
            text = f"FAILED: {cred.error}"
        rows.append((f"credential set {cred.set}", text))
    rows.append(("divisions in scope", ", ".join(check.divisions) or "-"))
    rows.append(("licensed users in scope", _count(check.licensed_users)))
    rows.append(("queues in scope", _count(check.queues)))
    needed = "?" if check.sets_needed is None else str(check.sets_needed)
    rows.append(
        (
            "notification capacity",
            f"{_count(check.licensed_users)} agents + {_count(check.queues)} queues of "
            f"{check.notification_capacity:,} "
            f"({check.agents_per_set:,} per set; {needed} of {len(check.credentials)} set(s) "
            "needed)",
        )
    )
    total = sum(sum(per.values()) for per in check.requests.values())
    rows.append(("API requests made", str(total)))
    rows += [("problem", problem) for problem in check.problems]
    return rows


def _count(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"


@app.command("test")
def test_command(
    ctx: typer.Context,
    scope: Annotated[
        str | None, typer.Argument(help="Test only this scope (default: every scope).")
    ] = None,
    json_flag: JsonFlag = False,
) -> None:
    """Authenticate every credential set and report what it reaches.

    Region, token lifetime, divisions, licensed users, queues and notification capacity.
    Exit 4 on refused credentials, 5 if unreachable.
    """
    import asyncio

    from wfmcli.config import load_config
    from wfmcli.genesys.probe import check_source
    from wfmcli.ops.budget import UsageStore
    from wfmcli.ops.doctor import rta_detailed

    options = global_options(ctx)
    config = load_config(options.config_path)
    names = [scope] if scope else sorted(config.scopes)
    specs = [_spec(name, config.scope(name).source, detailed=rta_detailed(config.scope(name)))
             for name in names]

    async def run_all() -> list[SourceCheck]:
        return list(await asyncio.gather(*(check_source(spec) for spec in specs)))

    checks = asyncio.run(run_all())
    store = UsageStore()
    for check in checks:
        store.record(check.scope, check.requests)
    ok = all(check.ok for check in checks)
    if options.json or json_flag:
        print_json("auth test", {"scopes": checks}, ok=ok)
    else:
        for check in checks:
            print_table(f"scope {check.scope}", ["check", "result"], _rows(check))
    failed = next((check for check in checks if not check.ok), None)
    if failed is not None:
        if not (options.json or json_flag):
            sys.stderr.write(f"wfm: error: {failed.first_failure()}\n")
        raise typer.Exit(int(failed.exit_code() or ExitCode.INTERNAL))

"""From the configuration (scope, destinations, vendor profiles) to the relay's plain settings.

`rta serve SCOPE` is one relay for every RTA destination of the scope; `rta serve SCOPE/DEST`
one for that destination. The record layout is the profile's `rta` data. The sink follows the
profile's `rta.transport`, unless the destination says otherwise: `listen` makes us a TCP
server; an `endpoint` of tcp:// or tls:// a TCP client; http(s):// the profile's HTTP push.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from urllib.parse import urlsplit

from wfmcli.config.model import Config, Destination, RtaSettings, Scope
from wfmcli.errors import ConfigError
from wfmcli.genesys.auth import Credential
from wfmcli.paths import data_dir
from wfmcli.reports.profiles import load_profile
from wfmcli.reports.spec import RtaSpec
from wfmcli.rta.channels import ChannelPolicy
from wfmcli.rta.model import AgentIds
from wfmcli.rta.records import Layout, id_problems, layout_from
from wfmcli.rta.service import RelaySettings, SinkSpec
from wfmcli.rta.sinks.http_push import HttpTarget, placeholders
from wfmcli.rta.source import FULL_READ_S, HOLDERS_CHECK_S, SourceConfig
from wfmcli.rta.told import told_path

# What each auth kind needs from the destination's rta settings.
_AUTH_NEEDS = {
    "none": (), "bearer": ("api_key",), "header": ("api_key",), "basic": ("username", "password"),
    "oauth-client-credentials": ("client_id", "client_secret", "token_url"),
    "token-exchange": ("token_url",),
}


def status_path(scope: str, destination: str) -> Path:
    return data_dir() / "rta" / f"{scope}__{destination}.json"


def _host_port(value: str, where: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"{where}: expected host:port, not {value!r}")
    return host.strip("[]"), int(port)


def _transport(profile: RtaSpec, rta: RtaSettings) -> str:
    if rta.listen:
        return "tcp-server"
    if rta.endpoint:
        scheme = urlsplit(rta.endpoint).scheme
        return "http-push" if scheme in ("http", "https") else "tcp-client"
    return profile.transport


def _secret_values(rta: RtaSettings) -> dict[str, str]:
    values = {"source_id": rta.source_id, "username": rta.username, "client_id": rta.client_id,
              "tenant": rta.tenant, "token_url": rta.token_url}
    secrets = {"api_key": rta.api_key, "password": rta.password,
               "client_secret": rta.client_secret}
    found = {k: v for k, v in values.items() if v}
    found.update({k: v.get_secret_value() for k, v in secrets.items() if v is not None})
    return found


def http_target(where: str, profile: RtaSpec, rta: RtaSettings) -> HttpTarget:
    http = profile.http
    if http is None or profile.framing != "json":
        raise ConfigError(f"{where}: no HTTP push is known for {profile.protocol}",
                          hint="use listen/endpoint for a TCP feed, or --stdout")
    if not rta.endpoint:
        raise ConfigError(f"{where}: the {profile.protocol} push needs endpoint (https://...)")
    values = _secret_values(rta)
    token_url = rta.token_url or http.auth.token_url
    if token_url:
        values["token_url"] = token_url
    needed = (set(placeholders(http.body)) | set(_AUTH_NEEDS[http.auth.kind])
              | (placeholders(http.auth.body) if http.auth.kind == "token-exchange" else set()))
    needed -= {"records", "is_snapshot", "count", "sent_at"}
    missing = sorted(name for name in needed if name not in values)
    if missing:
        raise ConfigError(f"{where}: the {profile.protocol} push needs {', '.join(missing)}",
                          hint="set them in the destination's rta settings (secrets as "
                          "${ENV}, *_file or keyring)")
    url = rta.endpoint
    if http.path and not url.rstrip("/").endswith(http.path.rstrip("/")):
        url = url.rstrip("/") + http.path
    verify: ssl.SSLContext | bool = True
    if rta.ca_file is not None:
        verify = ssl.create_default_context(cafile=str(rta.ca_file))
    return HttpTarget(url=url, method=http.method, body=http.body, batch_size=http.batch_size,
                      max_wait_s=http.max_wait_s, success=frozenset(http.success),
                      snapshot_flag=http.snapshot_flag, auth=http.auth, token_url=token_url,
                      values=values, verify=verify)


def sink_specs(target: str, profile: RtaSpec, rta: RtaSettings | None, *, stdout: bool
               ) -> list[SinkSpec]:
    specs = [SinkSpec("stdout")] if stdout else []
    if rta is None:
        if stdout:
            return specs
        raise ConfigError(f"{target} has no rta settings",
                          hint="add rta: {listen: 0.0.0.0:7100} (or endpoint) to the destination, "
                          "or use --stdout")
    transport = _transport(profile, rta)
    where = f"{target} rta"
    if transport == "tcp-server":
        if not rta.listen:
            raise ConfigError(f"{where}: the {profile.protocol} feed needs listen (host:port)",
                              hint="the WFM connects to us; e.g. listen: 0.0.0.0:7100 (or "
                              "endpoint: tcp://host:port where the WFM listens)")
        host, port = _host_port(rta.listen, f"{where}.listen")
        specs.append(SinkSpec("tcp-server", host, port, tls_cert=rta.tls_cert,
                              tls_key=rta.tls_key))
    elif transport == "tcp-client":
        if not rta.endpoint:
            raise ConfigError(f"{where}: the {profile.protocol} feed needs endpoint",
                              hint="the WFM listens; e.g. endpoint: tcp://rta-server:5001")
        parts = urlsplit(rta.endpoint)
        if parts.scheme not in ("tcp", "tls") or not parts.hostname or not parts.port:
            raise ConfigError(f"{where}.endpoint: expected tcp://host:port or tls://host:port")
        specs.append(SinkSpec("tcp-client", parts.hostname, parts.port, tls=parts.scheme == "tls"))
    elif transport == "http-push":
        specs.append(SinkSpec("http-push", http=http_target(where, profile, rta),
                              snapshot_every_s=rta.snapshot_every.total_seconds()))
    elif not stdout:
        raise ConfigError(f"{where}: the profile has no RTA transport ({transport})")
    return specs


def rta_targets(config: Config, target: str) -> list[str]:
    """SCOPE: every destination of the scope with an RTA feed; SCOPE/DEST (or DEST): that one."""
    if "/" not in target and target in config.scopes:
        scope = config.scope(target)
        found = [f"{target}/{name}" for name, dest in sorted(scope.destinations.items())
                 if dest.rta is not None and load_profile(dest.profile).rta is not None]
        if not found:
            raise ConfigError(f"scope {target!r} has no destination with rta settings",
                              hint="add rta: (listen or endpoint) to a destination")
        return found
    return [target]


def layout_of(profile_name: str, rta: RtaSettings | None) -> Layout:
    profile = load_profile(profile_name)
    if profile.rta is None:
        raise ConfigError(f"profile {profile_name!r} has no RTA feed")
    return layout_from(profile.rta, profile_name, unicode=rta.unicode if rta else False)


def relay_settings(
    config: Config,
    target: str,
    *,
    stdout: bool = False,
    ops_port: int | None = None,
    ops_host: str = "127.0.0.1",
    roster_refresh_s: float | None = None,
    write_status: bool = True,
) -> RelaySettings:
    """One destination's settings; roster_refresh_s overrides the destination's."""
    scope_name, scope, dest_name, destination = config.destination(target)
    profile = load_profile(destination.profile)
    if profile.rta is None:
        raise ConfigError(f"profile {destination.profile!r} has no RTA feed",
                          hint=f"{scope_name}/{dest_name} can only receive report files")
    rta = destination.rta
    name = f"{scope_name}/{dest_name}"
    refresh = roster_refresh_s or (rta.roster_refresh.total_seconds() if rta else 300.0)
    blended = [(scope_name, scope)] + [(s, config.scope(s)) for s in (rta.scopes if rta else [])]
    sinks = sink_specs(name, profile.rta, rta, stdout=stdout)
    layout = (layout_of(destination.profile, rta) if any(s.kind != "stdout" for s in sinks)
              else _stdout_layout(destination.profile, rta))
    return RelaySettings(
        name=name,
        layout=layout,
        state_map=dict(profile.rta.state_map),
        overrides=dict(rta.state_map) if rta else {},
        sources=[_source(n, blended_scope, destination, refresh) for n, blended_scope in blended],
        sinks=sinks,
        min_state_seconds=rta.min_state_seconds if rta else 0.0,
        detailed=rta.detailed if rta else False,
        heartbeat_s=rta.heartbeat.total_seconds() if rta else 30.0,
        blend=rta.blend if rta else None,
        ops_host=ops_host,
        ops_port=ops_port,
        status_path=status_path(scope_name, dest_name) if write_status else None,
        told_path=told_path(scope_name, dest_name) if write_status else None,
        agent_ids=agent_ids(destination),
    )


def _stdout_layout(profile_name: str, rta: RtaSettings | None) -> Layout:
    """--stdout alone needs no vendor layout: the profile's when it has one, else JSON lines."""
    try:
        return layout_of(profile_name, rta)
    except ConfigError:
        from wfmcli.rta.records import builtin_layout

        return builtin_layout("json-lines")


def scope_settings(config: Config, target: str, **kwargs: object) -> list[RelaySettings]:
    """The settings of every destination `target` names (one relay serves them all)."""
    lanes = [relay_settings(config, name, **kwargs) for name in rta_targets(config, target)]  # type: ignore[arg-type]
    if len(lanes) > 1 and kwargs.get("stdout"):
        # one JSON-lines stream for the relay, not one per destination
        lanes = [lanes[0]] + [_without_stdout(lane) for lane in lanes[1:]]
    return lanes


def _without_stdout(lane: RelaySettings) -> RelaySettings:
    from dataclasses import replace

    return replace(lane, sinks=[s for s in lane.sinks if s.kind != "stdout"])


def agent_ids(destination: Destination) -> AgentIds:
    agent_map = None
    if destination.agent_id == "mapping" and destination.agent_map_file is not None:
        from wfmcli.pull.directory import read_agent_map

        agent_map = read_agent_map(destination.agent_map_file)
    return AgentIds(destination.agent_id, agent_map)


def _source(name: str, scope: Scope, destination: Destination, refresh_s: float
            ) -> SourceConfig:
    source = scope.source
    ids = agent_ids(destination)
    return SourceConfig(
        scope=name,
        api_url=source.api_url,
        login_url=source.login_url,
        credentials=[Credential(c.client_id, c.client_secret.get_secret_value())
                     for c in source.credentials],
        licensed_role=source.licensed_role,
        divisions=list(source.divisions),
        proxy=source.proxy,
        agent_id=destination.agent_id,
        agent_map=ids.agent_map,
        detailed=destination.rta.detailed if destination.rta else False,
        roster_refresh_s=refresh_s,
        holders_check_s=(destination.rta.roster_holders_check.total_seconds()
                         if destination.rta else HOLDERS_CHECK_S),
        full_read_s=(destination.rta.roster_full_read.total_seconds()
                     if destination.rta else FULL_READ_S),
        policy=ChannelPolicy(),
    )


def rta_problems(config: Config) -> list[str]:
    """What `config validate` can check offline for every RTA destination: the profile's layout,
    the sink settings, and that the agent map's ids fit the layout's id fields."""
    problems: list[str] = []
    for scope_name, scope in sorted(config.scopes.items()):
        for dest_name, destination in sorted(scope.destinations.items()):
            if destination.rta is None:
                continue
            name = f"{scope_name}/{dest_name}"
            try:
                profile = load_profile(destination.profile)
                if profile.rta is None:
                    continue
                layout = layout_of(destination.profile, destination.rta)
                sink_specs(name, profile.rta, destination.rta, stdout=False)
                ids = agent_ids(destination)
                if ids.agent_map is not None:
                    problems += id_problems(layout, dict(ids.agent_map), f"{name} agent map")
            except ConfigError as exc:
                problems.append(f"{name}: {exc.one_line()}")
    return problems


def scope_id_problems(destinations: dict[str, Destination], users: list[dict[str, object]]
                      ) -> list[tuple[str, list[str]]]:
    """(destination, problems) for licensed users' ids against each RTA layout (doctor)."""
    found = []
    for dest_name, destination in sorted(destinations.items()):
        if destination.rta is None or load_profile(destination.profile).rta is None:
            continue
        layout = layout_of(destination.profile, destination.rta)
        ids = agent_ids(destination)
        agents = {str(u.get("id")): agent for u in users if (agent := ids.of(u)) is not None}
        found.append((dest_name, id_problems(layout, agents, dest_name)))
    return found

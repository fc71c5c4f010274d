"""From the configuration (scope, destination, vendor profile) to the relay's plain settings.

The sink follows the profile's `rta.transport`, unless the destination says otherwise: `listen`
makes us a TCP server; an `endpoint` of tcp:// or tls:// a TCP client; http(s):// Calabrio's
HTTP API.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from wfmcli.config.model import Config, Destination, RtaSettings, Scope
from wfmcli.errors import ConfigError
from wfmcli.genesys.auth import Credential
from wfmcli.paths import data_dir
from wfmcli.reports.profiles import load_profile
from wfmcli.reports.spec import RtaSpec
from wfmcli.rta.channels import ChannelPolicy
from wfmcli.rta.records import family_for
from wfmcli.rta.service import RelaySettings, SinkSpec
from wfmcli.rta.source import SourceConfig


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
                              hint="the WFM connects to us; e.g. listen: 0.0.0.0:7100")
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
        if family_for(profile.format or profile.protocol) != "calabrio-batch":
            raise ConfigError(f"{where}: no published HTTP push for {profile.protocol}",
                              hint="use listen/endpoint for a TCP feed, or --stdout")
        if not (rta.endpoint and rta.api_key and rta.source_id):
            raise ConfigError(f"{where}: Calabrio needs endpoint, api_key and source_id",
                              hint="api_key is the RTA authentication key from Calabrio admin")
        specs.append(SinkSpec("http-push", url=rta.endpoint,
                              api_key=rta.api_key.get_secret_value(), source_id=rta.source_id,
                              snapshot_every_s=rta.snapshot_every.total_seconds()))
    elif not stdout:
        raise ConfigError(f"{where}: the profile has no RTA transport ({transport})")
    return specs


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
    """roster_refresh_s overrides the destination's rta.roster_refresh."""
    scope_name, scope, dest_name, destination = config.destination(target)
    profile = load_profile(destination.profile)
    if profile.rta is None:
        raise ConfigError(f"profile {destination.profile!r} has no RTA feed",
                          hint=f"{scope_name}/{dest_name} can only receive report files")
    rta = destination.rta
    name = f"{scope_name}/{dest_name}"
    refresh = roster_refresh_s or (rta.roster_refresh.total_seconds() if rta else 300.0)
    blended = [(scope_name, scope)] + [(s, config.scope(s)) for s in (rta.scopes if rta else [])]
    return RelaySettings(
        name=name,
        protocol=profile.rta.format or profile.rta.protocol,
        state_map=dict(profile.rta.state_map),
        overrides=dict(rta.state_map) if rta else {},
        sources=[_source(n, blended_scope, destination, refresh) for n, blended_scope in blended],
        sinks=sink_specs(name, profile.rta, rta, stdout=stdout),
        min_state_seconds=rta.min_state_seconds if rta else 0.0,
        detailed=rta.detailed if rta else False,
        heartbeat_s=rta.heartbeat.total_seconds() if rta else 30.0,
        blend=rta.blend if rta else None,
        unicode=rta.unicode if rta else False,
        ops_host=ops_host,
        ops_port=ops_port,
        status_path=status_path(scope_name, dest_name) if write_status else None,
    )


def _source(name: str, scope: Scope, destination: Destination, refresh_s: float
            ) -> SourceConfig:
    source = scope.source
    agent_map = None
    if destination.agent_id == "mapping" and destination.agent_map_file is not None:
        from wfmcli.pull.directory import read_agent_map

        agent_map = read_agent_map(destination.agent_map_file)
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
        agent_map=agent_map,
        detailed=destination.rta.detailed if destination.rta else False,
        roster_refresh_s=refresh_s,
        policy=ChannelPolicy(),
    )

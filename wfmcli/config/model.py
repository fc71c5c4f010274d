"""The configuration schema: scopes, each with one Genesys source and named destinations."""

from __future__ import annotations

import re
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from wfmcli.errors import ConfigError
from wfmcli.genesys.regions import resolve_region

MAX_CREDENTIAL_SETS = 5
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
_DURATION = re.compile(r"^\s*(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?\s*$")


def parse_duration(value: Any) -> Any:
    """'90s', '15m', '2h', '7d' or a combination such as '1h30m'."""
    if isinstance(value, timedelta):
        return value
    match = _DURATION.match(value) if isinstance(value, str) and value.strip() else None
    if match is None:
        raise ValueError(f"expected a duration such as 90s, 15m, 2h or 7d, not {value!r}")
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def format_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


def parse_interval(value: Any) -> Any:
    if isinstance(value, str) and value.strip().endswith("m") and value.strip()[:-1].isdigit():
        value = int(value.strip()[:-1])
    if value not in (15, 30, 60) or isinstance(value, bool):
        raise ValueError(f"must be 15, 30 or 60 (minutes), not {value!r}")
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Interval = Annotated[int, BeforeValidator(parse_interval)]
Name = Annotated[str, Field(pattern=NAME_PATTERN)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Media(StrEnum):
    VOICE = "voice"
    CHAT = "chat"
    EMAIL = "email"
    MESSAGE = "message"
    CALLBACK = "callback"
    OUTBOUND_VOICE = "outbound_voice"
    OUTBOUND_MESSAGE = "outbound_message"


class Credential(Strict):
    client_id: str = Field(min_length=1)
    client_secret: SecretStr


Licence = Literal["communicate", "cx1", "cx2", "cx2_digital", "cx3", "cx3_digital", "ex"]


class Source(Strict):
    region: str | None = None
    base_url: str | None = None
    credentials: list[Credential] = Field(min_length=1)
    divisions: list[str] = Field(default_factory=list)
    licensed_role: str = Field(min_length=1)
    proxy: str | None = None
    # the org's Genesys Cloud licence, for the API allotment `wfm api-usage` compares against
    licence: Licence | None = None
    billing: Literal["named", "concurrent"] = "named"

    @field_validator("region")
    @classmethod
    def _known_region(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return resolve_region(value).key
        except ConfigError as exc:
            raise ValueError(exc.one_line()) from exc

    @field_validator("credentials")
    @classmethod
    def _at_most_five(cls, value: list[Credential]) -> list[Credential]:
        if len(value) > MAX_CREDENTIAL_SETS:
            raise ValueError(
                f"at most {MAX_CREDENTIAL_SETS} credential sets, not {len(value)} "
                "(each set covers 20,000 agents and queues; 5 cover 100,000)"
            )
        ids = [credential.client_id for credential in value]
        if len(set(ids)) != len(ids):
            raise ValueError("each credential set needs its own client_id")
        return value

    @field_validator("base_url", "proxy")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"expected an http:// or https:// URL, not {value!r}")
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _one_location(self) -> Source:
        if (self.region is None) == (self.base_url is None):
            raise ValueError("give exactly one of region (a Genesys Cloud region) or base_url")
        return self

    @property
    def api_url(self) -> str:
        if self.base_url:
            return self.base_url
        return resolve_region(self.region or "").api_url

    @property
    def login_url(self) -> str:
        if self.base_url:
            return self.base_url
        return resolve_region(self.region or "").login_url


class Delivery(BaseModel):
    """Where report files go. Keys other than `url` are options of the URL's transport."""

    model_config = ConfigDict(extra="allow", frozen=True)
    url: str

    @field_validator("url")
    @classmethod
    def _transport_url(cls, value: str) -> str:
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 - reading it checks it
        except ValueError as exc:
            raise ValueError(f"cannot read the URL {value!r}: {exc}") from exc
        if not parts.scheme or (parts.scheme != "file" and not parts.hostname):
            raise ValueError(
                f"expected a URL such as sftp://host/folder or file:///folder, not {value!r}"
            )
        if parts.password:
            raise ValueError("keep the password out of the URL: use password or password_file")
        return value

    def transport_options(self) -> dict[str, Any]:
        extra = self.model_extra or {}
        return {
            key: value.get_secret_value() if isinstance(value, SecretStr) else value
            for key, value in extra.items()
        }


class RtaSettings(Strict):
    listen: str | None = None
    endpoint: str | None = None
    api_key: SecretStr | None = None
    source_id: str | None = None
    # HTTP push auth (the profile's rta.http.auth says which are used)
    username: str | None = None
    password: SecretStr | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    token_url: str | None = None
    tenant: str | None = None
    ca_file: Path | None = None  # trust this CA for the endpoint (a private PKI)
    tls_cert: Path | None = None
    tls_key: Path | None = None
    detailed: bool = False
    min_state_seconds: float = Field(default=0.0, ge=0)
    heartbeat: Duration = timedelta(seconds=30)
    state_map: dict[str, str | int] = Field(default_factory=dict)
    # more scopes (orgs) whose agents feed this destination, and how their states combine
    scopes: list[Name] = Field(default_factory=list)
    blend: Literal["combined", "per-source"] | None = None  # default: the vendor's way
    unicode: bool = False  # UTF-16 fixed-width records (Universal ACD)
    snapshot_every: Duration = timedelta(minutes=15)  # full snapshots pushed (Calabrio)
    roster_refresh: Duration = timedelta(minutes=5)  # check the licensed agents this often
    roster_holders_check: Duration = timedelta(hours=1)  # read the licence's holders (swaps)
    roster_full_read: Duration = timedelta(days=1)  # read every user (renames, division moves)

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        if value is not None:
            host, _, port = value.rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"expected host:port such as 0.0.0.0:7100, not {value!r}")
        return value


class Destination(Strict):
    profile: Name
    timezone: str
    interval: Interval = 15
    media: list[Media] = Field(default_factory=lambda: list(Media))
    reports: list[str] = Field(default_factory=list)
    agent_id: Literal["username", "email", "employee_id", "mapping"] = "username"
    agent_map_file: Path | None = None
    # the queue mapping CSV (see wfmcli/reports/mapping.py); default: in the data dir, made by
    # `wfm map queues` or the first run; unmapped queues follow `unmapped_queues`
    queue_map_file: Path | None = None
    unmapped_queues: Literal["split", "merge", "exclude"] | None = None  # None: the profile's
    delivery: Delivery | None = None
    schedule: Duration = timedelta(minutes=15)
    lag: Duration = timedelta(minutes=10)
    resend: Duration = timedelta(hours=2)
    max_backfill: Duration = timedelta(days=7)
    # agent statistics cost a request per 100 agents per pull, so they travel in hourly blocks
    agent_every: Duration = timedelta(hours=1)
    rta: RtaSettings | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as Europe/Berlin"
            ) from exc
        return value

    @model_validator(mode="after")
    def _agent_blocks_fit(self) -> Destination:
        minutes = self.agent_every.total_seconds() / 60
        if minutes % self.interval or (24 * 60) % minutes:
            raise ValueError(
                f"agent_every must be a whole number of {self.interval}-minute intervals that "
                f"divides a day (e.g. {self.interval}m, 1h, 2h), "
                f"not {format_duration(self.agent_every)}"
            )
        return self

    @model_validator(mode="after")
    def _mapping_needs_file(self) -> Destination:
        if self.agent_id == "mapping" and self.agent_map_file is None:
            raise ValueError("agent_id: mapping needs agent_map_file (a CSV of user id to WFM id)")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Scope(Strict):
    source: Source
    destinations: dict[Name, Destination] = Field(default_factory=dict)


class Config(Strict):
    version: Literal[1] = 1
    # where delivery state, logs and staging live; default: the user's data folder
    data_dir: Path | None = None
    # a configuration kept as a record (e.g. of a finished 'wfm demo' whose twin is gone):
    # commands that would reach its sources refuse at once with this text
    record_only: str | None = None
    scopes: dict[Name, Scope] = Field(min_length=1)

    def require_live(self) -> None:
        if self.record_only:
            raise ConfigError(
                f"this configuration is a record only: {self.record_only}",
                hint="remove record_only from the file once its source answers again",
            )

    def state_root(self) -> Path:
        from wfmcli.paths import data_dir

        return self.data_dir or data_dir()

    @model_validator(mode="after")
    def _rta_scopes_exist(self) -> Config:
        for scope_name, scope in self.scopes.items():
            for dest_name, destination in scope.destinations.items():
                rta = destination.rta
                unknown = [s for s in (rta.scopes if rta else []) if s not in self.scopes]
                if unknown:
                    raise ValueError(
                        f"scopes.{scope_name}.destinations.{dest_name}.rta.scopes names unknown "
                        f"scope {unknown[0]!r} (scopes: {', '.join(sorted(self.scopes))})"
                    )
        return self

    def scope(self, name: str) -> Scope:
        if name not in self.scopes:
            raise ConfigError(
                f"no scope {name!r} in the configuration",
                hint=f"scopes: {', '.join(sorted(self.scopes))}",
            )
        return self.scopes[name]

    def destination(self, target: str) -> tuple[str, Scope, str, Destination]:
        """Resolve 'SCOPE/DEST' (or 'DEST' when only one scope exists)."""
        scope_name, _, dest_name = target.rpartition("/")
        if not scope_name and len(self.scopes) == 1:
            scope_name = next(iter(self.scopes))
        scope = self.scope(scope_name)
        if dest_name not in scope.destinations:
            known = ", ".join(f"{scope_name}/{d}" for d in sorted(scope.destinations)) or "none"
            raise ConfigError(
                f"no destination {dest_name!r} in scope {scope_name!r}", hint=f"known: {known}"
            )
        return scope_name, scope, dest_name, scope.destinations[dest_name]

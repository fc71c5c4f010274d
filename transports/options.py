"""Transport options: one typed record, parsed from plain values (config) or strings (--option)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from wfmcli.errors import ConfigError
from wfmcli.secrets import register_secret

COMMON_OPTIONS = frozenset({"timeout", "retries", "backoff", "backoff_max", "overwrite"})
LOGIN_OPTIONS = frozenset({"username", "password"})
TLS_OPTIONS = frozenset({"ca_bundle", "insecure_skip_verify"})
SSH_OPTIONS = frozenset({"key_file", "key_passphrase", "known_hosts", "host_key_fingerprint"})
S3_OPTIONS = frozenset(
    {
        "region",
        "endpoint_url",
        "profile",
        "access_key_id",
        "secret_access_key",
        "session_token",
        "sse",
        "sse_kms_key_id",
        "storage_class",
    }
)
# an HTTP push endpoint (https://): bearer token, Calabrio's data source key, the body's type
HTTP_OPTIONS = frozenset({"token", "data_source_key", "content_type"})
SECRET_OPTIONS = frozenset(
    {"password", "key_passphrase", "secret_access_key", "session_token", "token",
     "data_source_key"}
)  # fmt: skip
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class TransportOptions:
    """Every option any built-in transport understands; each transport allows a subset."""

    timeout: float = 30.0
    retries: int = 3
    backoff: float = 1.0
    backoff_max: float = 30.0
    overwrite: bool = True
    username: str | None = None
    password: str | None = None
    ca_bundle: Path | None = None
    insecure_skip_verify: bool = False
    key_file: Path | None = None
    key_passphrase: str | None = None
    known_hosts: Path | None = None
    host_key_fingerprint: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    profile: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None
    sse: str | None = None
    sse_kms_key_id: str | None = None
    storage_class: str | None = None
    token: str | None = None
    data_source_key: str | None = None
    content_type: str = "text/csv; charset=utf-8"

    def __repr__(self) -> str:
        # Secrets must not leak through a debugger, a log line or a failed assertion.
        shown = {
            f.name: ("***" if f.name in SECRET_OPTIONS and getattr(self, f.name) else v)
            for f in fields(self)
            if (v := getattr(self, f.name)) != f.default
        }
        return f"TransportOptions({shown})"


_FIELD_TYPES = {f.name: f.type for f in fields(TransportOptions)}


def parse_options(
    scheme: str, allowed: frozenset[str], raw: Mapping[str, Any]
) -> TransportOptions:
    """Check names against what the scheme allows and convert values to their types."""
    values: dict[str, Any] = {}
    for name, value in raw.items():
        if name not in allowed:
            raise ConfigError(
                f"unknown option {name!r} for {scheme}:// transports",
                hint=f"allowed: {', '.join(sorted(allowed))}",
            )
        if value is None:
            continue
        values[name] = _convert(name, value)
        if name in SECRET_OPTIONS:
            register_secret(str(value))
    options = TransportOptions(**values)
    _check_ranges(options)
    return options


def _convert(name: str, value: Any) -> Any:
    kind = str(_FIELD_TYPES[name])
    try:
        if kind == "bool":
            return _to_bool(value)
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        if kind.startswith("Path"):
            return Path(str(value)).expanduser()
        return str(value)
    except ValueError as exc:
        raise ConfigError(f"option {name!r} has an invalid value: {exc}") from exc


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"expected true or false, not {value!r}")


def _check_ranges(options: TransportOptions) -> None:
    if options.timeout <= 0:
        raise ConfigError("option 'timeout' must be more than 0 seconds")
    if not 0 <= options.retries <= 20:
        raise ConfigError("option 'retries' must be between 0 and 20")
    if options.backoff < 0 or options.backoff_max < 0:
        raise ConfigError("options 'backoff' and 'backoff_max' cannot be negative")

"""Destination URLs: parsed once, shown only with the password masked."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from wfmcli.errors import UsageError
from wfmcli.secrets import redact, register_secret

_WINDOWS_DRIVE = re.compile(r"^/[A-Za-z]:")


@dataclass(frozen=True)
class TransportURL:
    scheme: str
    host: str
    port: int | None
    username: str | None
    password: str | None = field(repr=False)
    path: str
    query: dict[str, str]

    def display(self) -> str:
        """The URL as people should see it: no password, secrets masked."""
        user = f"{self.username}@" if self.username else ""
        port = f":{self.port}" if self.port else ""
        return redact(f"{self.scheme}://{user}{self.host}{port}{self.path}")

    def where(self) -> str:
        return f"{self.host}:{self.port}" if self.port else self.host


_SHAPE = "write it as scheme://host/folder, e.g. sftp://host/import or file:///srv/out"


def parse_url(url: str) -> TransportURL:
    """The parts of a transport URL; a URL that cannot be one is a UsageError at once."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:  # e.g. "Invalid IPv6 URL", "Port out of range 0-65535"
        raise UsageError(f"cannot read the URL {redact(url)!r}: {exc}", hint=_SHAPE) from exc
    scheme = parts.scheme.lower()
    if not scheme:
        raise UsageError(f"{redact(url)!r} is not a transport URL", hint=_SHAPE)
    password = unquote(parts.password) if parts.password is not None else None
    if password:
        register_secret(password)
    path = unquote(parts.path)
    if scheme == "file" and _WINDOWS_DRIVE.match(path):
        path = path[1:]
    return TransportURL(
        scheme=scheme,
        host=parts.hostname or "",
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=password,
        path=path,
        query=dict(parse_qsl(parts.query)),
    )


def require_host(url: TransportURL, original: str) -> None:
    """A missing host is a usage error at once; retried, it looks like a network fault."""
    if not url.host:
        raise UsageError(f"the URL {redact(original)!r} names no host", hint=_SHAPE)


def check_remote_name(name: str) -> list[str]:
    """Split a relative remote name into segments, refusing anything that escapes the folder."""
    segments = name.replace("\\", "/").split("/")
    if not name or name.startswith("/") or any(s in {"", ".", ".."} for s in segments):
        raise UsageError(
            f"remote name {name!r} must be a relative path without '.' or '..' segments"
        )
    return segments

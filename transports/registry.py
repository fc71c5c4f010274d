"""Which class serves which URL scheme.

Built-ins are listed as "module:Class" strings and imported on first use, so a missing library
only affects its own scheme. Third-party transports register through the entry-point group
`wfm.transports.v1` (name = scheme, value = "module:Class"), as wfm's own pyproject.toml does for
the built-ins; one that fails to load is reported
with a warning and the others still work. Built-in and plug-in classes are looked up alike.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import threading
from collections.abc import Mapping
from typing import Any

from wfmcli.errors import ConfigError, UsageError
from wfmcli.transports.base import Transport
from wfmcli.transports.options import parse_options
from wfmcli.transports.url import parse_url, require_host

log = logging.getLogger("wfm.transports")
ENTRY_POINT_GROUP = "wfm.transports.v1"

# scheme -> (import path, what to install when the import fails). Kept sorted (a test checks).
BUILTIN: dict[str, tuple[str, str]] = {
    "file": ("wfmcli.transports.local:LocalTransport", "it is part of wfm: reinstall wfm"),
    "ftp": ("wfmcli.transports.ftp:FTPTransport", "it is part of wfm: reinstall wfm"),
    "ftps": ("wfmcli.transports.ftp:FTPSTransport", "it is part of wfm: reinstall wfm"),
    "https": ("wfmcli.transports.https:HttpsPushTransport", "it is part of wfm: reinstall wfm"),
    "s3": ("wfmcli.transports.s3:S3Transport", "pip install boto3"),
    "sftp": ("wfmcli.transports.sftp:SFTPTransport", "pip install paramiko"),
    "webdav": ("wfmcli.transports.webdav:WebDAVTransport", "pip install webdavclient3"),
    "webdavs": ("wfmcli.transports.webdav:WebDAVSTransport", "pip install webdavclient3"),
}

_lock = threading.Lock()
_table: dict[str, type[Transport] | str] = {}
_plugins_loaded = False


def register(scheme: str, cls: type[Transport] | str, *, clobber: bool = False) -> None:
    """Serve `scheme` with `cls` (a Transport subclass or a "module:Class" path)."""
    scheme = scheme.lower()
    with _lock:
        if scheme in _table and not clobber and _table[scheme] != cls:
            raise ValueError(f"scheme {scheme!r} is already served by {_name(_table[scheme])}")
        _table[scheme] = cls


def unregister(scheme: str) -> None:
    with _lock:
        _table.pop(scheme.lower(), None)


def schemes() -> list[str]:
    _load_plugins()
    with _lock:
        return sorted(_table)


def transport_class(scheme: str) -> type[Transport]:
    _load_plugins()
    scheme = scheme.lower()
    with _lock:
        entry = _table.get(scheme)
    if entry is None:
        raise ConfigError(
            f"no transport for URL scheme {scheme!r}",
            hint=f"use one of: {', '.join(schemes())}",
        )
    if isinstance(entry, str):
        cls = _import(scheme, entry)
        with _lock:
            _table[scheme] = cls
        return cls
    return entry


def open_transport(url: str, options: Mapping[str, Any] | None = None) -> Transport:
    """A transport for `url`, not yet connected: use it as a context manager."""
    parsed = parse_url(url)
    cls = transport_class(parsed.scheme)
    if cls.needs_host:
        require_host(parsed, url)
    raw = dict(options or {})
    if parsed.username and "username" in cls.option_names:
        if raw.get("username") not in (None, parsed.username):
            raise ConfigError("the URL and the username option name different users")
        raw["username"] = parsed.username
    if parsed.password is not None:
        if "password" not in cls.option_names:
            raise UsageError(f"{parsed.scheme}:// URLs take no password")
        raw.setdefault("password", parsed.password)
    return cls(parsed, parse_options(parsed.scheme, cls.option_names, raw))


def _import(scheme: str, path: str) -> type[Transport]:
    module_name, _, attr = path.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        hint = BUILTIN.get(scheme, ("", "reinstall the package that provides it"))[1]
        raise ConfigError(f"the {scheme}:// transport cannot be loaded: {exc}", hint=hint) from exc
    if not (isinstance(cls, type) and issubclass(cls, Transport)):
        raise ConfigError(f"{path} serves {scheme}:// but is not a wfm Transport class")
    return cls


def _name(entry: type[Transport] | str) -> str:
    return entry if isinstance(entry, str) else f"{entry.__module__}:{entry.__qualname__}"


def _load_plugins() -> None:
    global _plugins_loaded
    with _lock:
        if _plugins_loaded:
            return
        _plugins_loaded = True
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if BUILTIN.get(entry_point.name, ("",))[0] == entry_point.value:
            continue  # wfm declares its own built-ins too; they stay lazily imported
        try:
            cls = entry_point.load()
            if not (isinstance(cls, type) and issubclass(cls, Transport)):
                raise TypeError(f"{entry_point.value} is not a wfm Transport class")
            register(entry_point.name, cls)
        except Exception as exc:  # one broken plugin must not break the rest
            dist = entry_point.dist.name if entry_point.dist else entry_point.value
            log.warning(
                "transport plugin %r (%s) failed to load and is ignored: %s: %s "
                "(fix or uninstall it: pip uninstall %s)",
                entry_point.name, entry_point.value, type(exc).__name__, exc, dist,
            )


def reset() -> None:
    """Back to the built-ins only; plug-ins are looked up again on next use."""
    global _plugins_loaded
    with _lock:
        _table.clear()
        _table.update({scheme: path for scheme, (path, _) in BUILTIN.items()})
        _plugins_loaded = False


reset()

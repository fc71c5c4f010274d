"""The network a firewall team must open for one scope: every host:port wfm connects to, every
port it listens on. Pure: computed from the configuration alone."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21, "ftps": 21,
                 "sftp": 22, "webdav": 80, "webdavs": 443, "s3": 443}  # fmt: skip


@dataclass(frozen=True)
class Endpoint:
    direction: str  # "out": wfm connects; "in": wfm listens
    host: str
    port: int
    protocol: str
    purpose: str


def _host_port(url: str) -> tuple[str, int, str]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return parts.hostname or "", parts.port or DEFAULT_PORTS.get(scheme, 0), scheme


def streaming_host(api_url: str) -> tuple[str, int]:
    """Genesys hands out wss://streaming.<domain>/channels/...; a base URL serves it itself."""
    host, port, _ = _host_port(api_url)
    if host.startswith("api."):
        return "streaming." + host.removeprefix("api."), 443
    return host, port


def genesys_endpoints(api_url: str, login_url: str, proxy: str | None) -> list[Endpoint]:
    via = " (through the proxy)" if proxy else ""
    api_host, api_port, api_scheme = _host_port(api_url)
    login_host, login_port, _ = _host_port(login_url)
    stream_host, stream_port = streaming_host(api_url)
    found = [
        Endpoint("out", api_host, api_port, api_scheme.upper(), f"Genesys Cloud API{via}"),
        Endpoint("out", login_host, login_port, api_scheme.upper(), f"Genesys Cloud OAuth{via}"),
        Endpoint("out", stream_host, stream_port, "WebSocket", f"Genesys notifications{via}"),
    ]
    if proxy:
        host, port, scheme = _host_port(proxy)
        found.insert(0, Endpoint("out", host, port, scheme.upper(), "HTTP proxy"))
    return _unique(found)


def delivery_endpoint(name: str, url: str, options: Mapping[str, Any]) -> list[Endpoint]:
    host, port, scheme = _host_port(url)
    if scheme == "file":
        return []
    if scheme == "s3":
        endpoint = options.get("endpoint_url")
        if endpoint:
            host, port, _ = _host_port(str(endpoint))
        else:
            region = options.get("region") or "<region>"
            host, port = f"s3.{region}.amazonaws.com", 443
    if scheme == "ftps" and (port == 990 or str(options.get("tls", "")).lower() == "implicit"):
        port = 990
    purpose = f"deliver {name} files"
    if scheme in ("ftp", "ftps"):
        purpose += " (control; passive data ports as the server announces)"
    return [Endpoint("out", host, port, scheme.upper(), purpose)]


def rta_endpoints(name: str, listen: str | None, endpoint: str | None) -> list[Endpoint]:
    found = []
    if listen:
        host, _, listen_port = listen.rpartition(":")
        purpose = f"{name} RTA clients connect here"
        found.append(Endpoint("in", host, int(listen_port), "TCP", purpose))
    if endpoint:
        host, port, protocol = rta_target(endpoint)
        found.append(Endpoint("out", host, port, protocol, f"{name} RTA feed"))
    return found


def rta_target(endpoint: str) -> tuple[str, int, str]:
    """An http(s) URL (Calabrio) or host:port (a WFM that listens for our TCP client)."""
    if "://" in endpoint:
        host, port, scheme = _host_port(endpoint)
        return host, port, scheme.upper()
    host, _, port_text = endpoint.rpartition(":")
    return host, int(port_text) if port_text.isdigit() else 0, "TCP"


def _unique(endpoints: list[Endpoint]) -> list[Endpoint]:
    seen: dict[tuple[str, str, int], Endpoint] = {}
    for item in endpoints:
        key = (item.direction, item.host, item.port)
        if key in seen:
            first = seen[key]
            seen[key] = Endpoint(first.direction, first.host, first.port, first.protocol,
                                 f"{first.purpose}; {item.purpose}")  # fmt: skip
        else:
            seen[key] = item
    return list(seen.values())


def all_endpoints(parts: list[list[Endpoint]]) -> list[Endpoint]:
    return _unique([e for part in parts for e in part])

"""What `wfm rta status` and `wfm rta watch` read: the status files running relays rewrite
every second (`rta.ops.StatusWriter`), or a relay's /status endpoint."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wfmcli.errors import RemoteError, UsageError
from wfmcli.paths import data_dir

STALE_AFTER_S = 5.0  # a running relay rewrites its file every second


@dataclass
class RelayStatus:
    target: str
    running: bool
    pid: int | None
    updated_s_ago: float
    uptime_s: float
    ready: bool
    link: str
    agents: int
    channels: int
    channels_connected: int
    events_in: int
    changes_out: int
    reconnects: int
    resyncs: int
    lag_s: float
    by_state: dict[str, int] = field(default_factory=dict)
    sinks: list[dict[str, Any]] = field(default_factory=list)


def from_body(body: dict[str, Any], updated: float) -> RelayStatus:
    sources = body.get("sources") or []
    age = max(0.0, time.time() - updated)
    return RelayStatus(
        target=str(body.get("name")),
        running=age < STALE_AFTER_S,
        pid=body.get("pid"),
        updated_s_ago=round(age, 1),
        uptime_s=float(body.get("uptime_s") or 0),
        ready=bool(body.get("ready")),
        link=str(body.get("link")),
        agents=int(body.get("agents") or 0),
        channels=sum(int(s.get("channels", 0)) for s in sources),
        channels_connected=sum(int(s.get("channels_connected", 0)) for s in sources),
        events_in=sum(int(s.get("events_in", 0)) for s in sources),
        changes_out=int(body.get("changes_out") or 0),
        reconnects=sum(int(s.get("reconnects", 0)) for s in sources),
        resyncs=sum(int(s.get("resyncs", 0)) for s in sources),
        lag_s=round(max((float(s.get("last_event_lag_ms", 0)) for s in sources), default=0)
                    / 1000, 3),
        by_state=dict(body.get("by_state") or {}),
        sinks=list(body.get("sinks") or []),
    )


def status_dir() -> Path:
    return data_dir() / "rta"


def read_file(path: Path) -> RelayStatus | None:
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        updated = path.stat().st_mtime
    except (OSError, ValueError):
        return None
    return from_body(body, updated) if isinstance(body, dict) else None


def read_all(target: str | None = None) -> list[RelayStatus]:
    folder = status_dir()
    found = [s for p in sorted(folder.glob("*.json")) if (s := read_file(p)) is not None]
    if target is not None:
        found = [s for s in found if s.target == target or s.target.endswith(f"/{target}")]
    return found


def read_one(target: str) -> RelayStatus:
    found = read_all(target)
    if not found:
        raise UsageError(f"no RTA relay status for {target}",
                         hint="start it with `wfm rta serve SCOPE/DEST`")
    return found[0]


def fetch(url: str) -> RelayStatus:
    """A relay's /status endpoint (`--metrics-port`), e.g. http://127.0.0.1:9108/status."""
    import httpx

    try:
        body = httpx.get(url, timeout=5.0).raise_for_status().json()
    except (httpx.HTTPError, ValueError) as exc:
        raise RemoteError(f"cannot read the RTA relay status at {url}: {exc}") from exc
    return from_body(body, time.time())

"""Operations: /healthz, Prometheus /metrics and /status on an optional port, and a status file
that `wfm rta status` and `wfm rta watch` read."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from aiohttp import web

    from wfmcli.rta.service import Relay


def _line(name: str, value: float, labels: dict[str, str] | None = None) -> str:
    if labels:
        inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
        return f"{name}{{{inner}}} {value}"
    return f"{name} {value}"


def metrics_text(status: dict[str, Any]) -> str:
    """Prometheus text exposition of a relay status."""
    sources = status["sources"]
    lines = [
        "# TYPE wfm_rta_agents gauge",
        _line("wfm_rta_agents", status["agents"]),
        "# TYPE wfm_rta_ready gauge",
        _line("wfm_rta_ready", int(status["ready"])),
        "# TYPE wfm_rta_link_up gauge",
        _line("wfm_rta_link_up", int(status["link"] == "normal")),
        "# TYPE wfm_rta_channels gauge",
        _line("wfm_rta_channels", sum(s["channels"] for s in sources)),
        "# TYPE wfm_rta_channels_connected gauge",
        _line("wfm_rta_channels_connected", sum(s["channels_connected"] for s in sources)),
        "# TYPE wfm_rta_events_in_total counter",
        _line("wfm_rta_events_in_total", sum(s["events_in"] for s in sources)),
        "# TYPE wfm_rta_changes_out_total counter",
        _line("wfm_rta_changes_out_total", status["changes_out"]),
        "# TYPE wfm_rta_reconnects_total counter",
        _line("wfm_rta_reconnects_total", sum(s["reconnects"] for s in sources)),
        "# TYPE wfm_rta_resyncs_total counter",
        _line("wfm_rta_resyncs_total", sum(s["resyncs"] for s in sources)),
        "# TYPE wfm_rta_lag_seconds gauge",
        _line("wfm_rta_lag_seconds",
              max((s["last_event_lag_ms"] for s in sources), default=0) / 1000),
        "# TYPE wfm_rta_loop_lag_seconds gauge",
        _line("wfm_rta_loop_lag_seconds", status["loop_lag_max_ms"] / 1000),
        "# TYPE wfm_rta_dropped_events_total counter",
        _line("wfm_rta_dropped_events_total", status["engine"].get("stale", 0),
              {"reason": "stale"}),
        _line("wfm_rta_dropped_events_total", status["engine"].get("duplicate", 0),
              {"reason": "duplicate"}),
        "# TYPE wfm_rta_state_agents gauge",
    ]
    lines += [_line("wfm_rta_state_agents", n, {"state": state})
              for state, n in sorted(status["by_state"].items())]
    lines += ["# TYPE wfm_rta_sink_clients gauge", "# TYPE wfm_rta_sink_bytes_total counter"]
    for sink in status["sinks"]:
        labels = {"sink": sink["sink"], "address": sink["address"]}
        clients = sink.get("clients", int(bool(sink.get("connected", True))))
        lines.append(_line("wfm_rta_sink_clients", clients, labels))
        lines.append(_line("wfm_rta_sink_bytes_total", sink.get("bytes_sent", 0), labels))
    return "\n".join(lines) + "\n"


class OpsServer:
    def __init__(self, relay: Relay, host: str, port: int) -> None:
        self.relay = relay
        self.host = host
        self.port = port
        self.bound = asyncio.Event()

    async def run(self) -> None:
        # aiohttp takes a quarter of a second to import: here it loads while the relay's first
        # requests to Genesys are already in flight, not before them.
        await asyncio.sleep(0)
        from aiohttp import web

        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/status", self._status)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self.port = runner.addresses[0][1]
        self.bound.set()
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    async def _healthz(self, request: web.Request) -> web.Response:
        status = self.relay.status()
        healthy = status["ready"] and status["link"] == "normal"
        body = {"ok": healthy, "ready": status["ready"], "link": status["link"]}
        return _json(body, 200 if healthy else 503)

    async def _metrics(self, request: web.Request) -> web.Response:
        from aiohttp import web

        return web.Response(text=metrics_text(self.relay.status()),
                            content_type="text/plain", charset="utf-8")

    async def _status(self, request: web.Request) -> web.Response:
        return _json(self.relay.status(), 200)


def _json(body: dict[str, Any], status: int) -> web.Response:
    from aiohttp import web

    return web.json_response(body, status=status)


class HasStatus(Protocol):
    def status(self) -> dict[str, Any]: ...


class StatusWriter:
    """Rewrites the status file every second (atomically), removed on a clean stop."""

    def __init__(self, relay: HasStatus, path: Path, every_s: float = 1.0) -> None:
        self.relay = relay
        self.path = path
        self.every_s = every_s

    async def run(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            body = {**self.relay.status(), "pid": os.getpid()}
            temporary = self.path.with_suffix(".tmp")
            with contextlib.suppress(OSError):
                temporary.write_text(json.dumps(body), encoding="utf-8")
                temporary.replace(self.path)
            await asyncio.sleep(self.every_s)

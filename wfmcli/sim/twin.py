"""Start the twin in a background thread: what tests, `wfm demo` and `wfm sim serve` use.

twin = start_twin(seed=7, agents=50, queues=4)
... httpx against twin.base_url with twin.client_id / twin.client_secret ...
twin.faults.fail_next(3)          # knobs apply to the next requests
twin.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web

from wfmcli.sim.faults import Faults
from wfmcli.sim.notify_routes import SOCKETS_KEY
from wfmcli.sim.org import Credential, Org, build_org
from wfmcli.sim.runtime import Runtime
from wfmcli.sim.server import TwinServer

T = TypeVar("T")
log = logging.getLogger("wfm.sim")
_TICK_S = 0.05
_TICK_BUDGET = 20_000  # events per tick: about 0.1 s of work, so sockets keep being served
# Events a tick runs before its sockets send what they published: Genesys publishes each event
# as it happens, so a burst (many agents changing at one instant) must not wait for a whole tick.
_PUBLISH_EVERY = 50


@dataclass
class RunningTwin:
    base_url: str
    client_id: str
    client_secret: str
    credentials: list[Credential]
    org: Org
    faults: Faults
    runtime: Runtime
    server: TwinServer
    _loop: asyncio.AbstractEventLoop = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    _stopped: asyncio.Event = field(repr=False)

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        """Run a coroutine on the twin's loop (where all its state lives) and wait for it."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def expire_tokens(self) -> int:
        """Early token expiry: every token issued so far answers 401 from now on."""

        async def run() -> int:
            return self.server.tokens.expire_all()

        return self.call(run())

    def drop_sockets(self) -> int:
        """Cut every notification WebSocket without a close frame."""
        return self.call(self.server.app[SOCKETS_KEY].drop_all())

    def socket_closing(self, grace_s: float = 0.2) -> int:
        """Send `v2.system.socket_closing` to every socket, then close them after `grace_s`."""
        sockets = self.server.app[SOCKETS_KEY]
        sockets.closing_grace_s = grace_s
        return self.call(sockets.closing_all(), timeout=grace_s + 10)

    def set_heartbeat(self, seconds: float) -> None:
        self.server.app[SOCKETS_KEY].heartbeat_s = seconds

    def set_channel_lifetime(self, seconds: float) -> None:
        self.runtime.hub.lifetime_s = seconds

    def restrict_divisions(self, client_id: str, names: list[str]) -> None:
        """Grant one OAuth client only these divisions: its user, queue and division listings
        leave the others out, as Genesys does for a client whose roles are scoped that way."""
        ids = {d.id for d in self.org.divisions if d.name in names}
        if len(ids) != len(set(names)):
            raise ValueError(f"unknown division among {names}")
        self.org.division_access[client_id] = ids

    def now_ms(self) -> int:
        return self.runtime.now_ms()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stopped.set)
            self._thread.join(timeout=10)

    def __enter__(self) -> RunningTwin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_twin(
    *,
    seed: int = 1,
    agents: int = 200,
    queues: int = 12,
    days: int = 2,
    speed: float = 1.0,
    live: bool = True,
    now_ms: int | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    credentials: int = 1,
    timezone: str = "UTC",
    faults: Faults | None = None,
    control: bool = False,
    mixed_media: bool = False,
) -> RunningTwin:
    """Build the org and its history, serve it on host:port (0 = a free port), return at once.

    `timezone` is where the agents work: shifts start 06:00-22:00 on its clock. `control` adds
    the control API under `/_twin/` (`wfmcli.sim.control`), so tools outside drive the knobs.
    `mixed_media` makes blended queues and sends messaging campaigns (see `build_org`).
    """
    org = build_org(
        seed=seed, agents=agents, queues=queues, credentials=credentials, timezone=timezone,
        mixed_media=mixed_media,
    )  # fmt: skip
    start = int(time.time() * 1000) if now_ms is None else now_ms
    runtime = Runtime(org, now_ms=start, days=days, live=live, speed=speed)
    # The org and its history live as long as the twin: keep them out of the collector's full
    # passes over the whole heap (at 100,000 agents it did not change the measured p99).
    gc.freeze()
    faults = faults or Faults(seed=seed)
    server = TwinServer(runtime, faults, control=control)
    ready: dict[str, Any] = {}
    started = threading.Event()
    loop = asyncio.new_event_loop()
    stopped_holder: list[asyncio.Event] = []

    async def serve() -> None:
        stopped = asyncio.Event()
        stopped_holder.append(stopped)
        runner = web.AppRunner(
            server.app, access_log=None, handle_signals=False, shutdown_timeout=1.0
        )
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            ready["error"] = exc
            started.set()
            await runner.cleanup()
            return
        bound = runner.addresses[0]
        ready["base_url"] = f"http://{bound[0]}:{bound[1]}"
        started.set()
        ticker = asyncio.create_task(_tick(runtime))
        await stopped.wait()
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
        await runner.cleanup()

    def main() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(serve())
        loop.close()

    thread = threading.Thread(target=main, name="wfm-sim-twin", daemon=True)
    thread.start()
    started.wait(timeout=60)
    if "error" in ready:
        thread.join(timeout=5)
        raise ready["error"]
    first = org.credentials[0]
    return RunningTwin(
        base_url=ready["base_url"],
        client_id=first.client_id,
        client_secret=first.client_secret,
        credentials=org.credentials,
        org=org,
        faults=faults,
        runtime=runtime,
        server=server,
        _loop=loop,
        _thread=thread,
        _stopped=stopped_holder[0],
    )


async def _catch_up(runtime: Runtime) -> None:
    """Up to _TICK_BUDGET events, yielding to the sockets every _PUBLISH_EVERY of them."""
    spent = 0
    while spent < _TICK_BUDGET:
        done = runtime.catch_up(_PUBLISH_EVERY)
        spent += done
        if done < _PUBLISH_EVERY:
            return
        await asyncio.sleep(0)


async def _tick(runtime: Runtime) -> None:
    """Move the live clock and publish what changed, a few times a second."""
    while True:
        try:
            if runtime.live:
                await _catch_up(runtime)
            runtime.hub.expire()
        except Exception:
            log.exception("twin: the live clock failed to advance")
        await asyncio.sleep(_TICK_S)

"""Run a relay in the foreground: SIGTERM and Ctrl-C stop it cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Sequence

from wfmcli.rta.service import Relay, RelaySettings

log = logging.getLogger("wfm.rta")
STOP_GRACE_S = 20.0


async def _main(settings: RelaySettings | Sequence[RelaySettings]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for name in ("SIGTERM", "SIGINT"):
        number = getattr(signal, name, None)
        if number is not None:
            # Windows has no loop signal handlers; Ctrl-C arrives as KeyboardInterrupt there.
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(number, stop.set)
    relay = asyncio.create_task(Relay(settings).run(stop))
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({relay, stopped}, return_when=asyncio.FIRST_COMPLETED)
    if not relay.done():
        # A stop has a deadline: whatever has not finished by then is abandoned.
        done, _ = await asyncio.wait({relay}, timeout=STOP_GRACE_S)
        if not done:
            log.error("the relay did not stop within %.0f s; exiting anyway", STOP_GRACE_S)
            logging.shutdown()
            os._exit(0)
    stopped.cancel()
    await relay  # raises what the relay raised


def serve_forever(settings: RelaySettings | Sequence[RelaySettings]) -> None:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(settings))

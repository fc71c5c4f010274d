"""Run a relay in the foreground: SIGTERM and Ctrl-C stop it cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import signal

from rta.service import Relay, RelaySettings


async def _main(settings: RelaySettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for name in ("SIGTERM", "SIGINT"):
        number = getattr(signal, name, None)
        if number is not None:
            # Windows has no loop signal handlers; Ctrl-C arrives as KeyboardInterrupt there.
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(number, stop.set)
    await Relay(settings).run(stop)


def serve_forever(settings: RelaySettings) -> None:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(settings))

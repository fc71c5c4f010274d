"""Run a relay in the foreground: SIGTERM and Ctrl-C stop it cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence

from wfmcli.rta.service import Relay, RelaySettings

log = logging.getLogger("wfm.rta")
# SIGTERM to exit within a second at any load: sinks say goodbye and sockets close in this
# time, or are abandoned (the WFM sees the connection drop, as after a crash).
STOP_GRACE_S = 0.8
STOP_HARD_S = 0.9  # from the signal to the process gone, whatever the loop is doing


def _hard_exit() -> None:
    # A thread, not the loop: it fires even when a starved or busy loop would run late.
    with contextlib.suppress(Exception):
        sys.stderr.write(f"wfm rta: not stopped within {STOP_HARD_S:.1f} s; exiting now\n")
        sys.stderr.flush()
    os._exit(0)


async def _main(settings: RelaySettings | Sequence[RelaySettings]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    timer: list[threading.Timer] = []

    def on_signal(*_: object) -> None:
        if not timer:
            timer.append(threading.Timer(STOP_HARD_S, _hard_exit))
            timer[0].daemon = True
            timer[0].start()
        loop.call_soon_threadsafe(stop.set)

    for name in ("SIGTERM", "SIGINT"):
        number = getattr(signal, name, None)
        if number is not None:
            # A plain handler runs at the next bytecode, before the loop gets round to it.
            # Windows: Ctrl-C arrives as KeyboardInterrupt instead.
            with contextlib.suppress(ValueError, OSError):
                signal.signal(number, on_signal)
    relay = asyncio.create_task(Relay(settings).run(stop))
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({relay, stopped}, return_when=asyncio.FIRST_COMPLETED)
    if not relay.done():
        # A stop has a deadline: whatever has not finished by then is abandoned.
        done, _ = await asyncio.wait({relay}, timeout=STOP_GRACE_S)
        if not done:
            log.warning("the relay did not stop cleanly within %.1f s; exiting anyway",
                        STOP_GRACE_S)
            logging.shutdown()
            os._exit(0)
    stopped.cancel()
    await relay  # raises what the relay raised


def serve_forever(settings: RelaySettings | Sequence[RelaySettings]) -> None:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(settings))
    # Stopped cleanly (the state is saved, the WFMs were told): skip tearing down a heap of
    # 100,000 agents object by object, which would take longer than the stop itself.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)

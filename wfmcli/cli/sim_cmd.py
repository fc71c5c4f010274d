"""wfm sim: run the Genesys Cloud twin, a simulated org served on 127.0.0.1."""

from __future__ import annotations

import json
import signal
import sys
import threading
from typing import Annotated, Any

import typer

from wfmcli.cli.context import JsonFlag, global_options
from wfmcli.cli.output import RESULT_VERSION
from wfmcli.errors import UsageError

app = typer.Typer(
    help="Run the Genesys Cloud twin (a simulated org) for tests and demos.", no_args_is_help=True
)


@app.command()
def serve(
    ctx: typer.Context,
    seed: Annotated[int, typer.Option(help="Seed of the simulated org and its traffic.")] = 1,
    agents: Annotated[int, typer.Option(min=1, help="Number of users.")] = 200,
    queues: Annotated[int, typer.Option(min=1, help="Number of queues.")] = 12,
    days: Annotated[int, typer.Option(min=0, help="Days of history before now.")] = 2,
    speed: Annotated[
        float, typer.Option(min=0.0, help="Live clock speed (1 = real time, 0 = frozen).")
    ] = 1.0,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port; 0 picks a free one.")] = 0,
    credentials: Annotated[
        int, typer.Option(min=1, max=5, help="Client credential sets to accept.")
    ] = 1,
    timezone: Annotated[
        str, typer.Option(help="IANA time zone the agents work in (shifts follow its clock).")
    ] = "UTC",
    at: Annotated[
        str | None,
        typer.Option(help="Pretend the clock reads this ISO-8601 instant at start (default: now)."),
    ] = None,
    json_flag: JsonFlag = False,
) -> None:
    """Serve the twin until interrupted; prints its base URL and the credentials it accepts."""
    from wfmcli.sim.twin import start_twin

    now_ms = _instant_ms(at) if at else None
    try:
        twin = start_twin(
            seed=seed,
            agents=agents,
            queues=queues,
            days=days,
            speed=speed,
            live=speed > 0,
            host=host,
            port=port,
            credentials=credentials,
            now_ms=now_ms,
            timezone=_zone(timezone),
        )
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            hint="choose another --port, or 0 for a free one",
        ) from exc
    info: dict[str, Any] = {
        "base_url": twin.base_url,
        "client_id": twin.client_id,
        "client_secret": twin.client_secret,
        "credentials": [
            {"client_id": c.client_id, "client_secret": c.client_secret} for c in twin.credentials
        ],
        "org": twin.org.name,
        "licensed_role": twin.org.licensed_role.name,
        "divisions": [d.name for d in twin.org.divisions],
        "agents": agents,
        "queues": queues,
        "seed": seed,
    }
    if global_options(ctx).json or json_flag:
        envelope = {"wfm_result_version": RESULT_VERSION, "command": "sim serve", "ok": True}
        sys.stdout.write(json.dumps({**envelope, **info}) + "\n")
    else:
        sys.stdout.write(
            f"Genesys Cloud twin '{twin.org.name}' listening on {twin.base_url}\n"
            f"  base_url (api and login): {twin.base_url}\n"
            + "".join(
                f"  client_id: {c.client_id}  client_secret: {c.client_secret}\n"
                for c in twin.credentials
            )
            + f"  licensed role: {twin.org.licensed_role.name}\n"
            "Press Ctrl-C to stop.\n"
        )
    sys.stdout.flush()
    _wait_for_stop()
    twin.stop()


def _zone(name: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UsageError(
            f"--timezone {name!r} is not a known IANA time zone",
            hint="e.g. Europe/Berlin or America/New_York",
        ) from exc
    return name


def _instant_ms(text: str) -> int:
    from datetime import UTC, datetime

    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(
            f"--at {text!r} is not an ISO-8601 instant", hint="e.g. 2026-03-10T15:00:00Z"
        ) from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


def _wait_for_stop() -> None:
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)

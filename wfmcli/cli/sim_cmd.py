"""wfm sim: run the Genesys Cloud twin, a simulated org served on 127.0.0.1, and drive it.

`serve` runs the twin; `fault`, `clock`, `users` and `requests` call a running twin's control
API (`serve --control`) over HTTP, through `wfmcli.sim.remote`.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from wfmcli.cli.context import JsonFlag, global_options
from wfmcli.cli.output import RESULT_VERSION, print_json, print_table
from wfmcli.errors import UsageError

if TYPE_CHECKING:
    from wfmcli.sim.remote import TwinControl

app = typer.Typer(
    help="Run the Genesys Cloud twin (a simulated org) for tests and demos, and drive it.",
    no_args_is_help=True,
)
_NEEDS = "Calls a twin started with 'wfm sim serve --control'."
fault_app = typer.Typer(help=f"Inject faults into a running twin. {_NEEDS}", no_args_is_help=True)
clock_app = typer.Typer(
    help=f"Pause, resume, step or read a twin's clock. {_NEEDS}", no_args_is_help=True
)
users_app = typer.Typer(
    help=f"Change a twin user's licence or division. {_NEEDS}", no_args_is_help=True
)
app.add_typer(fault_app, name="fault")
app.add_typer(clock_app, name="clock")
app.add_typer(users_app, name="users")

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar="WFM_SIM_URL",
        help="Base URL of the twin (default http://127.0.0.1:8765).",
        show_default=False,
    ),
]


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
    control: Annotated[
        bool,
        typer.Option(
            "--control", help="Also serve the control API under /_twin/ (no token; off by default)."
        ),
    ] = False,
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
            control=control,
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
        "control_url": f"{twin.base_url}/_twin" if control else None,
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
            + (
                f"  control API: {twin.base_url}/_twin  (export WFM_SIM_URL={twin.base_url})\n"
                if control
                else ""
            )
            + "Press Ctrl-C to stop.\n"
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


# -- driving a running twin over its control API ----------------------------------------------


def _drive(
    ctx: typer.Context,
    json_flag: bool,
    command: str,
    url: str | None,
    call: Callable[[TwinControl], dict[str, Any]],
) -> dict[str, Any]:
    """Call the twin at `url` and render what it answered: a table, or the JSON envelope."""
    from wfmcli.sim.remote import TwinControl

    data = call(TwinControl(url))
    if global_options(ctx).json or json_flag:
        print_json(command, data)
    else:
        print_table(None, ["", "value"], ((key, _cell(value)) for key, value in data.items()))
    return data


def _cell(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_cell(v) for v in value) or "-"
    if isinstance(value, dict):
        if {"count", "status", "path"} <= value.keys():  # a pending fail-next run
            return f"{value['count']} x {value['status']} on {value['path'] or 'any path'}"
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


ChannelOption = Annotated[
    str | None, typer.Option(help="Only this notification channel's socket (default: all).")
]


@fault_app.command("drop-sockets")
def drop_sockets(
    ctx: typer.Context,
    channel: ChannelOption = None,
    url: UrlOption = None,
    json_flag: JsonFlag = False,
) -> None:
    """Cut every notification WebSocket without a close frame, as a network failure would."""
    _drive(
        ctx,
        json_flag,
        "sim fault drop-sockets",
        url,
        lambda twin: {"dropped": twin.drop_sockets(channel)},
    )


@fault_app.command("socket-closing")
def socket_closing(
    ctx: typer.Context,
    channel: ChannelOption = None,
    grace: Annotated[
        float, typer.Option(min=0, max=60, help="Seconds between the notice and the close.")
    ] = 1.0,
    url: UrlOption = None,
    json_flag: JsonFlag = False,
) -> None:
    """Send v2.system.socket_closing on every socket (or one), then close them after --grace."""
    _drive(
        ctx,
        json_flag,
        "sim fault socket-closing",
        url,
        lambda twin: {"closing": twin.socket_closing(channel, grace)},
    )


@fault_app.command("expire-tokens")
def expire_tokens(
    ctx: typer.Context,
    client_id: Annotated[
        str | None, typer.Option(help="Only this OAuth client's tokens (default: all).")
    ] = None,
    url: UrlOption = None,
    json_flag: JsonFlag = False,
) -> None:
    """Expire every access token issued so far: the next API call with one answers 401."""
    _drive(
        ctx,
        json_flag,
        "sim fault expire-tokens",
        url,
        lambda twin: {"expired": twin.expire_tokens(client_id)},
    )


@fault_app.command("fail-next")
def fail_next(
    ctx: typer.Context,
    count: Annotated[int, typer.Argument(min=1, max=100_000, help="How many API requests.")],
    status: Annotated[int, typer.Option(min=400, max=599, help="HTTP status to answer.")] = 503,
    path: Annotated[
        str | None, typer.Option(help="Only requests whose path starts with this (/api/...).")
    ] = None,
    url: UrlOption = None,
    json_flag: JsonFlag = False,
) -> None:
    """Answer the next COUNT API requests with --status (then the twin answers normally)."""
    _drive(
        ctx, json_flag, "sim fault fail-next", url, lambda twin: twin.fail_next(count, status, path)
    )


@fault_app.command("latency")
def latency(
    ctx: typer.Context,
    ms: Annotated[float, typer.Argument(min=0, max=60_000, help="Milliseconds; 0 removes it.")],
    url: UrlOption = None,
    json_flag: JsonFlag = False,
) -> None:
    """Add MS milliseconds before every API answer (0 removes the latency)."""
    _drive(ctx, json_flag, "sim fault latency", url, lambda twin: twin.latency(ms))


def _plain(group: typer.Typer, path: str, doc: str, call: Callable[[TwinControl], Any]) -> None:
    """Add `path`'s last word to `group`: a command with only --url and --json."""

    def command(ctx: typer.Context, url: UrlOption = None, json_flag: JsonFlag = False) -> None:
        _drive(ctx, json_flag, f"sim {path}", url, call)

    command.__doc__ = doc
    group.command(path.rsplit(" ", 1)[1])(command)


_plain(
    fault_app,
    "fault show",
    "The fault knobs as they are set now, and the forced failures still to come.",
    lambda twin: twin.faults(),
)
_plain(
    fault_app,
    "fault reset",
    "Turn every fault knob back to its default (no latency, no forced failures).",
    lambda twin: twin.reset_faults(),
)
_plain(
    clock_app,
    "clock show",
    "What the twin's simulated clock reads, and whether it moves.",
    lambda twin: twin.clock(),
)
_plain(
    clock_app,
    "clock pause",
    "Freeze the clock where it is: no new contact-center events until resume or step.",
    lambda twin: twin.pause(),
)


@clock_app.command("resume")
def clock_resume(
    ctx: typer.Context,
    speed: Annotated[
        float | None, typer.Option(min=0.001, help="New speed (default: the one before the pause).")
    ] = None,
    url: UrlOption = None,
    json_flag: JsonFlag = False,
) -> None:
    """Let the clock move again."""
    _drive(ctx, json_flag, "sim clock resume", url, lambda twin: twin.resume(speed))


@clock_app.command("step")
def clock_step(
    ctx: typer.Context,
    seconds: Annotated[float, typer.Argument(min=0, max=7 * 86_400, help="Simulated seconds.")],
    url: UrlOption = None,
    json_flag: JsonFlag = False,
) -> None:
    """Move the clock forward by SECONDS at once; what happens in between is published."""
    _drive(ctx, json_flag, "sim clock step", url, lambda twin: twin.step(seconds))


UserArgument = Annotated[str, typer.Argument(help="The user's id, username or email.")]


def _user_command(name: str, doc: str, call: Callable[[TwinControl, str], Any]) -> None:
    def command(
        ctx: typer.Context, user: UserArgument, url: UrlOption = None, json_flag: JsonFlag = False
    ) -> None:
        _drive(ctx, json_flag, f"sim users {name}", url, lambda twin: call(twin, user))

    command.__doc__ = doc
    users_app.command(name)(command)


_user_command(
    "show",
    "A user's division, roles and whether the licensing role is granted.",
    lambda twin, user: twin.user(user),
)
_user_command(
    "license",
    "Grant the licensing role: the user joins the licensed set (the "
    "role's users, the relay's roster).",
    lambda twin, user: twin.license(user, True),
)
_user_command(
    "unlicense",
    "Revoke the licensing role: the user leaves the licensed set.",
    lambda twin, user: twin.license(user, False),
)


@users_app.command("move")
def user_move(
    ctx: typer.Context,
    user: UserArgument,
    division: Annotated[str, typer.Argument(help="The division's name or id.")],
    url: UrlOption = None,
    json_flag: JsonFlag = False,
) -> None:
    """Move a user to another division."""
    _drive(ctx, json_flag, "sim users move", url, lambda twin: twin.move(user, division))


@app.command("requests")
def requests_count(
    ctx: typer.Context,
    reset: Annotated[bool, typer.Option("--reset", help="Start counting again from zero.")] = False,
    url: UrlOption = None,
    json_flag: JsonFlag = False,
) -> None:
    """API requests the twin served, per endpoint (method and route), login included."""
    from wfmcli.sim.remote import TwinControl

    data = TwinControl(url).requests(reset)
    if global_options(ctx).json or json_flag:
        print_json("sim requests", data)
        return
    rows = [(e["method"], e["route"], f"{e['count']:,}") for e in data["endpoints"]]
    title = f"{data['total']:,} requests" + (" (counter reset)" if reset else "")
    print_table(title, ["method", "route", "requests"], rows)

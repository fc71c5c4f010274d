"""wfm rta: run the real-time agent-state relay, and look at running ones."""

from __future__ import annotations

import sys
import time
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any

import typer

from wfmcli.cli.context import JsonFlag, global_options
from wfmcli.cli.output import print_json, print_table

if TYPE_CHECKING:
    from rich.console import Group

    from wfmcli.rta.status import RelayStatus

app = typer.Typer(help="Relay agent states to the WFM in real time (RTA).", no_args_is_help=True)

Target = Annotated[str, typer.Argument(help="SCOPE/DEST (or DEST when there is one scope).")]


@app.command()
def serve(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(
        help="SCOPE (every RTA destination of it, one relay) or SCOPE/DEST (or DEST when there "
        "is one scope).")],
    stdout: Annotated[
        bool, typer.Option("--stdout", help="Also write every record as JSON lines to stdout.")
    ] = False,
    metrics_port: Annotated[
        int | None,
        typer.Option(min=0, max=65535, help="Serve /healthz, /metrics and /status on this port."),
    ] = None,
    metrics_host: Annotated[str, typer.Option(help="Address for --metrics-port.")] = "127.0.0.1",
    roster_refresh: Annotated[
        float | None,
        typer.Option(
            min=1.0, help="Seconds between roster refreshes. Default: the destination's rta."
        ),
    ] = None,
    json_flag: Annotated[
        bool, typer.Option("--json", help="Log JSON lines (one object per line) on stderr.")
    ] = False,
) -> None:
    """Run the relay in the foreground until SIGTERM or Ctrl-C (logs go to stderr).

    SCOPE subscribes each agent once and feeds every RTA destination of the scope, each with its
    own profile, state map and sink. WFM clients connecting and leaving are logged at INFO.
    """
    import gc
    from dataclasses import replace

    gc.disable()  # the relay's imports and settings: no garbage, many objects (see main.run)
    try:
        from wfmcli.config import load_config
        from wfmcli.rta.persist import default_state_path
        from wfmcli.rta.runner import serve_forever
        from wfmcli.rta.settings import scope_settings

        options = global_options(ctx)
        _relay_logging(options.verbosity, json_lines=json_flag or options.json)
        config = load_config(options.config_path)
        lanes = scope_settings(config, target, stdout=stdout, ops_port=metrics_port,
                               ops_host=metrics_host, roster_refresh_s=roster_refresh)
        # Roster and last states survive a restart: WFMs get a full snapshot at once.
        lanes[0] = replace(lanes[0], state_path=default_state_path(target))
    finally:
        gc.enable()
    serve_forever(lanes)


def _relay_logging(verbosity: int, *, json_lines: bool) -> None:
    """A relay is a service: its console says INFO (clients, snapshots) unless told quiet."""
    import logging

    from wfmcli.logs import JsonLineFormatter

    for handler in logging.getLogger("wfm").handlers:
        if type(handler) is logging.StreamHandler:
            if verbosity == 0:
                handler.setLevel(logging.INFO)
            if json_lines:
                handler.setFormatter(JsonLineFormatter())


@app.command()
def preview(
    ctx: typer.Context,
    target: Target,
    agents: Annotated[int, typer.Option(min=1, max=1000, help="How many twin agents.")] = 5,
    seed: Annotated[int, typer.Option(help="The twin's seed.")] = 1,
) -> None:
    """Print the records a few twin agents would produce for SCOPE/DEST, byte for byte.

    The destination's own profile, layout, state map and agent ids, fed from an offline twin
    org: compare them with the WFM's interface spec sheet. Non-printable bytes are escaped.
    """
    from wfmcli.config import load_config
    from wfmcli.rta.preview import preview_records

    config = load_config(global_options(ctx).config_path)
    result = preview_records(config, target, agents=agents, seed=seed)
    if global_options(ctx).json:
        print_json("rta preview", result)
        return
    sys.stdout.write(result["text"])


@app.command()
def status(
    ctx: typer.Context,
    target: Annotated[str | None, typer.Argument(help="SCOPE/DEST; default: all.")] = None,
    url: Annotated[
        str | None, typer.Option(help="Read a relay's /status endpoint instead of its file.")
    ] = None,
    json_flag: JsonFlag = False,
) -> None:
    """One look at running relays: link, agents, channels, events, sinks."""
    from wfmcli.rta import status as relay_status

    found = [relay_status.fetch(url)] if url else relay_status.read_all(target)
    if global_options(ctx).json or json_flag:
        print_json("rta status", [asdict(s) for s in found])
        return
    if not found:
        sys.stderr.write("no RTA relay has reported; start one with `wfm rta serve SCOPE/DEST`\n")
        return
    print_table(
        "RTA relays",
        ["relay", "running", "link", "agents", "channels", "events in", "changes out",
         "reconnects", "lag s", "sinks"],
        [[s.target, "yes" if s.running else f"no ({s.updated_s_ago:g} s ago)", s.link,
          s.agents, f"{s.channels_connected}/{s.channels}", s.events_in, s.changes_out,
          s.reconnects, s.lag_s, _sinks_cell(s)] for s in found],
    )


def _sinks_cell(status: RelayStatus) -> str:
    cells = []
    for sink in status.sinks:
        clients = sink.get("clients")
        if clients is None:
            clients = "up" if sink.get("connected", not sink.get("failing", False)) else "down"
        cells.append(f"{sink.get('sink')} {sink.get('address')} ({clients})")
    return "; ".join(cells)


@app.command()
def watch(
    ctx: typer.Context,
    target: Target,
    url: Annotated[
        str | None, typer.Option(help="Read a relay's /status endpoint instead of its file.")
    ] = None,
    interval: Annotated[float, typer.Option(min=0.2, help="Seconds between refreshes.")] = 1.0,
    json_flag: Annotated[
        bool, typer.Option("--json", help="Stream one JSON status object per line instead.")
    ] = False,
    count: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many updates (default: Ctrl-C).")
    ] = None,
) -> None:
    """A live table: agents per state, sink health and event rates. Ctrl-C ends it."""
    from wfmcli.rta import status as relay_status

    def read() -> RelayStatus:
        return relay_status.fetch(url) if url else relay_status.read_one(target)

    if json_flag or global_options(ctx).json:
        _watch_json(read, interval, count)
        return
    from rich.live import Live

    from wfmcli.cli.output import stdout_console

    previous = read()
    last = time.monotonic()
    with Live(_render(previous, 0.0, 0.0), console=stdout_console(), auto_refresh=False) as live:
        try:
            while True:
                time.sleep(interval)
                current = read()
                now = time.monotonic()
                elapsed = max(now - last, 1e-6)
                rate_in = (current.events_in - previous.events_in) / elapsed
                rate_out = (current.changes_out - previous.changes_out) / elapsed
                live.update(_render(current, rate_in, rate_out), refresh=True)
                previous, last = current, now
        except KeyboardInterrupt:
            return


def _watch_json(read: Any, interval: float, count: int | None) -> None:
    """JSON lines: each a status object with the event rates since the previous one."""
    import json

    previous, last, shown = read(), time.monotonic(), 0
    try:
        while count is None or shown < count:
            current = read()
            now = time.monotonic()
            elapsed = max(now - last, 1e-6)
            body = {**asdict(current),
                    "events_per_s": round((current.events_in - previous.events_in) / elapsed, 2),
                    "changes_per_s": round((current.changes_out - previous.changes_out)
                                           / elapsed, 2)}
            sys.stdout.write(json.dumps(body) + "\n")
            sys.stdout.flush()
            shown += 1
            previous, last = current, now
            if count is None or shown < count:
                time.sleep(interval)
    except KeyboardInterrupt:
        return


def _render(status: RelayStatus, rate_in: float, rate_out: float) -> Group:
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    state = "running" if status.running else f"not reporting ({status.updated_s_ago:g} s)"
    head = Text(
        f"{status.target}: {state}, link {status.link}, {status.agents} agents, channels "
        f"{status.channels_connected}/{status.channels}, {rate_in:.1f} events/s in, "
        f"{rate_out:.1f} changes/s out, lag {status.lag_s:.2f} s, "
        f"{status.reconnects} reconnects"
    )
    states = Table(title="Agents per state", title_justify="left")
    states.add_column("state")
    states.add_column("agents", justify="right")
    for name, count in sorted(status.by_state.items(), key=lambda item: -item[1]):
        states.add_row(name, str(count))
    sinks = Table(title="Sinks", title_justify="left")
    for column in ("sink", "address", "clients/state", "bytes sent"):
        sinks.add_column(column)
    for sink in status.sinks:
        sinks.add_row(str(sink.get("sink")), str(sink.get("address")),
                      _sink_state(sink), str(sink.get("bytes_sent", 0)))
    return Group(head, states, sinks)


def _sink_state(sink: dict[str, Any]) -> str:
    if "clients" in sink:
        return f"{sink['clients']} clients, {sink.get('dropped_slow', 0)} dropped"
    if "connected" in sink:
        return "connected" if sink["connected"] else "reconnecting"
    return "failing" if sink.get("failing") else f"ok, {sink.get('pending', 0)} pending"

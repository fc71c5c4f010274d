"""wfm pull: Genesys analytics for a scope and range -> the canonical frames, cached as Parquet."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from wfmcli.cli.context import JsonFlag, global_options
from wfmcli.cli.output import print_json, print_table, stderr_console
from wfmcli.errors import UsageError

if TYPE_CHECKING:
    from wfmcli.config import Destination, Scope
    from wfmcli.genesys.counter import RequestCounter
    from wfmcli.pull import PullResult, PullSource, PullSpec


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _destination(scope_name: str, scope: Scope, name: str | None) -> Destination | None:
    if name is not None:
        if name not in scope.destinations:
            known = ", ".join(sorted(scope.destinations)) or "none"
            raise UsageError(
                f"no destination {name!r} in scope {scope_name!r}", hint=f"known: {known}"
            )
        return scope.destinations[name]
    if len(scope.destinations) == 1:
        return next(iter(scope.destinations.values()))
    return None


def _plan(
    scope_name: str,
    scope: Scope,
    dest: Destination | None,
    options: dict[str, Any],
) -> tuple[PullSource, PullSpec]:
    from datetime import timedelta
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from wfmcli.pull import PullSource, PullSpec
    from wfmcli.pull.directory import read_agent_map
    from wfmcli.pull.run import ALL_MEDIA, frame_names
    from wfmcli.timegrid import parse_local

    zone_name = options["tz"] or (dest.timezone if dest else "UTC")
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UsageError(
            f"unknown time zone {zone_name!r}", hint="use an IANA name such as Europe/Berlin"
        ) from exc
    start = parse_local(options["start"], zone)
    end = parse_local(options["end"], zone) if options["end"] else start + timedelta(days=1)
    media = _split(options["media"]) or (
        [str(m.value) for m in dest.media] if dest else list(ALL_MEDIA)
    )
    agent_id = dest.agent_id if dest else "username"
    agent_map = read_agent_map(dest.agent_map_file) if dest and dest.agent_map_file else None
    pull_source = PullSource.from_config(scope.source)
    spec = PullSpec(
        scope=scope_name,
        start=start,
        end=end,
        zone=zone,
        interval=options["interval"] or (dest.interval if dest else 15),
        frames=frame_names(
            _split(options["frames"]) or ["queue", "agent", "agent_queue", "agent_status"]
        ),
        media=tuple(media),
        agent_id=agent_id,
        agent_map=agent_map,
    )
    return pull_source, spec


def _run(source: PullSource, spec: PullSpec, out: Path | None) -> PullResult:
    from wfmcli.genesys.counter import RequestCounter
    from wfmcli.ops.budget import record_usage

    counter = RequestCounter()
    try:
        return _pull_with_progress(source, spec, out, counter)
    finally:
        record_usage(spec.scope, counter)


def _pull_with_progress(
    source: PullSource, spec: PullSpec, out: Path | None, counter: RequestCounter
) -> PullResult:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from wfmcli.pull import FrameCache, pull

    cache = FrameCache(out)
    if not sys.stderr.isatty():
        return pull(source, spec, cache=cache, keep_frames=False, counter=counter)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr_console(),
        transient=True,
    ) as bar:
        task = bar.add_task(f"pulling {spec.scope}", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return pull(
            source, spec, cache=cache, keep_frames=False, progress=advance, counter=counter
        )


def pull_command(
    ctx: typer.Context,
    scope: Annotated[str, typer.Argument(help="The scope (Genesys org) to pull.")],
    start: Annotated[
        str, typer.Option(help="First local day or time, e.g. 2026-03-29 or 2026-03-29T08:00.")
    ],
    end: Annotated[
        str | None, typer.Option(help="End (exclusive), local. Default: one day after --start.")
    ] = None,
    dest: Annotated[
        str | None,
        typer.Option(help="Take zone, interval, media and agent ids from this destination."),
    ] = None,
    interval: Annotated[
        int | None, typer.Option(help="Interval length in minutes: 15, 30 or 60.")
    ] = None,
    tz: Annotated[
        str | None, typer.Option("--tz", help="Time zone of the intervals, e.g. Europe/Berlin.")
    ] = None,
    frames: Annotated[
        str | None,
        typer.Option(help="Comma-separated: queue, agent, agent_queue, agent_status (all)."),
    ] = None,
    media: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated: voice, chat, email, message, callback, outbound_voice, "
            "outbound_message. Default: the destination's, else all."
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Write the Parquet frames here instead of the cache."),
    ] = None,
    json_flag: JsonFlag = False,
) -> None:
    """Pull queue and agent interval statistics and agent status from Genesys Cloud."""
    from wfmcli.config import load_config

    options = global_options(ctx)
    config = load_config(options.config_path)
    scope_settings = config.scope(scope)
    source, spec = _plan(
        scope,
        scope_settings,
        _destination(scope, scope_settings, dest),
        {
            "tz": tz,
            "start": start,
            "end": end,
            "media": media,
            "interval": interval,
            "frames": frames,
        },
    )
    result = _run(source, spec, out)
    if options.json or json_flag:
        print_json("pull", result.summary())
        return
    _show(result)


def _show(result: PullResult) -> None:
    rows = [(f.frame, f"{f.rows:,}", str(len(f.files))) for f in result.frames]
    print_table(
        f"{result.scope}: {result.start.isoformat()} to {result.end.isoformat()} "
        f"({result.timezone}, {result.interval_minutes} min)",
        ["frame", "rows", "day files"],
        rows,
    )
    excluded = (
        f"{result.unlicensed_users} unlicensed and {result.out_of_division_users} "
        f"out-of-division users, {result.out_of_division_queues} out-of-division queues left out"
    )
    print_table(
        None,
        ["", ""],
        [
            ("agents", f"{result.agents:,}"),
            ("queues", f"{result.queues:,}"),
            ("excluded", excluded),
            ("agents without a WFM id", str(result.unmapped_agents)),
            ("credential sets", str(result.credential_sets)),
            (
                "API requests",
                f"{result.requests:,} ({result.requests_per_agent_day} per agent-day)",
            ),
            ("seconds", f"{result.seconds:.1f}"),
        ],
    )

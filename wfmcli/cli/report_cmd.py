"""wfm report: render canonical frames into a WFM system's import files."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from wfmcli.cli.context import JsonFlag, global_options
from wfmcli.cli.output import print_json, print_table
from wfmcli.errors import UsageError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    import pandas as pd

    from wfmcli.jobs.render import ProfileRenderer
    from wfmcli.pull.cache import FrameCache
    from wfmcli.reports.render import Destination, RenderedFile
    from wfmcli.reports.spec import Profile


def report(
    ctx: typer.Context,
    target: Annotated[
        str | None,
        typer.Argument(
            help="SCOPE/DEST from the configuration (profile, zone, interval, reports)."
        ),
    ] = None,
    frames_from: Annotated[
        list[Path] | None,
        typer.Option(
            "--frames",
            "--from",
            help="Folder (or .parquet file) of canonical frames, e.g. what 'wfm pull --out' wrote. "
            "Repeat for several.",
        ),
    ] = None,
    profile: Annotated[
        str | None, typer.Option(help="Vendor profile (overrides the destination's).")
    ] = None,
    tz: Annotated[
        str | None, typer.Option("--tz", help="Time zone of the files, e.g. Europe/Berlin.")
    ] = None,
    interval: Annotated[
        int | None, typer.Option(help="Interval length in minutes: 15, 30 or 60.")
    ] = None,
    start: Annotated[
        str, typer.Option(help="First local day or time, e.g. 2026-03-29 or 2026-03-29T08:00.")
    ] = "",
    end: Annotated[
        str | None, typer.Option(help="End (exclusive), local. Default: one day after --start.")
    ] = None,
    reports: Annotated[
        str | None,
        typer.Option(help="Comma-separated report names. Default: all of the profile's."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Output folder. Default: the staging folder in the data dir."),
    ] = None,
    no_pull: Annotated[
        bool,
        typer.Option(
            "--no-pull", help="With SCOPE/DEST: render only what is cached, never call Genesys."
        ),
    ] = False,
    json_flag: JsonFlag = False,
) -> None:
    """Render report files for a range from canonical frames (Parquet)."""
    from datetime import timedelta

    from wfmcli.reports.profiles import load_profile
    from wfmcli.reports.render import render_reports
    from wfmcli.reports.source import load_frames
    from wfmcli.timegrid import parse_local

    options = global_options(ctx)
    if not start:
        raise UsageError("--start is required", hint="e.g. --start 2026-03-29 (a local day)")
    destination, profile_name, default_out, scope = _settings(
        ctx, target, profile, tz, interval, reports
    )
    begin = parse_local(start, destination.zone)
    finish = parse_local(end, destination.zone) if end else begin + timedelta(days=1)
    chosen = load_profile(profile_name)
    if frames_from:
        data = load_frames(frames_from)
    elif scope is not None:
        data = cached_frames(
            ctx, scope, chosen, destination, begin, finish, pull_missing=not no_pull
        )
    else:
        raise UsageError(
            "no frames to render",
            hint="pass --frames DIR (a folder of canonical-frame Parquet files)",
        )
    if scope is not None and profile is None:
        # the destination's own mapping file: the same keys and codes `wfm run` delivers
        renderer = _renderer(ctx, scope, destination)
        written = renderer.render(data, begin, finish, out or default_out)
    else:
        written = render_reports(data, chosen, destination, begin, finish, out or default_out)
    _show(written, options.json or json_flag)


def _renderer(ctx: typer.Context, target: str, destination: Destination) -> ProfileRenderer:
    from dataclasses import replace

    from wfmcli.config import load_config
    from wfmcli.jobs.build import renderer_for
    from wfmcli.mapfiles import queue_map_path

    config = load_config(global_options(ctx).config_path)
    scope_name, _, dest_name, settings = config.destination(target)
    path = queue_map_path(config.state_root(), scope_name, dest_name, settings)
    renderer = renderer_for(settings, path, target)
    renderer.destination = replace(
        destination, queue_map=renderer.destination.queue_map, media=renderer.destination.media
    )
    return renderer


def _settings(
    ctx: typer.Context,
    target: str | None,
    profile: str | None,
    tz: str | None,
    interval: int | None,
    reports: str | None,
) -> tuple[Destination, str, Path, str | None]:
    """The destination's settings (from SCOPE/DEST, overridden by options), output folder and
    the resolved SCOPE/DEST (None without a target)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from wfmcli.paths import data_dir
    from wfmcli.pull.directory import read_agent_map
    from wfmcli.reports.render import Destination

    chosen = [name.strip() for name in reports.split(",") if name.strip()] if reports else None
    if target is None:
        if not (profile and tz):
            raise UsageError(
                "give SCOPE/DEST, or --profile and --tz",
                hint="e.g. --profile calabrio --tz Europe/Berlin",
            )
        zone_name, minutes, agent_ids = tz, interval or 15, {}
        out = data_dir() / "staging" / profile
        scope: str | None = None
    else:
        from wfmcli.config import load_config

        scope_name, _, dest_name, settings = load_config(
            global_options(ctx).config_path
        ).destination(target)
        profile = profile or settings.profile
        zone_name = tz or settings.timezone
        minutes = interval or settings.interval
        chosen = chosen if chosen is not None else list(settings.reports)
        agent_ids = read_agent_map(settings.agent_map_file) if settings.agent_map_file else {}
        out = data_dir() / "staging" / scope_name / dest_name
        scope = f"{scope_name}/{dest_name}"
    try:
        ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UsageError(
            f"unknown time zone {zone_name!r}", hint="use an IANA name such as Europe/Berlin"
        ) from exc
    if minutes not in (15, 30, 60):
        raise UsageError(f"--interval must be 15, 30 or 60, not {minutes}")
    destination = Destination(
        timezone=zone_name,
        interval_minutes=minutes,
        reports=tuple(chosen or ()),
        agent_ids=agent_ids,
    )
    return destination, profile, out, scope


def cached_frames(
    ctx: typer.Context,
    target: str,
    profile: Profile,
    destination: Destination,
    start: datetime,
    end: datetime,
    *,
    pull_missing: bool,
) -> dict[str, pd.DataFrame]:
    """The frames the reports read from the pull's cache; a range not fully cached is pulled."""
    from wfmcli.pull.cache import FrameCache

    cache = FrameCache()
    scope = target.rpartition("/")[0] or target
    wanted = sorted(
        {profile.reports[name].frame for name in destination.reports or profile.reports}
    )
    if pull_missing and not _covered(cache, scope, wanted, destination, start, end):
        return _pull(ctx, target, wanted, destination, cache, start, end)
    _check_org(ctx, cache, target)
    data: dict[str, pd.DataFrame] = {
        name: cache.read(scope, name, destination.zone, destination.interval_minutes, start, end)
        for name in wanted
    }
    if all(frame.empty for frame in data.values()):
        raise UsageError(
            f"nothing cached for scope {scope} from {start.isoformat()} to {end.isoformat()} "
            f"({destination.timezone}, {destination.interval_minutes} min)",
            hint="drop --no-pull to pull it, or pass --frames DIR",
        )
    return data


def _check_org(ctx: typer.Context, cache: FrameCache, target: str) -> None:
    """Refuse cached frames another org wrote under the same scope name."""
    from wfmcli.config import load_config
    from wfmcli.pull.identity import region_of

    scope_name, scope, _, _ = load_config(global_options(ctx).config_path).destination(target)
    ids = tuple(sorted(c.client_id for c in scope.source.credentials))
    cache.identity(scope_name).check(region_of(scope.source.api_url), ids, scope_name)


def _covered(
    cache: FrameCache,
    scope: str,
    names: Sequence[str],
    destination: Destination,
    start: datetime,
    end: datetime,
) -> bool:
    """Whether every frame's cache records a pull covering each local day's part of the range."""
    from datetime import timedelta

    from wfmcli.pull.cache import Partition
    from wfmcli.timegrid import local_midnight

    zone = destination.zone
    day = start.astimezone(zone).date()
    while local_midnight(day, zone) < end:
        low = max(start, local_midnight(day, zone).to_pydatetime())
        high = min(end, local_midnight(day + timedelta(days=1), zone).to_pydatetime())
        for name in names:
            partition = Partition(scope, name, zone, destination.interval_minutes, day)
            records = cache.pulls(partition)
            if not any(r.start <= low and r.end >= high for r in records):
                return False
        day += timedelta(days=1)
    return True


def _pull(
    ctx: typer.Context,
    target: str,
    names: Sequence[str],
    destination: Destination,
    cache: FrameCache,
    start: datetime,
    end: datetime,
) -> dict[str, pd.DataFrame]:
    """Pull the range from Genesys into the cache, as the destination's job would."""
    from datetime import UTC
    from datetime import datetime as clock

    from wfmcli.config import load_config
    from wfmcli.jobs.build import PulledFrames
    from wfmcli.pull import PullSource

    scope_name, scope, _, settings = load_config(global_options(ctx).config_path).destination(
        target
    )
    settings = settings.model_copy(
        update={"timezone": destination.timezone, "interval": destination.interval_minutes}
    )
    pulled = PulledFrames(scope_name, PullSource.from_config(scope.source), settings, cache)
    return dict(pulled.frames(start, end, names, clock.now(UTC)))


def _show(written: list[RenderedFile], as_json: bool) -> None:
    if as_json:
        print_json(
            "report",
            {
                "files": [
                    {
                        "path": str(f.path),
                        "report": f.report,
                        "rows": f.rows,
                        "bytes": f.bytes,
                        "sha256": f.sha256,
                        "start": f.start,
                        "end": f.end,
                        "intervals": f.intervals,
                        "totals": f.totals,
                        "warnings": list(f.warnings),
                    }
                    for f in written
                ],
                "rows": sum(f.rows for f in written),
            },
        )
        return
    print_table(
        f"{len(written)} file(s), {sum(f.rows for f in written)} row(s)",
        ["file", "rows", "intervals", "from (local)", "totals"],
        (
            (
                f.path.name,
                f.rows,
                f.intervals,
                f.start.strftime("%Y-%m-%d %H:%M"),
                _totals(f.totals),
            )
            for f in written
        ),
    )
    if written:
        sys.stdout.write(f"in {written[0].path.parent}\n")
    for f in written:
        for warning in f.warnings:
            sys.stderr.write(f"wfm: warning: {f.report}: {warning}\n")


def _totals(totals: dict[str, float]) -> str:
    shown = [(k, v) for k, v in totals.items() if k != "interval"][:3]
    text = ", ".join(f"{k}={v:g}" for k, v in shown)
    return text + (", ..." if len(totals) > len(shown) else "")

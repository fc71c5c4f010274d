"""wfm map queues|agents: write or update a destination's mapping files from the org.

Re-running keeps every edit an engineer made and adds what is new; counts are refreshed.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from wfmcli.cli.context import JsonFlag, global_options
from wfmcli.cli.output import print_json, print_table
from wfmcli.errors import ConfigError

if TYPE_CHECKING:
    from datetime import datetime

    from wfmcli.config import Config, Destination
    from wfmcli.pull.directory import Directory

app = typer.Typer(
    help="Write or update a destination's queue and agent mapping files from the org.",
    no_args_is_help=True,
)

Target = Annotated[str, typer.Argument(help="SCOPE/DEST from the configuration.")]


@app.command("queues")
def queues(
    ctx: typer.Context,
    target: Target,
    days: Annotated[
        int, typer.Option(min=1, max=62, help="List the pairs seen in the last N local days.")
    ] = 7,
    now: Annotated[
        str | None,
        typer.Option(help="Act as if it were this time (ISO 8601 with offset). Default: now."),
    ] = None,
    json_flag: JsonFlag = False,
) -> None:
    """Every in-scope queue x media x direction (x campaign) seen lately, busiest first."""
    from dataclasses import replace
    from datetime import UTC, datetime, timedelta

    from wfmcli.config import load_config
    from wfmcli.jobs.build import PulledFrames
    from wfmcli.mapfiles import load_queue_map, queue_map_path, update_queue_map
    from wfmcli.paths import cache_dir
    from wfmcli.pull import FrameCache, PullSource
    from wfmcli.pull.directory_cache import DirectoryCache
    from wfmcli.reports.mapping import scope_mask, seen_pairs
    from wfmcli.reports.profiles import load_profile
    from wfmcli.timegrid import local_midnight

    config = load_config(global_options(ctx).config_path)
    scope_name, scope, dest_name, settings = config.destination(target)
    profile = load_profile(settings.profile)
    moment = _moment(now) if now else datetime.now(UTC)
    today = moment.astimezone(settings.zone).date()
    end = local_midnight(today, settings.zone).to_pydatetime()
    start = local_midnight(today - timedelta(days=days), settings.zone).to_pydatetime()
    source = PulledFrames(
        scope_name,
        PullSource.from_config(scope.source),
        settings,
        FrameCache(),
        DirectoryCache(cache_dir() / "directory"),
    )
    rows = source.frames(start, end, ["queue_interval"], moment)["queue_interval"]
    rows = rows[scope_mask(rows, [str(m.value) for m in settings.media]).to_numpy()]
    # rows made ahead of any run carry no `since`: their keys are zero-filled at every interval
    seen = [replace(item, first_seen="") for item in seen_pairs(rows)]
    path = queue_map_path(config.state_root(), scope_name, dest_name, settings)
    mapping = load_queue_map(path, profile, settings.unmapped_queues)
    added = update_queue_map(path, mapping, seen, counts=True)
    result = {
        "file": str(path),
        "rows": len(mapping.rows),
        "added": len(added),
        "policy": mapping.policy,
        "pairs": [
            {
                "queue": row.queue_name or row.queue_id,
                "media": row.media,
                "direction": row.direction,
                "campaign_id": row.campaign_id,
                "key": row.key,
                "code": row.code,
                "action": row.action,
                "contacts": row.contacts,
                "new": row in added,
            }
            for row in mapping.rows
        ],
    }
    if global_options(ctx).json or json_flag:
        print_json("map queues", result)
        return
    print_table(
        f"{path}: {len(mapping.rows)} row(s), {len(added)} new (policy {mapping.policy})",
        ["queue", "media", "direction", "key", "code", "action", "contacts", "new"],
        [
            (p["queue"], p["media"], p["direction"], p["key"], p["code"], p["action"],
             p["contacts"], "new" if p["new"] else "")
            for p in result["pairs"]  # type: ignore[attr-defined]
        ],
    )  # fmt: skip
    sys.stdout.write(
        "edit key, code, name or action in the file; re-run to add queues (edits are kept)\n"
    )


@app.command("agents")
def agents(ctx: typer.Context, target: Target, json_flag: JsonFlag = False) -> None:
    """Every licensed agent with the id the profile will emit (edit agent_id to remap)."""
    from wfmcli.config import load_config
    from wfmcli.mapfiles import (
        AgentRow,
        agent_collisions,
        agent_map_path,
        read_agent_rows,
        write_agent_rows,
    )
    from wfmcli.reports.profiles import load_profile

    config = load_config(global_options(ctx).config_path)
    scope_name, _, dest_name, settings = config.destination(target)
    profile = load_profile(settings.profile)
    path = agent_map_path(config.state_root(), scope_name, dest_name, settings)
    kept = {row.user_id: row for row in read_agent_rows(path)}
    directory = _directory(config, scope_name, settings)
    rows, added = [], 0
    for agent in sorted(directory.agents, key=lambda a: a.name.casefold()):
        old = kept.pop(agent.user_id, None)
        if old is None:
            added += 1
        rows.append(old or AgentRow(agent.user_id, agent.agent_id, agent.name))
    rows += kept.values()  # agents no longer licensed stay until the engineer removes them
    problems = agent_collisions(
        ((r.user_id, r.agent_id) for r in rows), profile.agent_key.max_length
    )
    write_agent_rows(path, rows)
    result = {"file": str(path), "agents": len(rows), "added": added, "problems": problems}
    if global_options(ctx).json or json_flag:
        print_json("map agents", result)
    else:
        sys.stdout.write(f"{path}: {len(rows)} agent(s), {added} new\n")
    if problems:
        raise ConfigError(
            f"{path}: {problems[0]}" + (f" (and {len(problems) - 1} more)" if problems[1:] else ""),
            hint="give those agents ids that fit in the file; wfm never cuts an id",
        )
    if settings.agent_map_file is None:
        sys.stderr.write(
            f"wfm: to use it, set agent_id: mapping and agent_map_file: {path} on {target}\n"
        )


def _moment(text: str) -> datetime:
    from wfmcli.cli import run_cmd

    return run_cmd._now(text)  # the same --now as wfm run


def _directory(config: Config, scope_name: str, settings: Destination) -> Directory:
    import asyncio

    from wfmcli.genesys.client import GenesysClient
    from wfmcli.pull import PullSource
    from wfmcli.pull.directory import load_directory, read_agent_map

    source = PullSource.from_config(config.scope(scope_name).source)
    mapping = read_agent_map(settings.agent_map_file) if settings.agent_map_file else None

    async def load() -> Directory:
        async with GenesysClient(
            source.api_url, source.login_url, source.credentials, proxy=source.proxy
        ) as client:
            return await load_directory(
                client.session(0),
                divisions=source.divisions,
                licensed_role=source.licensed_role,
                # mapped agents keep their row; new ones are proposed by username
                agent_id="username" if settings.agent_id == "mapping" else settings.agent_id,
                agent_map=mapping,
            )

    return asyncio.run(load())

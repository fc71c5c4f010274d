"""wfm demo: the historical feed end to end on the embedded simulated org, offline."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from wfmcli.cli.context import JsonFlag, global_options
from wfmcli.cli.output import print_json, print_table
from wfmcli.errors import UsageError


def demo(
    ctx: typer.Context,
    out: Annotated[
        Path, typer.Option(help="Folder for the config, the files and the state.")
    ] = Path("wfm-demo"),
    day: Annotated[
        str | None, typer.Option(help="The local day to deliver (YYYY-MM-DD). Default: yesterday.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the simulated org.")] = 7,
    agents: Annotated[int, typer.Option(help="Agents in the simulated org.")] = 200,
    queues: Annotated[int, typer.Option(help="Queues in the simulated org.")] = 12,
    mixed_media: Annotated[
        bool,
        typer.Option(
            "--mixed-media",
            help="Blended queues (voice + callback + chat) and outbound messaging campaigns.",
        ),
    ] = False,
    json_flag: JsonFlag = False,
) -> None:
    """Run the whole historical feed against a simulated Genesys org, into local folders."""
    from wfmcli.demo import default_day, run_demo

    try:
        chosen = date.fromisoformat(day) if day else default_day()
    except ValueError as exc:
        raise UsageError(f"cannot read --day {day!r}", hint="use YYYY-MM-DD") from exc
    result = run_demo(
        out.resolve(), seed=seed, agents=agents, queues=queues, day=chosen,
        mixed_media=mixed_media,
    )  # fmt: skip
    if global_options(ctx).json or json_flag:
        print_json("demo", result)
        return
    print_table(
        f"wfm demo: {result.agents} agents, {result.queues} queues (seed {result.seed}), "
        f"local day {result.day}",
        ["destination", "zone", "interval", "files", "periods", "contacts in files",
         "unaccounted", "answered", "abandoned", "agents"],
        [
            (d.name, d.timezone, f"{d.interval} min", d.files, d.periods, d.offered,
             d.unaccounted, d.answered, d.abandoned, d.agents)
            for d in result.destinations
        ],
    )  # fmt: skip
    for d in result.destinations:
        sys.stdout.write(f"reconcile {d.reconcile}\n")
    sys.stdout.write(
        f"files: {result.out / 'outbox'}\n"
        f"config: {result.config} (try: wfm -c {result.config} status)\n"
        f"{result.api_requests} API requests to the twin, {result.seconds} s\n"
    )

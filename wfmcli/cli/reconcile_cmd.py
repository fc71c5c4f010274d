"""wfm reconcile: every contact Genesys reported, against what the delivered files carry."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from wfmcli.cli.context import JsonFlag, global_options
from wfmcli.cli.output import print_json, print_table
from wfmcli.errors import ExitCode, UsageError


def reconcile(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="SCOPE/DEST from the configuration.")],
    start: Annotated[str, typer.Option(help="First local day, e.g. 2026-10-25.")] = "",
    end: Annotated[
        str | None, typer.Option(help="Last local day (inclusive). Default: --start.")
    ] = None,
    no_pull: Annotated[
        bool, typer.Option("--no-pull", help="Use only cached frames, never call Genesys.")
    ] = False,
    json_flag: JsonFlag = False,
) -> None:
    """Per local day: contacts from Genesys = in delivered files + each named cause.

    Exits 6 when any contact is unaccounted for (a file not delivered, or counted twice).
    """
    from datetime import date, timedelta

    from wfmcli.cli.report_cmd import cached_frames
    from wfmcli.config import load_config
    from wfmcli.jobs.build import build_job
    from wfmcli.jobs.reconcile import reconcile as balance
    from wfmcli.jobs.render import ProfileRenderer
    from wfmcli.timegrid import local_midnight

    if not start:
        raise UsageError("--start is required", hint="e.g. --start 2026-10-25 (a local day)")
    try:
        first = date.fromisoformat(start)
        last = date.fromisoformat(end) if end else first
    except ValueError as exc:
        raise UsageError(
            f"cannot read the day in {start!r}/{end!r}", hint="use YYYY-MM-DD"
        ) from exc
    if last < first:
        raise UsageError("--end is before --start")
    config = load_config(global_options(ctx).config_path)
    job = build_job(config, target, config.state_root())
    renderer = job.renderer
    assert isinstance(renderer, ProfileRenderer)
    zone = renderer.destination.zone
    begin = local_midnight(first, zone).to_pydatetime()
    finish = local_midnight(last + timedelta(days=1), zone).to_pydatetime()
    frames = cached_frames(
        ctx,
        job.target,
        renderer.profile,
        renderer.destination,
        begin,
        finish,
        pull_missing=not no_pull,
    )
    result = balance(job.target, renderer, job.store.load(), frames, begin, finish)
    if global_options(ctx).json or json_flag:
        print_json(
            "reconcile",
            {
                "target": result.target,
                "unaccounted": result.unaccounted,
                "days": [
                    {**d.as_dict(), "undelivered": result.undelivered.get(d.day, 0)}
                    for d in result.days
                ],
                "problems": result.problems,
            },
            ok=not result.unaccounted,
        )
    else:
        print_table(
            f"{result.target}: contacts from Genesys against the delivered files",
            ["day", "Genesys", "in files", "out of scope", "excluded", "not carried",
             "not delivered", "unaccounted"],
            [
                (d.day.isoformat(), d.reported, d.delivered, d.out_of_scope, d.excluded,
                 ", ".join(f"{k} {v}" for k, v in sorted(d.not_carried.items())) or 0,
                 result.undelivered.get(d.day, 0), d.unaccounted)
                for d in result.days
            ],
        )  # fmt: skip
        for problem in result.problems[:5]:
            sys.stderr.write(f"wfm: {problem}\n")
        if len(result.problems) > 5:
            sys.stderr.write(
                f"wfm: ... and {len(result.problems) - 5} more files (wfm run or wfm backfill "
                "delivers them)\n"
            )
    if result.unaccounted:
        raise typer.Exit(int(ExitCode.PARTIAL))

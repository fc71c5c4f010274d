"""wfm run, wfm backfill and wfm status: the unattended batch job and its record."""

from __future__ import annotations

import signal
import sys
import threading
from datetime import UTC, datetime
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from wfmcli.cli.context import JsonFlag, global_options
from wfmcli.cli.output import print_json, print_table
from wfmcli.errors import UsageError

if TYPE_CHECKING:
    from wfmcli.jobs.run import Job, RunResult

Target = Annotated[str, typer.Argument(help="The destination, as SCOPE/DEST.")]
Now = Annotated[
    str | None,
    typer.Option(help="Act as if it were this time (ISO 8601 with offset). Default: now."),
]


def _now(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(f"cannot read --now {text!r}", hint="e.g. 2026-06-01T14:30:00Z") from exc
    if moment.tzinfo is None:
        raise UsageError(f"--now {text!r} needs an offset", hint="e.g. 2026-06-01T14:30:00Z")
    return moment


def _job(ctx: typer.Context, target: str) -> Job:
    from wfmcli.config import load_config
    from wfmcli.jobs.build import build_job

    # only what this destination's batch run needs: another destination's secret cannot stop it
    config = load_config(global_options(ctx).config_path, only=target)
    return build_job(config, target, config.state_root())


def stop_on_sigterm(stop: threading.Event) -> None:
    """SIGTERM lets the file in flight finish, then the run stops cleanly."""

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)


def _record_api_usage(job: Job) -> None:
    from wfmcli.jobs.build import PulledFrames
    from wfmcli.ops.budget import record_usage

    if isinstance(job.source, PulledFrames):
        record_usage(job.source.scope, job.source.counter)


def _report(ctx: typer.Context, command: str, result: RunResult, json_flag: bool) -> None:
    if global_options(ctx).json or json_flag:
        print_json(command, result, ok=result.outcome in ("delivered", "nothing"))
    else:
        stream = sys.stderr if result.outcome in ("failed", "partial") else sys.stdout
        stream.write(f"wfm: {result.summary()}\n")
    raise typer.Exit(int(result.exit_code))


def run(ctx: typer.Context, target: Target, now: Now = None, json_flag: JsonFlag = False) -> None:
    """Deliver every closed interval not yet delivered (and re-send late changes). For cron.

    Exit codes: 0 delivered, 8 nothing to do, 6 partial, 7 locked, 3-5 failed (config, auth,
    remote).
    """
    job = _job(ctx, target)
    stop_on_sigterm(job.stop)
    try:
        result = job.run(_now(now))
    finally:
        _record_api_usage(job)
    _report(ctx, "run", result, json_flag)


def backfill(
    ctx: typer.Context,
    target: Target,
    start: Annotated[str, typer.Option(help="First local day or time, e.g. 2026-06-01.")],
    end: Annotated[str, typer.Option(help="End (exclusive), local, e.g. 2026-06-03.")],
    now: Now = None,
    json_flag: JsonFlag = False,
) -> None:
    """Re-deliver every closed interval in a range, changed or not."""
    from wfmcli.timegrid import parse_local

    job = _job(ctx, target)
    zone = job.timing.zone
    stop_on_sigterm(job.stop)
    try:
        result = job.backfill(parse_local(start, zone), parse_local(end, zone), _now(now))
    finally:
        _record_api_usage(job)
    _report(ctx, "backfill", result, json_flag)


def status(
    ctx: typer.Context,
    target: Annotated[str | None, typer.Argument(help="SCOPE/DEST; default: all.")] = None,
    now: Now = None,
    json_flag: JsonFlag = False,
) -> None:
    """Last run, last delivered interval, how far behind, pending intervals, recent failures."""
    from wfmcli.config import load_config
    from wfmcli.jobs.status import all_targets, destination_status

    config = load_config(global_options(ctx).config_path)
    moment = _now(now)
    targets = [target] if target else all_targets(config)
    rows = [destination_status(config, t, config.state_root(), moment) for t in targets]
    if global_options(ctx).json or json_flag:
        print_json("status", rows)
        return
    print_table(
        "Delivery status",
        ["destination", "last run", "outcome", "delivered up to", "behind", "pending", "failures"],
        [
            (
                r.target,
                r.last_run_at or "never",
                r.last_outcome or "",
                r.last_delivered_end or "",
                _minutes(r.behind_seconds),
                f"{r.pending_intervals} intervals ({r.pending_periods} files due)",
                len(r.recent_failures),
            )
            for r in rows
        ],
    )
    for r in rows:
        for failure in r.recent_failures:
            sys.stdout.write(
                f"{r.target} {failure.finished_at} {failure.outcome}: {failure.message}\n"
            )


def _minutes(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds / 60:.0f} min"

"""wfm schedule: the cron line, Windows task or systemd timer that runs `wfm run` on time."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from wfmcli.cli.context import JsonFlag, global_options
from wfmcli.cli.output import print_json
from wfmcli.errors import UsageError
from wfmcli.paths import default_config_path

if TYPE_CHECKING:
    from wfmcli.schedule import ScheduleFile


class Scheduler(StrEnum):
    CRON = "cron"
    WINDOWS = "windows"
    SYSTEMD = "systemd"


def schedule(
    ctx: typer.Context,
    scheduler: Annotated[Scheduler, typer.Argument(help="cron, windows or systemd.")],
    target: Annotated[str, typer.Argument(help="The destination to run, as SCOPE/DEST.")],
    every: Annotated[
        str | None, typer.Option(help="How often, e.g. 15m. Default: the destination's schedule.")
    ] = None,
    time_limit: Annotated[
        str, typer.Option(help="Stop a run that takes longer than this (Windows, systemd).")
    ] = "2h",
    out: Annotated[
        Path | None,
        typer.Option(
            help="Write here: a file for cron and windows, a folder for systemd. "
            "Default: stdout (windows: the task file in the current folder)."
        ),
    ] = None,
    wfm: Annotated[
        Path | None, typer.Option(help="The wfm executable to run. Default: this one.")
    ] = None,
    json_flag: JsonFlag = False,
) -> None:
    """Write the scheduler entry that runs 'wfm run SCOPE/DEST' every interval."""
    from wfmcli.config import load_config
    from wfmcli.config.model import parse_duration
    from wfmcli.schedule import JobSpec, find_wfm_executable, render, windows_instructions

    options = global_options(ctx)
    config_path = (options.config_path or default_config_path()).resolve()
    config = load_config(config_path)
    destination = config.destination(target)
    scope_name, _, dest_name, settings = destination
    try:
        period = parse_duration(every) if every else settings.schedule
        limit = parse_duration(time_limit)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    spec = JobSpec(
        target=f"{scope_name}/{dest_name}",
        wfm=wfm.resolve() if wfm else find_wfm_executable(sys.argv[0]),
        config=config_path,
        log_file=(config.state_root() / "logs" / f"{scope_name}-{dest_name}.log").resolve(),
        every=period,
        offset=settings.lag,
        time_limit=limit,
    )
    files = render(scheduler.value, spec)
    written = _write(files, scheduler, out)
    note = windows_instructions(written[0].name, spec) if scheduler is Scheduler.WINDOWS else ""
    if options.json or json_flag:
        texts = {
            f.name: f.content.decode("utf-16" if f.name.endswith(".xml") else "utf-8")
            for f in files
        }
        print_json(
            "schedule", {"files": [str(p) for p in written], "content": texts, "install": note}
        )
        return
    if not written:
        sys.stdout.write("".join(f"# ---- {f.name}\n{f.content.decode()}" for f in files))
    for path in written:
        sys.stderr.write(f"wrote {path}\n")
    if note:
        sys.stderr.write(f"install with:\n  {note}\n")
    elif scheduler is Scheduler.SYSTEMD and written:
        folder = written[0].parent
        sys.stderr.write(
            f"install with: sudo cp {folder}/{spec.name}.* /etc/systemd/system/ && "
            f"sudo systemctl daemon-reload && sudo systemctl enable --now {spec.name}.timer\n"
        )


def _write(files: list[ScheduleFile], scheduler: Scheduler, out: Path | None) -> list[Path]:
    if out is None and scheduler is not Scheduler.WINDOWS:
        return []
    if scheduler is Scheduler.SYSTEMD:
        targets = [(out or Path()) / f.name for f in files]
    else:
        targets = [out or Path(files[0].name)]
    try:
        for target, file in zip(targets, files, strict=True):
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(file.content)
    except OSError as exc:
        raise UsageError(f"cannot write {exc.filename}: {exc.strerror}") from exc
    return targets

"""wfm schedule: the cron line, Windows task or systemd timer that runs `wfm run` on time, and
a check that runs one the way its scheduler would."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from wfmcli.cli.context import JsonFlag, global_options
from wfmcli.cli.output import print_json
from wfmcli.errors import ExitCode, UsageError
from wfmcli.paths import default_config_path

if TYPE_CHECKING:
    from wfmcli.config import Config
    from wfmcli.schedule import JobSpec, ScheduleFile

app = typer.Typer(
    help="Scheduler entries that run 'wfm run SCOPE/DEST' on time, and a check that runs one "
    "as its scheduler would.",
    no_args_is_help=True,
)

Target = Annotated[str, typer.Argument(help="The destination to run, as SCOPE/DEST.")]
Every = Annotated[
    str | None, typer.Option(help="How often, e.g. 15m. Default: the destination's schedule.")
]
TimeLimit = Annotated[str, typer.Option(help="Stop a run that takes longer than this.")]
Wfm = Annotated[Path | None, typer.Option(help="The wfm executable to run. Default: this one.")]
Out = Annotated[Path | None, typer.Option(help="Write here. Default: stdout.")]

# what a scheduled run needs from this shell besides the configuration's ${VAR} references
CARRIED_VARIABLES = (
    "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "ALL_PROXY",
    "https_proxy", "http_proxy", "no_proxy", "all_proxy",
    "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE",
)  # fmt: skip


class Checked(StrEnum):
    CRON = "cron"
    SYSTEMD = "systemd"


@dataclass
class Prepared:
    spec: JobSpec
    config: Config
    warnings: list[str] = field(default_factory=list)


def _prepare(
    ctx: typer.Context, target: str, every: str | None, time_limit: str, wfm: Path | None
) -> Prepared:
    """Load what the run needs, write the environment file and describe the entry."""
    from wfmcli.config import load_config
    from wfmcli.config.model import parse_duration
    from wfmcli.schedule import JobSpec, find_wfm_executable

    config_path = (global_options(ctx).config_path or default_config_path()).resolve()
    config = load_config(config_path, only=target)
    scope_name, _, dest_name, settings = config.destination(target)
    try:
        period = parse_duration(every) if every else settings.schedule
        limit = parse_duration(time_limit)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    root = config.state_root().resolve()
    name = f"{scope_name}-{dest_name}"
    spec = JobSpec(
        target=f"{scope_name}/{dest_name}",
        wfm=wfm.resolve() if wfm else find_wfm_executable(sys.argv[0]),
        config=config_path,
        log_file=root / "logs" / f"{name}.log",
        every=period,
        offset=settings.lag,
        time_limit=limit,
        env_file=root / "schedule" / f"{name}.env",
    )
    prepared = Prepared(spec, config)
    _write_environment(prepared, config_path)
    return prepared


def _write_environment(prepared: Prepared, config_path: Path) -> None:
    from wfmcli.config.loader import needed_for_run
    from wfmcli.config.resolve import referenced_variables, uses_keyring
    from wfmcli.config.yamlfile import read_yaml
    from wfmcli.envfile import write_env_file
    from wfmcli.paths import cache_dir, data_dir

    # the configuration loaded, so every variable without a default is set here
    spec = prepared.spec
    needed = needed_for_run(read_yaml(config_path).data, spec.target)
    names = sorted(referenced_variables(needed))
    values = {n: os.environ[n] for n in (*names, *CARRIED_VARIABLES) if n in os.environ}
    values["WFM_DATA_DIR"] = str(data_dir().resolve())
    values["WFM_CACHE_DIR"] = str(cache_dir().resolve())
    if uses_keyring(needed):
        prepared.warnings.append(
            "this destination reads secrets from the OS keyring, which a scheduler's session "
            "usually cannot unlock; prefer a *_file secret (mode 0600) for scheduled runs"
        )
    assert spec.env_file is not None
    header = (
        f"Environment of the scheduled 'wfm run {spec.target}', written by 'wfm schedule'.\n"
        "Keep it private (mode 0600); rerun 'wfm schedule' after changing a variable."
    )
    write_env_file(spec.env_file, values, header)


def _emit(
    ctx: typer.Context,
    prepared: Prepared,
    written: list[Path],
    files: list[ScheduleFile],
    note: str,
    json_flag: bool,
) -> None:
    if global_options(ctx).json or json_flag:
        texts = {
            f.name: f.content.decode("utf-16" if f.name.endswith(".xml") else "utf-8")
            for f in files
        }
        data = {
            "files": [str(p) for p in written],
            "content": texts,
            "install": note,
            "env_file": str(prepared.spec.env_file),
            "warnings": prepared.warnings,
        }
        print_json("schedule", data)
        return
    if not written:
        sys.stdout.write("".join(f"# ---- {f.name}\n{f.content.decode()}" for f in files))
    for path in written:
        sys.stderr.write(f"wrote {path}\n")
    sys.stderr.write(f"wrote {prepared.spec.env_file} (mode 0600)\n")
    for warning in prepared.warnings:
        sys.stderr.write(f"wfm: warning: {warning}\n")
    if note:
        sys.stderr.write(f"install with:\n  {note}\n")


@app.command("cron")
def cron(
    ctx: typer.Context,
    target: Target,
    every: Every = None,
    out: Out = None,
    wfm: Wfm = None,
    json_flag: JsonFlag = False,
) -> None:
    """The crontab line that runs 'wfm run SCOPE/DEST' every interval."""
    from wfmcli.schedule import crontab

    prepared = _prepare(ctx, target, every, "2h", wfm)
    files = [crontab(prepared.spec)]
    written = _write_files(files, out)
    _emit(ctx, prepared, written, files, "", json_flag)


@app.command("windows")
def windows(
    ctx: typer.Context,
    target: Target,
    every: Every = None,
    time_limit: TimeLimit = "2h",
    out: Annotated[
        Path | None, typer.Option(help="Write here. Default: the task file in this folder.")
    ] = None,
    wfm: Wfm = None,
    json_flag: JsonFlag = False,
) -> None:
    """The Windows Task Scheduler task (XML for schtasks /Create /XML)."""
    from wfmcli.schedule import windows_instructions, windows_task

    prepared = _prepare(ctx, target, every, time_limit, wfm)
    files = [windows_task(prepared.spec)]
    written = _write_files(files, out or Path(files[0].name))
    note = windows_instructions(written[0].name, prepared.spec)
    _emit(ctx, prepared, written, files, note, json_flag)


@app.command("systemd")
def systemd(
    ctx: typer.Context,
    target: Target,
    every: Every = None,
    time_limit: TimeLimit = "2h",
    out: Annotated[
        Path | None, typer.Option(help="Write the .service and .timer into this folder.")
    ] = None,
    wfm: Wfm = None,
    json_flag: JsonFlag = False,
) -> None:
    """The systemd service and timer units."""
    from wfmcli.schedule import systemd_units

    prepared = _prepare(ctx, target, every, time_limit, wfm)
    files = systemd_units(prepared.spec)
    written = _write_files(files, out, folder=True)
    note = ""
    if written:
        name = prepared.spec.name
        note = (
            f"sudo cp {written[0].parent}/{name}.* /etc/systemd/system/ && "
            f"sudo systemctl daemon-reload && sudo systemctl enable --now {name}.timer"
        )
    _emit(ctx, prepared, written, files, note, json_flag)


@app.command("kubernetes")
def kubernetes(
    ctx: typer.Context,
    target: Target,
    every: Every = None,
    time_limit: TimeLimit = "2h",
    image: Annotated[
        str, typer.Option(help="The container image with wfm installed (and /bin/sh).")
    ] = "wfm:latest",
    storage: Annotated[str, typer.Option(help="Size of each state volume.")] = "1Gi",
    out: Out = None,
    json_flag: JsonFlag = False,
) -> None:
    """Kubernetes manifests: a CronJob for the destination, the relay Deployment and Service
    for the scope's RTA, the PersistentVolumeClaims for their state; Secret and ConfigMap
    referenced by name."""
    from wfmcli.config import load_config
    from wfmcli.config.model import parse_duration
    from wfmcli.config.resolve import referenced_variables
    from wfmcli.config.yamlfile import read_yaml
    from wfmcli.schedule import ScheduleFile
    from wfmcli.schedule_k8s import KubeSpec, render_yaml

    config_path = (global_options(ctx).config_path or default_config_path()).resolve()
    config = load_config(config_path)
    scope_name, scope, dest_name, settings = config.destination(target)
    try:
        period = parse_duration(every) if every else settings.schedule
        limit = parse_duration(time_limit)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    raw_scope = read_yaml(config_path).data["scopes"][scope_name]
    ports = sorted(
        {
            int(d.rta.listen.rpartition(":")[2])
            for d in scope.destinations.values()
            if d.rta and d.rta.listen
        }
    )
    spec = KubeSpec(
        scope=scope_name,
        destination=dest_name,
        timezone=settings.timezone,
        every=period,
        offset=settings.lag,
        time_limit=limit,
        image=image,
        rta_ports=tuple(ports),
        variables=tuple(sorted(referenced_variables(raw_scope))),
        storage=storage,
    )
    files = [ScheduleFile(f"{spec.base}-{dest_name}.k8s.yaml", render_yaml(spec).encode())]
    written = _write_files(files, out)
    for warning in _pod_warnings(config, raw_scope):
        sys.stderr.write(f"wfm: warning: {warning}\n")
    if global_options(ctx).json or json_flag:
        data = {"files": [str(p) for p in written], "content": {files[0].name: render_yaml(spec)}}
        print_json("schedule kubernetes", data)
        return
    if not written:
        sys.stdout.write(files[0].content.decode())
    for path in written:
        sys.stderr.write(f"wrote {path}\n")


def _pod_warnings(config: Config, raw_scope: object) -> list[str]:
    """What in the configuration will not work inside a pod."""
    from wfmcli.config.resolve import uses_keyring

    warnings = []
    if config.data_dir is not None:
        warnings.append(
            "data_dir is set in the configuration: remove it so the pod keeps its state on the "
            "volume (WFM_DATA_DIR)"
        )
    if uses_keyring(raw_scope):
        warnings.append("a pod has no OS keyring: give those secrets as ${VAR} from the Secret")
    if "_file'" in repr(raw_scope):
        warnings.append(
            "*_file secrets need their files in the pod: prefer ${VAR} from the Secret"
        )
    return warnings


@app.command("check")
def check(
    ctx: typer.Context,
    target: Target,
    scheduler: Annotated[
        Checked, typer.Option(help="Whose environment to run in: cron or systemd.")
    ] = Checked.CRON,
    timeout: Annotated[float, typer.Option(help="Give up after this many seconds.")] = 600.0,
    wfm: Wfm = None,
    json_flag: JsonFlag = False,
) -> None:
    """Run the entry 'wfm schedule' generates once, as its scheduler would (no login shell,
    minimal environment, from /), and say in one line whether it delivered or why not."""
    from wfmcli.schedule_check import check as run_check

    if os.name == "nt":
        raise UsageError(
            "schedule check emulates cron and systemd",
            hint="on Windows start the task once with: schtasks /Run /TN wfm\\<task name>",
        )
    prepared = _prepare(ctx, target, None, "2h", wfm)
    result = run_check(prepared.spec, scheduler.value, timeout)
    if global_options(ctx).json or json_flag:
        print_json("schedule check", result, ok=result.ok)
    else:
        stream = sys.stdout if result.ok else sys.stderr
        stream.write(f"wfm: {result.one_line()}\n")
    code = result.exit_code
    if result.ok:
        code = ExitCode.OK
    elif not 0 < code < 128:  # killed by a signal: not one of wfm's own codes
        code = ExitCode.REMOTE
    raise typer.Exit(int(code))


def _write_files(
    files: list[ScheduleFile], out: Path | None, *, folder: bool = False
) -> list[Path]:
    if out is None:
        return []
    targets = [out / f.name for f in files] if folder else [out]
    try:
        for target, file in zip(targets, files, strict=True):
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(file.content)
    except OSError as exc:
        raise UsageError(f"cannot write {exc.filename}: {exc.strerror}") from exc
    return targets

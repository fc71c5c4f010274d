"""Scheduler entries that run `wfm run SCOPE/DEST`: a crontab line, Windows Task Scheduler XML,
and systemd service + timer units.

Runs are offset by the destination's lag, so a run starts when the last interval's data is ready
rather than a whole period later.
"""

from __future__ import annotations

import html
import re
import shlex
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from wfmcli.errors import UsageError

TASK_NAMESPACE = "http://schemas.microsoft.com/windows/2004/02/mit/task"
UTF16_LE_BOM = b"\xff\xfe"


def escape(text: str) -> str:
    """XML text content: &, < and > escaped (xml.sax would pull urllib into wfm --help)."""
    return html.escape(text, quote=False)


@dataclass(frozen=True)
class JobSpec:
    """What to run and how often; paths are absolute so the scheduler's PATH does not matter."""

    target: str  # SCOPE/DEST
    wfm: Path
    config: Path
    log_file: Path
    every: timedelta
    offset: timedelta
    time_limit: timedelta
    env_file: Path | None = None  # what ${VAR} references need; the scheduler has no shell

    @property
    def name(self) -> str:
        return "wfm-" + re.sub(r"[^A-Za-z0-9_.-]+", "-", self.target)

    def arguments(self) -> list[str]:
        env = ["--env-file", str(self.env_file)] if self.env_file else []
        return [
            "--config", str(self.config), "--quiet",
            "--log-file", str(self.log_file), *env, "run", self.target,
        ]  # fmt: skip

    @property
    def crash_log(self) -> Path:
        """Where cron sends what wfm prints (and what the shell says if wfm cannot start)."""
        return self.log_file.with_suffix(".cron.log")


@dataclass(frozen=True)
class ScheduleFile:
    name: str
    content: bytes


def minutes_of(every: timedelta) -> int:
    minutes, remainder = divmod(int(every.total_seconds()), 60)
    if remainder or minutes <= 0:
        raise UsageError(f"cannot schedule every {every}", hint="use whole minutes, e.g. 15m")
    return minutes


def cron_expression(every: timedelta, offset: timedelta) -> str:
    minutes = minutes_of(every)
    start = int(offset.total_seconds() // 60) % minutes
    if minutes < 60 and 60 % minutes == 0:
        minute_field = f"*/{minutes}" if start == 0 else f"{start}-59/{minutes}"
        return f"{minute_field} * * * *"
    if minutes % 60 == 0 and (24 * 60) % minutes == 0:
        hours = minutes // 60
        hour_field = "*" if hours == 1 else f"*/{hours}"
        return f"{start % 60} {hour_field} * * *"
    raise UsageError(
        f"cron cannot run every {minutes} minutes evenly",
        hint="choose a divisor of 60 minutes (5m, 10m, 15m, 30m) or of 24 hours (1h, 2h, 6h)",
    )


_CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_CRON_PART = re.compile(r"^(\*|\d+(?:-\d+)?)(?:/(\d+))?$")


def check_cron_expression(expression: str) -> None:
    """Raise ValueError unless expression is five valid numeric cron fields."""
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"cron needs 5 fields, got {len(fields)}")
    for text, (low, high) in zip(fields, _CRON_RANGES, strict=True):
        for part in text.split(","):
            match = _CRON_PART.match(part)
            if match is None:
                raise ValueError(f"bad cron field {text!r}")
            span, step = match.groups()
            numbers = [] if span == "*" else [int(n) for n in span.split("-")]
            if any(not low <= n <= high for n in numbers) or (step is not None and int(step) < 1):
                raise ValueError(f"cron field {text!r} is outside {low}-{high}")
            if len(numbers) == 2 and numbers[0] > numbers[1]:
                raise ValueError(f"cron range {span!r} runs backwards")


def cron_command(spec: JobSpec) -> str:
    """The shell command of the crontab line, before cron's % escaping. The log folder is made
    first: the shell opens the redirect before wfm starts, and nothing else creates it."""
    command = " ".join(shlex.quote(part) for part in [str(spec.wfm), *spec.arguments()])
    folder = shlex.quote(str(spec.crash_log.parent))
    crash_log = shlex.quote(str(spec.crash_log))
    return f"cd / && mkdir -p {folder} && {command} >>{crash_log} 2>&1"


def crontab(spec: JobSpec) -> ScheduleFile:
    expression = cron_expression(spec.every, spec.offset)
    # cron treats an unescaped % as a newline
    line = f"{expression} {cron_command(spec)}".replace("%", r"\%")
    text = (
        f"# {spec.name}: wfm run {spec.target} every {minutes_of(spec.every)} minutes.\n"
        "# Install: crontab -e, and paste the line below (or: crontab -l | cat - THIS_FILE | "
        "crontab -).\n"
        "# cron's PATH is minimal, so every path below is absolute.\n"
        "# cron has no login shell: the ${VAR} values the destination needs are in the\n"
        "# --env-file (mode 0600) that 'wfm schedule' wrote; rerun it after changing them.\n"
        "# cron uses the system time zone; wfm computes intervals in the destination's own zone,\n"
        "# so the files are right whatever zone cron runs in.\n"
        "# wfm logs each run to --log-file; anything printed before logging starts goes to the\n"
        "# .cron.log beside it.\n"
        f"{line}\n"
    )
    return ScheduleFile(f"{spec.name}.cron", text.encode("utf-8"))


def _iso_duration(value: timedelta) -> str:
    minutes = minutes_of(value)
    hours, minutes = divmod(minutes, 60)
    return "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes or not hours else "")


def windows_task(spec: JobSpec) -> ScheduleFile:
    minutes = int(spec.offset.total_seconds() // 60) % minutes_of(spec.every)
    arguments = " ".join(_windows_quote(arg) for arg in spec.arguments())
    description = escape(f"wfm run {spec.target}: deliver closed intervals to the WFM system")
    xml = f"""<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="{TASK_NAMESPACE}">
  <RegistrationInfo>
    <Description>{description}</Description>
    <URI>\\wfm\\{escape(spec.name)}</URI>
  </RegistrationInfo>
  <Triggers>
    <TimeTrigger>
      <Repetition>
        <Interval>{_iso_duration(spec.every)}</Interval>
        <StopAtDurationEnd>false</StopAtDurationEnd>
      </Repetition>
      <StartBoundary>2026-01-01T00:{minutes:02d}:00</StartBoundary>
      <Enabled>true</Enabled>
    </TimeTrigger>
  </Triggers>
  <Principals>
    <Principal id="Author">
      <LogonType>Password</LogonType>
      <RunLevel>LeastPrivilege</RunLevel>
    </Principal>
  </Principals>
  <Settings>
    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>
    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>
    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>
    <StartWhenAvailable>true</StartWhenAvailable>
    <RunOnlyIfNetworkAvailable>false</RunOnlyIfNetworkAvailable>
    <ExecutionTimeLimit>{_iso_duration(spec.time_limit)}</ExecutionTimeLimit>
    <Enabled>true</Enabled>
  </Settings>
  <Actions Context="Author">
    <Exec>
      <Command>{escape(str(spec.wfm))}</Command>
      <Arguments>{escape(arguments)}</Arguments>
      <WorkingDirectory>{escape(str(spec.config.parent))}</WorkingDirectory>
    </Exec>
  </Actions>
</Task>
"""
    # Task Scheduler reads the file as UTF-16; CRLF is what schtasks itself exports.
    content = UTF16_LE_BOM + xml.replace("\n", "\r\n").encode("utf-16-le")
    return ScheduleFile(f"{spec.name}.xml", content)


def windows_instructions(file_name: str, spec: JobSpec) -> str:
    return (
        f'schtasks /Create /XML {file_name} /TN "wfm\\{spec.name}" /RU DOMAIN\\service-user /RP *\n'
        "(/RP * prompts for the account's password; the task then runs whether or not the user "
        "is logged on)"
    )


def _windows_quote(argument: str) -> str:
    if argument and not re.search(r'[\s"]', argument):
        return argument
    return '"' + argument.replace('"', '\\"') + '"'


def systemd_units(spec: JobSpec) -> list[ScheduleFile]:
    minutes = minutes_of(spec.every)
    start = int(spec.offset.total_seconds() // 60) % minutes
    if minutes < 60 and 60 % minutes == 0:
        calendar = f"*-*-* *:{start:02d}/{minutes}:00"
    elif minutes % 60 == 0 and (24 * 60) % minutes == 0:
        calendar = f"*-*-* 00/{minutes // 60}:{start:02d}:00"
    else:
        raise UsageError(
            f"systemd timers here run every divisor of an hour or a day, not {minutes} minutes"
        )
    command = " ".join(_systemd_quote(part) for part in [str(spec.wfm), *spec.arguments()])
    service = f"""[Unit]
Description=wfm run {spec.target}: deliver closed intervals to the WFM system
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
ExecStart={command}
TimeoutStartSec={int(spec.time_limit.total_seconds())}
# 8: nothing to do, which is a normal outcome for a run on a timer
SuccessExitStatus=8
# SIGTERM lets wfm finish or cleanly abandon the file in flight
KillSignal=SIGTERM
"""
    timer = f"""[Unit]
Description=Run wfm run {spec.target} every {minutes} minutes

[Timer]
OnCalendar={calendar}
# run once at boot for slots missed while the machine was off; wfm catches up the rest
Persistent=true
AccuracySec=1s
Unit={spec.name}.service

[Install]
WantedBy=timers.target
"""
    return [
        ScheduleFile(f"{spec.name}.service", service.encode("utf-8")),
        ScheduleFile(f"{spec.name}.timer", timer.encode("utf-8")),
    ]


def _systemd_quote(argument: str) -> str:
    if argument and not re.search(r"[\s\"'\\%$]", argument):
        return argument
    escaped = argument.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    return f'"{escaped.replace("$", "$$")}"'


def find_wfm_executable(argv0: str) -> Path:
    """The wfm being run now, so the scheduler runs this same installation."""
    import shutil

    candidate = Path(argv0)
    if candidate.stem == "wfm" and candidate.exists():
        return candidate.resolve()
    found = shutil.which("wfm")
    if found is None:
        raise UsageError("cannot find the wfm executable", hint="pass --wfm PATH")
    return Path(found).resolve()


def render(kind: str, spec: JobSpec) -> list[ScheduleFile]:
    if kind == "cron":
        return [crontab(spec)]
    if kind == "windows":
        return [windows_task(spec)]
    return systemd_units(spec)

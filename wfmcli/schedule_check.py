"""`wfm schedule check`: run a generated entry the way its scheduler would, and say how it went.

cron starts the line with /bin/sh, PATH=/usr/bin:/bin and no login shell; systemd starts the
ExecStart command with an empty environment. Both run from /. A check that passes here passes
there, so a schedule cannot fail silently every 15 minutes.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from wfmcli.errors import ExitCode
from wfmcli.schedule import JobSpec, cron_command

CRON_ENVIRONMENT = {"PATH": "/usr/bin:/bin"}
SUCCESS = (ExitCode.OK, ExitCode.NOTHING_TO_DO)


@dataclass(frozen=True)
class CheckResult:
    target: str
    scheduler: str
    exit_code: int
    line: str  # one line: the run's summary, or why it failed

    @property
    def ok(self) -> bool:
        return self.exit_code in SUCCESS

    def one_line(self) -> str:
        verdict = "ok" if self.ok else f"failed (exit {self.exit_code})"
        return f"{self.scheduler} run of {self.target}: {verdict}: {self.line}"


def check(spec: JobSpec, scheduler: str, timeout: float) -> CheckResult:
    """Run the entry once, as its scheduler would; never raises for what the run did."""
    if scheduler == "cron":
        argv, environment = ["/bin/sh", "-c", cron_command(spec)], CRON_ENVIRONMENT
    else:
        argv, environment = [str(spec.wfm), *spec.arguments()], {}
    offset = _size(spec.crash_log)
    try:
        finished = subprocess.run(  # the command is the one we generated
            argv, env=environment, cwd="/", capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        line = f"still running after {timeout:g} s; see {spec.log_file}"
        return CheckResult(spec.target, scheduler, ExitCode.REMOTE, line)
    except OSError as exc:
        return CheckResult(spec.target, scheduler, ExitCode.USAGE, f"cannot start: {exc}")
    output = finished.stdout + finished.stderr
    if scheduler == "cron":
        output = _read_from(spec.crash_log, offset) + output
    return CheckResult(spec.target, scheduler, finished.returncode, _verdict(output))


def _verdict(output: bytes) -> str:
    """The line that tells what happened: wfm's error line, else its summary, else the last
    thing the shell said (wfm never started)."""
    lines = [ln.strip() for ln in output.decode("utf-8", "replace").splitlines() if ln.strip()]
    for prefix in ("wfm: error: ", "wfm: "):
        chosen = [ln for ln in lines if ln.startswith(prefix)]
        if chosen:
            return chosen[-1].removeprefix(prefix)
    return lines[-1] if lines else "no output"


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _read_from(path: Path, offset: int) -> bytes:
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            return handle.read()
    except OSError:
        return b""

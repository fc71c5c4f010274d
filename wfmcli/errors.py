"""The one exception hierarchy of wfm, shaped by what the caller should do next.

    WfmError                   something went wrong; exit INTERNAL unless a subclass says otherwise
    ├── UsageError             fix the command line or the file named on it       -> USAGE
    ├── ConfigError            fix the configuration file                         -> CONFIG
    ├── AuthError              fix the credentials or their permissions           -> AUTH
    ├── RemoteError            a remote system refused the request; do not retry  -> REMOTE
    │   └── TransientError     a remote system failed for now; retry later        -> REMOTE
    ├── PartialDeliveryError   some files were delivered and some were not        -> PARTIAL
    └── LockedError            another run holds the lock; this one did nothing   -> LOCKED

Every message is one line: what failed and where. `hint` says what to do about it.
Foreign exceptions are translated at the boundary with `raise ... from exc`.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Exit codes a scheduler or CI job can act on. Stable: documented in the README."""

    OK = 0
    INTERNAL = 1
    USAGE = 2  # also what Typer uses for a bad command line
    CONFIG = 3
    AUTH = 4
    REMOTE = 5
    PARTIAL = 6
    LOCKED = 7
    NOTHING_TO_DO = 8  # a batch run found no closed interval to deliver
    INTERRUPTED = 130  # 128 + SIGINT


class WfmError(Exception):
    exit_code = ExitCode.INTERNAL

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        text = self.message if not self.hint else f"{self.message} ({self.hint})"
        return " ".join(text.split())

    def __str__(self) -> str:
        return self.one_line()


class UsageError(WfmError):
    exit_code = ExitCode.USAGE


class ConfigError(WfmError):
    """A configuration problem; `problems` holds every one found, the message the first."""

    exit_code = ExitCode.CONFIG

    def __init__(
        self, message: str, *, hint: str | None = None, problems: list[str] | None = None
    ) -> None:
        if problems and len(problems) > 1:
            message = f"{message} (and {len(problems) - 1} more: run 'wfm config validate')"
        super().__init__(message, hint=hint)
        self.problems = problems or [self.one_line()]


class AuthError(WfmError):
    exit_code = ExitCode.AUTH


class RemoteError(WfmError):
    exit_code = ExitCode.REMOTE
    status: int | None = None  # the HTTP status of a refused request, when there was one


class TransientError(RemoteError):
    """Worth retrying: timeouts, dropped connections, 429 and 5xx answers."""

    def __init__(
        self, message: str, *, hint: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.retry_after = retry_after


class PartialDeliveryError(WfmError):
    exit_code = ExitCode.PARTIAL


class LockedError(WfmError):
    exit_code = ExitCode.LOCKED

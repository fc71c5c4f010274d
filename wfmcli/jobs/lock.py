"""One run per destination at a time."""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType
from typing import IO

from wfmcli.errors import LockedError, UsageError
from wfmcli.filelock import try_lock, unlock


class DestinationLock:
    """Held for the whole run; a second run raises LockedError at once instead of waiting."""

    def __init__(self, path: Path, target: str) -> None:
        self.path = path
        self.target = target
        self._handle: IO[str] | None = None

    def __enter__(self) -> DestinationLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle = self.path.open("a+", encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot open lock file {self.path}: {exc.strerror}") from exc
        handle.seek(0)
        if not try_lock(handle):
            try:
                holder = handle.read().strip() or "unknown"
            except OSError:  # Windows refuses to read a locked byte range
                holder = "unknown"
            handle.close()
            raise LockedError(
                f"another wfm run of {self.target} is in progress (pid {holder})",
                hint="this run did nothing; the next scheduled run continues the work",
            )
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._handle = handle
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._handle is not None:
            unlock(self._handle)
            self._handle.close()
            self._handle = None

"""What every transport does the same way: temp name + rename, size checks, folders, retries.

A concrete transport implements a handful of primitives on full remote paths (`_open`, `_close`,
`_mkdir`, `_upload`, `_rename`, `_remote_size`, `_remove`, `_translate`); the algorithm that makes
a delivery safe lives here once, so every scheme behaves alike and one contract suite tests them.
"""

from __future__ import annotations

import abc
import logging
import secrets
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Self, TypeVar

import tenacity

from wfmcli.errors import RemoteError, TransientError, UsageError, WfmError
from wfmcli.transports.options import COMMON_OPTIONS, TransportOptions
from wfmcli.transports.url import TransportURL, check_remote_name

log = logging.getLogger("wfm.transports")
T = TypeVar("T")
PROBE_CONTENT = b"wfm transport probe: safe to delete\n"


@dataclass
class FileResult:
    local_path: str
    remote_path: str
    sent: bool
    bytes: int
    seconds: float
    attempts: int
    error: str | None = None


@dataclass
class ProbeStep:
    name: str
    ok: bool | None  # None: skipped or not needed
    detail: str
    seconds: float
    exit_code: int = 0


class Transport(abc.ABC):
    """One destination, one connection reused for many files. Use as a context manager."""

    scheme: ClassVar[str] = ""
    option_names: ClassVar[frozenset[str]] = COMMON_OPTIONS
    # a URL without a host is refused before connecting (it would be retried as a bad name)
    needs_host: ClassVar[bool] = True
    # True where the server never shows a partial object (S3): no temp name, no rename.
    atomic_writes: ClassVar[bool] = False

    def __init__(self, url: TransportURL, options: TransportOptions) -> None:
        self.url = url
        self.options = options
        self.last_attempts = 0
        self._connected = False
        self._known_dirs: set[str] = set()
        self._abandoned: list[str] = []
        # told each temp name before anything is written to it, and when it is gone (renamed or
        # removed): a caller that records them can clean up after a process that was killed
        self.on_temp: Callable[[str], None] = _ignore
        self.on_temp_gone: Callable[[str], None] = _ignore

    # ---- primitives for subclasses; paths are full remote paths -------------------------------

    @property
    @abc.abstractmethod
    def base_path(self) -> str:
        """The remote folder the URL names ('' for the login folder)."""

    @abc.abstractmethod
    def _open(self) -> None: ...

    @abc.abstractmethod
    def _close(self) -> None: ...

    @abc.abstractmethod
    def _mkdir(self, path: str) -> None:
        """Create one folder whose parent exists; succeed if it already exists."""

    @abc.abstractmethod
    def _is_dir(self, path: str) -> bool: ...

    @abc.abstractmethod
    def _upload(self, local: Path, remote: str) -> None: ...

    @abc.abstractmethod
    def _rename(self, source: str, target: str) -> None:
        """Move `source` onto `target`, replacing it if it exists."""

    @abc.abstractmethod
    def _remote_size(self, remote: str) -> int | None:
        """Size in bytes, or None when there is no such file."""

    @abc.abstractmethod
    def _remove(self, remote: str) -> None: ...

    @abc.abstractmethod
    def _translate(self, exc: Exception) -> WfmError:
        """Turn a library exception into the wfm error that says what to do next."""

    def _verify_checksum(self, local: Path, remote: str) -> None:  # noqa: B027 - optional hook
        """Compare a server-side checksum with the local file where the protocol offers one."""

    # ---- lifecycle ------------------------------------------------------------------------------

    def connect(self) -> None:
        self._retry(self._ensure_connected)

    def close(self) -> None:
        self._drop_connection()

    def __enter__(self) -> Self:
        self.connect()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def display(self) -> str:
        return self.url.display()

    # ---- operations -----------------------------------------------------------------------------

    def remote_path(self, remote_name: str) -> str:
        segments = check_remote_name(remote_name)
        base = self.base_path.rstrip("/")
        return "/".join([base, *segments]) if base or self.base_path == "/" else "/".join(segments)

    def put(self, local_path: Path | str, remote_name: str) -> FileResult:
        """Deliver one file; raise a WfmError when it could not be delivered."""
        local = Path(local_path)
        if not local.is_file():
            raise UsageError(f"{local} is not a readable file")
        size = local.stat().st_size
        final = self.remote_path(remote_name)
        started = time.monotonic()
        attempts = 0

        def attempt() -> None:
            nonlocal attempts
            attempts += 1
            self._ensure_connected()
            self._put_once(local, size, final)

        try:
            self._retry(attempt)
        finally:
            self.last_attempts = attempts
        seconds = time.monotonic() - started
        log.info("sent %s to %s (%d bytes, %.2f s)", local.name, self.display(), size, seconds)
        return FileResult(str(local), final, True, size, round(seconds, 4), attempts)

    def size(self, remote_name: str) -> int | None:
        remote = self.remote_path(remote_name)
        return self._retry(lambda: self._connected_call(self._remote_size, remote))

    def exists(self, remote_name: str) -> bool:
        return self.size(remote_name) is not None

    def delete(self, remote_name: str) -> None:
        remote = self.remote_path(remote_name)
        self._retry(lambda: self._connected_call(self._remove, remote))

    def remove_temp(self, remote: str) -> None:
        """Remove a temp file an earlier run wrote (a full remote path as on_temp gave it).
        Only names of wfm's own temp form are touched, so nothing else is ever deleted."""
        if not remote.endswith(TEMP_SUFFIX) or not remote.rpartition("/")[2].startswith("."):
            raise UsageError(f"{remote!r} is not a wfm temp file; it is left alone")
        self._ensure_connected()
        if self._call(self._remote_size, remote) is not None:
            self._call(self._remove, remote)
        self.on_temp_gone(remote)

    def probe(self) -> list[ProbeStep]:
        """Connect, write a probe file, rename it, delete it; report every step."""
        token = secrets.token_hex(4)
        temp = self.remote_path(f".wfm-probe-{token}.part")
        final = self.remote_path(f".wfm-probe-{token}.txt")
        steps: list[ProbeStep] = []
        with tempfile.TemporaryDirectory(prefix="wfm-probe-") as folder:
            local = Path(folder) / "probe.txt"
            local.write_bytes(PROBE_CONTENT)
            plan: list[tuple[str, Callable[[], object] | None, str]] = [
                ("connect", self.connect, f"connected to {self.display()}"),
                ("create folder", lambda: self._ensure_dir(_parent(final)), "folder is there"),
                ("write probe", lambda: self._call(self._upload, local, temp), f"wrote {temp}"),
                ("check size", lambda: self._check_size(temp, len(PROBE_CONTENT)), "size matches"),
                ("rename", None if self.atomic_writes else
                 lambda: self._call(self._rename, temp, final), f"renamed to {final}"),
                ("delete", lambda: self._call(self._remove, final if not self.atomic_writes
                                              else temp), "probe file deleted"),
            ]
            failed = False
            for name, action, success in plan:
                steps.append(self._probe_step(name, action, success, skipped=failed))
                failed = failed or steps[-1].ok is False
        return steps

    # ---- the delivery algorithm -----------------------------------------------------------------

    def _put_once(self, local: Path, size: int, final: str) -> None:
        if not self.options.overwrite and self._call(self._remote_size, final) is not None:
            raise RemoteError(
                f"{final} already exists on {self.display()}",
                hint="set the option overwrite=true to replace it",
            )
        self._ensure_dir(_parent(final))
        target = final if self.atomic_writes else _temp_name(final)
        if target != final:
            self.on_temp(target)
        try:
            self._call(self._upload, local, target)
            self._check_size(target, size)
            self._call(self._verify_checksum, local, target)
            if target != final:
                self._call(self._rename, target, final)
                self.on_temp_gone(target)
        except TransientError:
            if target != final:
                self._abandoned.append(target)
            raise
        except WfmError:
            if target != final and self._quietly(self._remove, target):
                self.on_temp_gone(target)
            raise

    def _check_size(self, remote: str, expected: int) -> None:
        actual = self._call(self._remote_size, remote)
        if actual != expected:
            raise TransientError(
                f"{remote} on {self.display()} has {actual} bytes after upload, expected {expected}"
            )

    def _ensure_dir(self, path: str) -> None:
        if not path or path in self._known_dirs or self._call(self._is_dir, path):
            self._known_dirs.add(path)
            return
        parts = path.split("/")
        for depth in range(1, len(parts) + 1):
            prefix = "/".join(parts[:depth])
            if prefix and prefix not in self._known_dirs:
                self._call(self._mkdir, prefix)
                self._known_dirs.add(prefix)

    # ---- connection and retry plumbing ----------------------------------------------------------

    def _ensure_connected(self) -> None:
        if self._connected:
            return
        try:
            self._call(self._open)
        except WfmError:
            self._drop_connection()
            raise
        self._connected = True
        while self._abandoned:
            abandoned = self._abandoned.pop()
            if self._quietly(self._remove, abandoned):
                self.on_temp_gone(abandoned)

    def _drop_connection(self) -> None:
        # Also after a failed _open: a half-made connection still holds a socket.
        self._connected = False
        self._known_dirs.clear()
        try:
            self._close()
        except Exception as exc:  # the connection is being thrown away
            log.debug("closing %s: %s", self.display(), exc)

    def _connected_call(self, func: Callable[[str], T], remote: str) -> T:
        self._ensure_connected()
        return self._call(func, remote)

    def _call(self, func: Callable[..., T], *args: object) -> T:
        try:
            return func(*args)
        except WfmError as exc:
            if isinstance(exc, TransientError):
                self._drop_connection()
            raise
        except Exception as exc:
            error = self._translate(exc)
            if isinstance(error, TransientError):
                self._drop_connection()
            raise error from exc

    def _quietly(self, func: Callable[[str], object], remote: str) -> bool:
        try:
            func(remote)
        except Exception as exc:  # cleanup must not hide the real outcome
            log.debug("could not remove %s: %s", remote, exc)
            return False
        return True

    def _retry(self, func: Callable[[], T]) -> T:
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.options.retries + 1),
            wait=tenacity.wait_exponential_jitter(
                multiplier=self.options.backoff,
                max=self.options.backoff_max,
                jitter=self.options.backoff / 4,
            ),
            retry=tenacity.retry_if_exception_type(TransientError),
            before_sleep=self._log_retry,
            reraise=True,
        )
        return retrying(func)

    def _log_retry(self, state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning(
            "%s; retrying in %.1f s (attempt %d of %d)",
            error.one_line() if isinstance(error, WfmError) else error,
            wait,
            state.attempt_number + 1,
            self.options.retries + 1,
        )

    def _probe_step(
        self, name: str, action: Callable[[], object] | None, success: str, *, skipped: bool
    ) -> ProbeStep:
        if skipped:
            return ProbeStep(name, None, "skipped: an earlier step failed", 0.0)
        if action is None:
            return ProbeStep(name, None, f"not needed: {self.scheme} writes are atomic", 0.0)
        started = time.monotonic()
        try:
            action()
        except WfmError as exc:
            seconds = round(time.monotonic() - started, 4)
            return ProbeStep(name, False, exc.one_line(), seconds, int(exc.exit_code))
        return ProbeStep(name, True, success, round(time.monotonic() - started, 4))


def _parent(path: str) -> str:
    head, _, _ = path.rpartition("/")
    return head if head or not path.startswith("/") else "/"


TEMP_SUFFIX = ".wfm-part"


def _temp_name(final: str) -> str:
    # Same folder (rename stays on one file system), hidden, and never matching *.csv or *.txt.
    head, slash, name = final.rpartition("/")
    return f"{head}{slash}.{name}.{secrets.token_hex(4)}{TEMP_SUFFIX}"


def _ignore(remote: str) -> None:
    del remote

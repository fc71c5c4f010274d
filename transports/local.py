"""file:// — a local or mounted folder (a Windows share mapped to a drive works the same)."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

from wfmcli.errors import AuthError, RemoteError, TransientError, WfmError
from wfmcli.transports.base import Transport

# A network mount that drops out looks like these; worth another attempt.
_TRANSIENT_ERRNOS = {errno.EIO, errno.ETIMEDOUT, errno.EAGAIN, errno.ESTALE, errno.ENOTCONN}


class LocalTransport(Transport):
    scheme = "file"
    needs_host = False

    @property
    def base_path(self) -> str:
        return self.url.path

    def _open(self) -> None:
        """Nothing to connect to."""

    def _close(self) -> None:
        """Nothing to disconnect from."""

    def _mkdir(self, path: str) -> None:
        Path(path).mkdir(exist_ok=True)

    def _is_dir(self, path: str) -> bool:
        return Path(path).is_dir()

    def _upload(self, local: Path, remote: str) -> None:
        with local.open("rb") as source, Path(remote).open("wb") as target:
            shutil.copyfileobj(source, target, length=1024 * 1024)
            target.flush()
            # The rename that follows must not publish a file whose bytes are still in cache.
            os.fsync(target.fileno())

    def _rename(self, source: str, target: str) -> None:
        Path(source).replace(target)

    def _remote_size(self, remote: str) -> int | None:
        try:
            return Path(remote).stat().st_size
        except FileNotFoundError:
            return None

    def _remove(self, remote: str) -> None:
        Path(remote).unlink(missing_ok=True)

    def _translate(self, exc: Exception) -> WfmError:
        if isinstance(exc, PermissionError):
            return AuthError(
                f"permission denied writing {exc.filename} ({self.display()})",
                hint="give the account running wfm write access to the folder",
            )
        if isinstance(exc, OSError):
            reason = exc.strerror or str(exc)
            message = f"cannot write {exc.filename or self.base_path}: {reason}"
            if exc.errno in _TRANSIENT_ERRNOS:
                return TransientError(message)
            return RemoteError(message)
        return RemoteError(f"writing to {self.display()} failed: {exc}")

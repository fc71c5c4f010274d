"""sftp:// with paramiko. Host keys are always verified.

The server's key must match either `host_key_fingerprint` (the "SHA256:..." that `ssh-keygen -lf`
prints) or an entry in `known_hosts` (default ~/.ssh/known_hosts). An unknown host is refused with
its fingerprint, so the user can check it and pin it. Paths: sftp://host/srv/out is the absolute
/srv/out; sftp://host/~/out is `out` under the login folder (as curl reads them).
"""

from __future__ import annotations

import base64
import errno
import hashlib
import logging
import socket
import stat
from pathlib import Path
from typing import Any

import paramiko

from wfmcli.errors import AuthError, ConfigError, RemoteError, TransientError, WfmError
from wfmcli.transports.base import Transport
from wfmcli.transports.faults import network_error, timeout_error
from wfmcli.transports.options import COMMON_OPTIONS, LOGIN_OPTIONS, SSH_OPTIONS

# paramiko logs handshake failures with tracebacks; our errors already say what happened.
logging.getLogger("paramiko").addHandler(logging.NullHandler())
DEFAULT_KNOWN_HOSTS = Path("~/.ssh/known_hosts")


def fingerprint(key: paramiko.PKey) -> str:
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


class SFTPTransport(Transport):
    scheme = "sftp"
    option_names = COMMON_OPTIONS | LOGIN_OPTIONS | SSH_OPTIONS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ssh: paramiko.Transport | None = None
        self._sftp: paramiko.SFTPClient | None = None

    @property
    def base_path(self) -> str:
        path = self.url.path
        if path in {"/~", "/~/"}:
            return ""
        return path[3:] if path.startswith("/~/") else path

    @property
    def sftp(self) -> paramiko.SFTPClient:
        if self._sftp is None:
            raise TransientError(f"not connected to {self.display()}")
        return self._sftp

    def _host_label(self) -> str:
        port = self.url.port or 22
        return self.url.host if port == 22 else f"[{self.url.host}]:{port}"

    def _open(self) -> None:
        timeout = self.options.timeout
        sock = socket.create_connection((self.url.host, self.url.port or 22), timeout)
        ssh = paramiko.Transport(sock)
        self._ssh = ssh
        ssh.banner_timeout = timeout
        ssh.handshake_timeout = timeout
        ssh.auth_timeout = timeout
        ssh.start_client(timeout=timeout)
        if ssh.host_key is None:
            # start_client returns quietly when its deadline passes mid-handshake.
            raise timeout_error(f"sftp://{self.url.where()}", timeout)
        self._check_host_key(ssh.get_remote_server_key())
        self._authenticate(ssh)
        self._sftp = paramiko.SFTPClient.from_transport(ssh)
        if self._sftp is None:
            raise TransientError(f"{self.display()} did not open an SFTP session")
        self._sftp.get_channel().settimeout(timeout)  # type: ignore[union-attr]

    def _check_host_key(self, key: paramiko.PKey) -> None:
        seen = fingerprint(key)
        pinned = self.options.host_key_fingerprint
        if pinned:
            if pinned.strip().rstrip("=") != seen:
                raise RemoteError(
                    f"host key of {self.url.where()} is {seen}, not the pinned {pinned}",
                    hint="if the server's key really changed, confirm it with its administrator "
                    "and update host_key_fingerprint",
                )
            return
        path = (self.options.known_hosts or DEFAULT_KNOWN_HOSTS).expanduser()
        known = paramiko.HostKeys()
        if path.is_file():
            known.load(str(path))
        entry = known.lookup(self._host_label())
        if entry is not None and key.get_name() in entry:
            if entry[key.get_name()] == key:
                return
            raise RemoteError(
                f"host key of {self.url.where()} CHANGED: {key.get_name()} {seen} does not match "
                f"{path}",
                hint="this may be an attack; confirm the new key with the server's administrator",
            )
        raise RemoteError(
            f"unknown SSH host {self.url.where()}: its {key.get_name()} key is {seen}",
            hint=f"check the fingerprint with the server's administrator, then set "
            f"host_key_fingerprint: {seen} or add the host to {path} "
            f"(ssh-keyscan -p {self.url.port or 22} {self.url.host} >> {path})",
        )

    def _authenticate(self, ssh: paramiko.Transport) -> None:
        user = self.options.username
        if not user:
            raise ConfigError("sftp:// needs a user name: sftp://user@host/folder")
        if self.options.key_file is not None:
            key = paramiko.PKey.from_path(self.options.key_file, self.options.key_passphrase)
            ssh.auth_publickey(user, key)
        else:
            ssh.auth_password(user, self.options.password or "")

    def _close(self) -> None:
        sftp, ssh = self._sftp, self._ssh
        self._sftp = self._ssh = None
        if sftp is not None:
            sftp.close()
        if ssh is not None:
            ssh.close()

    def _mkdir(self, path: str) -> None:
        try:
            self.sftp.mkdir(path)
        except OSError:
            if not self._is_dir(path):
                raise

    def _is_dir(self, path: str) -> bool:
        try:
            mode = self.sftp.stat(path).st_mode
        except FileNotFoundError:
            return False
        return mode is not None and stat.S_ISDIR(mode)

    def _upload(self, local: Path, remote: str) -> None:
        self.sftp.put(str(local), remote, confirm=False)

    def _rename(self, source: str, target: str) -> None:
        try:
            self.sftp.posix_rename(source, target)
        except OSError:
            # Servers without the posix-rename extension refuse to replace an existing file.
            if self._remote_size(target) is None:
                raise
            self.sftp.remove(target)
            self.sftp.rename(source, target)

    def _remote_size(self, remote: str) -> int | None:
        try:
            return self.sftp.stat(remote).st_size
        except FileNotFoundError:
            return None

    def _remove(self, remote: str) -> None:
        self.sftp.remove(remote)

    def _translate(self, exc: Exception) -> WfmError:
        where = f"sftp://{self.url.where()}"
        if isinstance(exc, paramiko.AuthenticationException):
            return AuthError(
                f"login to {self.display()} refused: {exc}",
                hint="check the user name, password or key_file",
            )
        if isinstance(exc, paramiko.PasswordRequiredException):
            return ConfigError(f"key_file {self.options.key_file} needs key_passphrase")
        if isinstance(exc, PermissionError) or getattr(exc, "errno", None) == errno.EACCES:
            return AuthError(f"permission denied on {where}: {exc}")
        if isinstance(exc, FileNotFoundError):
            return RemoteError(f"no such file or folder on {where}: {exc}")
        if type(exc) is OSError and exc.errno is None and not _sounds_like_link(str(exc)):
            # paramiko raises a bare IOError for an SFTP status such as "Failure".
            return RemoteError(f"{where} refused: {exc}")
        if isinstance(exc, paramiko.SSHException) and "banner" in str(exc).lower():
            return TransientError(
                f"timed out after {self.options.timeout:g} s waiting for {where} to greet",
                hint="the server is slow or is not an SSH server",
            )
        translated = network_error(exc, where, self.options.timeout)
        if translated is not None:
            return translated
        if isinstance(exc, paramiko.SSHException):
            return TransientError(f"SSH connection to {where} failed: {exc}")
        return RemoteError(f"{where} failed: {type(exc).__name__}: {exc}")


def _sounds_like_link(message: str) -> bool:
    return any(word in message.lower() for word in ("socket", "closed", "connection", "eof"))

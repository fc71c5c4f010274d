"""ftp:// and ftps:// (explicit AUTH TLS; implicit TLS on port 990 or with ?tls=implicit).

Paths follow RFC 1738: ftp://host/outbox is `outbox` under the login folder; ftp://host//srv/outbox
is the absolute `/srv/outbox`. Passive mode only (what works through firewalls and NAT).
"""

from __future__ import annotations

import ftplib
import socket
import ssl
from pathlib import Path
from typing import Any

from wfmcli.errors import AuthError, ConfigError, RemoteError, TransientError, WfmError
from wfmcli.transports.base import Transport
from wfmcli.transports.faults import network_error
from wfmcli.transports.options import COMMON_OPTIONS, LOGIN_OPTIONS, TLS_OPTIONS
from wfmcli.transports.tls import client_context

BLOCK = 256 * 1024


class _SecureFTP(ftplib.FTP_TLS):
    """FTP_TLS that can start TLS before the banner and reuses the control TLS session on data
    connections (vsftpd, FileZilla Server and others refuse data connections that do not)."""

    implicit = False

    def connect(
        self,
        host: str = "",
        port: int = 0,
        timeout: float = -999,
        source_address: tuple[str, int] | None = None,
    ) -> str:
        if not self.implicit:
            return super().connect(host, port, timeout, source_address)
        self.host, self.port, self.timeout = host, port, timeout
        raw = socket.create_connection((host, port), timeout)
        self.af = raw.family
        self.sock = self.context.wrap_socket(raw, server_hostname=host)
        self.file = self.sock.makefile("r", encoding=self.encoding)
        self.welcome = self.getresp()
        return self.welcome

    def ntransfercmd(
        self, cmd: str, rest: int | str | None = None
    ) -> tuple[socket.socket, int | None]:
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)  # noqa: S321 - wrapped in TLS below
        if self._prot_p:  # type: ignore[attr-defined]
            session = self.sock.session if isinstance(self.sock, ssl.SSLSocket) else None
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=session)
        return conn, size


class FTPTransport(Transport):
    scheme = "ftp"
    option_names = COMMON_OPTIONS | LOGIN_OPTIONS
    default_port = 21

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ftp: ftplib.FTP | None = None
        self._home = ""

    @property
    def base_path(self) -> str:
        return self.url.path[1:] if self.url.path.startswith("/") else self.url.path

    @property
    def ftp(self) -> ftplib.FTP:
        if self._ftp is None:
            raise TransientError(f"not connected to {self.display()}")
        return self._ftp

    def _client(self) -> ftplib.FTP:
        # Plain FTP because the URL says ftp://; ftps:// is the encrypted variant below.
        return ftplib.FTP(timeout=self.options.timeout)  # noqa: S321

    def _open(self) -> None:
        client = self._client()
        self._ftp = client
        client.connect(self.url.host, self.url.port or self.default_port, self.options.timeout)
        client.login(self.options.username or "anonymous", self.options.password or "")
        if isinstance(client, ftplib.FTP_TLS):
            client.prot_p()
        client.voidcmd("TYPE I")
        self._home = client.pwd()

    def _close(self) -> None:
        client, self._ftp = self._ftp, None
        if client is not None:
            try:
                client.quit()
            finally:
                client.close()

    def _mkdir(self, path: str) -> None:
        try:
            self.ftp.mkd(path)
        except ftplib.error_perm:
            if not self._is_dir(path):
                raise

    def _is_dir(self, path: str) -> bool:
        try:
            self.ftp.cwd(path)
        except ftplib.error_perm:
            return False
        self.ftp.cwd(self._home)
        return True

    def _upload(self, local: Path, remote: str) -> None:
        with local.open("rb") as source:
            self.ftp.storbinary(f"STOR {remote}", source, blocksize=BLOCK)

    def _rename(self, source: str, target: str) -> None:
        try:
            self.ftp.rename(source, target)
        except ftplib.error_perm:
            # Servers on Windows refuse to rename onto an existing file.
            if self._remote_size(target) is None:
                raise
            self.ftp.delete(target)
            self.ftp.rename(source, target)

    def _remote_size(self, remote: str) -> int | None:
        try:
            size = self.ftp.size(remote)
        except ftplib.error_perm:
            return None
        return size

    def _remove(self, remote: str) -> None:
        self.ftp.delete(remote)

    def _translate(self, exc: Exception) -> WfmError:
        where = f"{self.scheme}://{self.url.where()}"
        reply = str(exc).strip()
        if isinstance(exc, ftplib.error_perm):
            if reply.startswith(("530", "331", "332")):
                return AuthError(
                    f"login to {self.display()} refused: {reply}",
                    hint="check the user name and password",
                )
            return RemoteError(f"{where} refused: {_why(reply)}{reply}")
        if isinstance(exc, ftplib.error_temp):
            return TransientError(f"{where} is busy: {reply}")
        if isinstance(exc, ftplib.error_reply | ftplib.error_proto):
            return TransientError(f"{where} answered unexpectedly: {reply}")
        translated = network_error(exc, where, self.options.timeout)
        return translated or RemoteError(f"{where} failed: {type(exc).__name__}: {exc}")


# RFC 959 replies a refused upload can get, in words an operator acts on
_REFUSALS = {
    "550": "permission denied or no such folder",
    "552": "no space left (storage allocation exceeded)",
    "553": "file name not allowed",
    "452": "no space left on the server",
}


def _why(reply: str) -> str:
    reason = _REFUSALS.get(reply[:3])
    return f"{reason}: " if reason else ""


class FTPSTransport(FTPTransport):
    scheme = "ftps"
    option_names = COMMON_OPTIONS | LOGIN_OPTIONS | TLS_OPTIONS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        mode = self.url.query.get("tls", "implicit" if self.url.port == 990 else "explicit")
        if mode not in {"explicit", "implicit"}:
            raise ConfigError(f"tls={mode} in the URL: use tls=explicit or tls=implicit")
        self.implicit = mode == "implicit"
        self.default_port = 990 if self.implicit else 21

    def _client(self) -> ftplib.FTP:
        context = client_context(self.options, self.url.where())
        client = _SecureFTP(context=context, timeout=self.options.timeout)
        client.implicit = self.implicit
        return client

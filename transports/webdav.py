"""webdav:// (HTTP) and webdavs:// (HTTPS) with webdavclient3.

Requests go through the client's `execute_request`, one request per step, on one keep-alive
session. Its higher-level helpers are avoided: they add round trips and `mkdir` prints to stdout,
which would corrupt `--json` output. HTTP(S)_PROXY and NO_PROXY from the environment apply.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
import urllib3
from webdav3.client import Client
from webdav3.exceptions import (
    MethodNotSupported,
    RemoteResourceNotFound,
    ResourceLocked,
    ResponseErrorCode,
)

from wfmcli.errors import AuthError, RemoteError, TransientError, WfmError
from wfmcli.transports.base import Transport
from wfmcli.transports.faults import network_error, timeout_error
from wfmcli.transports.options import COMMON_OPTIONS, LOGIN_OPTIONS, TLS_OPTIONS
from wfmcli.transports.tls import requests_verify


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Keep the library's prints and per-request TLS warnings out of our output."""
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
        yield


class WebDAVTransport(Transport):
    scheme = "webdav"
    option_names = COMMON_OPTIONS | LOGIN_OPTIONS
    http_scheme = "http"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client: Client | None = None

    @property
    def base_path(self) -> str:
        return "/" + self.url.path.strip("/") if self.url.path.strip("/") else "/"

    def _verify(self) -> bool | str:
        return True

    def _open(self) -> None:
        port = f":{self.url.port}" if self.url.port else ""
        client = Client(
            {
                "webdav_hostname": f"{self.http_scheme}://{self.url.host}{port}",
                "webdav_login": self.options.username or "",
                "webdav_password": self.options.password or "",
                "webdav_timeout": self.options.timeout,
            }
        )
        client.verify = self._verify()
        self._client = client
        # Proves the server answers and accepts the credentials before any file is sent.
        with contextlib.suppress(RemoteResourceNotFound):
            self._request("info", self.base_path, headers_ext=["Depth: 0"])

    def _close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.session.close()

    def _request(self, action: str, path: str, **kwargs: Any) -> requests.Response:
        if self._client is None:
            raise TransientError(f"not connected to {self.display()}")
        with _quiet():
            response: requests.Response = self._client.execute_request(
                action, quote(path), **kwargs
            )
            # Read the body so the connection goes back to the pool for the next file.
            _ = response.content
        return response

    def _mkdir(self, path: str) -> None:
        try:
            self._request("mkdir", path + "/")
        except (MethodNotSupported, ResponseErrorCode) as exc:
            # 405: something is there already; fine if it is a folder.
            if not self._is_dir(path):
                raise exc from None

    def _is_dir(self, path: str) -> bool:
        try:
            response = self._request("info", path, headers_ext=["Depth: 0"])
        except RemoteResourceNotFound:
            return False
        return b"collection" in response.content

    def _upload(self, local: Path, remote: str) -> None:
        with local.open("rb") as source:
            self._request("upload", remote, data=source)

    def _rename(self, source: str, target: str) -> None:
        assert self._client is not None
        destination = self._client.get_url(quote(target))
        self._request(
            "move", source, headers_ext=[f"Destination: {destination}", "Overwrite: T"]
        )

    def _remote_size(self, remote: str) -> int | None:
        try:
            response = self._request("check", remote)
        except RemoteResourceNotFound:
            return None
        length = response.headers.get("Content-Length")
        return int(length) if length is not None else None

    def _remove(self, remote: str) -> None:
        self._request("clean", remote)

    def _translate(self, exc: Exception) -> WfmError:
        where = f"{self.scheme}://{self.url.where()}"
        if isinstance(exc, ResponseErrorCode):
            code = int(exc.code)
            if code in {401, 403}:
                return AuthError(
                    f"{where} refused the login or the write (HTTP {code})",
                    hint="check the user name, password and the account's rights on the folder",
                )
            if code in {408, 429} or code >= 500:
                return TransientError(f"{where} answered HTTP {code}")
            return RemoteError(f"{where} answered HTTP {code} for {exc.url}")
        if isinstance(exc, ResourceLocked):
            return TransientError(f"{where}: the file is locked by another client")
        if isinstance(exc, RemoteResourceNotFound | MethodNotSupported):
            return RemoteError(f"{where}: {exc}")
        if isinstance(exc, requests.exceptions.Timeout):
            return timeout_error(where, self.options.timeout)
        translated = network_error(exc, where, self.options.timeout)
        return translated or RemoteError(f"{where} failed: {type(exc).__name__}: {exc}")


class WebDAVSTransport(WebDAVTransport):
    scheme = "webdavs"
    option_names = COMMON_OPTIONS | LOGIN_OPTIONS | TLS_OPTIONS
    http_scheme = "https"

    def _verify(self) -> bool | str:
        return requests_verify(self.options, self.url.where())

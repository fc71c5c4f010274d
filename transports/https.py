"""https://host/path: push each file's bytes by HTTP POST, as Calabrio ONE's `historical-data`.

Calabrio ONE takes queue statistics by POST to `https://<tenant>.teleopticloud.com/historical-data`
with `Authorization: Bearer <token>` and the data source key as a URL parameter (LivePerson's
Calabrio set-up: "Remote Url", "Headers: {Authorization: Bearer ...}", "URL Parameters:
{dataSourceKey: ...}"). The body is the file as rendered (the queue data file format).

    delivery:
      url: https://tenant.teleopticloud.com/historical-data
      token_file: /etc/wfm/calabrio.token       # or token: ${CALABRIO_TOKEN}
      data_source_key: ${CALABRIO_DATA_SOURCE}

A POST is atomic (the server takes the whole body or none), so there is no temporary name. The
endpoint cannot be listed: a file counts as there once the server answered 2xx in this session,
so a run killed between the POST and its record sends it again (Calabrio replaces an interval it
already has). 5xx, 429 and network faults are retried with backoff; any other 4xx stops at once
with the field it most likely concerns (token, data source key, URL, body).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from wfmcli import __version__
from wfmcli.errors import AuthError, ConfigError, RemoteError, TransientError, WfmError
from wfmcli.transports.base import ProbeStep, Transport
from wfmcli.transports.faults import network_error, timeout_error
from wfmcli.transports.options import COMMON_OPTIONS, HTTP_OPTIONS, TLS_OPTIONS
from wfmcli.transports.tls import client_context

DATA_SOURCE_PARAMETER = "dataSourceKey"
_BODY_SHOWN = 300  # characters of an error body worth showing
# what a 4xx most likely says is wrong, by status
_FIELD = {
    401: ("token", "the bearer token was refused", "renew the token option (token_file)"),
    403: ("token", "the token may not post here", "check the token belongs to this tenant"),
    404: (
        "url",
        "no such endpoint",
        "check the url (…/historical-data) and the data_source_key option",
    ),
    413: ("body", "the file is too large", "deliver per interval (per: interval)"),
    415: ("content_type", "the content type was refused", "set the content_type option"),
}


class HttpsPushTransport(Transport):
    scheme = "https"
    option_names = COMMON_OPTIONS | TLS_OPTIONS | HTTP_OPTIONS
    atomic_writes = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client: httpx.Client | None = None
        self._accepted: dict[str, int] = {}
        if not self.url.host:
            raise ConfigError("https:// URLs name the endpoint: https://host/historical-data")
        if not self.options.token:
            raise ConfigError(
                "an https:// delivery needs the token option (the bearer token)",
                hint="add token_file: PATH or token: ${ENV_VAR} next to the url",
            )

    @property
    def base_path(self) -> str:
        return ""

    def _endpoint(self) -> str:
        port = f":{self.url.port}" if self.url.port else ""
        return f"https://{self.url.host}{port}{self.url.path or '/'}"

    def _open(self) -> None:
        self._client = httpx.Client(
            timeout=self.options.timeout,
            verify=client_context(self.options, self._endpoint()),
            headers={
                "Authorization": f"Bearer {self.options.token}",
                "User-Agent": f"wfm/{__version__}",
            },
        )

    def _close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def _mkdir(self, path: str) -> None:
        """An endpoint has no folders."""

    def _is_dir(self, path: str) -> bool:
        return True

    def _upload(self, local: Path, remote: str) -> None:
        if self._client is None:
            raise TransientError(f"not connected to {self.display()}")
        params = dict(self.url.query)
        if self.options.data_source_key:
            params[DATA_SOURCE_PARAMETER] = self.options.data_source_key
        data = local.read_bytes()
        response = self._client.post(
            self._endpoint(),
            params=params,
            content=data,
            headers={"Content-Type": self.options.content_type},
        )
        self._check(response, remote)
        self._accepted[remote] = len(data)

    def _rename(self, source: str, target: str) -> None:
        """Never needed: a POST is atomic."""

    def _remote_size(self, remote: str) -> int | None:
        return self._accepted.get(remote)

    def _remove(self, remote: str) -> None:
        """Data posted cannot be taken back; nothing to clean up."""

    def probe(self) -> list[ProbeStep]:
        """Connect and ask the endpoint (HEAD) with the token; no data is posted to a WFM."""
        step = self._probe_step(
            "connect", self._probe_head, f"{self.display()} answers", skipped=False
        )
        later = "not done: an https:// endpoint is not written to by a probe"
        return [step, *(ProbeStep(name, None, later, 0.0) for name in ("write probe", "delete"))]

    def _probe_head(self) -> None:
        self.connect()
        assert self._client is not None
        try:
            response = self._client.head(self._endpoint())
        except Exception as exc:
            raise self._translate(exc) from exc
        if response.status_code in (401, 403) or response.status_code >= 500:
            self._check(response, "probe")

    def _check(self, response: httpx.Response, remote: str) -> None:
        status = response.status_code
        if status < 400:
            return
        body = _body(response)
        where = f"{self.display()} ({remote})"
        if status == 429 or status >= 500:
            retry_after = response.headers.get("Retry-After")
            raise TransientError(
                f"{where} answered HTTP {status}{body}",
                retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None,
            )
        field, what, hint = _FIELD.get(status, _named_field(response))
        message = f"{where} refused the file: HTTP {status}: {what} (field: {field}){body}"
        if status in (401, 403):
            raise AuthError(message, hint=hint)
        raise RemoteError(message, hint=hint)

    def _translate(self, exc: Exception) -> WfmError:
        where = self.display()
        if isinstance(exc, httpx.TimeoutException):
            return timeout_error(where, self.options.timeout)
        translated = network_error(exc, where, self.options.timeout)
        if translated is not None:
            return translated
        if isinstance(exc, httpx.TransportError):
            return TransientError(f"connection to {where} failed: {exc}")
        return RemoteError(f"{where} failed: {type(exc).__name__}: {exc}")


def _named_field(response: httpx.Response) -> tuple[str, str, str]:
    """A 400/422 body that names a field (JSON `field`, `errors`, or the data source key)."""
    text = response.text
    named = ""
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if isinstance(document, dict):
        if isinstance(document.get("field"), str):
            named = document["field"]
        elif isinstance(document.get("errors"), dict) and document["errors"]:
            named = str(next(iter(document["errors"])))
    if not named and DATA_SOURCE_PARAMETER.casefold() in text.casefold():
        named = DATA_SOURCE_PARAMETER
    if named.casefold() == DATA_SOURCE_PARAMETER.casefold():
        return ("data_source_key", "the data source key was refused", "check data_source_key")
    if named:
        return (named, "the server named this field", "check the profile's columns for it")
    return ("body", "the server did not take the data", "check the file against the format")


def _body(response: httpx.Response) -> str:
    text = " ".join(response.text.split())[:_BODY_SHOWN]
    return f": {text}" if text else ""

"""Turn Genesys answers and httpx failures into the wfm exception hierarchy.

Platform endpoints answer errors with `{message, code, status, contextId, ...}`; the login host
answers OAuth-style `{error, description, error_description}`. 401/403 and OAuth refusals are
AuthError, 429/5xx and network failures TransientError, any other refusal RemoteError. The
`contextId` stays in the message: it is what Genesys support asks for.
"""

from __future__ import annotations

from typing import Any

import httpx

from wfmcli.errors import AuthError, RemoteError, TransientError, WfmError
from wfmcli.secrets import redact

_MAX_DETAIL = 240


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _MAX_DETAIL else flat[: _MAX_DETAIL - 3] + "..."


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    """Seconds to wait from `Retry-After`, else from `inin-ratelimit-reset`; None when absent."""
    for name in ("retry-after", "inin-ratelimit-reset"):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value)
        except ValueError:
            continue  # an HTTP-date Retry-After; Genesys sends seconds
        if seconds >= 0:
            return seconds
    return None


def error_from_response(response: httpx.Response, *, what: str) -> WfmError:
    """The error for a non-2xx platform API answer; `what` names the request, e.g. `GET /x`."""
    status = response.status_code
    body = _body(response)
    code = str(body.get("code") or "")
    message = _one_line(str(body.get("message") or response.reason_phrase or "no message"))
    context = body.get("contextId") or response.headers.get("inin-correlation-id")
    text = f"Genesys Cloud {what} failed: HTTP {status}"
    if code:
        text += f" {code}"
    text += f": {message}"
    if context:
        text += f" (contextId {context})"
    text = redact(text)
    if status in (401, 403):
        hint = (
            "grant the OAuth client the missing permission or division"
            if status == 403
            else "check the client credentials; the token was refused"
        )
        return AuthError(text, hint=hint)
    error = (
        TransientError(text, hint="retry later", retry_after=retry_after_seconds(response.headers))
        if status == 429 or status >= 500
        else RemoteError(text)
    )
    error.status = status
    return error


def error_from_token_response(
    response: httpx.Response, *, client_id: str, login_url: str
) -> WfmError:
    """The error for a refused client-credentials grant at `{login}/oauth/token`."""
    status = response.status_code
    if status == 429 or status >= 500:
        return error_from_response(response, what=f"login at {login_url}")
    body = _body(response)
    reason = body.get("error_description") or body.get("description") or body.get("message")
    error = body.get("error") or body.get("code") or f"HTTP {status}"
    detail = _one_line(f"{error}: {reason}" if reason else str(error))
    return AuthError(
        redact(f"Genesys Cloud login at {login_url} refused client {client_id}: {detail}"),
        hint="check client_id and client_secret; wfm auth store saves a new secret",
    )


def error_from_exception(exc: httpx.HTTPError, *, what: str, host: str) -> TransientError:
    """Network-level failures: every one of them may succeed later, so all are transient."""
    reason = _one_line(str(exc) or type(exc).__name__)
    if isinstance(exc, httpx.ProxyError):
        message = f"Genesys Cloud {what}: the proxy refused the connection to {host}: {reason}"
        hint = "check the proxy setting of the source or HTTPS_PROXY"
    elif isinstance(exc, httpx.TimeoutException):
        message = f"Genesys Cloud {what}: {host} did not answer in time ({type(exc).__name__})"
        # No setting changes the timeout (60 s a read), so the hint must not offer one.
        hint = "check the network and proxy, then run again (a slow answer may pass later)"
    elif isinstance(exc, httpx.ConnectError):
        message = f"Genesys Cloud {what}: cannot reach {host}: {reason}"
        hint = "check the region or base URL, DNS, firewall and proxy"
    else:
        message = f"Genesys Cloud {what}: connection to {host} failed: {reason}"
        hint = "retry later"
    return TransientError(redact(message), hint=hint)

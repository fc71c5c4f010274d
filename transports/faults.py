"""Sort foreign exceptions into wfm's error classes: retry, fix credentials, or give up."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator

from wfmcli.errors import RemoteError, TransientError, WfmError

TLS_HINT = (
    "set ca_bundle to the CA file that signed the server's certificate; "
    "insecure_skip_verify: true turns checking off and is for tests only"
)


def causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it wraps: __cause__, __context__, and `reason` or
    exception arguments (urllib3 and requests hide the real error there)."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        linked += [arg for arg in current.args if isinstance(arg, BaseException)]
        pending += [item for item in linked if isinstance(item, BaseException)]


def find(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    return next((item for item in causes(exc) if isinstance(item, kind)), None)


def tls_error(exc: BaseException, where: str) -> RemoteError | None:
    """A refused certificate or failed handshake; a TLS stream cut short is not one."""
    cert = find(exc, ssl.SSLCertVerificationError)
    if isinstance(cert, ssl.SSLCertVerificationError):
        reason = cert.verify_message or str(cert)
        return RemoteError(f"TLS certificate of {where} refused: {reason}", hint=TLS_HINT)
    other = find(exc, ssl.SSLError)
    if other is not None and not isinstance(other, ssl.SSLEOFError | ssl.SSLZeroReturnError):
        return RemoteError(f"TLS handshake with {where} failed: {other}", hint=TLS_HINT)
    return None


def timeout_error(where: str, timeout: float) -> TransientError:
    return TransientError(
        f"timed out after {timeout:g} s waiting for {where}",
        hint="the server is slow or unreachable; raise the timeout option if it is just slow",
    )


def network_error(exc: BaseException, where: str, timeout: float) -> WfmError | None:
    """Translate socket-level failures; None when `exc` is not one."""
    tls = tls_error(exc, where)
    if tls is not None:
        return tls
    if find(exc, TimeoutError) is not None or "timed out" in str(exc).lower():
        return timeout_error(where, timeout)
    if find(exc, ConnectionRefusedError) is not None:
        return TransientError(
            f"connection refused by {where}",
            hint="check that the server runs and the port is right",
        )
    if find(exc, ssl.SSLEOFError) or find(exc, ssl.SSLZeroReturnError):
        return TransientError(f"connection to {where} was cut off")
    if find(exc, socket.gaierror) is not None:
        return TransientError(f"cannot resolve the host name of {where}")
    lost = find(exc, OSError) or find(exc, EOFError)
    if lost is not None:
        return TransientError(f"connection to {where} failed: {_describe(lost)}")
    return None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__

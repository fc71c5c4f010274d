"""Keep secret values out of logs, output and exception text.

Every secret the configuration resolves is registered here; `redact` masks registered values
and credentials embedded in URLs wherever text leaves the process.
"""

from __future__ import annotations

import logging
import re
import threading

MASK = "***"
_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^/@:\s]+:)(?P<pw>[^@/\s]+)@")
_lock = threading.Lock()
_known: set[str] = set()


def register_secret(value: str) -> None:
    # Very short values would mask ordinary words; they are still never printed by config show.
    if len(value) >= 4:
        with _lock:
            _known.add(value)


def redact(text: str) -> str:
    text = _URL_PASSWORD.sub(rf"\g<head>{MASK}@", text)
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for value in known:
        text = text.replace(value, MASK)
    return text


class RedactingFilter(logging.Filter):
    """Masks secrets in every record a handler emits, arguments included."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True

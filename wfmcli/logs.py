"""Logging set-up: a terse stderr handler for people and a rotating file for batch runs."""

from __future__ import annotations

import json
import logging
import logging.handlers
from pathlib import Path

from wfmcli.errors import UsageError
from wfmcli.secrets import RedactingFilter

LOG_FILE_BYTES = 10 * 1024 * 1024
LOG_FILE_BACKUPS = 5


def setup_logging(verbosity: int, log_file: Path | None) -> None:
    """verbosity: -1 quiet (errors only), 0 warnings, 1 info, 2+ debug."""
    root = logging.getLogger("wfm")
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    root.setLevel(logging.DEBUG)
    root.propagate = False

    console = logging.StreamHandler()
    console.setLevel({-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(verbosity, 10))
    console.setFormatter(logging.Formatter("wfm: %(levelname)s: %(message)s"))
    console.addFilter(RedactingFilter())
    root.addHandler(console)

    if log_file is not None:
        try:
            log_file.parent.mkdir(parents=True, exist_ok=True)
            rotating = logging.handlers.RotatingFileHandler(
                log_file, maxBytes=LOG_FILE_BYTES, backupCount=LOG_FILE_BACKUPS, encoding="utf-8"
            )
        except OSError as exc:
            raise UsageError(
                f"cannot open log file {log_file}: {exc.strerror}",
                hint="choose a writable path for --log-file",
            ) from exc
        rotating.setLevel(logging.DEBUG)
        rotating.setFormatter(
            logging.Formatter("%(asctime)s %(process)d %(name)s %(levelname)s %(message)s")
        )
        rotating.addFilter(RedactingFilter())
        root.addHandler(rotating)


class JsonLineFormatter(logging.Formatter):
    """One JSON object per line: time (UTC ISO), level, logger, message (for log shippers)."""

    def format(self, record: logging.LogRecord) -> str:
        from datetime import UTC, datetime

        body = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            body["error"] = self.formatException(record.exc_info)
        return json.dumps(body, ensure_ascii=False)

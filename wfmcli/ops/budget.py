"""The API budget: request counts persisted per scope and UTC day, and the licence allotment.

Every command that talks to Genesys ends with `record_usage(scope, client.counter)`; a process
that lives for days (the RTA relay) keeps a `UsageRecorder` and calls `flush()` now and then,
which records only what was counted since the last flush.

One small JSON file per scope, `<data dir>/api-usage/<scope>.json`:

    {"version": 1, "scope": "prod",
     "days": {"2026-11-25": {"<client id>": {"GET /api/v2/users": 12, ...}}},
     "sizes": {...last sizes seen by wfm doctor...}}

Writes are crash-safe (a temporary file in the same folder, fsync, atomic rename) and two
processes recording at once are serialised by an OS file lock, so no count is lost or doubled.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from wfmcli import paths
from wfmcli.errors import ConfigError, UsageError
from wfmcli.filelock import try_lock
from wfmcli.genesys.counter import RequestCounter

FORMAT_VERSION = 1
LOCK_WAIT_S = 10.0
DayCounts = dict[str, dict[str, int]]  # client id -> endpoint template -> requests

# Monthly API requests allotted per billable user, by licence (Genesys Cloud fair-use policy,
# "API on-demand" allocation): (named user, concurrent user).
ALLOTMENTS: dict[str, tuple[int, int]] = {
    "communicate": (10_000, 10_000),
    "cx1": (75_000, 97_500),
    "cx2": (110_000, 143_000),
    "cx2_digital": (110_000, 143_000),
    "cx3": (140_000, 182_000),
    "cx3_digital": (140_000, 182_000),
    "ex": (75_000, 75_000),
}
BILLING = ("named", "concurrent")


def usage_dir() -> Path:
    return paths.data_dir() / "api-usage"


def _check_scope(scope: str) -> str:
    if not scope or any(c in scope for c in "/\\:") or scope.startswith("."):
        raise UsageError(f"not a scope name: {scope!r}")
    return scope


@dataclass
class UsageLog:
    scope: str
    days: dict[str, DayCounts] = field(default_factory=dict)
    sizes: dict[str, Any] = field(default_factory=dict)

    def add(self, day: date, counts: Mapping[str, Mapping[str, int]]) -> None:
        per_day = self.days.setdefault(day.isoformat(), {})
        for credential, endpoints in counts.items():
            per_credential = per_day.setdefault(credential, {})
            for endpoint, count in endpoints.items():
                per_credential[endpoint] = per_credential.get(endpoint, 0) + int(count)

    def day_total(self, day: str) -> int:
        return sum(sum(e.values()) for e in self.days.get(day, {}).values())

    def month_totals(self) -> dict[str, int]:
        months: dict[str, int] = {}
        for day in self.days:
            months[day[:7]] = months.get(day[:7], 0) + self.day_total(day)
        return dict(sorted(months.items()))

    def to_json(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "scope": self.scope,
            "days": dict(sorted(self.days.items())),
            "sizes": self.sizes,
        }


class UsageStore:
    """The per-scope files under one folder (default: the user data dir)."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or usage_dir()
        self._thread_lock = threading.Lock()

    def path(self, scope: str) -> Path:
        return self.folder / f"{_check_scope(scope)}.json"

    def load(self, scope: str) -> UsageLog:
        path = self.path(scope)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return UsageLog(scope)
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"cannot read the API usage file {path}: {exc}",
                hint="move the file away; wfm starts a new one",
            ) from exc
        if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
            raise ConfigError(f"{path} is not an API usage file of this wfm version")
        return UsageLog(scope, dict(data.get("days") or {}), dict(data.get("sizes") or {}))

    @contextlib.contextmanager
    def update(self, scope: str) -> Iterator[UsageLog]:
        """Load, let the caller change, save atomically; other writers wait on a file lock."""
        path = self.path(scope)
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._thread_lock, path.with_suffix(".lock").open("a+", encoding="utf-8") as lock:
            deadline = time.monotonic() + LOCK_WAIT_S
            while not try_lock(lock):
                if time.monotonic() > deadline:
                    raise UsageError(f"another wfm process holds {path.with_suffix('.lock')}")
                time.sleep(0.02)
            log = self.load(scope)
            yield log
            _atomic_write(path, json.dumps(log.to_json(), indent=1, sort_keys=True))
            # the lock is released when the handle closes

    def record(
        self, scope: str, counts: Mapping[str, Mapping[str, int]], when: datetime | None = None
    ) -> None:
        if not any(any(e.values()) for e in counts.values()):
            return
        day = (when or datetime.now(UTC)).astimezone(UTC).date()
        with self.update(scope) as log:
            log.add(day, counts)

    def save_sizes(self, scope: str, sizes: Mapping[str, Any]) -> None:
        with self.update(scope) as log:
            log.sizes = dict(sizes)


def _atomic_write(path: Path, text: str) -> None:
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        Path(temporary).replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(temporary).unlink()
        raise


def record_usage(
    scope: str,
    counter: RequestCounter,
    *,
    store: UsageStore | None = None,
    when: datetime | None = None,
) -> None:
    """Add everything `counter` counted to today's (UTC) tally of `scope`. Call once per counter."""
    (store or UsageStore()).record(scope, counter.by_credential(), when)


class UsageRecorder:
    """For long-lived processes: each flush records only what was counted since the last one."""

    def __init__(self, scope: str, counter: RequestCounter, store: UsageStore | None = None):
        self.scope = scope
        self.counter = counter
        self.store = store or UsageStore()
        self._recorded: dict[tuple[str, str], int] = {}

    def flush(self, when: datetime | None = None) -> int:
        delta: dict[str, dict[str, int]] = {}
        current: dict[tuple[str, str], int] = {}
        for row in self.counter.rows():
            key = (row.credential, row.endpoint)
            current[key] = row.count
            new = row.count - self._recorded.get(key, 0)
            if new:
                delta.setdefault(row.credential, {})[row.endpoint] = new
        self.store.record(self.scope, delta, when)
        self._recorded = current
        return sum(sum(e.values()) for e in delta.values())


def allotment_per_user(licence: str, billing: str) -> int:
    """Monthly requests a billable user of this licence brings to the org's allotment."""
    key = licence.strip().lower().replace("-", "_").replace(" ", "_").replace("cx_", "cx")
    if key not in ALLOTMENTS:
        raise UsageError(
            f"unknown licence type {licence!r}", hint=f"one of: {', '.join(ALLOTMENTS)}"
        )
    if billing not in BILLING:
        raise UsageError(f"billing must be named or concurrent, not {billing!r}")
    named, concurrent = ALLOTMENTS[key]
    return named if billing == "named" else concurrent

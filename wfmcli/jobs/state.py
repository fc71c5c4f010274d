"""The delivery record of one destination: a JSON snapshot plus an append-only journal.

A file counts as delivered only once the transport has confirmed it; before sending, its name and
hash are journalled as in flight, so a run killed mid-upload is finished, not doubled, next time.
Each journal line is written through to the OS at once (a killed process loses nothing) and
flushed to disk at the end of every day's work and of the run; the run then folds the journal
into a new snapshot, replaced atomically. Replaying a journal is idempotent, so a crash between
the two steps is harmless.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from wfmcli.errors import UsageError

FORMAT = "wfm-delivery-state"
VERSION = 1
KEEP_RUNS = 50


def period_key(report: str, period_start: str) -> str:
    """Files are tracked by what they cover, since some vendors' names carry the render time."""
    return f"{report}@{period_start}"


@dataclass
class Delivered:
    name: str
    sha256: str
    bytes: int
    report: str
    period_start: str  # ISO UTC
    period_end: str
    delivered_at: str


@dataclass
class InFlight:
    name: str
    sha256: str
    bytes: int
    started_at: str


@dataclass
class RunRecord:
    started_at: str
    finished_at: str
    outcome: str
    delivered: int
    unchanged: int
    failed: int
    message: str = ""


@dataclass
class DeliveryState:
    target: str
    files: dict[str, Delivered] = field(default_factory=dict)  # by period_key
    in_flight: dict[str, InFlight] = field(default_factory=dict)  # by period_key
    runs: list[RunRecord] = field(default_factory=list)
    # remote temp files a run started writing and has not seen renamed or removed (full remote
    # path -> when); the next run removes them, and only them
    temp_files: dict[str, str] = field(default_factory=dict)

    def delivered_periods(self) -> set[tuple[str, str]]:
        """(report, period start ISO) pairs already delivered."""
        return {(d.report, d.period_start) for d in self.files.values()}

    def add_run(self, record: RunRecord) -> None:
        self.runs = [*self.runs, record][-KEEP_RUNS:]

    def forget_before(self, cutoff: datetime) -> None:
        """Drop records of files whose period ended before cutoff; they will not be re-sent."""
        # Period ends are stored in UTC; an ISO string with another offset would compare as text
        # hours away from the instant it names.
        limit = cutoff.astimezone(UTC).isoformat()
        self.files = {k: v for k, v in self.files.items() if v.period_end >= limit}

    def apply(self, entry: dict[str, Any]) -> None:
        """One journal entry: {"op": "in_flight" | "delivered", "key": ..., "record": {...}}, or
        {"op": "temp" | "temp_gone", "name": remote path, "at": ISO time}."""
        if entry["op"] == "temp":
            self.temp_files[entry["name"]] = entry["at"]
            return
        if entry["op"] == "temp_gone":
            self.temp_files.pop(entry["name"], None)
            return
        key, record = entry["key"], entry["record"]
        if entry["op"] == "in_flight":
            self.in_flight[key] = InFlight(**record)
        else:
            self.files[key] = Delivered(**record)
            self.in_flight.pop(key, None)


class StateStore:
    def __init__(self, path: Path, target: str) -> None:
        self.path = path
        self.target = target
        self.journal_path = path.with_name(path.name + ".journal")
        self._journal: IO[str] | None = None

    def load(self) -> DeliveryState:
        state = self._load_snapshot()
        try:
            lines = self.journal_path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return state
        except OSError as exc:
            raise self._damaged(str(exc)) from exc
        for number, line in enumerate(lines, start=1):
            try:
                state.apply(json.loads(line))
            except (ValueError, KeyError, TypeError) as exc:
                if number == len(lines):
                    break  # the last line was being written when the process died
                raise self._damaged(f"journal line {number}: {exc}") from exc
        return state

    def record_in_flight(self, state: DeliveryState, key: str, entry: InFlight) -> None:
        self._append(state, {"op": "in_flight", "key": key, "record": asdict(entry)})

    def record_delivered(self, state: DeliveryState, key: str, entry: Delivered) -> None:
        self._append(state, {"op": "delivered", "key": key, "record": asdict(entry)})

    def record_temp(self, state: DeliveryState, name: str, at: str) -> None:
        """Journalled before the first byte is written to the temp name."""
        self._append(state, {"op": "temp", "name": name, "at": at})

    def record_temp_gone(self, state: DeliveryState, name: str) -> None:
        if name in state.temp_files:
            self._append(state, {"op": "temp_gone", "name": name, "at": ""})

    def flush(self) -> None:
        """Make every journal line so far durable on disk."""
        if self._journal is not None:
            os.fsync(self._journal.fileno())

    def save(self, state: DeliveryState) -> None:
        """Write the whole state as the new snapshot and drop the journal it contains."""
        document: dict[str, Any] = {"format": FORMAT, "version": VERSION, **asdict(state)}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        with temp.open("w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=1, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        temp.replace(self.path)
        _sync_folder(self.path.parent)
        self._close_journal()
        self.journal_path.unlink(missing_ok=True)

    def _append(self, state: DeliveryState, entry: dict[str, Any]) -> None:
        state.apply(entry)
        if self._journal is None:
            self.journal_path.parent.mkdir(parents=True, exist_ok=True)
            self._journal = self.journal_path.open("a", encoding="utf-8")
        self._journal.write(json.dumps(entry, sort_keys=True) + "\n")
        self._journal.flush()  # to the OS: survives a killed process

    def _close_journal(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None

    def _load_snapshot(self) -> DeliveryState:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return DeliveryState(self.target)
        except (OSError, ValueError) as exc:
            raise self._damaged(str(exc)) from exc
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise self._damaged("not a wfm delivery state file")
        if raw.get("version") != VERSION:
            raise UsageError(
                f"{self.path} has state format version {raw.get('version')}, "
                f"this wfm reads version {VERSION}",
                hint="run the wfm that wrote it, or upgrade this one",
            )
        try:
            return DeliveryState(
                target=str(raw["target"]),
                files={k: Delivered(**v) for k, v in raw["files"].items()},
                in_flight={k: InFlight(**v) for k, v in raw["in_flight"].items()},
                runs=[RunRecord(**r) for r in raw["runs"]],
                temp_files={str(k): str(v) for k, v in raw.get("temp_files", {}).items()},
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise self._damaged(f"unexpected content ({exc})") from exc

    def _damaged(self, why: str) -> UsageError:
        # a file wfm reads that the user must move aside: not an internal error (exit 1)
        return UsageError(
            f"delivery state {self.path} is damaged: {why}",
            hint="move it and its .journal aside to start over; intervals inside the backfill "
            "window are then re-sent",
        )


def _sync_folder(folder: Path) -> None:
    # the rename itself must reach the disk before we report success (POSIX only)
    if os.name == "nt":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)

"""The delivery record of one destination: one small JSON file, replaced atomically.

A file counts as delivered only once the transport has confirmed it; before sending, its name and
hash are journalled as in flight, so a run killed mid-upload is finished, not doubled, next time.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from wfmcli.errors import WfmError

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

    def delivered_periods(self) -> set[tuple[str, str]]:
        """(report, period start ISO) pairs already delivered."""
        return {(d.report, d.period_start) for d in self.files.values()}

    def add_run(self, record: RunRecord) -> None:
        self.runs = [*self.runs, record][-KEEP_RUNS:]

    def forget_before(self, cutoff: datetime) -> None:
        """Drop records of files whose period ended before cutoff; they will not be re-sent."""
        limit = cutoff.isoformat()
        self.files = {k: v for k, v in self.files.items() if v.period_end >= limit}


class StateStore:
    def __init__(self, path: Path, target: str) -> None:
        self.path = path
        self.target = target

    def load(self) -> DeliveryState:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return DeliveryState(self.target)
        except (OSError, ValueError) as exc:
            raise self._damaged(str(exc)) from exc
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise self._damaged("not a wfm delivery state file")
        if raw.get("version") != VERSION:
            raise WfmError(
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
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise self._damaged(f"unexpected content ({exc})") from exc

    def save(self, state: DeliveryState) -> None:
        document: dict[str, Any] = {"format": FORMAT, "version": VERSION, **asdict(state)}
        text = json.dumps(document, indent=1, sort_keys=True)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        with temp.open("w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        temp.replace(self.path)
        _sync_folder(self.path.parent)

    def _damaged(self, why: str) -> WfmError:
        return WfmError(
            f"delivery state {self.path} is damaged: {why}",
            hint="move it aside to start over; intervals inside the backfill window are then "
            "re-sent",
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

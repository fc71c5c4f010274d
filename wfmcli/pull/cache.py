"""The frame cache: Parquet files partitioned by scope, frame, zone, interval and local day.

    <root>/<scope>/<frame>/tz=<Area~City>/interval=<minutes>/day=<YYYY-MM-DD>/
        data.parquet    the rows of that local day (time column in [day start, next day start))
        pulled.json     when each range of the day was pulled, newest last

Different destinations of one scope may want different zones and interval lengths, so those are
part of the path. A re-pull of a range replaces exactly that range's rows in its day partition
(late data wins) and leaves the rest of the day alone. Files are written to a temporary name and
renamed, so a killed pull leaves the previous partition intact.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from wfmcli import frames
from wfmcli.errors import UsageError
from wfmcli.paths import cache_dir
from wfmcli.pull.identity import IdentityFile
from wfmcli.timegrid import local_midnight

DATA_FILE = "data.parquet"
PULLED_FILE = "pulled.json"


@dataclass(frozen=True)
class Partition:
    scope: str
    frame: str
    zone: ZoneInfo
    minutes: int
    day: date

    def path(self, root: Path) -> Path:
        zone = self.zone.key.replace("/", "~")
        return (
            root / self.scope / self.frame / f"tz={zone}"
            / f"interval={self.minutes}" / f"day={self.day.isoformat()}"
        )  # fmt: skip


@dataclass(frozen=True)
class PullRecord:
    start: datetime
    end: datetime
    pulled_at: datetime
    rows: int


class FrameCache:
    """`root` defaults to `<cache dir>/frames`, where `wfm report SCOPE/DEST` looks."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root if root is not None else cache_dir() / "frames"

    def identity(self, scope: str) -> IdentityFile:
        """The org the scope's partitions belong to (<root>/<scope>/org.json)."""
        return IdentityFile(self.root / scope, "frame cache")

    def write(
        self,
        partition: Partition,
        start: datetime,
        end: datetime,
        df: pd.DataFrame,
        *,
        pulled_at: datetime | None = None,
    ) -> Path:
        """Store `df` as the rows of [start, end) in the partition, replacing what was there."""
        folder = partition.path(self.root)
        folder.mkdir(parents=True, exist_ok=True)
        time_column = frames.spec(partition.frame).time_column
        old = self._read_file(folder / DATA_FILE, partition.frame)
        if old is not None:
            times = old[time_column]
            keep = old[(times < pd.Timestamp(start)) | (times >= pd.Timestamp(end))]
            df = pd.concat([keep, df], ignore_index=True) if len(keep) else df
            extra = [c for c in df.columns if str(c).startswith("secondary_")]
            df[extra] = df[extra].fillna(0.0)
        keys = frames.spec(partition.frame).keys
        df = df.sort_values(keys, kind="stable").reset_index(drop=True)
        target = folder / DATA_FILE
        _atomic(
            target, lambda tmp: pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp)
        )
        record = PullRecord(start, end, pulled_at or datetime.now(UTC), len(df))
        self._record(folder, record)
        return target

    def read(
        self,
        scope: str,
        frame: str,
        zone: ZoneInfo,
        minutes: int,
        start: datetime,
        end: datetime,
    ) -> pd.DataFrame:
        """The cached rows of [start, end); days never pulled contribute nothing."""
        if end <= start:
            raise UsageError(
                f"the end {end.isoformat()} is not after the start {start.isoformat()}"
            )
        time_column = frames.spec(frame).time_column
        parts = []
        day = start.astimezone(zone).date()
        while local_midnight(day, zone) < pd.Timestamp(end):
            partition = Partition(scope, frame, zone, minutes, day)
            df = self._read_file(partition.path(self.root) / DATA_FILE, frame)
            if df is not None:
                times = df[time_column]
                parts.append(df[(times >= pd.Timestamp(start)) & (times < pd.Timestamp(end))])
            day += timedelta(days=1)
        if not parts:
            return frames.empty_frame(frame)
        return pd.concat(parts, ignore_index=True)

    def pulls(self, partition: Partition) -> list[PullRecord]:
        path = partition.path(self.root) / PULLED_FILE
        if not path.exists():
            return []
        return [
            PullRecord(
                datetime.fromisoformat(item["start"]),
                datetime.fromisoformat(item["end"]),
                datetime.fromisoformat(item["pulled_at"]),
                int(item["rows"]),
            )
            for item in json.loads(path.read_text(encoding="utf-8"))
        ]

    @staticmethod
    def _read_file(path: Path, frame: str) -> pd.DataFrame | None:
        if not path.exists():
            return None
        return frames.coerce(frame, pq.read_table(path).to_pandas())

    def _record(self, folder: Path, record: PullRecord) -> None:
        path = folder / PULLED_FILE
        history: list[dict[str, Any]] = (
            json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
        )
        history.append(
            {
                "start": record.start.isoformat(),
                "end": record.end.isoformat(),
                "pulled_at": record.pulled_at.isoformat(),
                "rows": record.rows,
            }
        )
        text = json.dumps(history, indent=1)
        _atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _atomic(target: Path, write: Any) -> None:
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        tmp.replace(target)
    finally:
        if tmp.exists():
            tmp.unlink()

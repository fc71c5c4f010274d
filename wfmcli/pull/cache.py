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
from collections.abc import Iterable, Iterator
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
ROW_GROUP_ROWS = 64 * 1024


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

    def write_sorted(
        self,
        partition: Partition,
        start: datetime,
        end: datetime,
        pieces: Iterable[pd.DataFrame],
        *,
        pulled_at: datetime | None = None,
    ) -> Path:
        """`write` for a frame that comes as consecutive pieces, each sorted by the frame's keys
        and after the one before: written one row group at a time, never whole in memory.

        The rows of [start, end) are replaced as in `write`. For a frame whose first key is its
        time column, the day's other rows keep their place around the new ones, read back in
        row groups; agent_status (sorted by agent first) is merged in memory instead.
        """
        folder = partition.path(self.root)
        folder.mkdir(parents=True, exist_ok=True)
        spec = frames.spec(partition.frame)
        target = folder / DATA_FILE
        keeps = target.exists() and _keeps(target, spec, start, end)
        old = pq.ParquetFile(target) if keeps else None
        if old is not None and spec.keys[0] != spec.time_column:
            new = [piece for piece in pieces if len(piece)]
            df = pd.concat(new, ignore_index=True) if new else frames.empty_frame(partition.frame)
            return self.write(partition, start, end, df, pulled_at=pulled_at)
        writer = _PieceWriter(old.schema_arrow.names if old is not None else None)

        def write(tmp: Path) -> None:
            try:
                if old is not None:
                    writer.extend(tmp, self._kept(old, partition.frame, start, end, "before"))
                writer.extend(tmp, pieces)
                if old is not None:
                    writer.extend(tmp, self._kept(old, partition.frame, start, end, "after"))
            finally:
                writer.close()
            if writer.writer is None:  # nothing at all: still a file, as `write` leaves one
                pq.write_table(pa.Table.from_pandas(frames.empty_frame(partition.frame)), tmp)

        _atomic(target, write)
        self._record(folder, PullRecord(start, end, pulled_at or datetime.now(UTC), writer.rows))
        return target

    @staticmethod
    def _kept(
        old: pq.ParquetFile, frame: str, start: datetime, end: datetime, side: str | None
    ) -> Iterator[pd.DataFrame]:
        """The old file's rows outside [start, end), row group by row group: those before
        start, those from end on, or (side None) both."""
        time_column = frames.spec(frame).time_column
        for group in range(old.num_row_groups):
            df = frames.coerce(frame, old.read_row_group(group).to_pandas())
            times = df[time_column]
            before, after = times < pd.Timestamp(start), times >= pd.Timestamp(end)
            keep = before if side == "before" else after if side == "after" else before | after
            if keep.any():
                yield df[keep].reset_index(drop=True)

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


def _keeps(path: Path, spec: frames.FrameSpec, start: datetime, end: datetime) -> bool:
    """Whether the file has rows outside [start, end) (reads only the time column)."""
    times = pq.read_table(path, columns=[spec.time_column]).column(0)
    stamps = pd.to_datetime(times.to_pandas(), utc=True)
    return bool(((stamps < pd.Timestamp(start)) | (stamps >= pd.Timestamp(end))).any())


class _PieceWriter:
    """Frames appended to one Parquet file under the first one's schema, gathered into row
    groups of about `ROW_GROUP_ROWS` (small row groups compress worse and read slower).

    `columns` (the old file's) come first when given, as `pd.concat([old, new])` would order
    them; secondary-presence columns one side lacks are zeros.
    """

    def __init__(self, columns: list[str] | None) -> None:
        self.columns = columns
        self.writer: pq.ParquetWriter | None = None
        self.schema: pa.Schema | None = None
        self.rows = 0
        self._pending: list[pa.Table] = []
        self._pending_rows = 0

    def extend(self, path: Path, pieces: Iterable[pd.DataFrame]) -> None:
        for df in pieces:
            if self.columns is not None:
                if self.writer is None:
                    self.columns += [c for c in df.columns if c not in self.columns]
                df = df.reindex(columns=self.columns)
                extra = [c for c in df.columns if str(c).startswith("secondary_")]
                df[extra] = df[extra].fillna(0.0)
            if self.writer is None:
                self.schema = pa.Schema.from_pandas(df, preserve_index=False)
                self.writer = pq.ParquetWriter(path, self.schema)
            if len(df):
                self._pending.append(
                    pa.Table.from_pandas(df, schema=self.schema, preserve_index=False)
                )
                self._pending_rows += len(df)
                self.rows += len(df)
            if self._pending_rows >= ROW_GROUP_ROWS:
                self._flush()

    def _flush(self) -> None:
        if self.writer is not None and self._pending:
            self.writer.write_table(pa.concat_tables(self._pending), row_group_size=2**31 - 1)
        self._pending, self._pending_rows = [], 0

    def close(self) -> None:
        if self.writer is not None:
            self._flush()
            self.writer.close()


def _atomic(target: Path, write: Any) -> None:
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        tmp.replace(target)
    finally:
        if tmp.exists():
            tmp.unlink()

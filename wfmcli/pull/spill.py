"""Columnar spill files: a day's agent rows go to disk as they arrive, and come back in order.

A 20,000-agent day is about 800 MB of finished frames, a 100,000-agent day 4 GB, so the pull
never holds a whole day of agent rows. Each answer becomes a small block of integer key codes and
float64 values (about 8 bytes a cell instead of a Python float in a list in a dict); blocks are
buffered up to `BUFFER_BYTES` and then written to an Arrow IPC file, one record batch per interval
for interval-keyed frames (`IntervalSpill`) or per answer for status rows (`RangeSpill`). The
assembler then reads one interval (or one batch of users) at a time back, so what is in memory at
once is bounded by the size of one interval of the org, not of its day.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

BUFFER_BYTES = 16 * 2**20
STAGING_BYTES = 4 * 2**20  # what a staged spill buffers (an answer in flight)
USERS_PER_BUCKET = 5_000  # one bucket: one interval of at most this many users

Ints = np.ndarray[Any, np.dtype[np.int64]]
Floats = np.ndarray[Any, np.dtype[np.float64]]


class Vocabulary:
    """Text values as integer codes; `ranks()` maps codes to their order as strings, so sorting
    by ranked codes sorts like the strings would."""

    def __init__(self, values: Sequence[str] = ()) -> None:
        self.values: list[str] = []
        self.codes: dict[str, int] = {}
        for value in values:
            self.code(value)

    def code(self, value: str) -> int:
        found = self.codes.get(value)
        if found is None:
            found = self.codes[value] = len(self.values)
            self.values.append(value)
        return found

    def ranks(self) -> Ints:
        order = sorted(range(len(self.values)), key=self.values.__getitem__)
        ranks = np.empty(len(order), dtype=np.int64)
        ranks[order] = np.arange(len(order), dtype=np.int64)
        return ranks


class SortedCodes:
    """Codes of a fixed set of texts (the scope's users): each one's position in sorted order.

    One sorted list and a binary search, not a dict: at 100,000 agents a dict of them costs
    about 10 MB more, and the pull keeps nothing else per agent but the directory.
    """

    def __init__(self, values: Iterable[str]) -> None:
        self.values = sorted(values)

    def find(self, value: str) -> int | None:
        at = bisect_left(self.values, value)
        return at if at < len(self.values) and self.values[at] == value else None

    def ranks(self) -> Ints:
        return np.arange(len(self.values), dtype=np.int64)


def _schema(keys: int, values: int) -> pa.Schema:
    return pa.schema(
        [*(pa.field(f"k{i}", pa.int64()) for i in range(keys)),
         *(pa.field(f"v{i}", pa.float64()) for i in range(values))]
    )  # fmt: skip


def _batch(schema: pa.Schema, keys: Ints, values: Floats) -> pa.RecordBatch:
    columns = [pa.array(keys[:, i]) for i in range(keys.shape[1])]
    columns += [pa.array(values[:, i]) for i in range(values.shape[1])]
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _unbatch(batches: list[pa.RecordBatch], keys: int, values: int) -> tuple[Ints, Floats]:
    table = pa.Table.from_batches(batches, schema=_schema(keys, values))
    columns = [table.column(i).to_numpy() for i in range(keys + values)]
    key_block = np.column_stack(columns[:keys]).astype(np.int64, copy=False)
    value_block = np.column_stack(columns[keys:]).astype(np.float64, copy=False)
    return key_block.reshape(len(table), keys), value_block.reshape(len(table), values)


class _ArrowFile:
    """An Arrow IPC file written batch by batch, then read back by batch number, once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.batches = 0
        self._writer: pa.ipc.RecordBatchFileWriter | None = None
        self._sink: Any = None

    def write(self, batch: pa.RecordBatch) -> int:
        """Append a batch; returns its number."""
        if self._writer is None:
            self._sink = pa.OSFile(str(self.path), "wb")
            self._writer = pa.ipc.new_file(self._sink, batch.schema)
        self._writer.write_batch(batch)
        self.batches += 1
        return self.batches - 1

    @contextmanager
    def reader(self) -> Iterator[pa.ipc.RecordBatchFileReader]:
        """Closes the file for writing, opens it for reading, deletes it afterwards."""
        if self._writer is None:
            raise ValueError(f"{self.path} has no batches")
        self._writer.close()
        self._sink.close()
        try:
            with pa.OSFile(str(self.path), "rb") as source:
                yield pa.ipc.open_file(source)
        finally:
            self.path.unlink(missing_ok=True)


class IntervalSpill:
    """Rows of (key codes, values): key 0 is the interval's index on the day's grid, key 1 the
    user's code, already in sort order (users are coded in sorted order).

    Rows are kept in buckets of one interval and `USERS_PER_BUCKET` users, so reading one back
    costs the same at 100,000 agents as at 5,000. `combined()` yields, bucket by bucket in
    ascending order, each distinct key once with its values summed over every row that carried it
    (in arrival order), sorted by the key codes.
    """

    def __init__(
        self,
        path: Path,
        keys: int,
        values: int,
        *,
        drop_zero: bool = False,
        buffer_bytes: int = BUFFER_BYTES,
    ) -> None:
        self.path = path
        self.files = [_ArrowFile(path)]
        self.keys = keys
        self.values = values
        self.drop_zero = drop_zero  # rows of zeros change no sum; leave them out early
        self.buffer_bytes = buffer_bytes
        self.schema = _schema(keys, values)
        self._pending: list[tuple[Ints, Floats]] = []
        self._pending_bytes = 0
        # bucket -> (file number, record batch number) of its rows, in arrival order
        self._where: dict[tuple[int, int], list[tuple[int, int]]] = {}
        self._staged = 0

    def staging(self) -> IntervalSpill:
        """An empty spill like this one, in a file of its own and with a small buffer, for
        rows that count only once `absorb()` takes them (an answer that may be asked again)."""
        self._staged += 1
        path = self.path.with_name(f"{self.path.stem}.{self._staged}{self.path.suffix}")
        return IntervalSpill(
            path, self.keys, self.values, drop_zero=self.drop_zero, buffer_bytes=STAGING_BYTES
        )

    def absorb(self, staged: IntervalSpill) -> None:
        """`staged`'s rows join this spill, after every row added to it so far."""
        self._flush()
        staged._flush()
        offset = len(self.files)
        self.files += staged.files
        for bucket, places in staged._where.items():
            self._where.setdefault(bucket, []).extend((offset + f, n) for f, n in places)
        staged.files, staged._where = [], {}

    def add(self, keys: Ints, values: Floats) -> None:
        if self.drop_zero and len(values):
            keep = values.any(axis=1)
            keys, values = keys[keep], values[keep]
        if not len(keys):
            return
        self._pending.append((keys, values))
        self._pending_bytes += keys.nbytes + values.nbytes
        if self._pending_bytes >= self.buffer_bytes:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        keys = np.concatenate([k for k, _ in self._pending])
        values = np.concatenate([v for _, v in self._pending])
        self._pending, self._pending_bytes = [], 0
        bucket = keys[:, 0] * 2**32 + keys[:, 1] // USERS_PER_BUCKET
        order = np.argsort(bucket, kind="stable")
        keys, values, bucket = keys[order], values[order], bucket[order]
        buckets, starts = np.unique(bucket, return_index=True)
        ends = [*starts[1:], len(keys)]
        own = self.files[0]  # those after it came with absorbed spills
        for number, lo, hi in zip(buckets.tolist(), starts.tolist(), ends, strict=True):
            written = own.write(_batch(self.schema, keys[lo:hi], values[lo:hi]))
            self._where.setdefault(divmod(int(number), 2**32), []).append((0, written))

    def combined(
        self, ranks: Sequence[Ints] = (), joined: Sequence[Joined] = ()
    ) -> Iterator[tuple[int, Ints, Floats]]:
        """`ranks[i]` maps the codes of key column i + 1 to their sort order, first. `joined`:
        spills with the same keys whose value columns go to the given columns of this one's
        (zeros elsewhere), their rows after this spill's own; each is read once too."""
        sources: list[tuple[IntervalSpill, Sequence[int] | None]] = [(self, None), *joined]
        for spill, _ in sources:
            spill._flush()
        with ExitStack() as stack:
            readers = [spill._readers(stack) for spill, _ in sources]
            for interval, users in sorted(set().union(*(spill._where for spill, _ in sources))):
                parts = [
                    self._widened(spill._rows(files, (interval, users)), columns)
                    for (spill, columns), files in zip(sources, readers, strict=True)
                    if (interval, users) in spill._where
                ]
                keys = np.concatenate([k for k, _ in parts])
                values = np.concatenate([v for _, v in parts])
                for column, rank in enumerate(ranks, start=1):
                    keys[:, column] = rank[keys[:, column]]
                yield (interval, *combine(keys, values))

    def _readers(self, stack: ExitStack) -> dict[int, pa.ipc.RecordBatchFileReader]:
        return {i: stack.enter_context(f.reader()) for i, f in enumerate(self.files) if f.batches}

    def _rows(
        self, readers: dict[int, pa.ipc.RecordBatchFileReader], bucket: tuple[int, int]
    ) -> tuple[Ints, Floats]:
        batches = [readers[file].get_batch(number) for file, number in self._where[bucket]]
        return _unbatch(batches, self.keys, self.values)

    def _widened(
        self, rows: tuple[Ints, Floats], columns: Sequence[int] | None
    ) -> tuple[Ints, Floats]:
        if columns is None:
            return rows
        keys, narrow = rows
        values = np.zeros((len(keys), self.values))
        values[:, columns] = narrow
        return keys, values


Joined = tuple[IntervalSpill, Sequence[int]]  # a spill, and where its value columns go


def combine(keys: Ints, values: Floats) -> tuple[Ints, Floats]:
    """Distinct keys in ascending order (the last key column varies fastest), values summed."""
    if not len(keys):
        return keys, values
    order = np.lexsort(keys.T[::-1])
    keys, values = keys[order], values[order]
    starts = np.flatnonzero(np.r_[True, (keys[1:] != keys[:-1]).any(axis=1)])
    if len(starts) == len(keys):
        return keys, values
    # Left to right within each key, as a running total adds: np.add.reduceat adds in another
    # order, and the last bits of a float sum depend on the order.
    sums = values[starts].copy()
    sizes = np.diff(np.r_[starts, len(keys)])
    for k in range(1, int(sizes.max())):
        more = sizes > k
        sums[more] += values[starts[more] + k]
    return keys[starts], sums


class RangeSpill:
    """Arrow record batches, each covering a range of one integer column (the user's code).

    `groups()` yields the batches in ascending order of their ranges, those whose ranges overlap
    together, so a caller can sort each group on its own and still get a sorted whole.
    """

    def __init__(self, path: Path, column: str) -> None:
        self.file = _ArrowFile(path)
        self.column = column
        self._ranges: list[tuple[int, int, int]] = []  # (low, high, batch number)

    def add(self, batch: pa.RecordBatch) -> None:
        if not batch.num_rows:
            return
        codes = batch.column(self.column).to_numpy()
        self._ranges.append((int(codes.min()), int(codes.max()), self.file.write(batch)))

    def groups(self) -> Iterator[pa.Table]:
        if not self._ranges:
            return
        with self.file.reader() as reader:
            for group in _overlapping(sorted(self._ranges)):
                yield pa.Table.from_batches([reader.get_batch(n) for n in sorted(group)])


def _overlapping(ranges: list[tuple[int, int, int]]) -> Iterator[list[int]]:
    group: list[int] = []
    high = -1
    for low, top, number in ranges:
        if group and low > high:
            yield group
            group = []
        group.append(number)
        high = max(high, top)
    if group:
        yield group

"""The pull's columnar spill and the cache's piecewise writes: order, sums, merges, one read."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from wfmcli import frames
from wfmcli.pull import spill
from wfmcli.pull.cache import FrameCache, Partition
from wfmcli.pull.spill import IntervalSpill, RangeSpill, Vocabulary, combine

UTC_DAY = date(2026, 3, 10)


def test_vocabulary_ranks_sort_like_the_strings() -> None:
    words = Vocabulary()
    for word in ("outbound", "inbound", "Zulu", "alpha"):
        words.code(word)
    assert words.code("inbound") == 1  # codes are first-seen order
    ranked = sorted(words.values, key=lambda w: words.ranks()[words.codes[w]])
    assert ranked == sorted(words.values)


def test_combine_sums_duplicate_keys_in_arrival_order() -> None:
    keys = np.array([[1, 2], [0, 5], [1, 2], [0, 1]], dtype=np.int64)
    values = np.array([[1.5, 0.0], [2.0, 1.0], [0.25, 3.0], [4.0, 0.0]])
    out_keys, out_values = combine(keys, values)
    assert out_keys.tolist() == [[0, 1], [0, 5], [1, 2]]
    assert out_values.tolist() == [[4.0, 0.0], [2.0, 1.0], [1.75, 3.0]]


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 10**7)), min_size=1, max_size=60))
def test_combine_adds_like_a_running_total_to_the_last_bit(rows: list[tuple[int, int]]) -> None:
    """Sums of milliseconds in seconds round differently in another order; the frames must not
    depend on how the rows were grouped before they were added."""
    keys = np.array([[key, 0] for key, _ in rows], dtype=np.int64)
    values = np.array([[ms / 1000.0] for _, ms in rows])
    totals: dict[int, float] = {}
    for key, ms in rows:
        totals[key] = totals.get(key, 0.0) + ms / 1000.0
    out_keys, out_values = combine(keys, values)
    assert dict(zip(out_keys[:, 0].tolist(), out_values[:, 0].tolist(), strict=True)) == totals


def _random_rows(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    keys = np.column_stack(
        [rng.integers(0, 96, n), rng.integers(0, 12_000, n), rng.integers(0, 3, n)]
    ).astype(np.int64)
    values = rng.integers(0, 4, (n, 3)).astype(np.float64)
    return keys, values


def test_interval_spill_gives_each_key_once_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spill, "BUFFER_BYTES", 4096)  # many flushes, many record batches
    rng = np.random.default_rng(7)
    store = IntervalSpill(tmp_path / "s.arrow", 3, 3, drop_zero=True)
    blocks = [_random_rows(rng, 500) for _ in range(20)]
    for keys, values in blocks:
        store.add(keys, values)
    got = list(store.combined())
    all_keys = np.concatenate([k for k, _ in blocks])
    all_values = np.concatenate([v for _, v in blocks])
    frame = pd.DataFrame(np.column_stack([all_keys, all_values]), columns=list("abcxyz"))
    frame = frame[frame[["x", "y", "z"]].to_numpy().any(axis=1)]
    want = frame.groupby(["a", "b", "c"]).sum().reset_index().to_numpy()
    keys = np.concatenate([k for _, k, _ in got])
    values = np.concatenate([v for _, _, v in got])
    assert np.array_equal(np.column_stack([keys, values]), want)
    assert [i for i, _, _ in got] == sorted(i for i, _, _ in got)
    assert all((k[:, 0] == i).all() for i, k, _ in got)
    assert all(len(np.unique(k[:, 1] // spill.USERS_PER_BUCKET)) == 1 for _, k, _ in got)
    assert not (tmp_path / "s.arrow").exists()  # read once, then gone


def test_interval_spill_remaps_codes_to_ranks(tmp_path: Path) -> None:
    store = IntervalSpill(tmp_path / "s.arrow", 3, 1)
    store.add(np.array([[0, 1, 0], [0, 1, 1]]), np.array([[1.0], [2.0]]))
    ((_, keys, values),) = store.combined([np.array([0, 1]), np.array([1, 0])])
    assert keys[:, 2].tolist() == [0, 1] and values[:, 0].tolist() == [2.0, 1.0]


def test_staged_rows_count_once_absorbed_after_the_rows_before(tmp_path: Path) -> None:
    """A staging spill is an answer in flight: its rows count only when absorbed, and then
    after every row the spill already had (2**53 + 1 rounds away, so the order shows)."""
    store = IntervalSpill(tmp_path / "s.arrow", 2, 1)
    store.add(np.array([[0, 5]]), np.array([[1.0]]))
    staged, abandoned = store.staging(), store.staging()
    staged.add(np.array([[0, 5], [0, 5], [1, 6]]), np.array([[2.0**53], [-(2.0**53)], [3.0]]))
    abandoned.add(np.array([[0, 5], [2, 7]]), np.array([[100.0], [100.0]]))
    abandoned._flush()  # on disk, as an answer cut half-way would leave it
    store.absorb(staged)
    got = [(i, k.tolist(), v.tolist()) for i, k, v in store.combined()]
    # (1 + 2**53) - 2**53 == 0 in arrival order; the staged rows first would give 1
    assert got == [(0, [[0, 5]], [[0.0]]), (1, [[1, 6]], [[3.0]])]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.2.arrow"]  # the abandoned file


def test_a_joined_spill_fills_its_columns_bucket_by_bucket(tmp_path: Path) -> None:
    """Rows of a narrow spill land in their columns of the wide one's rows, summed after the
    wide rows; buckets only one of them has come out too, and both files are read once."""
    wide = IntervalSpill(tmp_path / "wide.arrow", 2, 3)
    narrow = IntervalSpill(tmp_path / "narrow.arrow", 2, 1)
    wide.add(np.array([[0, 1], [2, 1]]), np.array([[1.0, 0.0, 2.0], [4.0, 0.0, 0.0]]))
    narrow.add(np.array([[0, 1], [0, 1], [1, 9]]), np.array([[2.0**53], [-(2.0**53)], [5.0]]))
    got = [(i, k.tolist(), v.tolist()) for i, k, v in wide.combined(joined=[(narrow, [1])])]
    assert got == [
        (0, [[0, 1]], [[1.0, 0.0, 2.0]]),
        (1, [[1, 9]], [[0.0, 5.0, 0.0]]),
        (2, [[2, 1]], [[4.0, 0.0, 0.0]]),
    ]
    assert not list(tmp_path.iterdir())


def test_range_spill_groups_overlapping_ranges(tmp_path: Path) -> None:
    store = RangeSpill(tmp_path / "r.arrow", "user")
    for users in ([5, 9], [0, 3], [8, 12], [20, 21], [2]):
        store.add(pa.RecordBatch.from_pydict({"user": users}))
    groups = [table.column("user").to_pylist() for table in store.groups()]
    # [0, 3] and [2] overlap; [5, 9] and [8, 12] overlap; arrival order within a group.
    assert groups == [[0, 3, 2], [5, 9, 8, 12], [20, 21]]


def _queue_rows(day_start: datetime, hours: range, offered: int) -> pd.DataFrame:
    rows = []
    for hour in hours:
        for queue in ("q1", "q2"):
            row: dict[str, object] = dict.fromkeys(frames.spec("queue_interval").names, 0)
            row |= {"interval_start": day_start + timedelta(hours=hour), "queue_id": queue}
            row |= {"interval_minutes": 60, "queue_name": queue, "media": "voice"}
            row |= {"direction": "inbound", "campaign_id": "", "offered": offered}
            rows.append(row)
    return frames.coerce("queue_interval", pd.DataFrame(rows))


def test_write_sorted_equals_write_and_keeps_the_rest_of_the_day(tmp_path: Path) -> None:
    zone = ZoneInfo("UTC")
    start = datetime(2026, 3, 10, tzinfo=UTC)
    day = _queue_rows(start, range(24), 1)
    partition = Partition("lab", "queue_interval", zone, 60, UTC_DAY)
    whole, streamed = FrameCache(tmp_path / "a"), FrameCache(tmp_path / "b")
    whole.write(partition, start, start + timedelta(days=1), day)
    pieces = [day.iloc[i : i + 5].reset_index(drop=True) for i in range(0, len(day), 5)]
    streamed.write_sorted(partition, start, start + timedelta(days=1), iter(pieces))
    # A re-pull of 09:00-12:00: the day's other hours stay, before and after it.
    late = _queue_rows(start, range(9, 12), 7)
    nine, noon = start + timedelta(hours=9), start + timedelta(hours=12)
    whole.write(partition, nine, noon, late)
    streamed.write_sorted(partition, nine, noon, iter([late.iloc[:3], late.iloc[3:]]))
    a = pq.read_table(partition.path(whole.root) / "data.parquet")
    b = pq.read_table(partition.path(streamed.root) / "data.parquet")
    assert a.schema == b.schema and a.equals(b)
    got = b.to_pandas()
    assert got["offered"].tolist() == [1] * 18 + [7] * 6 + [1] * 24
    assert [r.rows for r in streamed.pulls(partition)] == [48, 48]


def test_write_sorted_merges_agent_status_and_writes_empty_days(tmp_path: Path) -> None:
    zone = ZoneInfo("UTC")
    start = datetime(2026, 3, 10, tzinfo=UTC)
    end = start + timedelta(days=1)
    cache = FrameCache(tmp_path)
    partition = Partition("lab", "agent_status", zone, 15, UTC_DAY)

    def status(user: str, hour: int) -> dict[str, object]:
        at = start + timedelta(hours=hour)
        return {"user_id": user, "agent_id": user, "agent_name": user, "start": at,
                "end": at + timedelta(minutes=30), "system_presence": "AVAILABLE",
                "secondary_presence": "", "routing_status": "IDLE"}  # fmt: skip

    old = frames.coerce("agent_status", pd.DataFrame([status("b", 1), status("b", 13)]))
    cache.write(partition, start, end, old)
    new = frames.coerce("agent_status", pd.DataFrame([status("a", 10), status("c", 11)]))
    ten = start + timedelta(hours=9)
    cache.write_sorted(partition, ten, ten + timedelta(hours=3), iter([new.iloc[:1], new.iloc[1:]]))
    got = cache.read("lab", "agent_status", zone, 15, start, end)
    assert list(zip(got["user_id"], got["start"].dt.hour, strict=True)) == [
        ("a", 10), ("b", 1), ("b", 13), ("c", 11)
    ]  # fmt: skip
    empty = Partition("lab", "agent_interval", zone, 15, UTC_DAY)
    cache.write_sorted(empty, start, end, iter([frames.empty_frame("agent_interval")]))
    assert cache.read("lab", "agent_interval", zone, 15, start, end).empty

"""The canonical frames contract: schema table, empty frames, validation."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from tests.reports.fixtures import day_frames
from wfmcli import frames
from wfmcli.errors import UsageError


@pytest.mark.parametrize("name", list(frames.FRAMES))
def test_empty_frame_has_every_column_and_validates(name: str) -> None:
    empty = frames.empty_frame(name)
    assert list(empty.columns) == frames.FRAMES[name].names
    assert frames.problems(name, empty) == []


def test_fixture_frames_conform() -> None:
    for name, df in day_frames(date(2026, 6, 15), "Europe/Berlin").items():
        assert frames.problems(name, df) == [], name


def test_units_are_documented_per_column() -> None:
    spec = frames.FRAMES["queue_interval"]
    assert spec.column("talk_s").kind == "seconds"
    assert spec.column("answer_wait_max_s").agg == "max"
    assert spec.column("offered").kind == "count"
    assert frames.DTYPES["timestamp"] == "datetime64[ns, UTC]"


def _queue() -> pd.DataFrame:
    return day_frames(date(2026, 6, 15), "Europe/Berlin")["queue_interval"]


def test_naive_timestamps_are_rejected() -> None:
    df = _queue()
    df["interval_start"] = df["interval_start"].dt.tz_localize(None)
    with pytest.raises(UsageError, match="tz-aware UTC"):
        frames.validate("queue_interval", df)


def test_float_counts_missing_columns_and_negatives_are_reported() -> None:
    df = _queue().drop(columns=["flow_out"])
    df["offered"] = df["offered"].astype("float64")
    df.loc[0, "talk_s"] = -1.0
    found = frames.problems("queue_interval", df)
    assert any("missing column(s) flow_out" in p for p in found)
    assert any("offered: expected integers" in p for p in found)
    assert any("talk_s: negative" in p for p in found)


def test_off_grid_start_and_duplicate_keys() -> None:
    df = _queue()
    df.loc[1, "interval_start"] = df.loc[1, "interval_start"] + pd.Timedelta(minutes=5)
    assert any("15-minute boundary" in p for p in frames.problems("queue_interval", df))
    doubled = pd.concat([_queue(), _queue().iloc[:1]], ignore_index=True)
    assert any("duplicate rows" in p for p in frames.problems("queue_interval", doubled))


def test_secondary_presence_columns_are_allowed_and_others_are_not() -> None:
    df = day_frames(date(2026, 6, 15), "Europe/Berlin")["agent_interval"]
    df["secondary_6a1b-22_s"] = 5.0
    assert frames.problems("agent_interval", df) == []
    df["bogus"] = 1
    assert frames.problems("agent_interval", df) == ["agent_interval: unknown column 'bogus'"]


def test_coerce_restores_dtypes_after_a_parquet_round_trip(tmp_path) -> None:
    df = _queue()
    path = tmp_path / "q.parquet"
    df.astype({"offered": "float64"}).to_parquet(path)
    back = frames.coerce("queue_interval", pd.read_parquet(path))
    assert frames.problems("queue_interval", back) == []
    assert back["offered"].tolist() == df["offered"].tolist()


def test_unknown_frame_name() -> None:
    with pytest.raises(UsageError, match="unknown frame 'queues'"):
        frames.empty_frame("queues")

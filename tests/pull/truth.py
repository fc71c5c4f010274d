"""Ground truth from the twin's event log, cut on the destination's local interval grid."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from tests.pull.ledger import observations, state_spans
from wfmcli.sim import RunningTwin
from wfmcli.timegrid import grid


class Grid:
    def __init__(self, start: datetime, end: datetime, zone: ZoneInfo, minutes: int) -> None:
        self.starts = grid(start, end, zone, minutes).asi8 // 1_000_000  # epoch ms
        self.step = minutes * 60_000
        self.lo, self.hi = int(self.starts[0]), int(self.starts[-1]) + self.step

    def slot(self, t_ms: int) -> int | None:
        if not self.lo <= t_ms < self.hi:
            return None
        index = int(np.searchsorted(self.starts, t_ms, side="right")) - 1
        assert t_ms < self.starts[index] + self.step
        return index

    def stamp(self, index: int) -> pd.Timestamp:
        return pd.Timestamp(int(self.starts[index]), unit="ms", tz="UTC")


def _sl_ms(twin: RunningTwin, queue_id: str, media: str) -> int:
    queue = twin.org.queue_by_id[queue_id]
    return queue.sl_ms if media == queue.media else 20_000


def queue_truth(twin: RunningTwin, g: Grid, queue_ids: set[str]) -> pd.DataFrame:
    rows: dict[tuple[object, ...], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for o in observations(twin):
        slot = g.slot(o.t_ms)
        if slot is None or o.queue_id not in queue_ids:
            continue
        row = rows[(g.stamp(slot), o.queue_id, o.media, o.direction, o.campaign_id)]
        seconds = o.value_ms / 1000
        sl = _sl_ms(twin, o.queue_id, o.media)
        short = twin.org.queue_by_id[o.queue_id].short_abandon_ms
        if o.metric == "nOffered":
            row["offered"] += 1
        elif o.metric == "tAnswered":
            row["answered"] += 1
            row["answer_wait_s"] += seconds
            row["answer_wait_max_s"] = max(row["answer_wait_max_s"], seconds)
            row["answered_in_sl"] += o.value_ms <= sl
        elif o.metric == "tAbandon":
            row["abandoned"] += 1
            row["abandon_wait_s"] += seconds
            row["abandon_wait_max_s"] = max(row["abandon_wait_max_s"], seconds)
            row["abandoned_in_sl"] += short <= o.value_ms <= sl
        elif o.metric == "tShortAbandon":
            row["short_abandoned"] += 1
        elif o.metric == "tFlowOut":
            row["flow_out"] += 1
        elif o.metric == "nTransferred":
            row["transferred"] += 1
        else:
            name = {"tTalk": "talk", "tHeld": "hold", "tAcw": "acw", "tHandle": "handle"}[o.metric]
            row[f"{name}_s"] += seconds
            row[f"{name}_count"] += 1
    keys = ["interval_start", "queue_id", "media", "direction", "campaign_id"]
    records = [dict(zip(keys, k, strict=True)) | dict(v) for k, v in rows.items()]
    return pd.DataFrame.from_records(records).fillna(0.0)


def agent_time_truth(
    twin: RunningTwin, g: Grid, user_ids: set[str], secondary: set[str]
) -> pd.DataFrame:
    rows: dict[tuple[object, ...], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for span in state_spans(twin, twin.now_ms()):
        if span.user_id not in user_ids or span.end_ms <= g.lo or span.start_ms >= g.hi:
            continue
        t = max(span.start_ms, g.lo)
        while t < min(span.end_ms, g.hi):
            slot = g.slot(t)
            assert slot is not None
            hi = min(span.end_ms, int(g.starts[slot]) + g.step)
            row = rows[(g.stamp(slot), span.user_id)]
            seconds = (hi - t) / 1000
            if span.system != "OFFLINE":
                row["logged_in_s"] += seconds
            if span.system == "ON_QUEUE":
                row["on_queue_s"] += seconds
            elif span.system != "OFFLINE":
                row[f"presence_{span.system.lower()}_s"] += seconds
            if span.routing in ("IDLE", "INTERACTING", "COMMUNICATING", "NOT_RESPONDING"):
                row[f"{span.routing.lower()}_s"] += seconds
            if span.definition_id in secondary:
                row[f"secondary_{span.definition_id}_s"] += seconds
            t = hi
    records = [{"interval_start": k[0], "user_id": k[1]} | dict(v) for k, v in rows.items()]
    return pd.DataFrame.from_records(records).fillna(0.0)


def agent_queue_truth(
    twin: RunningTwin, g: Grid, user_ids: set[str], queue_ids: set[str]
) -> pd.DataFrame:
    rows: dict[tuple[object, ...], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for o in observations(twin):
        slot = g.slot(o.t_ms)
        if slot is None or o.user_id not in user_ids or o.queue_id not in queue_ids:
            continue
        row = rows[(g.stamp(slot), o.user_id, o.queue_id, o.media, o.direction)]
        seconds = o.value_ms / 1000
        if o.metric == "tAnswered":
            row["answered"] += 1
        elif o.metric == "tHandle":
            row["handled"] += 1
            row["handle_s"] += seconds
        elif o.metric == "nTransferred":
            row["transferred"] += 1
        else:
            row[{"tTalk": "talk_s", "tHeld": "hold_s", "tAcw": "acw_s"}[o.metric]] += seconds
    keys = ["interval_start", "user_id", "queue_id", "media", "direction"]
    records = [dict(zip(keys, k, strict=True)) | dict(v) for k, v in rows.items()]
    return pd.DataFrame.from_records(records).fillna(0.0)


def compare(
    got: pd.DataFrame, want: pd.DataFrame, keys: list[str], columns: list[str]
) -> list[str]:
    """Every cell where the frame and the truth disagree (missing rows count as zeros)."""
    merged = got.merge(want, on=keys, how="outer", suffixes=("", "_truth"), indicator=True)
    problems = []
    for column in columns:
        mine = merged[column].fillna(0.0).astype(float) if column in merged else 0.0
        theirs = (
            merged[f"{column}_truth"].fillna(0.0).astype(float)
            if f"{column}_truth" in merged
            else pd.Series(0.0, index=merged.index)
        )
        bad = ~np.isclose(mine, theirs, atol=1e-6)
        for _, row in merged[bad].head(3).iterrows():
            problems.append(
                f"{column} at {tuple(row[k] for k in keys)}: frame {row.get(column)} "
                f"truth {row.get(column + '_truth')}"
            )
    return problems

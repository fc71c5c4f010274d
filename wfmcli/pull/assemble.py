"""Genesys analytics answers -> the canonical frames of `wfmcli.frames`.

This is the one place milliseconds become float seconds. Each answer is folded into a small
accumulator of its own (one list of numbers per row key, in arrival order), which then becomes a
columnar block of integer key codes and float64 values. The grouped agent x queue answer, whose
size grows with the org, is instead folded result by result as it streams in, into typed arrays
(`ConversationFold`). Queue rows stay in memory (their number
grows with queues, not agents); agent rows are spilled to disk (`wfmcli.pull.spill`) and come back
one interval (or one batch of users) at a time as sorted pieces of the frame, so the pull's memory
does not grow with the org's size. Buckets are checked against the destination's interval grid: a
bucket Genesys cut anywhere else would put numbers in the wrong interval, so it is an error.
"""

from __future__ import annotations

import tempfile
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from wfmcli import frames
from wfmcli.errors import RemoteError
from wfmcli.pull.directory import Directory
from wfmcli.pull.queries import QueueQuery, Window, abandon_view, answered_view
from wfmcli.pull.spill import (
    Floats,
    IntervalSpill,
    Ints,
    Joined,
    RangeSpill,
    SortedCodes,
    Vocabulary,
)
from wfmcli.timegrid import grid

# rows of a frame piece, at least (one interval's rows when more): bounds a pull's memory
PIECE_ROWS = 20_000
STAGE_ROWS = 8_192  # agent x queue answer rows gathered before they are staged

Key = tuple[Any, ...]
# metric -> [(field, stat, how)], how: "count" (an integer stat), "ms" (sum to seconds),
# "ms_max" (max to seconds).
Plan = Mapping[str, Sequence[tuple[str, str, str]]]

QUEUE_PLAN: Plan = {
    "nOffered": [("offered", "count", "count")],
    "tAnswered": [
        ("answered", "count", "count"),
        ("answer_wait_s", "sum", "ms"),
        ("answer_wait_max_s", "max", "ms_max"),
    ],
    "tAbandon": [
        ("abandoned", "count", "count"),
        ("abandon_wait_s", "sum", "ms"),
        ("abandon_wait_max_s", "max", "ms_max"),
    ],
    "tShortAbandon": [("short_abandoned", "count", "count")],
    "tFlowOut": [("flow_out", "count", "count")],
    "nTransferred": [("transferred", "count", "count")],
    "tTalk": [("talk_s", "sum", "ms"), ("talk_count", "count", "count")],
    "tHeld": [("hold_s", "sum", "ms"), ("hold_count", "count", "count")],
    "tAcw": [("acw_s", "sum", "ms"), ("acw_count", "count", "count")],
    "tHandle": [("handle_s", "sum", "ms"), ("handle_count", "count", "count")],
}
QUEUE_FIELDS = (
    *(f for fields in QUEUE_PLAN.values() for f, _, _ in fields),
    "answered_in_sl",
    "abandoned_in_sl_raw",
)
AGENT_QUEUE_PLAN: Plan = {
    "tAnswered": [("answered", "count", "count")],
    "tHandle": [("handled", "count", "count"), ("handle_s", "sum", "ms")],
    "tTalk": [("talk_s", "sum", "ms")],
    "tHeld": [("hold_s", "sum", "ms")],
    "tAcw": [("acw_s", "sum", "ms")],
    "nTransferred": [("transferred", "count", "count")],
}
AGENT_QUEUE_FIELDS = tuple(f for fields in AGENT_QUEUE_PLAN.values() for f, _, _ in fields)
ROUTING_FIELDS = {
    "IDLE": "idle_s",
    "INTERACTING": "interacting_s",
    "COMMUNICATING": "communicating_s",
    "NOT_RESPONDING": "not_responding_s",
}
AGENT_TIME_FIELDS = (
    "logged_in_s",
    "on_queue_s",
    *ROUTING_FIELDS.values(),
    *(f"presence_{name}_s" for name in frames.SYSTEM_PRESENCES),
)
AGENT_WORK_FIELDS = (
    "handled", "talk_s", "hold_s", "acw_s", "handle_s", "transferred", "outbound_count",
    "outbound_s",
)  # fmt: skip
OUTBOUND_MEDIA = {"voice": "outbound_voice"}  # any other outbound media is digital messaging


def _kept_media(group: Mapping[str, Any], selected: frozenset[str]) -> tuple[str, str] | None:
    """A result group's (media, direction) when the pull keeps it, else None."""
    media = str(group.get("mediaType", ""))
    direction = str(group.get("originatingDirection") or "inbound")
    if media not in frames.MEDIA or not media_selected(media, direction, selected):
        return None
    return media, direction


def media_selected(media: str, direction: str, selected: frozenset[str]) -> bool:
    """Config media names: voice..callback for inbound, outbound_voice / outbound_message."""
    if direction == "outbound":
        return OUTBOUND_MEDIA.get(media, "outbound_message") in selected
    return media in selected


class Accumulator:
    """Rows keyed by their frame keys, each a list of numbers in `fields` order."""

    def __init__(self, fields: Sequence[str]) -> None:
        self.fields = tuple(fields)
        self.index = {name: i for i, name in enumerate(self.fields)}
        self.rows: dict[Key, list[float]] = {}

    def row(self, key: Key) -> list[float]:
        row = self.rows.get(key)
        if row is None:
            row = self.rows[key] = [0.0] * len(self.fields)
        return row

    def apply(self, key: Key, plan: Plan, metrics: Iterable[Mapping[str, Any]]) -> None:
        add_metrics(self.row(key), self.index, plan, metrics)

    def block(self) -> tuple[Ints, Floats]:
        """The rows as (key codes, values) arrays, for keys made of integers."""
        width = len(next(iter(self.rows), ()))
        keys = np.array(list(self.rows), dtype=np.int64).reshape(len(self.rows), width)
        values = np.array(list(self.rows.values()), dtype=np.float64)
        return keys, values.reshape(len(self.rows), len(self.fields))

    def table(self, key_names: Sequence[str]) -> pd.DataFrame:
        keys = list(self.rows)
        data: dict[str, Any] = {name: [key[i] for key in keys] for i, name in enumerate(key_names)}
        values = np.array(list(self.rows.values()), dtype="float64").reshape(
            len(keys), len(self.fields)
        )
        for i, name in enumerate(self.fields):
            data[name] = values[:, i]
        return pd.DataFrame(data)


def add_metrics(
    row: list[float], index: Mapping[str, int], plan: Plan, metrics: Iterable[Mapping[str, Any]]
) -> None:
    """Genesys metrics -> `row`'s fields (positions in `index`), as `plan` says."""
    for entry in metrics:
        for field, stat, how in plan.get(str(entry.get("metric")), ()):
            value = float((entry.get("stats") or {}).get(stat) or 0)
            position = index[field]
            if how == "ms_max":
                row[position] = max(row[position], value / 1000.0)
            elif how == "ms":
                row[position] += value / 1000.0
            else:
                row[position] += value


class BucketGrid:
    """Maps Genesys' `start/end` bucket strings to interval starts on the destination grid."""

    def __init__(self, window: Window, minutes: int) -> None:
        starts = grid(window.start, window.end, window.zone, minutes)
        self.nanos = [int(pd.Timestamp(ts).as_unit("ns").value) for ts in starts]
        self._valid = {ns: i for i, ns in enumerate(self.nanos)}
        self._cache: dict[str, pd.Timestamp] = {}
        self._indexes: dict[str, int] = {}
        self._where = f"{window.zone.key} {minutes}-minute grid"

    def index(self, bucket: str) -> int:
        """The bucket's position on the grid (0 = the window's first interval)."""
        found = self._indexes.get(bucket)
        if found is None:
            found = self._indexes[bucket] = self._valid[int(self.start(bucket).as_unit("ns").value)]
        return found

    def start(self, bucket: str) -> pd.Timestamp:
        found = self._cache.get(bucket)
        if found is not None:
            return found
        try:
            stamp = pd.Timestamp(bucket.split("/", 1)[0]).tz_convert("UTC")
        except (ValueError, TypeError) as exc:
            raise RemoteError(
                f"Genesys Cloud answered a bucket {bucket!r} that is not an interval"
            ) from exc
        if int(stamp.as_unit("ns").value) not in self._valid:
            raise RemoteError(
                f"Genesys Cloud answered bucket {bucket} off the {self._where}",
                hint="the query's timeZone and interval must align buckets to local boundaries",
            )
        self._cache[bucket] = stamp
        return stamp


class AnswerSplitter:
    """Splits an aggregate answer over a span of day windows into one answer per window, by
    each bucket's start, so each day's assembler sees what a query of that day alone answers.

    A body that is not the expected shape, or a bucket that falls in no window, goes to the
    first window, whose assembler then reports it as it would for a one-day query.
    """

    def __init__(self, windows: Sequence[Window]) -> None:
        self.bounds = [(pd.Timestamp(w.start), pd.Timestamp(w.end)) for w in windows]
        self._where: dict[str, int] = {}

    def split(self, body: Any) -> list[Any]:
        if len(self.bounds) == 1:
            return [body]
        empty: list[Any] = [{"results": []} for _ in self.bounds]
        results = body.get("results") if isinstance(body, dict) else None
        if not isinstance(results, list):
            return [body, *empty[1:]]
        parts: list[list[dict[str, Any]]] = [[] for _ in self.bounds]
        for result in results:
            for index, part in enumerate(self.split_result(result)):
                if part is not None:
                    parts[index].append(part)
        rest = {key: value for key, value in body.items() if key != "results"}
        return [{**rest, "results": part} for part in parts]

    def split_result(self, result: Any) -> list[Any]:
        """One result of an answer -> its part for each window (None where it has no data)."""
        data = result.get("data") if isinstance(result, dict) else None
        if len(self.bounds) == 1 or not isinstance(data, list):
            return [result, *([None] * (len(self.bounds) - 1))]
        entries: list[list[Any]] = [[] for _ in self.bounds]
        for entry in data:
            entries[self._window(entry)].append(entry)
        return [{**result, "data": kept} if kept else None for kept in entries]

    def _window(self, entry: Any) -> int:
        bucket = str(entry.get("interval")) if isinstance(entry, dict) else ""
        found = self._where.get(bucket)
        if found is None:
            found = 0
            try:
                start = pd.Timestamp(bucket.split("/", 1)[0]).tz_convert("UTC")
            except (ValueError, TypeError):
                start = None
            for index, (low, high) in enumerate(self.bounds):
                if start is not None and low <= start < high:
                    found = index
            self._where[bucket] = found
        return found


def _results(body: Any, what: str) -> list[dict[str, Any]]:
    if not isinstance(body, dict):
        raise RemoteError(f"Genesys Cloud {what} answered a body that is not a JSON object")
    results = body.get("results") or []
    if not isinstance(results, list):
        raise RemoteError(f"Genesys Cloud {what} answered results that are not a list")
    return results


def _entries(result: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    data = result.get("data") or []
    return data if isinstance(data, list) else []


AGENT_KEYS = ("interval_start", "user_id")
CODE = "_user_code"  # a working column: the row's user code (dropped by `_finish`)
AGENT_QUEUE_KEYS = ("interval_start", "user_id", "queue_id", "media", "direction")


class DayAssembler:
    """Collects one window's answers and turns them into frames, piece by sorted piece.

    Use it as a context manager (or call `close()`): agent rows wait in spill files until
    `pieces()` reads them back, and the files go when it closes.
    """

    def __init__(
        self,
        window: Window,
        minutes: int,
        directory: Directory,
        media: frozenset[str],
        spill_dir: Path | None = None,
    ) -> None:
        self.window = window
        self.minutes = minutes
        self.directory = directory
        self.media = media
        self.buckets = BucketGrid(window, minutes)
        self.secondary = sorted(p.id for p in directory.presences.values() if p.secondary)
        self.queue = Accumulator(QUEUE_FIELDS)
        self.agent_fields = (
            *AGENT_TIME_FIELDS, *AGENT_WORK_FIELDS, *(f"secondary_{p}_s" for p in self.secondary)
        )  # fmt: skip
        # Codes sort like the strings they stand for (users and queues are pre-filled sorted);
        # `agent_ids[code]` and `agent_names[code]` belong to the agent with that user code, so a
        # piece gathers its ids and names without a Python loop per row.
        agents = sorted(directory.agents, key=lambda a: a.user_id)
        self.users = SortedCodes(a.user_id for a in agents)
        self.agent_ids = np.array([a.agent_id for a in agents], dtype=object)
        self.agent_names = np.array([a.name for a in agents], dtype=object)
        self.queue_codes = Vocabulary(sorted(directory.queue_by_id))
        self.media_codes = Vocabulary(sorted(frames.MEDIA))
        self.directions = Vocabulary()
        self._folder = tempfile.TemporaryDirectory(prefix="wfm-pull-", dir=spill_dir)
        folder = Path(self._folder.name)
        self.agent = IntervalSpill(
            folder / "agent.arrow", len(AGENT_KEYS), len(self.agent_fields), drop_zero=True
        )
        self.agent_queue = IntervalSpill(
            folder / "agent_queue.arrow", len(AGENT_QUEUE_KEYS), len(AGENT_QUEUE_FIELDS)
        )
        # the agent columns of agent x queue answers, narrow: joined to `agent` when read back
        self.agent_work = IntervalSpill(
            folder / "agent_work.arrow", len(AGENT_KEYS), len(AGENT_WORK_FIELDS), drop_zero=True
        )
        self.status = RangeSpill(folder / "status.arrow", "user")

    def __enter__(self) -> DayAssembler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._folder.cleanup()

    # -- conversation aggregates: queues ---------------------------------------------------

    def add_queue_answer(self, query: QueueQuery, body: Any) -> None:
        for result in _results(body, "conversation aggregates"):
            group = result.get("group") or {}
            queue = self.directory.queue_by_id.get(str(group.get("queueId")))
            kept = _kept_media(group, self.media)
            if queue is None or kept is None:
                continue
            media, direction = kept
            threshold, _ = queue.service_level(media)
            campaign = str(group.get("outboundCampaignId") or "")
            owned = queue.id in query.owned
            in_views = threshold in query.thresholds
            for entry in _entries(result):
                key = (
                    self.buckets.start(str(entry.get("interval"))),
                    queue.id,
                    media,
                    direction,
                    campaign,
                )
                if owned:
                    self.queue.apply(key, QUEUE_PLAN, entry.get("metrics") or [])
                if in_views:
                    self._apply_views(key, threshold, entry.get("views") or [])

    def _apply_views(self, key: Key, threshold: int, views: Iterable[Mapping[str, Any]]) -> None:
        row = self.queue.row(key)
        fields = {
            answered_view(threshold): "answered_in_sl",
            abandon_view(threshold): "abandoned_in_sl_raw",
        }
        for view in views:
            field = fields.get(str(view.get("name") or view.get("metric")))
            if field is not None:
                row[self.queue.index[field]] += float((view.get("stats") or {}).get("count") or 0)

    # -- user aggregates ---------------------------------------------------------------------

    def add_user_aggregates(self, body: Any) -> None:
        agent = Accumulator(self.agent_fields)
        index = agent.index
        for result in _results(body, "user aggregates"):
            user_code = self.users.find(str((result.get("group") or {}).get("userId")))
            if user_code is None:
                continue
            for entry in _entries(result):
                row = agent.row((self.buckets.index(str(entry.get("interval"))), user_code))
                for metric in entry.get("metrics") or []:
                    name = str(metric.get("metric"))
                    qualifier = str(metric.get("qualifier") or "")
                    seconds = float((metric.get("stats") or {}).get("sum") or 0) / 1000.0
                    if name == "tSystemPresence" and qualifier not in ("", "OFFLINE"):
                        row[index["logged_in_s"]] += seconds
                    field = self._time_field(name, qualifier)
                    if field is not None:
                        row[index[field]] += seconds
        if agent.rows:
            self.agent.add(*agent.block())

    def _time_field(self, metric: str, qualifier: str) -> str | None:
        if metric == "tAgentRoutingStatus":
            return ROUTING_FIELDS.get(qualifier)
        if metric == "tSystemPresence":
            if qualifier == "ON_QUEUE":
                return "on_queue_s"
            name = qualifier.lower()
            return f"presence_{name}_s" if name in frames.SYSTEM_PRESENCES else None
        if metric == "tOrganizationPresence" and qualifier in self.secondary:
            return f"secondary_{qualifier}_s"
        return None

    # -- user details ----------------------------------------------------------------------

    def add_user_details(self, details: Iterable[Mapping[str, Any]]) -> None:
        rows: list[StatusRow] = []
        for detail in details:
            code = self.users.find(str(detail.get("userId")))
            if code is None:
                continue
            for start, end, system, secondary, routing in self._timeline(detail):
                if self.window.start <= start < self.window.end:
                    rows.append((code, start, end, system, secondary, routing))
        if rows:
            self.status.add(_status_batch(rows))

    def _timeline(
        self, detail: Mapping[str, Any]
    ) -> list[tuple[datetime, datetime | None, str, str, str]]:
        presence = _spans(detail.get("primaryPresence"), self._presence_state)
        routing = _spans(detail.get("routingStatus"), lambda r: str(r.get("routingStatus", "")))
        points = sorted({p for s, e, _ in presence + routing for p in (s, e) if p is not None})
        rows: list[tuple[datetime, datetime | None, str, str, str]] = []
        current: tuple[str, str, str] | None = None
        p_at, r_at = _cursor(presence), _cursor(routing)
        for point in points:
            held = p_at(point)
            state = None if held is None else (*held.split("\0"), r_at(point) or "OFF_QUEUE")
            if state == current:
                continue
            if rows and rows[-1][1] is None:
                rows[-1] = (rows[-1][0], point, *rows[-1][2:])
            if state is not None:
                rows.append((point, None, state[0], state[1], state[2]))
            current = state  # type: ignore[assignment]
        return rows

    def _presence_state(self, record: Mapping[str, Any]) -> str:
        system = str(record.get("systemPresence", "")).upper()
        definition = self.directory.presences.get(str(record.get("organizationPresenceId")))
        secondary = definition.name if definition is not None and definition.secondary else ""
        return f"{system}\0{secondary}"

    # -- frames ------------------------------------------------------------------------------

    def pieces(self, name: str) -> Iterator[pd.DataFrame]:
        """The frame as consecutive pieces, each sorted by the frame's keys and after the one
        before it (an interval, or a batch of users, at a time); concatenated, they are the
        frame. Yields one empty piece when there are no rows. Each spill is read once."""
        builders: dict[str, Callable[[], Iterator[pd.DataFrame]]] = {
            "queue_interval": lambda: iter([self._queue_frame()]),
            "agent_interval": self._agent_pieces,
            "agent_queue_interval": self._agent_queue_pieces,
            "agent_status": self._status_pieces,
        }
        spare: pd.DataFrame | None = None
        rows = False
        for piece in builders[name]():
            if len(piece):
                rows = True
                yield piece
            elif spare is None:
                spare = piece
        if not rows and spare is not None:
            yield spare

    def frames(self, wanted: Sequence[str]) -> dict[str, pd.DataFrame]:
        """Whole frames in memory (small pulls and tests; the pull itself streams pieces)."""
        return {name: pd.concat(list(self.pieces(name)), ignore_index=True) for name in wanted}

    def _queue_frame(self) -> pd.DataFrame:
        df = self.queue.table(("interval_start", "queue_id", "media", "direction", "campaign_id"))
        queues = self.directory.queue_by_id
        df["queue_name"] = [queues[q].name for q in df["queue_id"]]
        levels = [
            queues[q].service_level(m) for q, m in zip(df["queue_id"], df["media"], strict=True)
        ]
        df["sl_threshold_s"] = [threshold / 1000.0 for threshold, _ in levels]
        df["sl_target"] = [target for _, target in levels]
        # Short abandons sit below the SL threshold too; the frame counts them apart.
        df["abandoned_in_sl"] = (df["abandoned_in_sl_raw"] - df["short_abandoned"]).clip(lower=0)
        return self._finish("queue_interval", df.drop(columns=["abandoned_in_sl_raw"]))

    def _interval_table(
        self,
        spill: IntervalSpill,
        key_names: Sequence[str],
        fields: Sequence[str],
        texts: Sequence[Vocabulary | SortedCodes],
        joined: Sequence[Joined] = (),
    ) -> Iterator[pd.DataFrame]:
        """Spilled rows back as frames, whole intervals in order; `texts` decode key columns 1..
        (`joined`: as `IntervalSpill.combined` says)."""
        ranks = [vocabulary.ranks() for vocabulary in texts]
        by_rank = [np.array(sorted(v.values), dtype=object) for v in texts]
        # consecutive intervals go out together up to PIECE_ROWS: a frame's fixed cost (casts,
        # sorting, Arrow conversion) is paid per piece, and a small org has tiny intervals
        gathered: list[pd.DataFrame] = []
        rows, empty = 0, True
        for interval, keys, values in spill.combined(ranks, joined):
            empty = False
            gathered.append(self._decoded(interval, keys, values, key_names, fields, by_rank))
            rows += len(keys)
            if rows >= PIECE_ROWS:
                yield pd.concat(gathered, ignore_index=True)
                gathered, rows = [], 0
        if gathered:
            yield pd.concat(gathered, ignore_index=True)
        if empty:
            none = (np.zeros((0, len(key_names)), np.int64), np.zeros((0, len(fields))))
            yield self._decoded(0, *none, key_names, fields, by_rank)

    def _decoded(
        self,
        interval: int,
        keys: Ints,
        values: Floats,
        key_names: Sequence[str],
        fields: Sequence[str],
        by_rank: Sequence[np.ndarray[Any, np.dtype[np.object_]]],
    ) -> pd.DataFrame:
        stamps = np.full(len(keys), self.buckets.nanos[interval], dtype=np.int64)
        data: dict[str, Any] = {key_names[0]: pd.to_datetime(stamps, utc=True), CODE: keys[:, 1]}
        for i, name in enumerate(key_names[1:], start=1):
            data[name] = by_rank[i - 1][keys[:, i]]
        for i, name in enumerate(fields):
            data[name] = values[:, i]
        return pd.DataFrame(data)

    def _agent_queue_pieces(self) -> Iterator[pd.DataFrame]:
        texts = (self.users, self.queue_codes, self.media_codes, self.directions)
        queues = self.directory.queue_by_id
        table = self._interval_table(self.agent_queue, AGENT_QUEUE_KEYS, AGENT_QUEUE_FIELDS, texts)
        for df in table:
            self._names(df)
            df["queue_name"] = [queues[q].name for q in df["queue_id"]]
            yield self._finish("agent_queue_interval", df)

    def _agent_pieces(self) -> Iterator[pd.DataFrame]:
        work = (self.agent_work, [self.agent_fields.index(name) for name in AGENT_WORK_FIELDS])
        table = self._interval_table(
            self.agent, AGENT_KEYS, self.agent_fields, [self.users], joined=[work]
        )
        for df in table:
            # Genesys reports OFFLINE time for every user; a logged-out, idle bucket is no row.
            df = df[df[list(self.agent_fields)].to_numpy().any(axis=1)].reset_index(drop=True)
            df["off_queue_s"] = (df["logged_in_s"] - df["on_queue_s"]).clip(lower=0)
            self._names(df)
            yield self._finish("agent_interval", df)

    def _status_pieces(self) -> Iterator[pd.DataFrame]:
        users = np.array(self.users.values, dtype=object)
        empty = True
        for table in self.status.groups():
            empty = False
            yield self._status_frame(table, users)
        if empty:
            yield self._status_frame(_status_batch([]), users)

    def _status_frame(
        self, table: pa.Table | pa.RecordBatch, users: np.ndarray[Any, np.dtype[np.object_]]
    ) -> pd.DataFrame:
        def stamps(column: str) -> pd.Series:
            nanos = table.column(column).to_numpy().astype(np.int64).view("datetime64[ns]")
            return pd.Series(nanos).dt.tz_localize("UTC")

        codes = table.column("user").to_numpy().astype(np.int64)
        df = pd.DataFrame(
            {
                CODE: codes,
                "user_id": users[codes],
                "start": stamps("start"),
                "end": stamps("end"),
                **{name: table.column(name).to_pylist() for name in STATUS_TEXTS},
            }
        )
        self._names(df)
        return self._finish("agent_status", df)

    def _names(self, df: pd.DataFrame) -> None:
        """agent_id and agent_name by the rows' user codes (the `CODE` column)."""
        codes = df[CODE].to_numpy()
        df["agent_id"] = self.agent_ids[codes]
        df["agent_name"] = self.agent_names[codes]

    def _finish(self, name: str, df: pd.DataFrame) -> pd.DataFrame:
        spec = frames.spec(name)
        if "interval_minutes" in spec.names:
            df["interval_minutes"] = self.minutes
        extra = sorted(c for c in df.columns if c not in spec.names and c.startswith("secondary_"))
        df = frames.coerce(name, df[[*spec.names, *extra]])
        return df.sort_values(spec.keys, kind="stable").reset_index(drop=True)


STATUS_TEXTS = ("system_presence", "secondary_presence", "routing_status")
NOT_A_TIME = np.iinfo(np.int64).min  # numpy's NaT


StatusRow = tuple[int, datetime, datetime | None, str, str, str]


def _status_batch(rows: list[StatusRow]) -> pa.RecordBatch:
    """Status rows as Arrow columns: user code, start and end as UTC nanoseconds, the texts."""
    columns = list(zip(*rows, strict=True)) if rows else [()] * 6

    def nanos(values: Sequence[datetime | None]) -> pa.Array:
        stamps = pd.to_datetime(pd.Series(list(values), dtype=object), utc=True)
        naive = stamps.dt.tz_convert(None).dt.as_unit("ns").to_numpy()
        return pa.array(naive.view(np.int64), type=pa.int64())

    return pa.RecordBatch.from_arrays(
        [
            pa.array(columns[0], type=pa.int64()),
            nanos(columns[1]),
            nanos(columns[2]),
            *(pa.array(column, type=pa.string()) for column in columns[3:]),
        ],
        names=["user", "start", "end", *STATUS_TEXTS],
    )


def _agent_work(
    row: list[float], index: Mapping[str, int], direction: str, metrics: Iterable[Mapping[str, Any]]
) -> None:
    """Conversation metrics -> the agent row's handling columns (outbound apart)."""
    for entry in metrics:
        metric = entry.get("metric")
        stats = entry.get("stats") or {}
        if metric == "nTransferred":
            row[index["transferred"]] += float(stats.get("count") or 0)
        elif direction == "outbound":
            if metric == "tHandle":
                row[index["outbound_count"]] += float(stats.get("count") or 0)
                row[index["outbound_s"]] += float(stats.get("sum") or 0) / 1000.0
        elif metric in ("tHandle", "tTalk", "tHeld", "tAcw"):
            field = {
                "tHandle": "handle_s",
                "tTalk": "talk_s",
                "tHeld": "hold_s",
                "tAcw": "acw_s",
            }[str(metric)]
            row[index[field]] += float(stats.get("sum") or 0) / 1000.0
            if metric == "tHandle":
                row[index["handled"]] += float(stats.get("count") or 0)


class AgentConversationRows:
    """What one grouped agent x queue answer adds to one day, staged as it is read.

    The answer for one interval of 100,000 agents is about 50 MB of JSON and 300,000 rows, so
    rows go into typed arrays (8 bytes a number) and, every `STAGE_ROWS`, on to staging spills
    of the day's agent x queue and agent work files. `commit()` hands the staged files to the
    day's spills; until then nothing of the answer counts, so an answer that fails half-way and
    is asked again is never folded twice, and what one answer holds in memory does not grow
    with the org. Keys repeat (a user works several queues and media in an interval): the
    spills sum them in arrival order, as one running total per key.
    """

    WORK_INDEX = {name: i for i, name in enumerate(AGENT_WORK_FIELDS)}
    QUEUE_INDEX = {name: i for i, name in enumerate(AGENT_QUEUE_FIELDS)}

    def __init__(self, day: DayAssembler) -> None:
        self.day = day
        self.staged_queue = day.agent_queue.staging()
        self.staged_work = day.agent_work.staging()
        self._new_arrays()

    def _new_arrays(self) -> None:
        # new ones each time: the staged spills may still hold views of the old ones
        self.queue_keys, self.queue_values = array("q"), array("d")
        self.work_keys, self.work_values = array("q"), array("d")

    def add(self, result: Any) -> None:
        """One result (a group and its data) of the answer."""
        if not isinstance(result, dict):
            raise RemoteError("Genesys Cloud conversation aggregates answered a result that is "
                              "not a JSON object")  # fmt: skip
        day = self.day
        group = result.get("group") or {}
        user_code = day.users.find(str(group.get("userId")))
        kept = _kept_media(group, day.media)
        if user_code is None or kept is None:
            return
        media, direction = kept
        queue_id = str(group.get("queueId") or "")
        queue = (
            (day.queue_codes.code(queue_id), day.media_codes.code(media),
             day.directions.code(direction))
            if queue_id in day.directory.queue_by_id else None
        )  # fmt: skip
        for entry in _entries(result):
            interval = day.buckets.index(str(entry.get("interval")))
            metrics = entry.get("metrics") or []
            if queue is not None:
                values = [0.0] * len(AGENT_QUEUE_FIELDS)
                add_metrics(values, self.QUEUE_INDEX, AGENT_QUEUE_PLAN, metrics)
                self.queue_keys.extend((interval, user_code, *queue))
                self.queue_values.extend(values)
            work = [0.0] * len(AGENT_WORK_FIELDS)
            _agent_work(work, self.WORK_INDEX, direction, metrics)
            self.work_keys.extend((interval, user_code))
            self.work_values.extend(work)
        if len(self.work_keys) >= STAGE_ROWS * len(AGENT_KEYS):
            self._stage()

    def _stage(self) -> None:
        if self.queue_keys:
            keys = np.frombuffer(self.queue_keys, dtype=np.int64).reshape(-1, len(AGENT_QUEUE_KEYS))
            values = np.frombuffer(self.queue_values, dtype=np.float64)
            self.staged_queue.add(keys, values.reshape(len(keys), len(AGENT_QUEUE_FIELDS)))
        if self.work_keys:
            keys = np.frombuffer(self.work_keys, dtype=np.int64).reshape(-1, len(AGENT_KEYS))
            work = np.frombuffer(self.work_values, dtype=np.float64)
            self.staged_work.add(keys, work.reshape(len(keys), len(AGENT_WORK_FIELDS)))
        self._new_arrays()

    def commit(self) -> None:
        self._stage()
        self.day.agent_queue.absorb(self.staged_queue)
        self.day.agent_work.absorb(self.staged_work)


class ConversationFold:
    """One grouped agent x queue answer over a span of days, folded result by result as it
    streams in (`CredentialSession.post_items`), each result's data split by day."""

    def __init__(self, days: Sequence[DayAssembler], splitter: AnswerSplitter) -> None:
        self.rows = [AgentConversationRows(day) for day in days]
        self.splitter = splitter

    def add(self, result: Any) -> None:
        for rows, part in zip(self.rows, self.splitter.split_result(result), strict=True):
            if part is not None:
                rows.add(part)

    def commit(self) -> None:
        for rows in self.rows:
            rows.commit()


Span = tuple[datetime, datetime | None, str]


def _parse_time(text: Any) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(str(text))
    except ValueError as exc:
        raise RemoteError(f"Genesys Cloud answered a time {text!r} that is not ISO-8601") from exc


def _spans(records: Any, state: Callable[[Mapping[str, Any]], str]) -> list[Span]:
    spans: list[Span] = []
    for record in records or []:
        start = _parse_time(record.get("startTime"))
        if start is not None:
            spans.append((start, _parse_time(record.get("endTime")), state(record)))
    spans.sort(key=lambda span: span[0])
    return spans


def _cursor(spans: list[Span]) -> Callable[[datetime], str | None]:
    """The state at ascending points in time, for spans that do not overlap."""
    position = [0]

    def at(point: datetime) -> str | None:
        i = position[0]
        while i < len(spans) and spans[i][1] is not None and spans[i][1] <= point:  # type: ignore[operator]
            i += 1
        position[0] = i
        if i < len(spans) and spans[i][0] <= point:
            return spans[i][2]
        return None

    return at

"""Genesys analytics answers -> the canonical frames of `wfmcli.frames`.

This is the one place milliseconds become float seconds. Answers are folded into compact
accumulators as they arrive (one list of numbers per row key), so a 20,000-agent day never holds
its JSON in memory at once. Buckets are checked against the destination's interval grid: a bucket
Genesys cut anywhere else would put numbers in the wrong interval, so it is an error, not a row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from wfmcli import frames
from wfmcli.errors import RemoteError
from wfmcli.pull.directory import Directory
from wfmcli.pull.queries import QueueQuery, Window, abandon_view, answered_view
from wfmcli.timegrid import grid

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
        row = self.row(key)
        for entry in metrics:
            for field, stat, how in plan.get(str(entry.get("metric")), ()):
                value = float((entry.get("stats") or {}).get(stat) or 0)
                position = self.index[field]
                if how == "ms_max":
                    row[position] = max(row[position], value / 1000.0)
                elif how == "ms":
                    row[position] += value / 1000.0
                else:
                    row[position] += value

    def table(self, key_names: Sequence[str]) -> pd.DataFrame:
        keys = list(self.rows)
        data: dict[str, Any] = {name: [key[i] for key in keys] for i, name in enumerate(key_names)}
        values = np.array(list(self.rows.values()), dtype="float64").reshape(
            len(keys), len(self.fields)
        )
        for i, name in enumerate(self.fields):
            data[name] = values[:, i]
        return pd.DataFrame(data)


class BucketGrid:
    """Maps Genesys' `start/end` bucket strings to interval starts on the destination grid."""

    def __init__(self, window: Window, minutes: int) -> None:
        starts = grid(window.start, window.end, window.zone, minutes)
        self._valid = {int(ts.value) for ts in starts}
        self._cache: dict[str, pd.Timestamp] = {}
        self._where = f"{window.zone.key} {minutes}-minute grid"

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


class DayAssembler:
    """Collects one window's answers and turns them into frames."""

    def __init__(
        self, window: Window, minutes: int, directory: Directory, media: frozenset[str]
    ) -> None:
        self.window = window
        self.minutes = minutes
        self.directory = directory
        self.media = media
        self.buckets = BucketGrid(window, minutes)
        self.secondary = sorted(p.id for p in directory.presences.values() if p.secondary)
        self.queue = Accumulator(QUEUE_FIELDS)
        self.agent_queue = Accumulator(AGENT_QUEUE_FIELDS)
        self.agent = Accumulator(
            (*AGENT_TIME_FIELDS, *AGENT_WORK_FIELDS, *(f"secondary_{p}_s" for p in self.secondary))
        )
        self.status: list[tuple[Any, ...]] = []

    # -- conversation aggregates: queues ---------------------------------------------------

    def add_queue_answer(self, query: QueueQuery, body: Any) -> None:
        for result in _results(body, "conversation aggregates"):
            group = result.get("group") or {}
            queue = self.directory.queue_by_id.get(str(group.get("queueId")))
            media = str(group.get("mediaType", ""))
            direction = str(group.get("originatingDirection") or "inbound")
            if queue is None or media not in frames.MEDIA:
                continue
            if not media_selected(media, direction, self.media):
                continue
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

    # -- conversation aggregates: agents ---------------------------------------------------

    def add_agent_conversations(self, body: Any) -> None:
        for result in _results(body, "conversation aggregates"):
            group = result.get("group") or {}
            agent = self.directory.agent_by_id.get(str(group.get("userId")))
            media = str(group.get("mediaType", ""))
            direction = str(group.get("originatingDirection") or "inbound")
            if agent is None or media not in frames.MEDIA:
                continue
            if not media_selected(media, direction, self.media):
                continue
            queue_id = str(group.get("queueId") or "")
            in_scope = queue_id in self.directory.queue_by_id
            for entry in _entries(result):
                start = self.buckets.start(str(entry.get("interval")))
                metrics = entry.get("metrics") or []
                if in_scope:
                    key = (start, agent.user_id, queue_id, media, direction)
                    self.agent_queue.apply(key, AGENT_QUEUE_PLAN, metrics)
                self._agent_work(start, agent.user_id, direction, metrics)

    def _agent_work(
        self,
        start: pd.Timestamp,
        user_id: str,
        direction: str,
        metrics: Iterable[Mapping[str, Any]],
    ) -> None:
        row = self.agent.row((start, user_id))
        index = self.agent.index
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

    # -- user aggregates ---------------------------------------------------------------------

    def add_user_aggregates(self, body: Any) -> None:
        index = self.agent.index
        for result in _results(body, "user aggregates"):
            agent = self.directory.agent_by_id.get(str((result.get("group") or {}).get("userId")))
            if agent is None:
                continue
            for entry in _entries(result):
                row = self.agent.row(
                    (self.buckets.start(str(entry.get("interval"))), agent.user_id)
                )
                for metric in entry.get("metrics") or []:
                    name = str(metric.get("metric"))
                    qualifier = str(metric.get("qualifier") or "")
                    seconds = float((metric.get("stats") or {}).get("sum") or 0) / 1000.0
                    if name == "tSystemPresence" and qualifier not in ("", "OFFLINE"):
                        row[index["logged_in_s"]] += seconds
                    field = self._time_field(name, qualifier)
                    if field is not None:
                        row[index[field]] += seconds

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
        for detail in details:
            agent = self.directory.agent_by_id.get(str(detail.get("userId")))
            if agent is None:
                continue
            for start, end, system, secondary, routing in self._timeline(detail):
                if self.window.start <= start < self.window.end:
                    self.status.append((agent.user_id, start, end, system, secondary, routing))

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

    def frames(self, wanted: Sequence[str]) -> dict[str, pd.DataFrame]:
        builders: dict[str, Callable[[], pd.DataFrame]] = {
            "queue_interval": self._queue_frame,
            "agent_interval": self._agent_frame,
            "agent_queue_interval": self._agent_queue_frame,
            "agent_status": self._status_frame,
        }
        return {name: builders[name]() for name in wanted}

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

    def _agent_queue_frame(self) -> pd.DataFrame:
        df = self.agent_queue.table(("interval_start", "user_id", "queue_id", "media", "direction"))
        self._names(df)
        df["queue_name"] = [self.directory.queue_by_id[q].name for q in df["queue_id"]]
        return self._finish("agent_queue_interval", df)

    def _agent_frame(self) -> pd.DataFrame:
        df = self.agent.table(("interval_start", "user_id"))
        # Genesys reports OFFLINE time for every user; a logged-out, idle bucket is no row.
        df = df[df[list(self.agent.fields)].to_numpy().any(axis=1)].reset_index(drop=True)
        df["off_queue_s"] = (df["logged_in_s"] - df["on_queue_s"]).clip(lower=0)
        self._names(df)
        return self._finish("agent_interval", df)

    def _status_frame(self) -> pd.DataFrame:
        columns = [
            "user_id",
            "start",
            "end",
            "system_presence",
            "secondary_presence",
            "routing_status",
        ]
        df = pd.DataFrame(self.status, columns=columns)
        df["start"] = pd.to_datetime(df["start"], utc=True)
        df["end"] = pd.to_datetime(df["end"], utc=True)
        self._names(df)
        return self._finish("agent_status", df)

    def _names(self, df: pd.DataFrame) -> None:
        agents = self.directory.agent_by_id
        df["agent_id"] = [agents[u].agent_id for u in df["user_id"]]
        df["agent_name"] = [agents[u].name for u in df["user_id"]]

    def _finish(self, name: str, df: pd.DataFrame) -> pd.DataFrame:
        spec = frames.spec(name)
        if "interval_minutes" in spec.names:
            df["interval_minutes"] = self.minutes
        extra = sorted(c for c in df.columns if c not in spec.names and c.startswith("secondary_"))
        df = frames.coerce(name, df[[*spec.names, *extra]])
        return df.sort_values(spec.keys, kind="stable").reset_index(drop=True)


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

"""The canonical frames: the contract between `wfm pull` (fills them) and `reports` (reads them).

Four frames, one schema table (`FRAMES`) that everything else reads:

=======================  ==============================================  ==========================
frame                    one row per                                     time column
=======================  ==============================================  ==========================
``queue_interval``       interval x queue x media x direction x campaign  ``interval_start``
``agent_interval``       interval x agent                                 ``interval_start``
``agent_queue_interval`` interval x agent x queue x media x direction     ``interval_start``
``agent_status``         status change of one agent                       ``start``
=======================  ==============================================  ==========================

Units and conventions, the same in every frame:

* Timestamps are tz-aware UTC (``datetime64[ns, UTC]``). An interval row covers the half-open span
  ``[interval_start, interval_start + interval_minutes)``; the grid is aligned to the
  *destination's* local midnight, so starts fall on 15-minute UTC boundaries in every real zone
  (India's +5:30 and Nepal's +5:45 included) but not necessarily on 30- or 60-minute ones.
* Durations are float seconds (suffix ``_s``); Genesys' milliseconds are converted once (pull).
* Counts are int64 (suffix-free names such as ``offered``). No metric is ever negative.
* A metric counts in the interval of its Genesys emit time (offered when it entered the queue,
  answered when answered, handle when ACW ended), exactly as Genesys reports it.
* ``media`` is one of voice, chat, email, message, callback; ``direction`` is inbound or outbound;
  ``campaign_id`` is the outbound campaign ("" for none), telling campaign traffic from inbound.
* ``agent_interval`` may carry one extra float column per secondary presence, named
  ``secondary_<presence id>_s`` (presence ids are org-specific, so they cannot be fixed columns).

Each column also says how it combines when a report sums rows up (``agg``): sums add, maxima take
the maximum, descriptive columns (names, the SL target) take the first value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from wfmcli.errors import UsageError

if TYPE_CHECKING:
    import pandas as pd

Kind = Literal["timestamp", "text", "count", "seconds", "ratio", "minutes"]
Agg = Literal["key", "sum", "max", "first"]

MEDIA = ("voice", "chat", "email", "message", "callback")
DIRECTIONS = ("inbound", "outbound")
SECONDARY_PRESENCE = re.compile(r"^secondary_[A-Za-z0-9-]+_s$")
SYSTEM_PRESENCES = ("available", "away", "busy", "break", "meal", "meeting", "training", "idle")


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    agg: Agg
    doc: str


@dataclass(frozen=True)
class FrameSpec:
    name: str
    grain: str
    time_column: str
    columns: tuple[Column, ...]
    extra_columns: re.Pattern[str] | None = None

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def keys(self) -> list[str]:
        return [column.name for column in self.columns if column.agg == "key"]

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        if self.extra_columns is not None and self.extra_columns.match(name):
            return Column(name, "seconds", "sum", "seconds in one secondary presence")
        raise KeyError(name)


DTYPES: dict[Kind, str] = {
    "timestamp": "datetime64[ns, UTC]",
    "text": "str",  # pandas' Arrow-backed strings: compact, and zero-copy into report layout
    "count": "int64",
    "seconds": "float64",
    "ratio": "float64",
    "minutes": "int64",
}


def _c(name: str, kind: Kind, agg: Agg, doc: str) -> Column:
    return Column(name, kind, agg, doc)


_INTERVAL = (
    _c("interval_start", "timestamp", "key", "interval start, UTC; the interval is half-open"),
    _c("interval_minutes", "minutes", "first", "interval length in minutes: 15, 30 or 60"),
)
_QUEUE = (
    _c("queue_id", "text", "key", "Genesys queue id"),
    _c("queue_name", "text", "first", "queue name"),
    _c("media", "text", "key", "voice, chat, email, message or callback"),
    _c("direction", "text", "key", "inbound or outbound"),
)
_AGENT = (
    _c("user_id", "text", "key", "Genesys user id"),
    _c("agent_id", "text", "first", "the id the WFM system knows the agent by"),
    _c("agent_name", "text", "first", "agent display name"),
)
_HANDLING = (
    _c("talk_s", "seconds", "sum", "talk time"),
    _c("talk_count", "count", "sum", "contacts with talk time"),
    _c("hold_s", "seconds", "sum", "hold time"),
    _c("hold_count", "count", "sum", "contacts with hold time"),
    _c("acw_s", "seconds", "sum", "after-contact work"),
    _c("acw_count", "count", "sum", "contacts with after-contact work"),
    _c("handle_s", "seconds", "sum", "handle time: talk + hold + ACW, counted when ACW ends"),
    _c("handle_count", "count", "sum", "handled contacts"),
)

FRAMES: dict[str, FrameSpec] = {
    spec.name: spec
    for spec in (
        FrameSpec(
            "queue_interval",
            "interval x queue x media x direction x campaign",
            "interval_start",
            (
                *_INTERVAL,
                *_QUEUE,
                _c("campaign_id", "text", "key", "outbound campaign id, '' for none"),
                _c("offered", "count", "sum", "contacts that entered the queue"),
                _c("answered", "count", "sum", "contacts answered by an agent"),
                _c(
                    "abandoned", "count", "sum", "contacts abandoned in queue (short ones included)"
                ),
                _c("short_abandoned", "count", "sum", "abandons below the short-abandon threshold"),
                _c("answered_in_sl", "count", "sum", "answered within the SL threshold"),
                _c(
                    "abandoned_in_sl",
                    "count",
                    "sum",
                    "abandoned within the SL threshold, short excluded",
                ),
                _c("flow_out", "count", "sum", "contacts that left the queue by flow-out"),
                _c("transferred", "count", "sum", "contacts transferred after answer"),
                _c("answer_wait_s", "seconds", "sum", "queue time of answered contacts"),
                _c(
                    "answer_wait_max_s",
                    "seconds",
                    "max",
                    "longest queue time of an answered contact",
                ),
                _c("abandon_wait_s", "seconds", "sum", "queue time of abandoned contacts"),
                _c("abandon_wait_max_s", "seconds", "max", "longest queue time of an abandon"),
                *_HANDLING,
                _c("sl_threshold_s", "seconds", "first", "the queue's SL threshold"),
                _c("sl_target", "ratio", "first", "the queue's SL target, 0..1"),
            ),
        ),
        FrameSpec(
            "agent_interval",
            "interval x agent",
            "interval_start",
            (
                *_INTERVAL,
                *_AGENT,
                _c("logged_in_s", "seconds", "sum", "time not OFFLINE"),
                _c("on_queue_s", "seconds", "sum", "time ON_QUEUE"),
                _c("idle_s", "seconds", "sum", "routing status IDLE"),
                _c("interacting_s", "seconds", "sum", "routing status INTERACTING"),
                _c("communicating_s", "seconds", "sum", "routing status COMMUNICATING"),
                _c("not_responding_s", "seconds", "sum", "routing status NOT_RESPONDING"),
                _c("off_queue_s", "seconds", "sum", "logged in but not ON_QUEUE"),
                *(
                    _c(f"presence_{name}_s", "seconds", "sum", f"system presence {name.upper()}")
                    for name in SYSTEM_PRESENCES
                ),
                _c("handled", "count", "sum", "inbound contacts handled"),
                _c("talk_s", "seconds", "sum", "talk time"),
                _c("hold_s", "seconds", "sum", "hold time"),
                _c("acw_s", "seconds", "sum", "after-contact work"),
                _c("handle_s", "seconds", "sum", "handle time"),
                _c("transferred", "count", "sum", "contacts transferred out"),
                _c("outbound_count", "count", "sum", "outbound contacts handled"),
                _c("outbound_s", "seconds", "sum", "handle time of outbound contacts"),
            ),
            SECONDARY_PRESENCE,
        ),
        FrameSpec(
            "agent_queue_interval",
            "interval x agent x queue x media x direction",
            "interval_start",
            (
                *_INTERVAL,
                *_AGENT,
                *_QUEUE,
                _c("answered", "count", "sum", "contacts answered"),
                _c("handled", "count", "sum", "contacts handled (ACW ended)"),
                _c("talk_s", "seconds", "sum", "talk time"),
                _c("hold_s", "seconds", "sum", "hold time"),
                _c("acw_s", "seconds", "sum", "after-contact work"),
                _c("handle_s", "seconds", "sum", "handle time"),
                _c("transferred", "count", "sum", "contacts transferred out"),
            ),
        ),
        FrameSpec(
            "agent_status",
            "status change of one agent",
            "start",
            (
                *_AGENT,
                _c("start", "timestamp", "key", "when the status began, UTC"),
                _c("end", "timestamp", "first", "when it ended, UTC; NaT while it lasts"),
                _c("system_presence", "text", "first", "OFFLINE, AVAILABLE, ON_QUEUE, BREAK, ..."),
                _c("secondary_presence", "text", "first", "secondary presence name, '' for none"),
                _c("routing_status", "text", "first", "OFF_QUEUE, IDLE, INTERACTING, ..."),
            ),
        ),
    )
}


def spec(frame_name: str) -> FrameSpec:
    try:
        return FRAMES[frame_name]
    except KeyError:
        raise UsageError(
            f"unknown frame {frame_name!r}", hint=f"frames: {', '.join(FRAMES)}"
        ) from None


def empty_frame(frame_name: str) -> pd.DataFrame:
    """A frame with every column at its canonical dtype and no rows."""
    import pandas as pd

    frame_spec = spec(frame_name)
    return pd.DataFrame({c.name: pd.Series(dtype=DTYPES[c.kind]) for c in frame_spec.columns})


def coerce(frame_name: str, df: pd.DataFrame) -> pd.DataFrame:
    """Cast the known columns to their canonical dtypes (Parquet round trips can widen them)."""
    import pandas as pd

    frame_spec = spec(frame_name)
    out = df.copy(deep=False)  # copy-on-write: the caller's frame is never changed
    for name in out.columns:
        try:
            kind = frame_spec.column(name).kind
        except KeyError:
            continue
        if _canonical(out[name], kind):
            continue  # most columns of a day read back are canonical: no copies to make
        if kind == "timestamp":
            out[name] = pd.to_datetime(out[name], utc=True).astype(DTYPES[kind])
        elif kind == "text":
            out[name] = out[name].astype(object).where(out[name].notna(), "").astype(str)
        elif kind in ("count", "minutes"):
            out[name] = pd.to_numeric(out[name]).fillna(0).astype("int64")
        else:
            out[name] = pd.to_numeric(out[name]).astype("float64")
    return out


def _canonical(series: pd.Series, kind: Kind) -> bool:
    """Whether casting would leave a numeric or time column as it is. Text is always re-cast:
    that also leaves it in one contiguous Arrow array, which the report layout slices."""
    import pandas as pd

    return kind != "text" and series.dtype == pd.api.types.pandas_dtype(DTYPES[kind])


def problems(frame_name: str, df: pd.DataFrame) -> list[str]:
    """Every way df breaks the frame's schema, one line each; empty when it conforms."""
    frame_spec = spec(frame_name)
    found: list[str] = []
    missing = [name for name in frame_spec.names if name not in df.columns]
    if missing:
        found.append(f"{frame_name}: missing column(s) {', '.join(missing)}")
    for name in df.columns:
        try:
            column = frame_spec.column(str(name))
        except KeyError:
            found.append(f"{frame_name}: unknown column {name!r}")
            continue
        found += _column_problems(frame_name, column, df[name])
    if not missing and len(df) and df.duplicated(frame_spec.keys).any():
        found.append(f"{frame_name}: duplicate rows for key ({', '.join(frame_spec.keys)})")
    return found


def validate(frame_name: str, df: pd.DataFrame) -> None:
    """Raise UsageError naming the first problem (and how many more) if df breaks the schema."""
    found = problems(frame_name, df)
    if found:
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise UsageError(
            f"frame does not match the canonical schema: {found[0]}{more}",
            hint="see wfmcli/frames.py for the schema",
        )


def _column_problems(frame_name: str, column: Column, series: pd.Series) -> list[str]:
    import pandas as pd

    where = f"{frame_name}.{column.name}"
    kind = column.kind
    if kind == "timestamp":
        if not isinstance(series.dtype, pd.DatetimeTZDtype) or str(series.dtype.tz) != "UTC":
            return [f"{where}: expected tz-aware UTC timestamps, found {series.dtype}"]
        if column.agg == "key" and series.isna().any():
            return [f"{where}: missing timestamps"]
        if column.name == "interval_start" and len(series):
            off_grid = (series.dt.minute % 15 != 0) | (series.dt.second != 0)
            if off_grid.any():
                return [f"{where}: {series[off_grid].iloc[0]} is not on a 15-minute boundary"]
        return []
    if kind == "text":
        if not (pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)):
            return [f"{where}: expected text, found {series.dtype}"]
        return [f"{where}: missing values"] if series.isna().any() else []
    if kind in ("count", "minutes"):
        if not pd.api.types.is_integer_dtype(series):
            return [f"{where}: expected integers, found {series.dtype}"]
    elif not pd.api.types.is_float_dtype(series):
        return [f"{where}: expected float seconds, found {series.dtype}"]
    if kind == "minutes" and len(series) and not series.isin((15, 30, 60)).all():
        return [f"{where}: interval length must be 15, 30 or 60"]
    if (series < 0).any() or series.isna().any():
        return [f"{where}: negative or missing values"]
    return []

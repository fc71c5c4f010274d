"""Canonical frames + a vendor profile -> report files. Pure: no I/O but the files it writes.

One engine for every vendor: for each report the frame is cut to the range, filtered, binned onto
the destination's interval grid, summed per the report's keys (optionally with zero rows for quiet
intervals), its columns evaluated as expressions, the vendor's consistency checks run, and the text
laid out delimited or fixed-width, one file per interval or per local day.
"""

from __future__ import annotations

import codecs
import hashlib
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from wfmcli import frames
from wfmcli.errors import UsageError
from wfmcli.reports.checks import CheckContext, ConsistencyError, Warning, run_checks
from wfmcli.reports.expr import Expression, Value
from wfmcli.reports.formats import TemplateError, fill_template
from wfmcli.reports.layout import body_bytes, format_lines, header_line
from wfmcli.reports.mapping import (
    FILL_SINCE,
    MAPPED,
    QueueMap,
    new_pairs_in_order,
    queue_frames_in_scope,
    scope_mask,
)
from wfmcli.reports.spec import Profile, ReportSpec
from wfmcli.timegrid import grid

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Destination:
    """What a destination says about its files; plain values so reports need no configuration."""

    timezone: str
    interval_minutes: int = 15
    reports: Sequence[str] = ()  # empty: every report of the profile
    agent_ids: Mapping[str, str] = field(default_factory=dict)  # Genesys user id -> WFM agent id
    agent_names: Mapping[str, str] = field(default_factory=dict)
    queue_names: Mapping[str, str] = field(default_factory=dict)
    constants: Mapping[str, str] = field(default_factory=dict)  # override the profile's
    # the queue mapping (None: made in memory by the profile's policy) and the media in scope
    queue_map: QueueMap | None = None
    media: Sequence[str] = ()  # config media names; empty: every media and direction

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class RenderedFile:
    path: Path
    report: str
    rows: int
    bytes: int
    sha256: str
    start: datetime  # local, inclusive
    end: datetime  # local, exclusive
    intervals: int
    totals: dict[str, float]
    warnings: tuple[str, ...] = ()
    # the same file again for a period it also holds (the second pass of a repeated hour under
    # repeated_hour: combine), so a job records that period as delivered; it adds no contacts
    alias: bool = False


@dataclass
class Table:
    """One report's rows before layout: output values, row order and the file period of each row."""

    values: dict[str, Value]
    index: pd.Index
    period: np.ndarray  # index into `periods` for every row
    periods: list[tuple[pd.Timestamp, pd.Timestamp, int]]  # (UTC start, UTC end, interval count)
    warnings: list[Warning]
    aliases: dict[int, pd.Timestamp] = field(default_factory=dict)  # period -> 2nd pass start


def render_reports(
    frames_by_name: Mapping[str, pd.DataFrame],
    profile: Profile,
    destination: Destination,
    start: datetime,
    end: datetime,
    out_dir: Path,
    clock: Clock | None = None,
) -> list[RenderedFile]:
    """Render every (selected) report of the profile for [start, end) into out_dir."""
    now = (clock or (lambda: datetime.now(UTC)))()
    names = list(destination.reports) or list(profile.reports)
    unknown = [name for name in names if name not in profile.reports]
    if unknown:
        raise UsageError(
            f"profile {profile.name} has no report {unknown[0]!r}",
            hint=f"reports: {', '.join(profile.reports)}",
        )
    starts = grid(start, end, destination.zone, destination.interval_minutes)
    given_map = destination.queue_map
    destination = replace(destination, queue_map=full_map(frames_by_name, profile, destination))
    written: list[RenderedFile] = []
    seen: set[Path] = set()
    for name in names:
        report = profile.reports[name]
        frame = _frame(frames_by_name, report.frame)
        known = _fill_set(report, frames_by_name, given_map, destination) if report.fill else None
        table = build_table(report, frame, profile, destination, starts, known)
        for rendered in _write_files(name, report, table, profile, destination, out_dir, now):
            if rendered.path in seen and not rendered.alias:
                raise UsageError(
                    f"two files of profile {profile.name} are both named {rendered.path.name}",
                    hint="give each report its own file_name (e.g. with {report})",
                )
            seen.add(rendered.path)
            written.append(rendered)
    return written


def _fill_set(
    report: ReportSpec,
    frames_by_name: Mapping[str, pd.DataFrame],
    mapping: QueueMap | None,
    destination: Destination,
) -> pd.DataFrame | None:
    """What a `fill: true` report zero-fills, independent of the range rendered: the scope's
    queues for reports keyed on Genesys ids; the destination's stored mapping for reports keyed
    on its queue keys. None (zero rows for the keys the range saw) for a mapping made in memory."""
    directory = frames_by_name.get(FILL_ENTITIES)
    if not set(MAPPED) & set(report.keys):
        return directory
    if mapping is None:
        return None
    names = (
        dict(zip(directory["queue_id"], directory["queue_name"], strict=True))
        if (directory is not None and "queue_name" in directory)
        else {}
    )
    return mapping.fill_entities(destination.media, {**names, **destination.queue_names})


def _frame(frames_by_name: Mapping[str, pd.DataFrame], name: str) -> pd.DataFrame:
    if name in frames_by_name:
        frame = frames_by_name[name]
        frames.validate(name, frame)
        return frame
    return frames.empty_frame(name)


# ---------------------------------------------------------------- rows


def build_table(
    report: ReportSpec,
    frame: pd.DataFrame,
    profile: Profile,
    destination: Destination,
    starts: pd.DatetimeIndex,
    known: pd.DataFrame | None = None,
) -> Table:
    interval = pd.Timedelta(minutes=destination.interval_minutes)
    frame_spec = frames.FRAMES[report.frame]
    time_column = frame_spec.time_column
    rows = frame[(frame[time_column] >= starts[0]) & (frame[time_column] < starts[-1] + interval)]
    rows = _apply_names(rows, destination)
    if "queue_id" in frame_spec.names:
        rows = map_queues(rows, profile, destination)
    constants = {**profile.constants, **destination.constants}
    if report.filter:
        mask = Expression(report.filter).evaluate({**_columns(rows), **constants})
        rows = rows[_as_bool(mask, rows.index)]
    rows = rows[[c for c in rows.columns if c in _needed(report, frame_spec)]]
    position = starts.searchsorted(rows[time_column], side="right") - 1
    rows = rows.assign(_bin=starts[position])
    aggregated = report.aggregate and report.frame != "agent_status"
    repeats = _repeats(starts, destination.zone) if report.repeated_hour != "marker" else {}
    if repeats and report.repeated_hour == "merge" and aggregated:
        # the repeated hour's second pass adds into the first: one row per local date and time
        rows = rows.assign(_bin=pd.DatetimeIndex(rows["_bin"]).map(lambda b: repeats.get(b, b)))
        starts = starts.difference(pd.DatetimeIndex(list(repeats)))
    if aggregated:
        rows = _aggregate(rows, report, frame_spec, destination.interval_minutes, bool(repeats))
        if report.fill and known is not None and set(report.keys) <= set(known.columns):
            rows = _fill_known(rows, report, frame_spec, starts, known, destination)
        elif report.fill:
            rows = _fill(rows, report, frame_spec, starts)
    rows = rows.reset_index(drop=True)
    env = _environment(rows, report, destination, interval, constants)
    values = {column.name: Expression(column.source).evaluate(env) for column in report.columns}
    bins = pd.Series(pd.DatetimeIndex(rows["_bin"]), index=rows.index)
    period_of, periods = _periods(report, bins, starts, destination, interval, repeats)
    warnings = _check(report, {**env, **values}, rows, bins, starts, destination, interval)
    order = _order(report, {**env, **values}, rows.index, period_of)
    starts_of = {p[0]: n for n, p in enumerate(periods)}
    aliases = (
        {starts_of[first]: second for second, first in repeats.items() if first in starts_of}
        if report.per == "interval"
        else {}
    )
    return Table(
        values={name: _take(value, order) for name, value in values.items()},
        index=pd.RangeIndex(len(order)),
        period=period_of[order],
        periods=periods,
        warnings=warnings,
        aliases=aliases,
    )


def _needed(report: ReportSpec, frame_spec: frames.FrameSpec) -> set[str]:
    """The frame columns a report reads: only these are carried through grouping."""
    sources = [column.source for column in report.columns]
    for check in report.checks:
        sources += [text for text in (check.rule, check.left, check.right, check.wait) if text]
    names = {name for source in sources for name in Expression(source).names}
    names |= {*report.keys, *report.sort, *(g for c in report.checks for g in c.group)}
    return names | {
        frame_spec.time_column,
        "interval_minutes",
        *_DESCRIBED_BY.get(report.frame, ()),
    }


# the descriptive columns a report about these frames may show next to its keys
_DESCRIBED_BY = {"agent_status": ("end",)}


def full_map(
    frames_by_name: Mapping[str, pd.DataFrame], profile: Profile, destination: Destination
) -> QueueMap:
    """The destination's queue mapping completed for every pair the frames hold, by its policy.

    In memory only: a job writes new pairs to the mapping file before it renders, so their codes
    never change. Made once per render, so every report gives a pair the same key and code."""
    given = destination.queue_map
    mapping = QueueMap(
        list(given.rows) if given else [],
        given.spec if given else profile.queue_key,
        given.policy if given else profile.queue_key.policy,
        given.origin if given else "queue mapping",
    )
    in_scope = [
        _apply_names(rows, destination)
        for rows in queue_frames_in_scope(frames_by_name, destination.media)
    ]
    if not all(mapping.covers(rows) for rows in in_scope):
        mapping.extend(new_pairs_in_order(in_scope))
    return mapping


def map_queues(rows: pd.DataFrame, profile: Profile, destination: Destination) -> pd.DataFrame:
    """Rows in the destination's media scope, with the mapping's queue key, code and label;
    excluded pairs dropped."""
    rows = rows[scope_mask(rows, destination.media).to_numpy()]
    mapping = destination.queue_map
    if mapping is None or not mapping.covers(rows):
        mapping = full_map({"queue_interval": rows}, profile, destination)
    return mapping.apply(rows)


def _agg(frame_spec: frames.FrameSpec, name: str) -> frames.Agg:
    return "first" if name in MAPPED else frame_spec.column(name).agg


def _columns(rows: pd.DataFrame) -> dict[str, Value]:
    return {str(name): rows[name] for name in rows.columns}


def _as_bool(value: Value, index: pd.Index) -> pd.Series:
    if isinstance(value, pd.Series):
        return value.astype(bool)
    return pd.Series(bool(value), index=index)


def _apply_names(rows: pd.DataFrame, destination: Destination) -> pd.DataFrame:
    """The destination's agent ids and names win over the frame's.

    Agent ids are looked up by Genesys user id, then by the frame's own agent id (a username or
    email), both case-insensitively, as the pull's mapping file allows either.
    """
    updates: dict[str, pd.Series] = {}
    if destination.agent_ids and "agent_id" in rows.columns:
        table = {str(k).casefold(): v for k, v in destination.agent_ids.items()}
        mapped = rows["user_id"].str.casefold().map(table)
        mapped = mapped.where(mapped.notna(), rows["agent_id"].str.casefold().map(table))
        updates["agent_id"] = mapped.where(mapped.notna(), rows["agent_id"])
    for column, key, names in (
        ("agent_name", "user_id", destination.agent_names),
        ("queue_name", "queue_id", destination.queue_names),
    ):
        if names and column in rows.columns:
            mapped = rows[key].map(dict(names))
            updates[column] = mapped.where(mapped.notna(), rows[column])
    return rows.assign(**updates) if updates else rows


def _repeats(starts: pd.DatetimeIndex, zone: ZoneInfo) -> dict[pd.Timestamp, pd.Timestamp]:
    """Each interval start in the repeated hour of a fall-back day -> its first pass's start
    (the one with the same local date and time)."""
    local = starts.tz_convert(zone)
    first: dict[datetime, pd.Timestamp] = {}
    found: dict[pd.Timestamp, pd.Timestamp] = {}
    for utc, moment in zip(starts, local, strict=True):
        wall = moment.to_pydatetime().replace(tzinfo=None, fold=0)
        if moment.fold and wall in first:
            found[utc] = first[wall]
        else:
            first.setdefault(wall, utc)
    return found


def _aggregate(
    rows: pd.DataFrame,
    report: ReportSpec,
    frame_spec: frames.FrameSpec,
    minutes: int,
    merged: bool = False,
) -> pd.DataFrame:
    if len(rows) and int(rows["interval_minutes"].max()) > minutes:
        raise UsageError(
            f"the {frame_spec.name} frame has {int(rows['interval_minutes'].max())}-minute "
            "intervals; "
            f"cannot split them into {minutes}-minute ones",
            hint="pull with an interval no longer than the destination's",
        )
    keys = ["_bin", *report.keys]
    unique = set(frame_spec.keys) - {frame_spec.time_column} <= set(report.keys)
    if unique and not merged and (rows["interval_minutes"] == minutes).all():
        return rows  # already one row per interval and key: nothing to sum
    measures = {
        str(name): _agg(frame_spec, str(name))
        for name in rows.columns
        if name not in keys and name != "_bin" and _agg(frame_spec, str(name)) != "key"
    }
    measures["interval_minutes"] = "first"
    grouped = rows.groupby(keys, sort=False, dropna=False).agg(measures).reset_index()
    grouped["interval_minutes"] = minutes
    grouped["_bin"] = pd.DatetimeIndex(grouped["_bin"]).as_unit("ns")
    return grouped


# The frame of entities every `fill: true` report zero-fills (e.g. the scope's queues), when the
# frame source provides it: the set then does not depend on what one run's range happened to see.
FILL_ENTITIES = "fill_entities"


def _fill_known(
    rows: pd.DataFrame,
    report: ReportSpec,
    frame_spec: frames.FrameSpec,
    starts: pd.DatetimeIndex,
    known: pd.DataFrame,
    destination: Destination,
) -> pd.DataFrame:
    """Zero rows for every interval x known entity without traffic. A zero row's descriptive
    values come from `known` alone (or a fixed default), so any split of a range renders the
    same bytes; rows with traffic are kept as they are."""
    keys = list(report.keys)
    other = [c for c in rows.columns if c not in keys and c != "_bin"]
    descriptive = [c for c in other if _agg(frame_spec, str(c)) == "first"]
    entities = _first_since(known, keys)
    for name in descriptive:
        if name not in entities.columns:
            entities[name] = _default(str(name), _kind(frame_spec, str(name)), destination)
    full = pd.DataFrame({"_bin": starts}).merge(
        entities[[*keys, *descriptive, FILL_SINCE]], how="cross"
    )
    full = full[full["_bin"] >= full[FILL_SINCE]].drop(columns=FILL_SINCE)
    seen = pd.MultiIndex.from_frame(rows[["_bin", *keys]])
    zero = full[~pd.MultiIndex.from_frame(full[["_bin", *keys]]).isin(seen)]
    merged = pd.concat([rows, zero], ignore_index=True)
    for name in other:
        kind = _kind(frame_spec, str(name))
        if name not in descriptive:
            merged[name] = merged[name].fillna(0)
        merged[name] = merged[name].astype(frames.DTYPES[kind])
    merged["_bin"] = pd.DatetimeIndex(merged["_bin"]).as_unit("ns")
    merged = merged.sort_values(["_bin", *keys], kind="stable").reset_index(drop=True)
    for name in merged.columns:
        if name != "_bin" and _kind(frame_spec, str(name)) == "text":
            # one contiguous Arrow array again: the layout slices lines from its buffers
            merged[name] = pd.Series(merged[name].tolist(), dtype=frames.DTYPES["text"])
    return merged


def _first_since(known: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """One row per key with the earliest interval it is zero-filled from (a key several mapping
    rows merge into starts with the first of them; a row without `since` fills always)."""
    import pandas as pd

    always = pd.Timestamp(0, tz="UTC")
    since = known[FILL_SINCE].fillna(always) if FILL_SINCE in known else always
    entities = known.assign(**{FILL_SINCE: since})
    first = entities.groupby(keys, sort=False)[FILL_SINCE].min()
    entities = entities.drop_duplicates(keys).drop(columns=FILL_SINCE)
    return entities.merge(first.reset_index(), on=keys, how="left").reset_index(drop=True)


def _kind(frame_spec: frames.FrameSpec, name: str) -> frames.Kind:
    return "text" if name in MAPPED else frame_spec.column(name).kind


def _default(name: str, kind: str, destination: Destination) -> object:
    if name == "interval_minutes":
        return destination.interval_minutes
    return "" if kind == "text" else 0


def _fill(
    rows: pd.DataFrame, report: ReportSpec, frame_spec: frames.FrameSpec, starts: pd.DatetimeIndex
) -> pd.DataFrame:
    """Zero rows for every interval x entity (each key seen in the range) without traffic."""
    descriptive = [
        c
        for c in rows.columns
        if c not in report.keys and c != "_bin" and _agg(frame_spec, str(c)) == "first"
    ]
    measured = [
        c for c in rows.columns if c not in report.keys and c != "_bin" and c not in descriptive
    ]
    if report.keys:
        entities = rows.groupby(report.keys, sort=False)[descriptive].first().reset_index()
    else:
        entities = pd.DataFrame({c: [rows[c].iloc[0] if len(rows) else 0] for c in descriptive})
    if entities.empty:
        return rows
    full = pd.DataFrame({"_bin": starts}).merge(entities, how="cross")
    merged = full.merge(
        rows[["_bin", *report.keys, *measured]], on=["_bin", *report.keys], how="left"
    )
    for name in measured:
        kind = frame_spec.column(str(name)).kind
        merged[name] = merged[name].fillna(0).astype(frames.DTYPES[kind])
    return merged


def _environment(
    rows: pd.DataFrame,
    report: ReportSpec,
    destination: Destination,
    interval: pd.Timedelta,
    constants: Mapping[str, str],
) -> dict[str, Value]:
    zone = destination.zone
    env: dict[str, Value] = {**constants, **_columns(rows)}
    bins = pd.DatetimeIndex(rows["_bin"])
    if report.frame == "agent_status":
        env["local_start"] = rows["start"].dt.tz_convert(zone)
        env["local_end"] = rows["end"].dt.tz_convert(zone)
    else:
        env["local_start"] = pd.Series(bins.tz_convert(zone), index=rows.index)
        env["local_end"] = pd.Series((bins + interval).tz_convert(zone), index=rows.index)
    env["interval_end"] = pd.Series(bins + interval, index=rows.index)
    env["interval"] = destination.interval_minutes
    return env


def _periods(
    report: ReportSpec,
    bins: pd.Series,
    starts: pd.DatetimeIndex,
    destination: Destination,
    interval: pd.Timedelta,
    repeats: Mapping[pd.Timestamp, pd.Timestamp],
) -> tuple[np.ndarray, list[tuple[pd.Timestamp, pd.Timestamp, int]]]:
    if report.per == "interval" and report.repeated_hour == "combine" and repeats:
        # a second pass goes into its first pass's file, after it: one file, both periods
        kept = starts.difference(pd.DatetimeIndex(list(repeats)))
        twins = set(repeats.values())
        periods = [(s, s + interval, 2 if s in twins else 1) for s in kept]
        firsts = pd.DatetimeIndex(bins).map(lambda b: repeats.get(b, b))
        return kept.get_indexer(firsts), periods
    if report.per == "interval":
        periods = [(s, s + interval, 1) for s in starts]
        return starts.get_indexer(pd.DatetimeIndex(bins)), periods
    days = starts.tz_convert(destination.zone).date
    firsts = np.flatnonzero(np.r_[True, days[1:] != days[:-1]])
    bounds = [*firsts.tolist(), len(starts)]
    periods = [
        (starts[low], starts[high - 1] + interval, high - low)
        for low, high in itertools.pairwise(bounds)
    ]
    period_starts = starts[firsts]
    positions = period_starts.searchsorted(pd.DatetimeIndex(bins), side="right") - 1
    return np.asarray(positions, dtype=np.int64), periods


def _check(
    report: ReportSpec,
    env: Mapping[str, Value],
    rows: pd.DataFrame,
    bins: pd.Series,
    starts: pd.DatetimeIndex,
    destination: Destination,
    interval: pd.Timedelta,
) -> list[Warning]:
    if not report.checks or rows.empty:
        return []
    zone = destination.zone
    # days and day bounds per distinct interval start, then spread to the rows
    codes, uniques = pd.factorize(pd.DatetimeIndex(bins))
    unique_days = np.asarray(pd.DatetimeIndex(uniques).tz_convert(zone).date, dtype=object)
    start_days = pd.Series(starts, index=starts).dt.tz_convert(zone).dt.date
    firsts = pd.Series(starts, index=starts).groupby(start_days.to_numpy()).min()
    lasts = pd.Series(starts, index=starts).groupby(start_days.to_numpy()).max()
    day = pd.Series(unique_days[codes], index=rows.index)

    def spread(bounds: pd.Series) -> pd.Series:
        per_start = pd.Series(unique_days).map(bounds).to_numpy()
        return pd.Series(per_start[codes], index=rows.index)

    def describe(position: object) -> str:
        """Only failing rows are described: a label for every row costs more than the check."""
        local = pd.Timestamp(bins.loc[position]).tz_convert(zone)
        text: str = local.strftime("%Y-%m-%d %H:%M %Z")
        for key in reversed(report.keys):
            # a queue key may be a bare code: people read the WFM queue's name
            shown = "queue_label" if key == "queue_key" and "queue_label" in rows else key
            text = f"{rows.at[position, shown]} at {text}" if key in rows else text
        return text

    context = CheckContext(
        env=env,
        index=rows.index,
        describe=describe,
        day=day,
        bin_start=bins,
        day_first=spread(firsts),
        day_last=spread(lasts),
        interval=interval,
    )
    faults, warnings = run_checks(report.checks, context)
    if faults:
        raise ConsistencyError(report.description or report.frame, faults)
    return warnings


def _order(
    report: ReportSpec, env: Mapping[str, Value], index: pd.Index, period_of: np.ndarray
) -> np.ndarray:
    names = report.sort or ["_bin", *report.keys]
    if report.frame == "agent_status" and not report.sort:
        names = ["start", "agent_id"]
    keys = [period_of] + [
        _sort_key(env[name]) for name in names if isinstance(env[name], pd.Series)
    ]
    order: np.ndarray = np.lexsort(keys[::-1]) if len(index) else np.arange(0)
    return order


def _sort_key(value: pd.Series) -> np.ndarray:
    """Integers that sort like the values: epoch nanoseconds, numbers, or sorted factor codes."""
    if isinstance(value.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(value):
        stamps: np.ndarray = np.asarray(pd.DatetimeIndex(value).asi8)
        return stamps
    if pd.api.types.is_numeric_dtype(value) and not pd.api.types.is_bool_dtype(value):
        numbers: np.ndarray = value.to_numpy()
        return numbers
    codes, _ = pd.factorize(value, sort=True)
    return np.asarray(codes)


def _take(value: Value, order: np.ndarray) -> Value:
    if isinstance(value, pd.Series):
        return value.iloc[order].reset_index(drop=True)
    return value


# ---------------------------------------------------------------- text and files


def _write_files(
    name: str,
    report: ReportSpec,
    table: Table,
    profile: Profile,
    destination: Destination,
    out_dir: Path,
    now: datetime,
) -> list[RenderedFile]:
    lines = format_lines(report, table.values, table.index)
    bounds = np.searchsorted(table.period, np.arange(len(table.periods) + 1))
    zone = destination.zone
    numeric = {
        c.name: c
        for c in report.columns
        if c.format != "text" and not c.format.startswith("datetime")
    }
    written = []
    pending = list(table.warnings)
    columns = {key: _numbers(table.values[key]) for key in numeric}
    for number, (start, end, count) in enumerate(table.periods):
        low, high = int(bounds[number]), int(bounds[number + 1])
        totals = {key: _total(column, low, high) for key, column in columns.items()}
        local_start = start.tz_convert(zone)
        values: dict[str, Any] = {
            "start": local_start.to_pydatetime(),
            # the fall-back day repeats an hour: its second pass needs a different file name
            "fold": report.repeat_marker if local_start.fold else "",
            "end": end.tz_convert(zone).to_pydatetime(),
            "start_utc": start.to_pydatetime(),
            "now": now.astimezone(zone),
            "rows": high - low,
            "intervals": count,
            "interval": destination.interval_minutes,
            "report": name,
            "profile": profile.name,
            "sum": {k: int(v) if float(v).is_integer() else round(v, 2) for k, v in totals.items()},
            "const": {**profile.constants, **destination.constants},
        }
        path = _file_path(report, out_dir, values)
        data = _assemble(report, name, body_bytes(lines, low, high), values)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".part")
        temporary.write_bytes(data)
        temporary.replace(path)
        written.append(
            RenderedFile(
                path=path,
                report=name,
                rows=high - low,
                bytes=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                start=values["start"],
                end=values["end"],
                intervals=count,
                totals=totals,
                warnings=_claim(pending, values["start"].date()),
            )
        )
        second = table.aliases.get(number)
        if second is not None:
            local = second.tz_convert(zone).to_pydatetime()
            end_local = (second + (end - start)).tz_convert(zone).to_pydatetime()
            written.append(
                replace(written[-1], start=local, end=end_local, totals={}, warnings=(),
                        alias=True)
            )  # fmt: skip
    return written


def _numbers(value: Value) -> np.ndarray | float:
    """A column as numbers once, for the totals of every file it is cut into."""
    if isinstance(value, pd.Series):
        numeric = pd.to_numeric(value)
        if isinstance(numeric.dtype, np.dtype) and numeric.dtype.kind in "biuf":
            plain: np.ndarray = numeric.to_numpy()
            return plain
        nullable: np.ndarray = numeric.to_numpy(dtype="float64", na_value=np.nan)
        return nullable
    return float(value) if isinstance(value, int | float) else 0.0


def _total(numbers: np.ndarray | float, low: int, high: int) -> float:
    if isinstance(numbers, np.ndarray):
        part = numbers[low:high]
        # as pandas sums: missing values count as nothing
        total = np.nansum(part) if part.dtype.kind == "f" else np.sum(part)
        return round(float(total), 3)
    return numbers * (high - low)


def _claim(pending: list[Warning], day: object) -> tuple[str, ...]:
    """A day's warnings go with the first file of that day, once."""
    mine = [text for warning_day, text in pending if warning_day == day]
    pending[:] = [w for w in pending if w[0] != day]
    return tuple(mine)


def _assemble(report: ReportSpec, name: str, body: bytes, values: Mapping[str, Any]) -> bytes:
    try:
        head = [
            header_line(report) if line == "{columns}" else fill_template(line, values)
            for line in report.header
        ]
        tail = [fill_template(line, values) for line in report.trailer]
    except TemplateError as exc:
        raise UsageError(f"report {name}: header or trailer: {exc}") from exc
    newline = report.newline
    if codecs.lookup(report.encoding).name != "utf-8":
        body = _encode(report, name, body.decode("utf-8"))
    data = _encode(report, name, "".join(line + newline for line in head)) + body
    data += _encode(report, name, "".join(line + newline for line in tail))
    if report.max_bytes and len(data) > report.max_bytes:
        raise UsageError(
            f"report {name}: {len(data)} bytes exceed the vendor's limit of {report.max_bytes}",
            hint="write one file per interval (per: interval)",
        )
    return data


def _file_path(report: ReportSpec, out_dir: Path, values: Mapping[str, Any]) -> Path:
    try:
        relative = fill_template(report.file_name, values)
    except TemplateError as exc:
        raise UsageError(f"file_name {report.file_name!r}: {exc}") from exc
    pure = PurePosixPath(relative)
    if pure.is_absolute() or ".." in pure.parts or not pure.name:
        raise UsageError(
            f"file_name {report.file_name!r} must be a relative path inside the output folder"
        )
    if report.max_name_length and len(pure.name) > report.max_name_length:
        raise UsageError(
            f"file name {pure.name!r} is longer than the vendor's "
            f"{report.max_name_length} characters"
        )
    return out_dir.joinpath(*pure.parts)


def _encode(report: ReportSpec, name: str, text: str) -> bytes:
    try:
        return text.encode(report.encoding)
    except UnicodeEncodeError as exc:
        snippet = exc.object[max(exc.start - 10, 0) : exc.end + 10]
        raise UsageError(
            f"report {name}: {snippet!r} cannot be written in {report.encoding}",
            hint="rename the queue or agent, or use an encoding such as utf-8",
        ) from exc

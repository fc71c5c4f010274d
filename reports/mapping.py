"""The queue mapping: Genesys queue x media x direction x campaign -> the WFM's queue key.

WFM systems forecast per *contact type* (NICE: a queue tag per CT; Calabrio: a queue with a
numeric code; Verint: a work queue; Alvaria: a contact queue), and the WFM side names them, not
Genesys. The mapping is data an engineer edits in a spreadsheet: a CSV with a header row.

    queue_id      Genesys queue id (a UUID)
    media         voice, chat, email, message or callback
    direction     inbound or outbound
    campaign_id   the outbound campaign id; empty: none; * : any campaign of that queue and media
    key           the WFM's queue key (tag, split, contact-type name); empty with a code: the code
    code          the numeric queue code, where the profile's queue key is numeric (Calabrio)
    name          the display name the files carry
    action        map (or empty), merge (several rows add into one key), exclude (not delivered)
    queue_name    the Genesys queue name (for people; `wfm map` fills it)
    contacts      contacts seen when `wfm map` last ran (for people; busiest first)
    since         UTC start of the first interval with traffic, for rows a job added; a
                  `fill: true` report writes zero rows for the key from then on (empty: always)

Rows that share a key must all say `merge`: two Genesys queues silently summed into one WFM queue
is the mistake this file exists to prevent. Pairs the file does not list follow the destination's
policy: `split` (a key per queue x media x direction x campaign, the WFM norm), `merge` (a key per
Genesys queue) or `exclude`. Generated keys and codes are written back to the file by the job, so
they never change once made; they are made in the order the pairs first had traffic, so a catch-up
split into several runs makes the same keys and codes as one run. Pure: parsing, checking and
applying; the file I/O is the caller's.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Protocol, cast

from wfmcli.errors import ConfigError
from wfmcli.reports.groups import row_groups

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from wfmcli.reports.spec import QueueKeySpec

Policy = Literal["split", "merge", "exclude"]
Action = Literal["map", "merge", "exclude"]
Pair = tuple[str, str, str, str]  # (queue_id, media, direction, campaign_id)

COLUMNS = (
    "queue_id",
    "media",
    "direction",
    "campaign_id",
    "key",
    "code",
    "name",
    "action",
    "queue_name",
    "contacts",
    "since",
)
MEDIA = ("voice", "chat", "email", "message", "callback")
DIRECTIONS = ("inbound", "outbound")
ANY_CAMPAIGN = "*"
# the columns the mapping adds to the queue frames, for report keys and expressions
MAPPED = {
    "queue_key": "the WFM's queue key from the destination's queue mapping",
    "queue_code": "the numeric queue code from the mapping ('' where the vendor needs none)",
    "queue_label": "the WFM queue's display name from the mapping",
}
# config media names (wfmcli.config.Media) -> what they select in the frames
# the column of a fill set that holds the first interval a key is zero-filled for
FILL_SINCE = "_since"
_OUTBOUND_NAME = {"voice": "outbound_voice"}  # any other outbound media is digital messaging
_POLICY_ACTION: dict[str, Action] = {"split": "map", "merge": "merge", "exclude": "exclude"}


@dataclass(frozen=True)
class QueueRow:
    queue_id: str
    media: str
    direction: str
    campaign_id: str
    key: str
    code: str = ""
    name: str = ""
    action: Action = "map"
    queue_name: str = ""
    contacts: int | None = None
    line: int = 0  # where the row sits in its file (0: generated)
    since: str = ""  # ISO UTC; zero rows for the key start here ('' : always)

    @property
    def pair(self) -> Pair:
        return (self.queue_id, self.media, self.direction, self.campaign_id)

    def cells(self) -> list[str]:
        contacts = "" if self.contacts is None else str(self.contacts)
        action = "" if self.action == "map" else self.action
        return [
            self.queue_id,
            self.media,
            self.direction,
            self.campaign_id,
            self.key,
            self.code,
            self.name,
            action,
            self.queue_name,
            contacts,
            self.since,
        ]


@dataclass(frozen=True)
class Seen:
    """A pair Genesys reported, with what `wfm map` shows about it."""

    pair: Pair
    queue_name: str
    contacts: int = 0
    first_seen: str = ""  # ISO UTC start of its first interval with traffic ('' : unknown)


@dataclass
class QueueMap:
    rows: list[QueueRow]
    spec: QueueKeySpec
    policy: Policy
    origin: str = "queue mapping"
    _index: dict[Pair, QueueRow] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self._index = {row.pair: row for row in self.rows}

    def find(self, pair: Pair) -> QueueRow | None:
        """The row for a pair: exact, then any campaign ('*'), then (for frames without a
        campaign column) the first row of that queue, media and direction."""
        row = self._index.get(pair)
        if row is None and pair[3]:
            row = self._index.get((*pair[:3], ANY_CAMPAIGN))
        return row

    def find_loose(self, queue_id: str, media: str, direction: str) -> QueueRow | None:
        for campaign in ("", ANY_CAMPAIGN):
            row = self._index.get((queue_id, media, direction, campaign))
            if row is not None:
                return row
        return next((r for r in self.rows if r.pair[:3] == (queue_id, media, direction)), None)

    def missing(self, seen: Iterable[Seen]) -> list[Seen]:
        return [s for s in seen if self.find(s.pair) is None]

    def extend(self, seen: Sequence[Seen]) -> list[QueueRow]:
        """Rows for the pairs not yet mapped, made by the policy; added to the map and returned.

        Keys come from the queue's name (made to fit the profile's rules, unique), codes count on
        from the highest code in use, in the order given: the same inputs give the same rows.
        """
        added: list[QueueRow] = []
        keys = {row.key: row for row in self.rows}
        codes = {row.code for row in self.rows if row.code}
        merged: dict[str, QueueRow] = {}  # queue id -> the merge row made in this call
        for item in self.missing(seen):
            queue_id, media, direction, campaign = item.pair
            if self.policy == "merge":
                model = merged.get(queue_id) or self._queue_merge_row(queue_id)
                if model is not None:
                    row = replace(
                        model, queue_id=queue_id, media=media, direction=direction,
                        campaign_id=campaign, queue_name=item.queue_name,
                        contacts=item.contacts, line=0, since=item.first_seen,
                    )  # fmt: skip
                    added.append(row)
                    self._add(row)
                    continue
            label = _label(item, self.policy)
            key = self._unique_key(label, keys)
            code = self._next_code(codes) if self.spec.kind == "numeric" else ""
            if self.spec.kind == "numeric" and not key:
                key = code
            action = _POLICY_ACTION[self.policy]
            row = QueueRow(
                queue_id, media, direction, campaign, key, code, label, action,
                item.queue_name, item.contacts, since=item.first_seen,
            )  # fmt: skip
            if self.policy == "merge":
                merged[queue_id] = row
            keys[row.key] = row
            if code:
                codes.add(code)
            added.append(row)
            self._add(row)
        return added

    def update_counts(self, seen: Iterable[Seen]) -> None:
        """Refresh the informational columns (contacts, queue name) of the rows it lists."""
        by_pair = {s.pair: s for s in seen}
        for position, row in enumerate(self.rows):
            item = by_pair.get(row.pair)
            if item is not None:
                fresh = replace(row, contacts=item.contacts, queue_name=item.queue_name)
                self.rows[position] = fresh
                self._index[row.pair] = fresh

    def _add(self, row: QueueRow) -> None:
        self.rows.append(row)
        self._index[row.pair] = row

    def _queue_merge_row(self, queue_id: str) -> QueueRow | None:
        return next((r for r in self.rows if r.queue_id == queue_id and r.action == "merge"), None)

    def _unique_key(self, label: str, keys: dict[str, QueueRow]) -> str:
        if self.spec.kind == "numeric":
            return ""
        base = _fit(label, self.spec)
        key, number = base, 1
        while key in keys or not key:
            number += 1
            tail = f"~{number}"
            key = base[: self.spec.max_length - len(tail)] + tail
        return key

    def _next_code(self, codes: set[str]) -> str:
        highest = max((int(c) for c in codes if c.isdigit()), default=self.spec.code_start - 1)
        code = str(highest + 1)
        if len(code) > self.spec.max_length:
            raise ConfigError(
                f"{self.origin}: no numeric queue code of at most {self.spec.max_length} digits "
                "is left",
                hint="map new queues by hand, or renumber the codes in the file",
            )
        return code

    # ------------------------------------------------------------------ frames

    def apply(self, rows: pd.DataFrame) -> pd.DataFrame:
        """The rows with queue_key, queue_code and queue_label, excluded pairs dropped.

        A pair the map lacks raises KeyError: complete the map first (`extend`)."""
        table = self._lookup(rows)
        keep = table["action"] != "exclude"
        mapped = rows.assign(
            queue_key=table["key"], queue_code=table["code"], queue_label=table["name"]
        )
        return mapped[keep.to_numpy()]

    def excluded(self, rows: pd.DataFrame) -> pd.Series:
        """True for rows the mapping excludes (action exclude, or the exclude policy)."""
        return self._lookup(rows)["action"] == "exclude"

    def covers(self, rows: pd.DataFrame) -> bool:
        """Whether every pair in the rows has a row here."""
        _, pairs = _pairs(rows)
        return all(self._row_for(pair, "campaign_id" in rows) for pair in pairs)

    def fill_entities(
        self, selected: Sequence[str], queue_names: Mapping[str, str]
    ) -> pd.DataFrame:
        """The keys a `fill: true` report zero-fills: every row in the media scope that is not
        excluded, with what the zero rows carry and `since`, the first interval they cover (NaT:
        every interval). Names come from `queue_names` (the directory) where it has the queue."""
        import pandas as pd

        rows = [
            r
            for r in self.rows
            if r.action != "exclude" and in_scope(r.media, r.direction, selected)
        ]
        columns = {
            "queue_id": [r.queue_id for r in rows],
            "media": [r.media for r in rows],
            "direction": [r.direction for r in rows],
            "campaign_id": [r.campaign_id for r in rows],
            "queue_key": [r.key for r in rows],
            "queue_code": [r.code for r in rows],
            "queue_label": [r.name or r.key for r in rows],
            "queue_name": [queue_names.get(r.queue_id, r.queue_name) for r in rows],
        }
        entities = pd.DataFrame(columns, dtype="str")
        entities[FILL_SINCE] = pd.to_datetime([r.since or None for r in rows], utc=True)
        return entities

    def _row_for(self, pair: tuple[str, ...], campaigns: bool) -> QueueRow | None:
        queue_id, media, direction, campaign = (str(part) for part in pair)
        if campaigns:
            return self.find((queue_id, media, direction, campaign))
        return self.find_loose(queue_id, media, direction)

    def _lookup(self, rows: pd.DataFrame) -> pd.DataFrame:
        """key, code, name and action per row, by distinct pair (a frame has few pairs)."""
        import pandas as pd

        number, pairs = _pairs(rows)
        found: list[tuple[str, str, str, str]] = []
        for pair in pairs:
            row = self._row_for(pair, "campaign_id" in rows)
            if row is None:
                raise KeyError(f"{self.origin} has no row for {pair}")
            found.append((row.key, row.code, row.name or row.key, row.action))
        columns = list(zip(*found, strict=True)) if found else [(), (), (), ()]
        return pd.DataFrame(
            {
                name: pd.array(list(values), dtype="str").take(number)
                for name, values in zip(("key", "code", "name", "action"), columns, strict=True)
            },
            index=rows.index,
        )


PAIR_COLUMNS = ("queue_id", "media", "direction", "campaign_id")


def _pairs(rows: pd.DataFrame) -> tuple[np.ndarray, list[tuple[str, ...]]]:
    """Each row's pair number and the distinct (queue, media, direction, campaign) pairs, in
    first-seen order; a frame without campaigns has "" for them."""
    number, first = row_groups([rows[name] for name in PAIR_COLUMNS if name in rows.columns])
    parts = [
        rows[name].iloc[first].astype(str).tolist() if name in rows.columns else [""] * len(first)
        for name in PAIR_COLUMNS
    ]
    return number, list(zip(*parts, strict=True))


# ---------------------------------------------------------------------- scope


def in_scope(media: str, direction: str, selected: Sequence[str]) -> bool:
    """Config media names: voice..callback select inbound, outbound_voice / outbound_message
    outbound; no selection means everything."""
    if not selected:
        return True
    if direction == "outbound":
        return _OUTBOUND_NAME.get(media, "outbound_message") in selected
    return media in selected


def scope_mask(rows: pd.DataFrame, selected: Sequence[str]) -> pd.Series:
    import numpy as np
    import pandas as pd

    if not selected or rows.empty:
        return pd.Series(True, index=rows.index)
    number, first = row_groups([rows["media"], rows["direction"]])
    media, direction = (rows[name].iloc[first].tolist() for name in ("media", "direction"))
    allowed = np.array(
        [in_scope(str(m), str(d), selected) for m, d in zip(media, direction, strict=True)]
    )
    return pd.Series(allowed[number], index=rows.index)


def seen_pairs(rows: pd.DataFrame) -> list[Seen]:
    """Every pair in a queue frame with its contacts and first interval with traffic, busiest
    first (ties by name and id)."""
    if rows.empty:
        return []
    if "campaign_id" in rows.columns:
        campaign = rows["campaign_id"].astype(str)
    else:
        campaign = rows["queue_id"].astype(str).str.slice(0, 0)
    counted = rows.assign(campaign_id=campaign, offered=rows.get("offered", 0))
    grouped = (
        counted.groupby(["queue_id", "media", "direction", "campaign_id"], sort=False)
        .agg(
            queue_name=("queue_name", "first"),
            contacts=("offered", "sum"),
            first_seen=("interval_start", "min"),
        )
        .reset_index()
        .sort_values(
            ["contacts", "queue_name", "queue_id", "media", "direction", "campaign_id"],
            ascending=[False, True, True, True, True, True],
            kind="stable",
        )
    )
    return [
        Seen((str(q), str(m), str(d), str(c)), str(n), int(k), _utc_text(first))
        for q, m, d, c, n, k, first in grouped.itertuples(index=False)
    ]


QUEUE_FRAMES = ("queue_interval", "agent_queue_interval")


def queue_frames_in_scope(
    frames_by_name: Mapping[str, pd.DataFrame], selected: Sequence[str]
) -> list[pd.DataFrame]:
    """The rows of the frames that name queues, within the destination's media, empty ones left
    out: what a mapping is completed from."""
    found = (frames_by_name.get(name) for name in QUEUE_FRAMES)
    return [
        rows[scope_mask(rows, selected).to_numpy()]
        for rows in found
        if rows is not None and not rows.empty
    ]


def new_pairs_in_order(frames: Iterable[pd.DataFrame]) -> list[Seen]:
    """The pairs of several queue frames, each once with its earliest traffic, in the order a
    mapping makes rows for them: first traffic, then name and id. Made in that order, the keys
    and codes a catch-up generates do not depend on how its range was split into runs."""
    earliest: dict[Pair, Seen] = {}
    for rows in frames:
        for item in seen_pairs(rows):
            known = earliest.get(item.pair)
            if known is None or (item.first_seen and item.first_seen < known.first_seen):
                earliest[item.pair] = (
                    item if known is None else replace(known, first_seen=item.first_seen)
                )
    return sorted(earliest.values(), key=lambda s: (s.first_seen, s.queue_name, s.pair))


def _utc_text(moment: object) -> str:
    import pandas as pd

    stamp = pd.Timestamp(moment)
    if pd.isna(stamp):
        return ""
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return str(stamp.strftime("%Y-%m-%dT%H:%M:%SZ"))


# ---------------------------------------------------------------------- file text


def parse(data: bytes, origin: str, spec: QueueKeySpec, policy: Policy) -> QueueMap:
    """Read a mapping file; the first bad row raises ConfigError with file, line and column."""
    text = _decode(data, origin)
    lines = text.splitlines()
    delimiter = ";" if lines and ";" in lines[0] and "," not in lines[0] else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header: list[str] | None = None
    rows: list[QueueRow] = []
    for cells in reader:
        number = reader.line_num
        if not cells or not any(c.strip() for c in cells) or cells[0].startswith("#"):
            continue
        if header is None:
            header = _header(cells, origin, number)
            continue
        values = {name: cells[i].strip() if i < len(cells) else "" for i, name in enumerate(header)}
        rows.append(_row(values, header, origin, number, spec))
    mapping = QueueMap(rows, spec, policy, origin)
    check(mapping)
    return mapping


def render(rows: Iterable[QueueRow]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(row.cells())
    return buffer.getvalue()


def check(mapping: QueueMap) -> None:
    """The rules across rows: one row per pair, a key shared only by merge rows, one code and
    name per key, one key per code."""
    seen: dict[Pair, QueueRow] = {}
    by_key: dict[str, QueueRow] = {}
    by_code: dict[str, QueueRow] = {}
    for row in mapping.rows:
        where = f"{mapping.origin}:{row.line}"
        if row.pair in seen:
            raise ConfigError(
                f"{where}:1: queue {row.queue_id} {row.media} {row.direction} is already mapped "
                f"on line {seen[row.pair].line}",
                hint="keep one row per queue, media, direction and campaign",
            )
        seen[row.pair] = row
        if row.action == "exclude":
            continue
        other = by_key.get(row.key)
        if other is not None:
            if "merge" not in (row.action, other.action) or row.action != other.action:
                raise ConfigError(
                    f"{where}:{_col('key')}: duplicate key {row.key!r} (also on line "
                    f"{other.line}); two Genesys pairs add into one WFM queue only with "
                    "action merge",
                    hint="give the row its own key, or set action to merge on every row of it",
                )
            if (row.code, row.name) != (other.code, other.name):
                column = "code" if row.code != other.code else "name"
                raise ConfigError(
                    f"{where}:{_col(column)}: key {row.key!r} has {column} "
                    f"{getattr(row, column)!r} here but {getattr(other, column)!r} on line "
                    f"{other.line}",
                    hint="rows merged into one key share its code and name",
                )
        else:
            by_key[row.key] = row
        if row.code:
            owner = by_code.get(row.code)
            if owner is not None and owner.key != row.key:
                raise ConfigError(
                    f"{where}:{_col('code')}: code {row.code} is already the code of key "
                    f"{owner.key!r} (line {owner.line})",
                    hint="one numeric code per WFM queue; to add two queues into one, give "
                    "them the same key and action merge",
                )
            by_code[row.code] = row


def _col(name: str) -> int:
    return COLUMNS.index(name) + 1


def _decode(data: bytes, origin: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(
            f"{origin}:{line}:{column}: not UTF-8 (byte 0x{data[exc.start]:02x})",
            hint="save the file as UTF-8 (in Excel: CSV UTF-8)",
        ) from None


def _header(cells: list[str], origin: str, number: int) -> list[str]:
    names = [c.strip().lstrip("\ufeff").casefold() for c in cells]
    for index, name in enumerate(names, start=1):
        if name not in COLUMNS:
            raise ConfigError(
                f"{origin}:{number}:{index}: unknown column {name!r}",
                hint=f"columns: {', '.join(COLUMNS)}",
            )
    for required in ("queue_id", "media", "direction"):
        if required not in names:
            raise ConfigError(
                f"{origin}:{number}:1: the header lacks the column {required!r}",
                hint=f"the first row names the columns: {', '.join(COLUMNS)}",
            )
    return names


def _row(
    values: dict[str, str], header: list[str], origin: str, number: int, spec: QueueKeySpec
) -> QueueRow:
    def fail(column: str, message: str, hint: str | None = None) -> ConfigError:
        position = header.index(column) + 1 if column in header else 1
        return ConfigError(f"{origin}:{number}:{position}: {column}: {message}", hint=hint)

    queue_id = values.get("queue_id", "")
    try:
        uuid.UUID(queue_id)
    except ValueError:
        raise fail(
            "queue_id", f"{queue_id!r} is not a Genesys queue id",
            hint="queue ids are UUIDs; 'wfm map queues SCOPE/DEST' lists them",
        ) from None  # fmt: skip
    media = values.get("media", "").casefold()
    if media not in MEDIA:
        raise fail("media", f"{media!r} is not a media type", hint=f"media: {', '.join(MEDIA)}")
    direction = values.get("direction", "").casefold()
    if direction not in DIRECTIONS:
        raise fail("direction", f"{direction!r} is not inbound or outbound")
    action = values.get("action", "").casefold() or "map"
    if action not in ("map", "merge", "exclude"):
        raise fail("action", f"{action!r} is not map, merge or exclude")
    code = values.get("code", "")
    key = values.get("key", "")
    if action != "exclude":
        code, key = _checked_code(code, key, spec, fail)
        _check_key(key, spec, fail)
    contacts_text = values.get("contacts", "")
    contacts = int(contacts_text) if contacts_text.isdigit() else None
    return QueueRow(
        queue_id, media, direction, values.get("campaign_id", ""), key, code,
        values.get("name", ""), cast(Action, action), values.get("queue_name", ""), contacts,
        number, _checked_since(values.get("since", ""), fail),
    )  # fmt: skip


def _checked_since(text: str, fail: _Fail) -> str:
    if not text:
        return ""
    try:
        datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        raise fail(
            "since", f"{text!r} is not a UTC time like 2026-03-08T05:00:00Z",
            hint="leave it empty to zero-fill the key at every interval",
        ) from None  # fmt: skip
    return text


def _checked_code(code: str, key: str, spec: QueueKeySpec, fail: _Fail) -> tuple[str, str]:
    if code and not code.isdigit():
        raise fail("code", f"{code!r} is not a number", hint="codes are digits only, e.g. 1042")
    if spec.kind == "numeric":
        if not code:
            raise fail(
                "code", "is empty, and this profile's queue key is a number",
                hint="give each row a numeric code, or delete the row and let 'wfm map' make one",
            )  # fmt: skip
        if len(code) > spec.max_length:
            raise fail("code", f"{code} has more than {spec.max_length} digits")
        key = key or code
    if not key:
        raise fail("key", "is empty", hint="name the WFM queue key, or set action to exclude")
    return code, key


def _check_key(key: str, spec: QueueKeySpec, fail: _Fail) -> None:
    if spec.kind == "numeric":
        return
    if len(key) > spec.max_length:
        raise fail("key", f"{key!r} is longer than the profile's {spec.max_length} characters")
    allowed = re.compile(spec.characters)
    bad = next((c for c in key if not allowed.fullmatch(c)), None)
    if bad is not None:
        raise fail("key", f"{key!r} contains {bad!r}, which the profile does not allow")


class _Fail(Protocol):  # the shape of _row's `fail`, for the helpers' signatures
    def __call__(self, column: str, message: str, hint: str | None = None) -> ConfigError: ...


_MEDIA_LABEL = {
    "voice": "Voice",
    "chat": "Chat",
    "email": "Email",
    "message": "Message",
    "callback": "Callback",
}


def _label(item: Seen, policy: Policy) -> str:
    """A readable name for a generated key: the queue's name, its media (unless the name says
    it already), Outbound, and the campaign's first characters."""
    queue_id, media, direction, campaign = item.pair
    base = item.queue_name or queue_id
    if policy == "merge":
        return base
    media_word = _MEDIA_LABEL[media]
    parts = [base]
    if not base.casefold().endswith(media_word.casefold()):
        parts.append(media_word)
    if direction == "outbound":
        parts.append("Outbound")
    if campaign and campaign != ANY_CAMPAIGN:
        parts.append(campaign[:8])
    return " ".join(parts)


def _fit(label: str, spec: QueueKeySpec) -> str:
    allowed = re.compile(spec.characters)
    text = "".join(c if allowed.fullmatch(c) else "_" for c in label)
    return text[: spec.max_length].strip()

"""Conversation aggregates, user aggregates and user details, computed from the event log.

Pure functions from (org, contact center, query body) to the response body; they raise
`QueryError` where Genesys answers 400.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from wfmcli.sim.buckets import Grid, QueryError, build_grid, parse_interval
from wfmcli.sim.engine import ContactCenter
from wfmcli.sim.ledger import DIRECTIONS, OFFLINE_RS, StateLog
from wfmcli.sim.metrics import KNOWN_METRICS, Emits, Ints, Legs, Mask, emits
from wfmcli.sim.org import MEDIA_TYPES, ROUTING_STATUSES, SYSTEM_PRESENCES, Org
from wfmcli.sim.wire import iso

JSON = dict[str, Any]

# Conversation dimensions (reference §3.5); the twin models the first group, the rest are
# accepted and simply have no value.
MODELED_DIMENSIONS = (
    "queueId",
    "mediaType",
    "direction",
    "originatingDirection",
    "userId",
    "outboundCampaignId",
    "divisionId",
)
OTHER_DIMENSIONS = frozenset(
    [
        "activeRouting",
        "activeSkillId",
        "addressFrom",
        "addressTo",
        "agentAssistantId",
        "agentBullseyeRing",
        "agentOwned",
        "agentRank",
        "agentScore",
        "ani",
        "assignerId",
        "authenticated",
        "canonicalExternalContactId",
        "conversationId",
        "conversationInitiator",
        "convertedFrom",
        "convertedTo",
        "customerParticipation",
        "deliveryStatus",
        "destinationAddress",
        "disconnectType",
        "dnis",
        "edgeId",
        "eligibleAgentCount",
        "errorCode",
        "extendedDeliveryStatus",
        "externalContactId",
        "externalMediaCount",
        "externalOrganizationId",
        "externalTag",
        "firstQueue",
        "flaggedReason",
        "flowInType",
        "flowOutType",
        "groupId",
        "interactionType",
        "journeyActionId",
        "journeyActionMapId",
        "journeyActionMapVersion",
        "journeyCustomerId",
        "journeyCustomerIdType",
        "journeyCustomerSessionId",
        "journeyCustomerSessionIdType",
        "knowledgeBaseId",
        "mediaCount",
        "messageType",
        "originatingSocialMediaPublic",
        "outboundContactId",
        "outboundContactListId",
        "participantName",
        "peerId",
        "proposedAgentId",
        "provider",
        "purpose",
        "remote",
        "removedSkillId",
        "requestedLanguageId",
        "requestedRouting",
        "requestedRoutingSkillId",
        "roomId",
        "routingPriority",
        "routingRing",
        "routingRule",
        "routingRuleType",
        "scoredAgentId",
        "selectedAgentId",
        "selectedAgentRank",
        "selfServed",
        "sessionDnis",
        "sessionId",
        "skillExpressionId",
        "stationId",
        "teamId",
        "usedRouting",
        "videoPresent",
        "waitingInteractionCount",
        "wrapUpCode",
    ]
)
USER_METRICS = ("tAgentRoutingStatus", "tSystemPresence", "tOrganizationPresence")
MAX_USER_PREDICATES = 100
MAX_VIEWS = 10


@dataclass
class Dim:
    codes: Ints  # -1 where the row has no value
    labels: Sequence[str]


def _require_list(body: JSON, key: str, *, required: bool = False) -> list[Any]:
    value = body.get(key)
    if value is None:
        if required:
            raise QueryError(f"{key} is required")
        return []
    if not isinstance(value, list):
        raise QueryError(f"{key} must be a list")
    return value


# -- filters ------------------------------------------------------------------------------


def predicates_of(node: JSON) -> list[JSON]:
    found = [p for p in _require_list(node, "predicates") if isinstance(p, dict)]
    for clause in _require_list(node, "clauses"):
        if isinstance(clause, dict):
            found.extend(predicates_of(clause))
    return found


def _evaluate(node: JSON, dimension: Callable[[str], Dim], rows: int) -> Mask:
    kind = str(node.get("type", "and")).lower()
    if kind not in ("and", "or"):
        raise QueryError(f"Invalid filter type [{node.get('type')}]", "invalid.value")
    parts: list[Mask] = []
    for predicate in _require_list(node, "predicates"):
        parts.append(_predicate(predicate, dimension, rows))
    for clause in _require_list(node, "clauses"):
        if not isinstance(clause, dict):
            raise QueryError("a filter clause must be an object")
        parts.append(_evaluate(clause, dimension, rows))
    if not parts:
        return np.ones(rows, dtype=bool)
    stacked = np.vstack(parts)
    counts = stacked.sum(axis=0)
    return np.asarray(counts == len(parts) if kind == "and" else counts > 0, dtype=bool)


def _predicate(predicate: Any, dimension: Callable[[str], Dim], rows: int) -> Mask:
    if not isinstance(predicate, dict):
        raise QueryError("a filter predicate must be an object")
    if predicate.get("type", "dimension") != "dimension":
        raise QueryError(f"Predicate type [{predicate.get('type')}] is not supported here")
    dim = dimension(str(predicate.get("dimension")))
    operator = predicate.get("operator", "matches")
    if operator == "exists":
        return dim.codes >= 0
    if operator == "notExists":
        return dim.codes < 0
    if operator != "matches":
        raise QueryError(f"Invalid operator [{operator}]", "invalid.value")
    value = predicate.get("value")
    try:
        code = list(dim.labels).index(str(value))
    except ValueError:
        return np.zeros(rows, dtype=bool)
    return np.asarray(dim.codes == code, dtype=bool)


# -- grouping -----------------------------------------------------------------------------


def _bucket_of(grid: Grid, t: Ints) -> Ints:
    edges = np.asarray(grid.edges, dtype=np.int64)
    return (np.searchsorted(edges, t, side="right") - 1).astype(np.int64)


def _group_keys(dims: list[Dim], bucket: Ints) -> tuple[Ints, Ints]:
    """One int64 key per row from the dimension codes (mixed radix), then unique + inverse."""
    key = np.zeros(len(bucket), dtype=np.int64)
    for dim in dims:
        key = key * (len(dim.labels) + 1) + (dim.codes + 1)
    key = key * (int(bucket.max()) + 1 if len(bucket) else 1) + bucket
    unique, inverse = np.unique(key, return_inverse=True)
    return unique, inverse.astype(np.int64)


def _stats(
    kind: str,
    value: Ints,
    inverse: Ints,
    groups: int,
    numerator: Ints | None,
    target: Sequence[float | None],
) -> list[JSON]:
    count = np.bincount(inverse, minlength=groups)
    if kind == "counter":
        return [{"count": int(c)} for c in count]
    if kind == "sl":
        assert numerator is not None
        num = np.bincount(inverse, weights=numerator, minlength=groups)
        out = []
        for g in range(groups):
            stats: JSON = {
                "ratio": float(num[g] / count[g]) if count[g] else 0.0,
                "numerator": int(num[g]),
                "denominator": int(count[g]),
            }
            if target[g] is not None:
                stats["target"] = target[g]
            out.append(stats)
        return out
    total = np.bincount(inverse, weights=value, minlength=groups)
    order = np.argsort(inverse, kind="stable")
    starts = np.searchsorted(inverse[order], np.arange(groups))
    sorted_values = value[order]
    low = np.minimum.reduceat(sorted_values, starts)
    high = np.maximum.reduceat(sorted_values, starts)
    return [
        {"max": int(high[g]), "min": int(low[g]), "count": int(count[g]), "sum": int(total[g])}
        for g in range(groups)
    ]


@dataclass(frozen=True)
class View:
    name: str
    target: str
    gte: int | None
    lt: int | None

    @classmethod
    def parse(cls, raw: Any) -> View:
        if not isinstance(raw, dict):
            raise QueryError("a view must be an object")
        name, target = str(raw.get("name", "")), str(raw.get("target", ""))
        if not name or name in KNOWN_METRICS:
            raise QueryError(
                f"View name [{name}] is empty or a built-in metric name", "invalid.value"
            )
        if target not in KNOWN_METRICS or not target.startswith("t"):
            raise QueryError(
                f"View target [{target}] must be a built-in timer metric", "invalid.value"
            )
        if raw.get("function", "rangeBound") != "rangeBound":
            raise QueryError(
                f"View function [{raw.get('function')}] is not supported", "invalid.value"
            )
        bounds = raw.get("range") or {}
        if not isinstance(bounds, dict):
            raise QueryError("a view range must be an object")
        low = bounds.get("gte")
        if low is None and bounds.get("gt") is not None:
            low = int(bounds["gt"]) + 1
        high = bounds.get("lt")
        if high is None and bounds.get("lte") is not None:
            high = int(bounds["lte"]) + 1
        return cls(
            name, target, None if low is None else int(low), None if high is None else int(high)
        )

    def mask(self, values: Ints) -> Mask:
        keep = np.ones(len(values), dtype=bool)
        if self.gte is not None:
            keep &= values >= self.gte
        if self.lt is not None:
            keep &= values < self.lt
        return keep


Cell = dict[str, list[JSON]]  # "metrics" and "views" of one group and bucket
Cells = dict[tuple[tuple[str, str], ...], dict[int, Cell]]


class ConversationQuery:
    def __init__(self, org: Org, center: ContactCenter, body: JSON) -> None:
        self.org = org
        self.center = center
        self.grid = build_grid(body.get("interval"), body.get("granularity"), body.get("timeZone"))
        self.metrics = [str(m) for m in _require_list(body, "metrics", required=True)]
        unknown = [m for m in self.metrics if m not in KNOWN_METRICS]
        if unknown or not self.metrics:
            raise QueryError(
                f"Unknown metric(s): {', '.join(unknown) or '(none)'}", "invalid.value"
            )
        raw_views = _require_list(body, "views")
        if len(raw_views) > MAX_VIEWS:
            raise QueryError(f"At most {MAX_VIEWS} views per query", "invalid.value")
        self.views = [View.parse(v) for v in raw_views]
        self.group_by = [str(d) for d in _require_list(body, "groupBy")]
        for name in self.group_by:
            self._check_dimension(name)
        self.filter = body.get("filter")
        if self.filter is not None and not isinstance(self.filter, dict):
            raise QueryError("filter must be an object")
        for predicate in predicates_of(self.filter or {}):
            self._check_dimension(str(predicate.get("dimension")))
        self.legs, self._emitted = _leg_snapshot(org, center)
        self.queue_targets = [q.sl_target for q in org.queues]
        self.division_ids = [d.id for d in org.divisions]
        self.queue_division = np.array(
            [self.division_ids.index(q.division.id) for q in org.queues], dtype=np.int64
        )

    @staticmethod
    def _check_dimension(name: str) -> None:
        if name not in MODELED_DIMENSIONS and name not in OTHER_DIMENSIONS:
            raise QueryError(f"Invalid dimension [{name}]", "invalid.value")

    def _dimension(self, name: str, found: Emits) -> Dim:
        org = self.org
        if name == "queueId":
            return Dim(found.queue, [q.id for q in org.queues])
        if name == "mediaType":
            return Dim(found.media, MEDIA_TYPES)
        if name in ("direction", "originatingDirection"):
            return Dim(found.direction, DIRECTIONS)
        if name == "userId":
            return Dim(found.user, [u.id for u in org.users])
        if name == "outboundCampaignId":
            return Dim(found.campaign, [c.id for c in org.campaigns])
        if name == "divisionId":
            return Dim(self.queue_division[found.queue], self.division_ids)
        return Dim(np.full(len(found.t), -1, dtype=np.int64), [])

    def _dimensions_of(self, found: Emits) -> Callable[[str], Dim]:
        return lambda name: self._dimension(name, found)

    def _selected(self, metric: str) -> Emits | None:
        """The metric's emissions inside the interval that pass the filter."""
        if metric not in self._emitted:
            self._emitted[metric] = emits(metric, self.legs, self.center.alerts, self.center.dials)
        found = self._emitted[metric]
        if found is None or not len(found.t):
            return None
        inside = (found.t >= self.grid.start_ms) & (found.t < self.grid.end_ms)
        if "userId" in self.group_by:
            inside &= found.user >= 0  # metrics without an agent have no userId group
        if self.filter:
            inside &= _evaluate(self.filter, self._dimensions_of(found), len(found.t))
        found = found.subset(np.nonzero(inside)[0])
        return found if len(found.t) else None

    def run(self) -> JSON:
        dims_order = list(self.group_by)
        if "mediaType" not in dims_order:
            dims_order.append("mediaType")  # Genesys adds mediaType to every group
        labels = self.grid.labels()
        cells: Cells = {}
        wanted = list(dict.fromkeys([*self.metrics, *(v.target for v in self.views)]))
        for metric in wanted:
            found = self._selected(metric)
            if found is None:
                continue
            if metric in self.metrics:
                self._add(cells, dims_order, found, "metrics", {"metric": metric})
            for view in (v for v in self.views if v.target == metric):
                within = found.subset(np.nonzero(view.mask(found.value))[0])
                if len(within.t):
                    within.kind = "counter"
                    self._add(cells, dims_order, within, "views", {"name": view.name})
        results = []
        for group, buckets in sorted(cells.items()):
            data = []
            for b, cell in sorted(buckets.items()):
                entry: JSON = {"interval": labels[b], "metrics": cell.get("metrics", [])}
                if "views" in cell:
                    entry["views"] = cell["views"]
                data.append(entry)
            results.append({"group": dict(group), "data": data})
        return {"results": results}

    def _add(self, cells: Cells, dims_order: list[str], found: Emits, key: str, head: JSON) -> None:
        dims = [self._dimension(name, found) for name in dims_order]
        bucket = _bucket_of(self.grid, found.t)
        unique, inverse = _group_keys(dims, bucket)
        first_row = np.zeros(len(unique), dtype=np.int64)
        first_row[inverse[::-1]] = np.arange(len(inverse))[::-1]
        targets = self._targets(found, inverse, len(unique)) if found.kind == "sl" else []
        stats = _stats(found.kind, found.value, inverse, len(unique), found.numerator, targets)
        for g, row in enumerate(first_row.tolist()):
            group = tuple(
                (name, dim.labels[dim.codes[row]])
                for name, dim in zip(dims_order, dims, strict=True)
                if dim.codes[row] >= 0
            )
            cell = cells.setdefault(group, {}).setdefault(int(bucket[row]), {})
            cell.setdefault(key, []).append({**head, "stats": stats[g]})

    def _targets(self, found: Emits, inverse: Ints, groups: int) -> list[float | None]:
        """Each group's SL target, or None where the group mixes queues of different targets."""
        per_row = np.asarray(self.queue_targets, dtype=np.float64)[found.queue]
        order = np.argsort(inverse, kind="stable")
        starts = np.searchsorted(inverse[order], np.arange(groups))
        low = np.minimum.reduceat(per_row[order], starts)
        high = np.maximum.reduceat(per_row[order], starts)
        return [
            float(a) if a == b else None for a, b in zip(low.tolist(), high.tolist(), strict=True)
        ]


@dataclass
class _LegSnapshot:
    handled: int
    legs: Legs
    emitted: dict[str, Emits | None]


_LEGS: weakref.WeakKeyDictionary[ContactCenter, _LegSnapshot] = weakref.WeakKeyDictionary()


def _leg_snapshot(org: Org, center: ContactCenter) -> tuple[Legs, dict[str, Emits | None]]:
    """The leg columns and each metric's emissions, made once per state of the logs: a pull of
    a 100,000-agent day asks hundreds of queries of the same settled history, and copying and
    deriving every leg of the day again for each one made a single answer take over 60 s."""
    cached = _LEGS.get(center)
    if cached is None or cached.handled != center.handled:
        cached = _LEGS[center] = _LegSnapshot(center.handled, Legs.snapshot(org, center.legs), {})
    return cached.legs, cached.emitted


def conversation_aggregates(org: Org, center: ContactCenter, body: JSON) -> JSON:
    return ConversationQuery(org, center, body).run()


# -- agent state --------------------------------------------------------------------------


@dataclass
class Segments:
    user: Ints
    start: Ints
    end: Ints
    rs: Ints
    sp: Ints
    pd: Ints


class StateColumns:
    """numpy copies of the state log's append-only columns, extended by the new rows only."""

    NAMES = ("t", "user", "rs", "sp", "pd", "prev")

    def __init__(self) -> None:
        self.rows = 0
        self.data: dict[str, Ints] = {n: np.zeros(0, dtype=np.int64) for n in self.NAMES}

    def sync(self, log: StateLog) -> None:
        total = len(log)
        if total == self.rows:
            return
        for name in self.NAMES:
            column = self.data[name]
            if len(column) < total:  # grow by doubling, so appends stay amortised O(1)
                grown = np.zeros(max(total, 2 * len(column)), dtype=np.int64)
                grown[: self.rows] = column[: self.rows]
                self.data[name] = column = grown
            column[self.rows : total] = np.array(
                getattr(log, name)[self.rows : total], dtype=np.int64
            )
        self.rows = total

    def __getitem__(self, name: str) -> Ints:
        return self.data[name][: self.rows]


_COLUMNS: weakref.WeakKeyDictionary[StateLog, StateColumns] = weakref.WeakKeyDictionary()


def state_columns(log: StateLog) -> StateColumns:
    columns = _COLUMNS.get(log)
    if columns is None:
        columns = _COLUMNS[log] = StateColumns()
    columns.sync(log)
    return columns


def _walk_back(prev: Ints, rows: Ints, limit: int) -> Ints:
    """From each row, follow the user's `prev` links to the last row before index `limit`."""
    rows = rows.copy()
    late = rows >= limit
    while late.any():
        rows[late] = prev[rows[late]]
        late = rows >= limit
    return rows


def state_segments(
    center: ContactCenter, start_ms: int, end_ms: int, now_ms: int, users: list[int] | None
) -> Segments:
    """The agent states overlapping `[start_ms, end_ms)`, each with its true start and end.

    A state still current ends at `now_ms`. Rows come grouped by user, in time order. The log is
    in time order and links each row to the user's previous one, so no full sort is needed.
    """
    log = center.states
    columns = state_columns(log)
    t, user, prev = columns["t"], columns["user"], columns["prev"]
    lo = int(np.searchsorted(t, start_ms, side="right"))
    hi = int(np.searchsorted(t, end_ms, side="left"))
    last = np.asarray(log.last_row, dtype=np.int64)
    wanted = None if users is None else np.asarray(users, dtype=np.int64)
    if wanted is not None:
        last = last[wanted]
    initial = _walk_back(prev, last, lo)  # each user's state at start_ms
    inside = np.arange(lo, max(lo, hi), dtype=np.int64)
    if wanted is not None:
        chosen = np.zeros(len(log.last_row), dtype=bool)
        chosen[wanted] = True
        inside = inside[chosen[user[inside]]]
    rows = np.concatenate([initial[initial >= 0], inside])
    rows = rows[np.lexsort((rows, user[rows]))]
    # A row ends where the user's next row starts: the next selected row of the same user, or
    # for the last selected row, the user's first row at or after `hi` (or now, if none).
    end = np.empty(len(rows), dtype=np.int64)
    same_user = user[rows][1:] == user[rows][:-1]
    end[:-1] = np.where(same_user, t[rows][1:], 0)
    tail = np.ones(len(rows), dtype=bool)
    tail[:-1] = ~same_user
    tail_rows = rows[tail]
    after = _first_at_or_after(prev, np.asarray(log.last_row, dtype=np.int64)[user[tail_rows]], hi)
    end[tail] = np.where(after >= 0, t[np.maximum(after, 0)], np.maximum(now_ms, t[tail_rows]))
    return Segments(
        user[rows], t[rows], end, columns["rs"][rows], columns["sp"][rows], columns["pd"][rows]
    )


def _first_at_or_after(prev: Ints, last: Ints, limit: int) -> Ints:
    """For each user's last row: their first row with index >= limit, or -1 if none."""
    rows = last.copy()
    rows[rows < limit] = -1
    active = rows >= 0
    while True:
        back = np.where(active, prev[np.maximum(rows, 0)], -1)
        move = active & (back >= limit)
        if not move.any():
            return rows
        rows[move] = back[move]
        active = move


def _user_filter(org: Org, body: JSON) -> list[int] | None:
    node = body.get("filter")
    if node is None:
        return None
    if not isinstance(node, dict):
        raise QueryError("filter must be an object")
    predicates = predicates_of(node)
    if len(predicates) > MAX_USER_PREDICATES:
        raise QueryError(
            f"A user aggregate query may hold at most {MAX_USER_PREDICATES} userId predicates "
            f"({len(predicates)} given)",
            "invalid.value",
        )
    wanted = []
    for predicate in predicates:
        if predicate.get("dimension") != "userId":
            raise QueryError(
                "User aggregate filters support only the userId dimension", "invalid.value"
            )
        user = org.user_by_id.get(str(predicate.get("value")))
        if user is not None:
            wanted.append(user.index)
    return wanted


def system_to_org_mappings(org: Org) -> dict[str, list[str]]:
    mapping: dict[str, list[str]] = {}
    for definition in org.presences:
        mapping.setdefault(definition.system_presence, []).append(definition.id)
    return mapping


def user_aggregates(org: Org, center: ContactCenter, body: JSON, now_ms: int) -> JSON:
    grid = build_grid(body.get("interval"), body.get("granularity"), body.get("timeZone"))
    metrics = [str(m) for m in _require_list(body, "metrics", required=True)]
    bad = [m for m in metrics if m not in USER_METRICS]
    if bad or not metrics:
        raise QueryError(
            f"Invalid user aggregate metric(s): {', '.join(bad) or '(none)'}", "invalid.value"
        )
    group_by = [str(g) for g in _require_list(body, "groupBy")]
    if any(g != "userId" for g in group_by):
        raise QueryError("User aggregates can only be grouped by userId", "invalid.value")
    users = _user_filter(org, body)
    seg = state_segments(center, grid.start_ms, grid.end_ms, now_ms, users)
    keep = (seg.end > grid.start_ms) & (seg.start < grid.end_ms) & (seg.end > seg.start)
    index = np.nonzero(keep)[0]
    user, start, end = seg.user[index], seg.start[index], seg.end[index]
    # Split every segment at bucket edges: status time counts in the bucket it was spent in.
    edges = np.asarray(grid.edges, dtype=np.int64)
    first = np.clip(np.searchsorted(edges, start, side="right") - 1, 0, len(edges) - 2)
    final = np.clip(np.searchsorted(edges, end, side="left") - 1, 0, len(edges) - 2)
    spans = final - first + 1
    rep = np.repeat(np.arange(len(index)), spans)
    offset = np.arange(len(rep)) - np.repeat(np.cumsum(spans) - spans, spans)
    bucket = first[rep] + offset
    duration = np.minimum(end[rep], edges[bucket + 1]) - np.maximum(start[rep], edges[bucket])
    user, rows = user[rep], index[rep]
    qualifiers = {
        "tAgentRoutingStatus": (seg.rs[rows], list(ROUTING_STATUSES)),
        "tSystemPresence": (seg.sp[rows], list(SYSTEM_PRESENCES)),
        "tOrganizationPresence": (seg.pd[rows], [p.id for p in org.presences]),
    }
    labels = grid.labels()
    table: dict[int, dict[int, list[JSON]]] = {}
    for metric in metrics:
        codes, names = qualifiers[metric]
        valid = (duration > 0) & (
            codes != OFFLINE_RS if metric == "tAgentRoutingStatus" else codes >= 0
        )
        idx = np.nonzero(valid)[0]
        radix = len(names) + 1
        key = (user[idx] * radix + codes[idx]) * len(labels) + bucket[idx]
        unique, inverse = np.unique(key, return_inverse=True)
        sums = np.bincount(inverse, weights=duration[idx], minlength=len(unique))
        buckets_of = (unique % len(labels)).tolist()
        codes_of = (unique // len(labels) % radix).tolist()
        users_of = (unique // len(labels) // radix).tolist()
        for u, b, code, total in zip(users_of, buckets_of, codes_of, sums.tolist(), strict=True):
            cells = table.get(u)
            if cells is None:
                cells = table[u] = {}
            entry = {"metric": metric, "qualifier": names[code], "stats": {"sum": int(total)}}
            cell = cells.get(b)
            if cell is None:
                cells[b] = [entry]
            else:
                cell.append(entry)
    results = [
        {
            "group": {"userId": org.users[u].id},
            "data": [
                {"interval": labels[b], "metrics": entries}
                for b, entries in sorted(buckets.items())
            ],
        }
        for u, buckets in sorted(table.items())
    ]
    return {"systemToOrganizationMappings": system_to_org_mappings(org), "results": results}


def user_details(org: Org, center: ContactCenter, body: JSON, now_ms: int) -> JSON:
    start, end = parse_interval(body.get("interval"))
    start_ms, end_ms = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
    filters = [
        f
        for key in ("userFilters", "presenceFilters", "routingStatusFilters")
        for f in _require_list(body, key)
    ]
    limit_days = 31 if filters else 7
    if end_ms - start_ms > limit_days * 86_400_000:
        raise QueryError(
            f"The interval may span at most {limit_days} days"
            + (" with filters" if filters else " without filters"),
            "invalid.value",
        )
    wanted = None
    for node in _require_list(body, "userFilters"):
        for predicate in predicates_of(node):
            user = org.user_by_id.get(str(predicate.get("value")))
            wanted = (wanted or set()) | ({user.index} if user else set())
    paging = body.get("paging") or {}
    size = int(paging.get("pageSize", 25))
    number = int(paging.get("pageNumber", 1))
    if not 1 <= size <= 100 or number < 1:
        raise QueryError(
            "paging.pageSize must be 1..100 and pageNumber at least 1", "invalid.value"
        )
    seg = state_segments(
        center, start_ms, end_ms, now_ms, None if wanted is None else sorted(wanted)
    )
    keep = (seg.end > start_ms) & (seg.start < end_ms)
    index = np.nonzero(keep)[0]
    users = sorted(set(seg.user[index].tolist()))
    if str(body.get("order", "asc")).lower() == "desc":
        users.reverse()
    chosen = users[(number - 1) * size : number * size]
    details = [_user_detail(org, seg, index[seg.user[index] == u], u, now_ms) for u in chosen]
    return {"userDetails": details, "totalHits": len(users)}


def _user_detail(org: Org, seg: Segments, rows: Ints, user: int, now_ms: int) -> JSON:
    presence: list[JSON] = []
    routing: list[JSON] = []
    for row in rows.tolist():
        start, end = int(seg.start[row]), int(seg.end[row])
        if end == start and end < now_ms:
            continue  # a state replaced within the same millisecond was never visible
        definition = org.presences[int(seg.pd[row])]
        sp = SYSTEM_PRESENCES[int(seg.sp[row])]
        if presence and presence[-1]["organizationPresenceId"] == definition.id:
            presence[-1]["_end"] = end
        else:
            presence.append(
                {
                    "startTime": iso(start),
                    "_end": end,
                    "systemPresence": sp,
                    "organizationPresenceId": definition.id,
                }
            )
        rs = int(seg.rs[row])
        if rs == OFFLINE_RS:
            continue
        if (
            routing
            and routing[-1]["routingStatus"] == ROUTING_STATUSES[rs]
            and routing[-1]["_end"] == start
        ):
            routing[-1]["_end"] = end
        else:
            routing.append(
                {"startTime": iso(start), "_end": end, "routingStatus": ROUTING_STATUSES[rs]}
            )
    for record in presence + routing:
        stop = record.pop("_end")
        if stop < now_ms:
            record["endTime"] = iso(stop)
    return {"userId": org.users[user].id, "primaryPresence": presence, "routingStatus": routing}

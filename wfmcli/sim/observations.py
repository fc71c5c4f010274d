"""Queue observations: what is happening in each queue right now (reference §3.6)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from wfmcli.sim.analytics import predicates_of, system_to_org_mappings
from wfmcli.sim.buckets import QueryError
from wfmcli.sim.engine import ContactCenter
from wfmcli.sim.ledger import ANSWERED, OFFLINE_RS, RS
from wfmcli.sim.metrics import col
from wfmcli.sim.org import ROUTING_STATUSES, Org, Queue

JSON = dict[str, Any]
CONVERSATION_METRICS = ("oWaiting", "oInteracting", "oAlerting")
USER_METRICS = (
    "oOnQueueUsers",
    "oOffQueueUsers",
    "oActiveUsers",
    "oMemberUsers",
    "oUserRoutingStatuses",
    "oUserPresences",
)
MAX_QUEUES = 100


def queue_observations(org: Org, center: ContactCenter, body: JSON) -> JSON:
    metrics = body.get("metrics") or [*CONVERSATION_METRICS, *USER_METRICS]
    if not isinstance(metrics, list):
        raise QueryError("metrics must be a list")
    unknown = [m for m in metrics if m not in CONVERSATION_METRICS + USER_METRICS]
    if unknown:
        raise QueryError(
            f"Unknown observation metric(s): {', '.join(map(str, unknown))}", "invalid.value"
        )
    node = body.get("filter")
    if not isinstance(node, dict):
        raise QueryError("filter with queueId predicates is required")
    queues: list[Queue] = []
    media: set[str] = set()
    for predicate in predicates_of(node):
        value = str(predicate.get("value"))
        if predicate.get("dimension") == "queueId":
            queue = org.queue_by_id.get(value)
            if queue is not None:
                queues.append(queue)
        elif predicate.get("dimension") == "mediaType":
            media.add(value)
        else:
            raise QueryError(
                "Queue observations filter on queueId and mediaType only", "invalid.value"
            )
    if len(queues) > MAX_QUEUES:
        raise QueryError(f"At most {MAX_QUEUES} queueId predicates", "invalid.value")
    busy = _busy_legs(center)
    results: list[JSON] = []
    for queue in queues:
        conversation = [
            _count(
                m, busy[m].get(queue.index, 0) if m != "oWaiting" else center.waiting(queue.index)
            )
            for m in metrics
            if m in CONVERSATION_METRICS
        ]
        if conversation and (not media or queue.media in media):
            results.append(
                {"group": {"queueId": queue.id, "mediaType": queue.media}, "data": conversation}
            )
        users = [
            entry
            for m in metrics
            if m in USER_METRICS
            for entry in _user_metric(org, center, queue, m)
        ]
        if users:
            results.append({"group": {"queueId": queue.id}, "data": users})
    return {"results": results, "systemToOrganizationMappings": system_to_org_mappings(org)}


def _count(metric: str, count: int, qualifier: str | None = None) -> JSON:
    entry: JSON = {"metric": metric}
    if qualifier is not None:
        entry["qualifier"] = qualifier
    entry["stats"] = {"count": count}
    return entry


def _busy_legs(center: ContactCenter) -> dict[str, Counter[int]]:
    legs = center.legs
    alerting = Counter(legs.queue[leg] for leg in center.alerting_legs())
    handling = (col(legs.outcome) == ANSWERED) & (col(legs.acw_end) < 0)
    interacting = Counter(col(legs.queue)[handling].tolist())
    return {"oAlerting": alerting, "oInteracting": interacting}


def _user_metric(org: Org, center: ContactCenter, queue: Queue, metric: str) -> list[JSON]:
    states = [center.states.now[i] for i in queue.member_indexes]
    logged_in = [s for s in states if s.routing_status != OFFLINE_RS]
    on_queue = [s for s in logged_in if s.routing_status != RS["OFF_QUEUE"]]
    if metric == "oMemberUsers":
        return [_count(metric, len(states))]
    if metric == "oActiveUsers":
        return [_count(metric, len(logged_in))]
    if metric == "oOffQueueUsers":
        return [_count(metric, len(logged_in) - len(on_queue))]
    if metric in ("oOnQueueUsers", "oUserRoutingStatuses"):
        pool = on_queue if metric == "oOnQueueUsers" else logged_in
        counts = Counter(ROUTING_STATUSES[s.routing_status] for s in pool)
        return [_count(metric, n, status) for status, n in sorted(counts.items())]
    counts = Counter(org.presences[s.presence_def].id for s in states)
    return [_count(metric, n, definition) for definition, n in sorted(counts.items())]

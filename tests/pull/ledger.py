"""Read the twin's event log the way the emit rules of /work/notes/sim-requests.md §4 say.

The reconciliation ground truth (truth.py) starts from these observations and cuts them on the
destination's local grid, independently of the twin's own analytics code, which the pull reads.
"""

from __future__ import annotations

from dataclasses import dataclass

from wfmcli.sim import RunningTwin
from wfmcli.sim.ledger import ABANDONED, ANSWERED, DIRECTIONS, FLOWED_OUT, OFFLINE_RS
from wfmcli.sim.org import MEDIA_TYPES, ROUTING_STATUSES, SYSTEM_PRESENCES

USER_METRICS = {"tAnswered", "tTalk", "tHeld", "tAcw", "tHandle", "nTransferred"}


@dataclass(frozen=True)
class Observation:
    metric: str
    t_ms: int
    value_ms: int
    queue_id: str
    media: str
    direction: str
    campaign_id: str
    user_id: str  # "" for metrics without an agent


def observations(twin: RunningTwin) -> list[Observation]:
    org, legs = twin.org, twin.runtime.center.legs
    found: list[Observation] = []
    for i in range(len(legs)):
        queue = org.queues[legs.queue[i]]
        campaign = org.campaigns[legs.campaign[i]].id if legs.campaign[i] >= 0 else ""
        user = org.users[legs.user[i]].id if legs.user[i] >= 0 else ""
        base = (queue.id, MEDIA_TYPES[legs.media[i]], DIRECTIONS[legs.direction[i]], campaign)

        def emit(
            metric: str, t: int, value: int, base: tuple[str, ...] = base, user: str = user
        ) -> None:
            who = user if metric in USER_METRICS else ""
            found.append(Observation(metric, t, value, *base, who))

        enter, end_queue, outcome = legs.enter[i], legs.end_queue[i], legs.outcome[i]
        answer, talk_end, acw_end, held = (
            legs.answer[i],
            legs.talk_end[i],
            legs.acw_end[i],
            legs.held[i],
        )
        emit("nOffered", enter, 0)
        if outcome == ANSWERED and answer >= 0:
            emit("tAnswered", answer, answer - enter)
        if outcome == ABANDONED and end_queue >= 0:
            emit("tAbandon", end_queue, end_queue - enter)
            if end_queue - enter < queue.short_abandon_ms:
                emit("tShortAbandon", end_queue, end_queue - enter)
        if outcome == FLOWED_OUT and end_queue >= 0:
            emit("tFlowOut", end_queue, end_queue - enter)
        if talk_end >= 0:
            emit("tTalk", talk_end, talk_end - answer - held)
            if held > 0:
                emit("tHeld", talk_end, held)
            if legs.transferred[i]:
                emit("nTransferred", talk_end, 0)
        if acw_end >= 0 and talk_end >= 0 and acw_end > talk_end:
            emit("tAcw", acw_end, acw_end - talk_end)
        if acw_end >= 0:
            handle = acw_end - answer + legs.dialing[i] + legs.contacting[i]
            emit("tHandle", acw_end, handle)
    return found


@dataclass(frozen=True)
class StateSpan:
    user_id: str
    start_ms: int
    end_ms: int
    routing: str  # "" while logged out
    system: str
    definition_id: str


def state_spans(twin: RunningTwin, now_ms: int) -> list[StateSpan]:
    org, states = twin.org, twin.runtime.center.states
    last: dict[int, tuple[int, int, int, int]] = {}
    spans: list[StateSpan] = []

    def close(user: int, end: int) -> None:
        t, rs, sp, pd = last[user]
        if end > t:
            routing = "" if rs == OFFLINE_RS else ROUTING_STATUSES[rs]
            spans.append(
                StateSpan(
                    org.users[user].id, t, end, routing, SYSTEM_PRESENCES[sp], org.presences[pd].id
                )
            )

    for i in range(len(states)):
        t = states.t[i]
        if t > now_ms:
            break
        user = states.user[i]
        if user in last:
            close(user, t)
        last[user] = (t, states.rs[i], states.sp[i], states.pd[i])
    for user in last:
        close(user, now_ms)
    return spans

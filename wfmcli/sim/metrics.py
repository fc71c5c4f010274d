"""Conversation metrics as Genesys emits them, derived from the leg and alert logs.

Each metric is a set of emissions `(time, value, leg, user)`: a metric counts in the bucket of
its own emit time (offered when the contact enters the queue, answered when answered, handle
when ACW ends), never by conversation start or end.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from wfmcli.sim.ledger import (
    ABANDONED,
    ALERT_NOT_RESPONDING,
    ANSWERED,
    FLOWED_OUT,
    MEDIA,
    AlertLog,
    DialLog,
    LegLog,
)
from wfmcli.sim.org import Org

Ints = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

# Names accepted by conversation aggregate queries (reference §3.4).
KNOWN_METRICS = frozenset(
    [
        "nAgentDeclined",
        "nAlertExpired",
        "nBlindTransferred",
        "nBotInteractions",
        "nCallbackAttempts",
        "nCallbackOverSla",
        "nCallbackScheduled",
        "nCfcOffered",
        "nCobrowseSessions",
        "nConnected",
        "nConsult",
        "nConsultTransferred",
        "nConversations",
        "nError",
        "nOffered",
        "nOutbound",
        "nOutboundAbandoned",
        "nOutboundAttempted",
        "nOutboundConnected",
        "nOverSla",
        "nStateTransitionError",
        "nTakeover",
        "nTransferred",
        "oAudioMessageCount",
        "oCallbackServiceLevel",
        "oExternalAudioMessageCount",
        "oExternalMediaCount",
        "oMediaCount",
        "oMessageCount",
        "oMessageSegmentCount",
        "oMessageTurn",
        "oServiceLevel",
        "oServiceTarget",
        "oSkillExpressionApplications",
        "tAbandon",
        "tAcd",
        "tActiveCallback",
        "tActiveCallbackComplete",
        "tAcw",
        "tAgentResponseTime",
        "tAgentVideoConnected",
        "tAlert",
        "tAnswered",
        "tAverageAgentResponseTime",
        "tAverageCustomerResponseTime",
        "tBarging",
        "tCallbackAbandon",
        "tCallbackConnect",
        "tCallbackNotReached",
        "tCallbackVirtualWait",
        "tCfcAbandon",
        "tCfcAcd",
        "tCfcAnswered",
        "tCfcFlowOut",
        "tCoaching",
        "tCoachingComplete",
        "tConnected",
        "tContacting",
        "tDialing",
        "tFirstConnect",
        "tFirstDial",
        "tFirstEngagement",
        "tFirstResponse",
        "tFlowOut",
        "tHandle",
        "tHeld",
        "tHeldComplete",
        "tIvr",
        "tMonitoring",
        "tMonitoringComplete",
        "tNotResponding",
        "tPark",
        "tParkComplete",
        "tScreenMonitoring",
        "tShortAbandon",
        "tSnippetRecord",
        "tTalk",
        "tTalkComplete",
        "tTransmitting",
        "tUserResponseTime",
        "tVoicemail",
        "tWait",
    ]
)


def col(values: array[int]) -> Ints:
    """A numpy copy of a ledger column (a copy, so the array can keep growing)."""
    return np.frombuffer(values, dtype=np.dtype(values.typecode)).astype(np.int64)


@dataclass
class Legs:
    """A snapshot of the leg log plus per-queue facts, as numpy columns."""

    queue: Ints
    media: Ints
    direction: Ints
    campaign: Ints
    first_leg: Ints
    enter: Ints
    end_queue: Ints
    outcome: Ints
    user: Ints
    answer: Ints
    talk_end: Ints
    held: Ints
    acw_end: Ints
    transferred: Ints
    dialing: Ints
    contacting: Ints
    sl_ms: Ints  # per leg: the queue's SL threshold
    short_ms: Ints  # per leg: the queue's short-abandon threshold

    @classmethod
    def snapshot(cls, org: Org, legs: LegLog) -> Legs:
        queue = col(legs.queue)
        sl = np.array([q.sl_ms for q in org.queues], dtype=np.int64)
        short = np.array([q.short_abandon_ms for q in org.queues], dtype=np.int64)
        return cls(
            queue=queue,
            media=col(legs.media),
            direction=col(legs.direction),
            campaign=col(legs.campaign),
            first_leg=col(legs.first_leg),
            enter=col(legs.enter),
            end_queue=col(legs.end_queue),
            outcome=col(legs.outcome),
            user=col(legs.user),
            answer=col(legs.answer),
            talk_end=col(legs.talk_end),
            held=col(legs.held),
            acw_end=col(legs.acw_end),
            transferred=col(legs.transferred),
            dialing=col(legs.dialing),
            contacting=col(legs.contacting),
            sl_ms=sl[queue] if len(queue) else queue,
            short_ms=short[queue] if len(queue) else queue,
        )


@dataclass
class Emits:
    """One metric's emissions with the dimensions of each."""

    kind: str  # "counter", "timer" or "sl"
    t: Ints
    value: Ints
    user: Ints  # -1 where the metric has no agent
    queue: Ints
    media: Ints
    direction: Ints
    campaign: Ints  # -1 outside campaigns
    numerator: Ints | None = None  # oServiceLevel only: 1 when within the SL threshold

    def subset(self, index: npt.NDArray[np.intp]) -> Emits:
        return Emits(
            self.kind,
            self.t[index],
            self.value[index],
            self.user[index],
            self.queue[index],
            self.media[index],
            self.direction[index],
            self.campaign[index],
            None if self.numerator is None else self.numerator[index],
        )


def _pick(kind: str, mask: Mask, t: Ints, value: Ints, user: Ints | None, legs: Legs) -> Emits:
    index = np.nonzero(mask)[0]
    users = user[index] if user is not None else np.full(len(index), -1, dtype=np.int64)
    return Emits(
        kind,
        t[index],
        value[index],
        users,
        legs.queue[index],
        legs.media[index],
        legs.direction[index],
        legs.campaign[index],
    )


def emits(metric: str, legs: Legs, alerts: AlertLog, dials: DialLog) -> Emits | None:
    """The emissions of one metric so far, or None for a metric the twin never emits.

    Per queue leg, inbound and dialer alike: offered at entry, then answered, abandoned or
    flowed out; agent metrics carry the leg's agent.
    """
    one = np.ones(len(legs.enter), dtype=np.int64)
    wait = legs.end_queue - legs.enter
    answered = legs.outcome == ANSWERED
    abandoned = legs.outcome == ABANDONED
    talked = legs.talk_end >= 0
    inbound = legs.direction == 0
    if metric == "nOffered":
        return _pick("counter", one == 1, legs.enter, one, None, legs)
    if metric == "nConversations":
        return _pick("counter", legs.first_leg == 1, legs.enter, one, None, legs)
    if metric in ("tWait", "tAcd"):
        return _pick("timer", legs.end_queue >= 0, legs.end_queue, wait, None, legs)
    if metric == "tAnswered":
        return _pick("timer", answered, legs.answer, wait, legs.user, legs)
    if metric == "tAbandon":
        return _pick("timer", abandoned, legs.end_queue, wait, None, legs)
    if metric == "tShortAbandon":
        return _pick("timer", abandoned & (wait < legs.short_ms), legs.end_queue, wait, None, legs)
    if metric == "tFlowOut":
        return _pick("timer", legs.outcome == FLOWED_OUT, legs.end_queue, wait, None, legs)
    if metric == "nOverSla":
        return _pick(
            "counter", inbound & answered & (wait > legs.sl_ms), legs.answer, one, None, legs
        )
    if metric == "oServiceLevel":
        counted = inbound & (answered | (abandoned & (wait >= legs.short_ms)))
        within = answered & (wait <= legs.sl_ms)
        result = _pick("sl", counted, legs.end_queue, one, None, legs)
        result.numerator = within[np.nonzero(counted)[0]].astype(np.int64)
        return result
    if metric == "nConnected":
        return _pick("counter", answered, legs.answer, one, legs.user, legs)
    if metric in ("tTalk", "tTalkComplete"):
        talk = legs.talk_end - legs.answer - legs.held
        return _pick("timer", talked, legs.talk_end, talk, legs.user, legs)
    if metric in ("tHeld", "tHeldComplete"):
        return _pick("timer", talked & (legs.held > 0), legs.talk_end, legs.held, legs.user, legs)
    if metric == "tAcw":
        acw = legs.acw_end - legs.talk_end
        mask = (legs.acw_end >= 0) & (acw > 0)
        return _pick("timer", mask, legs.acw_end, acw, legs.user, legs)
    if metric == "tHandle":
        handle = legs.acw_end - legs.answer + legs.dialing + legs.contacting
        return _pick("timer", legs.acw_end >= 0, legs.acw_end, handle, legs.user, legs)
    if metric in ("nTransferred", "nBlindTransferred"):
        return _pick("counter", legs.transferred == 1, legs.talk_end, one, legs.user, legs)
    if metric in ("tAlert", "tNotResponding"):
        return _alert_emits(metric, alerts, legs)
    return _outbound(metric, legs, dials, one)


def _outbound(metric: str, legs: Legs, dials: DialLog, one: Ints) -> Emits | None:
    outbound_answered = (legs.direction == 1) & (legs.outcome == ANSWERED)
    if metric == "nOutbound":
        return _pick("counter", outbound_answered, legs.answer, one, legs.user, legs)
    if metric == "tContacting":
        return _pick("timer", outbound_answered, legs.answer, legs.contacting, legs.user, legs)
    if metric == "nOutboundAbandoned":
        mask = (legs.direction == 1) & (legs.outcome == ABANDONED)
        return _pick("counter", mask, legs.end_queue, one, None, legs)
    if metric not in ("nOutboundAttempted", "nOutboundConnected", "tDialing"):
        return None
    start, dialing, connected = col(dials.start), col(dials.dialing), col(dials.connected)
    if metric == "nOutboundAttempted":
        index = np.arange(len(start))
        t, value = start, np.ones(len(start), dtype=np.int64)
    elif metric == "nOutboundConnected":
        index = np.nonzero(connected == 1)[0]
        t, value = start + dialing, np.ones(len(start), dtype=np.int64)
    else:
        index = np.arange(len(start))
        t, value = start + dialing, dialing
    queue = col(dials.queue)[index]
    kind = "timer" if metric == "tDialing" else "counter"
    return Emits(
        kind,
        t[index],
        value[index],
        np.full(len(index), -1, dtype=np.int64),
        queue,
        np.full(len(index), MEDIA["voice"], dtype=np.int64),
        np.ones(len(index), dtype=np.int64),
        col(dials.campaign)[index],
    )


def _alert_emits(metric: str, alerts: AlertLog, legs: Legs) -> Emits:
    end, start, user = col(alerts.end), col(alerts.start), col(alerts.user)
    leg, outcome = col(alerts.leg), col(alerts.outcome)
    if metric == "tNotResponding":
        index = np.nonzero(outcome == ALERT_NOT_RESPONDING)[0]
    else:
        index = np.arange(len(end))
    of = leg[index]
    return Emits(
        "timer",
        end[index],
        (end - start)[index],
        user[index],
        legs.queue[of],
        legs.media[of],
        legs.direction[of],
        legs.campaign[of],
    )

"""The discrete-event contact center behind the twin.

Agents work planned shifts (login, on queue, breaks, a meal, sometimes training, a meeting or
coaching, logout). Contacts arrive per queue on a daily curve that follows the staffing, wait,
are offered to the longest-idle on-queue member, alert (or time out to NOT_RESPONDING and go
back to the queue), are talked (with hold), sometimes transferred to another queue, wrapped up
(ACW), or leave the queue by abandoning or flowing out. Voice campaigns dial out through their
queue. Every change lands in the ledger (`wfmcli.sim.ledger`), which is all that queries and
notifications read. Pure: time only moves when `run_until` is called.
"""

from __future__ import annotations

import heapq
import math
import random
from array import array
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import repeat
from zoneinfo import ZoneInfo

import numpy as np

from wfmcli.sim.ledger import (
    ABANDONED,
    ALERT_ANSWERED,
    ALERT_CUSTOMER_LEFT,
    ALERT_NOT_RESPONDING,
    ANSWERED,
    FLOWED_OUT,
    MEDIA,
    OFFLINE_RS,
    RS,
    SP,
    WAITING,
    AlertLog,
    DialLog,
    LegLog,
    StateLog,
)
from wfmcli.sim.org import Org

DAY_MS = 86_400_000
SLOT_MS = 900_000  # arrivals are planned per quarter hour

# Event kinds.
_LEAVE, _ALERT_END, _TALK_END, _ACW_END, _NR_END, _ACTION, _DIAL, _DIAL_END = range(8)
# Agent actions from the shift plan.
_LOGIN, _ON_QUEUE, _AUX, _LOGOUT, _CALL, _CALL_END = range(6)
_FREE, _CALLING = -1, -2  # _Agent.leg when not on a queue leg

_P_NOT_RESPONDING = 0.03
_P_HOLD = 0.2
_P_TRANSFER = 0.05
_OCCUPANCY = 0.75

SummaryListener = Callable[[int, int], None]  # (t_ms, user)


@dataclass
class _Agent:
    presence_queue_ok: bool = False  # presence is On Queue
    leg: int = _FREE  # the leg being alerted, talked or wrapped up; or _FREE, _CALLING
    pending: list[tuple[int, int]] = field(default_factory=list)  # actions waiting for ACW end
    not_responding: bool = False


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 50:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, product = math.exp(-lam), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


class _Planned:
    """Events planned ahead, as columns sorted by (time, seq); `next` is the first not run."""

    def __init__(self) -> None:
        self.t, self.seq, self.kind = array("q"), array("q"), array("q")
        self.a, self.b = array("q"), array("q")
        self.next = 0

    def columns(self) -> tuple[array[int], ...]:
        return self.t, self.seq, self.kind, self.a, self.b

    def append(self, t: int, seq: int, kind: int, a: int, b: int) -> None:
        self.t.append(t)
        self.seq.append(seq)
        self.kind.append(kind)
        self.a.append(a)
        self.b.append(b)

    def merge(self, fresh: _Planned) -> None:
        """Add `fresh` to the events not yet run, keeping the (time, seq) order."""
        if not fresh.t:
            return
        self.compact(0)
        ints = np.int64
        cols = [
            np.concatenate([np.frombuffer(mine, dtype=ints), np.frombuffer(more, dtype=ints)])
            for mine, more in zip(self.columns(), fresh.columns(), strict=True)
        ]
        order = np.lexsort((cols[1], cols[0]))
        self.t, self.seq, self.kind, self.a, self.b = (
            array("q", col[order].tobytes()) for col in cols
        )

    def compact(self, keep: int = 100_000) -> None:
        """Drop the events already run, once there are more than `keep` of them."""
        if self.next > keep:
            for col in self.columns():
                del col[: self.next]
            self.next = 0


class ContactCenter:
    def __init__(self, org: Org, start_ms: int) -> None:
        self.org = org
        self.start_ms = start_ms - start_ms % DAY_MS
        self.clock_ms = self.start_ms
        self.handled = 0  # events run so far: the logs change only when this moves
        self.rng = random.Random(f"wfm-twin-engine:{org.seed}")
        offline = org.presences.index(org.system_definition("OFFLINE"))
        self.states = StateLog(len(org.users), offline, self.start_ms)
        self.legs = LegLog()
        self.alerts = AlertLog()
        self.dials = DialLog()
        self.summary_listeners: list[SummaryListener] = []
        self._heap: list[tuple[int, int, int, int, int]] = []
        self._seq = 0
        # Events planned ahead (shift actions, dialer starts) wait outside the heap in columns
        # sorted by (time, seq): a day of a 100,000-agent org is millions of them, and keeping
        # them in the heap made every pop slow and every entry a 150-byte tuple. They keep the
        # seq they were planned with, so the merged order is the heap's order exactly.
        self._planned = _Planned()
        self._planning: _Planned | None = None  # while planning, pushes land here
        self._agents = [_Agent() for _ in org.users]
        self._waiting: list[deque[int]] = [deque() for _ in org.queues]
        self._idle: list[dict[int, None]] = [{} for _ in org.queues]
        self._alerting: dict[int, int] = {}  # leg -> agent
        self._staffing: dict[int, list[list[float]]] = {}  # day -> queue -> slot agent-seconds
        self._planned_shift_days: set[int] = set()
        self._planned_arrival_days: set[int] = set()
        self._next_conv = 0
        self._arrivals_t = array("q")  # planned arrivals, sorted by time
        self._arrivals_q = array("q")
        self._arrival_next = 0
        self._deadline: dict[int, tuple[int, int]] = {}  # waiting leg -> (time, outcome)
        self._same_media = [
            [
                other.index
                for other in org.queues
                if other.media == queue.media and other.index != queue.index
            ]
            for queue in org.queues
        ]
        self._def_index = {p.id: i for i, p in enumerate(org.presences)}
        self._sys_def = {sp: self._def_index[org.system_definition(sp).id] for sp in SP}
        self._secondary = {p.name: self._def_index[p.id] for p in org.presences if not p.primary}
        # Indexed by event kind; every handler takes (t, a, b).
        self._handlers: list[Callable[[int, int, int], None]] = [
            self._leave,
            self._alert_end,
            lambda t, leg, _: self._talk_end(t, leg),
            lambda t, leg, _: self._acw_end(t, leg),
            lambda t, agent, _: self._nr_end(t, agent),
            self._action,
            lambda t, q, _: self._dial(t, q),
            self._dial_end,
        ]
        self._dialer_queues = {
            c.queue_index: i for i, c in enumerate(org.campaigns) if c.queue_index is not None
        }

    # -- observations -----------------------------------------------------------------------

    def waiting(self, queue: int) -> int:
        """Contacts waiting in the queue right now (not counting ones ringing an agent)."""
        return len(self._waiting[queue])

    def alerting_legs(self) -> list[int]:
        return list(self._alerting)

    # -- the clock ------------------------------------------------------------------------

    def run_until(self, t_ms: int, budget: int | None = None) -> int:
        """Process every event up to `t_ms`, or only `budget` of them; returns how many.

        With a budget spent early, the clock stops at the last event processed.
        """
        self._plan_through(max(t_ms, self.clock_ms))
        processed = 0
        limit = budget if budget is not None else -1
        heap, arrivals_t, arrivals_q = self._heap, self._arrivals_t, self._arrivals_q
        planned = self._planned
        planned_t, planned_seq = planned.t, planned.seq
        n_arrivals, n_planned = len(arrivals_t), len(planned_t)
        handlers = self._handlers
        never = t_ms + 1
        while True:
            # Arrivals sit in their own sorted list, and so do planned events, so the heap only
            # holds what is in flight. Arrivals go first on a tie, as they always did; planned
            # events and the heap's are ordered by (time, seq), as if they shared one heap.
            i = self._arrival_next
            arrival = arrivals_t[i] if i < n_arrivals else never
            j = planned.next
            if heap:
                event = heap[0][0]
                from_plan = j < n_planned and (
                    planned_t[j] < event or (planned_t[j] == event and planned_seq[j] < heap[0][1])
                )
                if from_plan:
                    event = planned_t[j]
            elif j < n_planned:
                event, from_plan = planned_t[j], True
            else:
                event, from_plan = never, False
            if arrival <= event:
                if arrival > t_ms:
                    break
                self._arrival_next = i + 1
                self.clock_ms = arrival
                self._arrive(arrival, arrivals_q[i])
            else:
                if event > t_ms:
                    break
                if from_plan:
                    planned.next = j + 1
                    self.clock_ms = event
                    handlers[planned.kind[j]](event, planned.a[j], planned.b[j])
                else:
                    t, _, kind, a, b = heapq.heappop(heap)
                    self.clock_ms = t
                    handlers[kind](t, a, b)
            processed += 1
            if processed == limit:
                self.handled += processed
                return processed
        if self._arrival_next > 100_000:
            del arrivals_t[: self._arrival_next]
            del arrivals_q[: self._arrival_next]
            self._arrival_next = 0
        planned.compact()
        self.clock_ms = max(self.clock_ms, t_ms)
        self.handled += processed
        return processed

    def _push(self, t: int, kind: int, a: int, b: int = 0) -> None:
        self._seq += 1
        if self._planning is not None:
            self._planning.append(t, self._seq, kind, a, b)
        else:
            heapq.heappush(self._heap, (t, self._seq, kind, a, b))

    # -- planning ---------------------------------------------------------------------------

    def _plan_through(self, t_ms: int) -> None:
        day = (t_ms - self.start_ms) // DAY_MS
        if day in self._planned_arrival_days:
            return
        self._planning = _Planned()
        try:
            for d in range(day + 2):
                if d not in self._planned_shift_days:
                    self._plan_shifts(d)
            for d in range(day + 1):
                if d not in self._planned_arrival_days:
                    self._plan_arrivals(d)
        finally:
            fresh, self._planning = self._planning, None
        self._planned.merge(fresh)

    def _staff(self, queue: int, start: int, end: int, weight: float) -> None:
        t = start - start % SLOT_MS
        while t < end:
            overlap = min(end, t + SLOT_MS) - max(start, t)
            day = (t - self.start_ms) // DAY_MS
            slots = self._staffing.get(day)
            if slots is None:
                slots = [[0.0] * (DAY_MS // SLOT_MS) for _ in self.org.queues]
                self._staffing[day] = slots
            slots[queue][(t - self.start_ms - day * DAY_MS) // SLOT_MS] += weight * overlap / 1000
            t += SLOT_MS

    def _plan_shifts(self, day: int) -> None:
        self._planned_shift_days.add(day)
        rng = random.Random(f"wfm-twin-shifts:{self.org.seed}:{day}")
        day_ms = self._local_midnight(day)
        for user in self.org.users:
            if rng.random() < 0.12:  # a day off
                continue
            roll = rng.random()
            hour = (
                rng.uniform(6, 10)
                if roll < 0.7
                else rng.uniform(10, 14)
                if roll < 0.95
                else rng.uniform(14, 22)
            )
            start = day_ms + int(hour * 3_600_000) // 60_000 * 60_000
            if start >= self.start_ms:  # a shift that began before the history is not in it
                self._plan_one_shift(rng, user.index, start, user.licensed)

    def _local_midnight(self, day: int) -> int:
        """Midnight, in the org's time zone, of the calendar date of UTC day `day`."""
        date = datetime.fromtimestamp((self.start_ms + day * DAY_MS) / 1000, tz=UTC).date()
        local = datetime(date.year, date.month, date.day, tzinfo=ZoneInfo(self.org.timezone))
        return int(local.timestamp() * 1000)

    def _plan_one_shift(self, rng: random.Random, user: int, start: int, agent: bool) -> None:
        minute = 60_000
        end = start + 510 * minute
        self._push(start, _ACTION, user, _LOGIN)
        plan: list[tuple[int, int, int]] = []  # (offset minutes, duration minutes, def index)
        plan.append((120 + rng.randrange(-15, 15), 15, self._secondary["Short Break"]))
        plan.append((240 + rng.randrange(-20, 20), 30, self._secondary["Lunch"]))
        plan.append((390 + rng.randrange(-15, 15), 15, self._sys_def["BREAK"]))
        if rng.random() < 0.25:
            extra = rng.choice(("E-learning", "Team Meeting", "Coaching", "Back Office"))
            plan.append(
                (300 + rng.randrange(0, 40), rng.choice((15, 30, 45)), self._secondary[extra])
            )
        if not agent:
            plan.append((60, 60, self._sys_def["MEETING"]))
        plan.sort()
        ready = _ON_QUEUE if agent else _AUX
        ready_def = 0 if agent else self._sys_def["AVAILABLE"]
        on_queue_from = start + rng.randrange(1, 4) * minute
        self._push(on_queue_from, _ACTION, user, ready + 8 * ready_def)
        cursor = on_queue_from
        for offset, duration, definition in plan:
            begin = max(start + offset * minute, cursor + minute)
            self._push(begin, _ACTION, user, _AUX + 8 * definition)
            cursor = begin + duration * minute
            self._push(cursor, _ACTION, user, ready + 8 * ready_def)
            if agent:
                self._staff_queues(user, on_queue_from, begin)
            on_queue_from = cursor
        if agent:
            self._staff_queues(user, on_queue_from, end)
            for _ in range(rng.choice((0, 1, 1, 2, 3))):
                when = start + rng.randrange(30, 480) * minute
                self._push(when, _ACTION, user, _CALL + 8 * rng.randrange(2, 9))
        self._push(end, _ACTION, user, _LOGOUT)

    def _staff_queues(self, user: int, start: int, end: int) -> None:
        queues = self.org.users[user].queue_indexes
        for q in queues:
            self._staff(q, start, end, 1.0 / len(queues))

    def _plan_arrivals(self, day: int) -> None:
        self._planned_arrival_days.add(day)
        rng = random.Random(f"wfm-twin-arrivals:{self.org.seed}:{day}")
        slots = self._staffing.get(day)
        if slots is None:
            return
        day_ms = self.start_ms + day * DAY_MS
        times = array("q")
        queues = array("q")
        for queue in self.org.queues:
            aht = queue.mean_talk_s + queue.mean_acw_s + 5
            mood = rng.uniform(0.9, 1.1)
            if queue.index in self._dialer_queues:
                mood *= 0.8  # leave room for the dialer
            for slot, agent_seconds in enumerate(slots[queue.index]):
                count = _poisson(rng, agent_seconds * _OCCUPANCY * mood / aht)
                base = day_ms + slot * SLOT_MS
                times.extend(base + rng.randrange(SLOT_MS) for _ in range(count))
                queues.extend(repeat(queue.index, count))
            if queue.index in self._dialer_queues:
                for slot in range(0, DAY_MS // SLOT_MS):
                    if slots[queue.index][slot] > 0:
                        self._push(day_ms + slot * SLOT_MS + 60_000, _DIAL, queue.index)
        # Sorted by time, then queue; kept as machine ints (a busy day has a million arrivals).
        t_col = np.frombuffer(times, dtype=np.int64)
        q_col = np.frombuffer(queues, dtype=np.int64)
        order = np.lexsort((q_col, t_col))
        self._arrivals_t.frombytes(t_col[order].tobytes())
        self._arrivals_q.frombytes(q_col[order].tobytes())

    # -- contacts ---------------------------------------------------------------------------

    def _between(self, low: int, high: int) -> int:
        """A uniform int in [low, high): cheaper than randrange, same seeded stream."""
        return low + int(self.rng.random() * (high - low))

    def _new_conv(self) -> int:
        self._next_conv += 1
        return self._next_conv

    def _arrive(self, t: int, q: int, conv: int = 0, first: bool = True) -> None:
        queue = self.org.queues[q]
        media = queue.media
        if queue.extra_media:  # a blended queue: its contacts come in each of its media
            options = (queue.media, *queue.extra_media)
            media = options[self._between(0, len(options))]
        leg = self.legs.open(conv or self._new_conv(), q, MEDIA[media], t, first_leg=first)
        self._waiting[q].append(leg)
        patience = self.rng.expovariate(1 / queue.mean_patience_s) * 1000
        if patience < queue.flow_out_s * 1000:
            self._deadline[leg] = (t + max(1000, int(patience)), ABANDONED)
        elif queue.flow_out_s < 10**8:
            self._deadline[leg] = (t + int(queue.flow_out_s * 1000), FLOWED_OUT)
        self._route_queue(t, q)
        self._arm_deadline(t, leg, queue.alert_timeout_ms)

    def _arm_deadline(self, t: int, leg: int, alert_ms: int) -> None:
        """Schedule the leg's abandon or flow-out, unless it is ringing and cannot reach it."""
        deadline = self._deadline.get(leg)
        if deadline is None:
            return
        if leg in self._alerting and deadline[0] > t + alert_ms:
            return  # if the alert times out, the leg is re-queued and armed again
        self._push(max(t, deadline[0]), _LEAVE, leg, deadline[1])

    def _route_queue(self, t: int, q: int) -> None:
        waiting, idle = self._waiting[q], self._idle[q]
        while waiting and idle:
            self._offer(t, waiting.popleft(), next(iter(idle)))

    def _busy(self, agent: int) -> None:
        for q in self.org.users[agent].queue_indexes:
            self._idle[q].pop(agent, None)

    def _offer(self, t: int, leg: int, agent: int) -> None:
        self._busy(agent)
        self._agents[agent].leg = leg
        self._alerting[leg] = agent
        self.states.change(t, agent, rs=RS["INTERACTING"])
        queue = self.org.queues[self.legs.queue[leg]]
        if self.rng.random() < _P_NOT_RESPONDING:
            self._push(t + queue.alert_timeout_ms, _ALERT_END, leg, 0)
        else:
            self._push(t + self._between(1500, 6000), _ALERT_END, leg, 1)

    def _leave(self, t: int, leg: int, outcome: int) -> None:
        legs = self.legs
        if legs.outcome[leg] != WAITING:
            return
        agent = self._alerting.pop(leg, None)
        if agent is not None:
            if outcome == FLOWED_OUT:
                self._alerting[leg] = agent  # the agent is ringing; let the alert decide
                return
            start = self.states.now[agent].routing_since
            self.alerts.add(leg, agent, start, t, ALERT_CUSTOMER_LEFT)
            self._agents[agent].leg = _FREE
            self._free(t, agent)
        else:
            self._waiting[legs.queue[leg]].remove(leg)
        legs.outcome[leg] = outcome
        legs.end_queue[leg] = t
        self._deadline.pop(leg, None)

    def _alert_end(self, t: int, leg: int, answered: int) -> None:
        agent = self._alerting.pop(leg, None)
        if agent is None or self._agents[agent].leg != leg:
            return  # the customer abandoned while it rang
        start = self.states.now[agent].routing_since
        self.alerts.add(leg, agent, start, t, ALERT_ANSWERED if answered else ALERT_NOT_RESPONDING)
        legs = self.legs
        if not answered:
            self._agents[agent].leg = _FREE
            self._agents[agent].not_responding = True
            self.states.change(t, agent, rs=RS["NOT_RESPONDING"])
            self._push(t + self._between(20_000, 90_000), _NR_END, agent)
            q = legs.queue[leg]
            self._waiting[q].appendleft(leg)
            self._route_queue(t, q)
            self._arm_deadline(t, leg, self.org.queues[q].alert_timeout_ms)
            return
        self._connect(t, leg, agent)

    def _connect(self, t: int, leg: int, agent: int) -> None:
        legs = self.legs
        queue = self.org.queues[legs.queue[leg]]
        self._deadline.pop(leg, None)
        legs.outcome[leg] = ANSWERED
        legs.answer[leg] = t
        legs.end_queue[leg] = t
        legs.user[leg] = agent
        talk = max(20_000, int(self.rng.expovariate(1 / queue.mean_talk_s) * 1000))
        if queue.media == "voice" and self.rng.random() < _P_HOLD:
            legs.held[leg] = self._between(15_000, 120_000)
        self._summary(t, agent, queue.media, active=1)
        self._push(t + talk + legs.held[leg], _TALK_END, leg)

    def _talk_end(self, t: int, leg: int) -> None:
        legs = self.legs
        legs.talk_end[leg] = t
        agent = legs.user[leg]
        queue = self.org.queues[legs.queue[leg]]
        same_media = self._same_media[queue.index]
        if legs.direction[leg] == 0 and same_media and self.rng.random() < _P_TRANSFER:
            legs.transferred[leg] = 1
            target = same_media[self._between(0, len(same_media))]
            self._arrive(t, target, conv=legs.conv[leg], first=False)
        acw = 0 if queue.mean_acw_s <= 0 else int(self.rng.expovariate(1 / queue.mean_acw_s) * 1000)
        self._summary(t, agent, queue.media, active=-1, acw=1 if acw else 0)
        if acw:
            self._push(t + acw, _ACW_END, leg)
        else:
            self._acw_end(t, leg, in_acw=False)

    def _acw_end(self, t: int, leg: int, in_acw: bool = True) -> None:
        legs = self.legs
        legs.acw_end[leg] = t
        agent = legs.user[leg]
        if in_acw:
            self._summary(t, agent, self.org.queues[legs.queue[leg]].media, acw=-1)
        self._agents[agent].leg = _FREE
        self._free(t, agent)

    def _summary(self, t: int, agent: int, media: str, active: int = 0, acw: int = 0) -> None:
        now = self.states.now[agent]
        if active:
            now.active[media] = now.active.get(media, 0) + active
        if acw:
            now.acw[media] = now.acw.get(media, 0) + acw
        for listener in self.summary_listeners:
            listener(t, agent)

    def _free(self, t: int, agent: int) -> None:
        """The agent finished a contact: run what waited for it, else become idle."""
        state = self._agents[agent]
        if state.pending:
            pending, state.pending = state.pending, []
            for action, definition in pending:
                self._action(t, agent, action + 8 * definition)
            return
        if state.presence_queue_ok:
            self._make_idle(t, agent)
        else:
            self.states.change(t, agent, rs=RS["OFF_QUEUE"])

    def _make_idle(self, t: int, agent: int) -> None:
        self.states.change(t, agent, rs=RS["IDLE"])
        best, best_enter = -1, 0
        for q in self.org.users[agent].queue_indexes:
            waiting = self._waiting[q]
            if waiting and (best < 0 or self.legs.enter[waiting[0]] < best_enter):
                best, best_enter = q, self.legs.enter[waiting[0]]
        if best >= 0:
            self._offer(t, self._waiting[best].popleft(), agent)
            return
        for q in self.org.users[agent].queue_indexes:
            self._idle[q][agent] = None

    def _nr_end(self, t: int, agent: int) -> None:
        state = self._agents[agent]
        if not state.not_responding:
            return
        state.not_responding = False
        if state.presence_queue_ok and state.leg == _FREE:
            self._make_idle(t, agent)

    # -- agents -----------------------------------------------------------------------------

    def _action(self, t: int, agent: int, code: int) -> None:
        action, definition = code % 8, code // 8
        state = self._agents[agent]
        if action == _CALL:
            self._internal_call(t, agent, definition)
            return
        if action == _CALL_END:
            state.leg = _FREE
            self._free(t, agent)
            return
        if state.leg != _FREE and action in (_AUX, _LOGOUT, _ON_QUEUE):
            state.pending.append((action, definition))
            return
        state.not_responding = False
        if action == _LOGIN:
            self.states.change(
                t, agent, rs=RS["OFF_QUEUE"], sp=SP["AVAILABLE"], pd=self._sys_def["AVAILABLE"]
            )
        elif action == _ON_QUEUE:
            state.presence_queue_ok = True
            self.states.change(t, agent, sp=SP["ON_QUEUE"], pd=self._sys_def["ON_QUEUE"])
            self._make_idle(t, agent)
        elif action == _AUX:
            self._off_queue(t, agent)
            system = self.org.presences[definition].system_presence
            self.states.change(t, agent, rs=RS["OFF_QUEUE"], sp=SP[system], pd=definition)
        else:
            self._off_queue(t, agent)
            self.states.change(
                t, agent, rs=OFFLINE_RS, sp=SP["OFFLINE"], pd=self._sys_def["OFFLINE"]
            )

    def _internal_call(self, t: int, agent: int, minutes: int) -> None:
        """A non-ACD call (a consult, a colleague): COMMUNICATING, if the agent is free."""
        state = self._agents[agent]
        if state.leg != _FREE or not state.presence_queue_ok or state.not_responding:
            return
        self._busy(agent)
        state.leg = _CALLING
        self.states.change(t, agent, rs=RS["COMMUNICATING"])
        self._push(t + minutes * 60_000, _ACTION, agent, _CALL_END)

    def _off_queue(self, t: int, agent: int) -> None:
        self._agents[agent].presence_queue_ok = False
        self._busy(agent)

    # -- the dialer -------------------------------------------------------------------------

    def _dial(self, t: int, q: int) -> None:
        for _ in range(min(2, len(self._idle[q]))):
            dialing = self._between(4_000, 25_000)
            connected = 1 if self.rng.random() < 0.4 else 0
            self._push(t + dialing, _DIAL_END, q, dialing * 2 + connected)
        if t + 300_000 < self.start_ms + ((t - self.start_ms) // SLOT_MS + 1) * SLOT_MS:
            self._push(t + 300_000, _DIAL, q)

    def _dial_end(self, t: int, q: int, code: int) -> None:
        dialing, connected = code // 2, code % 2
        campaign = self._dialer_queues[q]
        self.dials.add(t - dialing, q, campaign, dialing, bool(connected))
        if not connected:
            return
        legs = self.legs
        media = MEDIA[self.org.queues[q].media]  # voice, or a messaging campaign's email/message
        leg = legs.open(self._new_conv(), q, media, t, direction=1, campaign=campaign)
        legs.dialing[leg] = dialing
        idle = self._idle[q]
        if not idle:
            legs.outcome[leg] = ABANDONED  # the customer answered and no agent was free
            legs.end_queue[leg] = t
            return
        agent = next(iter(idle))
        self._busy(agent)
        self._agents[agent].leg = leg
        self.states.change(t, agent, rs=RS["INTERACTING"])
        legs.contacting[leg] = 1000
        self._connect(t, leg, agent)

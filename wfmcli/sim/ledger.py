"""The event log: the single source of truth that aggregates, details and notifications read.

Two append-only, columnar logs (Python `array`s, so a day of a 20,000-agent org stays small):

* agent state changes: every row is an agent's full state after a change (routing status,
  system presence, presence definition), so any time range of it is self-describing;
* conversation legs: one row per queue leg (a contact's stay in one queue until it is answered,
  abandoned or flows out, then its handling); timestamps are filled in as the leg progresses and
  stay -1 until then, so a live query sees exactly what has happened so far.

Alert attempts (including the ones that end NOT_RESPONDING) and dialer attempts get their own
small logs.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from dataclasses import dataclass, field

from wfmcli.sim.org import MEDIA_TYPES, ROUTING_STATUSES, SYSTEM_PRESENCES

OFFLINE_RS = -1  # no routing status while logged out
RS = {name: code for code, name in enumerate(ROUTING_STATUSES)}
SP = {name: code for code, name in enumerate(SYSTEM_PRESENCES)}
MEDIA = {name: code for code, name in enumerate(MEDIA_TYPES)}

# Leg outcomes.
WAITING, ANSWERED, ABANDONED, FLOWED_OUT = 0, 1, 2, 3
DIRECTIONS = ("inbound", "outbound")
# How an alert ended.
ALERT_NOT_RESPONDING, ALERT_ANSWERED, ALERT_CUSTOMER_LEFT = 0, 1, 2


@dataclass
class AgentNow:
    routing_status: int  # index into ROUTING_STATUSES, or OFFLINE_RS
    routing_since: int  # ms
    system_presence: int  # index into SYSTEM_PRESENCES
    presence_def: int  # index into org.presences
    presence_since: int  # ms
    active: dict[str, int] = field(default_factory=dict)  # media -> live interactions
    acw: dict[str, int] = field(default_factory=dict)  # media -> interactions in ACW


StateListener = Callable[[int, int, bool, bool], None]  # (t_ms, user, rs_changed, presence_changed)


class StateLog:
    def __init__(self, users: int, offline_def: int, start_ms: int) -> None:
        self.now = [
            AgentNow(OFFLINE_RS, start_ms, SP["OFFLINE"], offline_def, start_ms)
            for _ in range(users)
        ]
        self.t = array("q")
        self.user = array("i")
        self.rs = array("b")
        self.sp = array("b")
        self.pd = array("h")
        # Each row links to the same user's previous row (-1: none), so a time range of the
        # log can be read without sorting it: rows are appended in time order, never changed.
        self.prev = array("q")
        self.last_row = [-1] * users
        self.listeners: list[StateListener] = []
        for index in range(users):  # the starting state is part of the log
            self._append(start_ms, index, OFFLINE_RS, SP["OFFLINE"], offline_def)

    def _append(self, t: int, user: int, rs: int, sp: int, pd: int) -> None:
        row = len(self.t)
        self.t.append(t)
        self.user.append(user)
        self.rs.append(rs)
        self.sp.append(sp)
        self.pd.append(pd)
        self.prev.append(self.last_row[user])
        self.last_row[user] = row

    def change(
        self,
        t: int,
        user: int,
        *,
        rs: int | None = None,
        sp: int | None = None,
        pd: int | None = None,
    ) -> None:
        """Record a change; arguments left None keep their current value."""
        agent = self.now[user]
        new_rs = agent.routing_status if rs is None else rs
        new_sp = agent.system_presence if sp is None else sp
        new_pd = agent.presence_def if pd is None else pd
        rs_changed = new_rs != agent.routing_status
        presence_changed = new_pd != agent.presence_def or new_sp != agent.system_presence
        if not (rs_changed or presence_changed):
            return
        if rs_changed:
            agent.routing_status, agent.routing_since = new_rs, t
        if presence_changed:
            agent.system_presence, agent.presence_def, agent.presence_since = new_sp, new_pd, t
        self._append(t, user, new_rs, new_sp, new_pd)
        for listener in self.listeners:
            listener(t, user, rs_changed, presence_changed)

    def __len__(self) -> int:
        return len(self.t)


class LegLog:
    """One row per queue leg; -1 marks a moment that has not happened (yet)."""

    def __init__(self) -> None:
        self.conv = array("q")
        self.queue = array("i")
        self.media = array("b")
        self.direction = array("b")
        self.campaign = array("b")  # index into org.campaigns, -1 for none
        self.first_leg = array("b")
        self.enter = array("q")
        self.end_queue = array("q")
        self.outcome = array("b")
        self.user = array("i")
        self.answer = array("q")
        self.talk_end = array("q")
        self.held = array("q")  # ms on hold within the talk
        self.acw_end = array("q")
        self.transferred = array("b")
        self.dialing = array("q")  # outbound: ms dialing before the customer answered
        self.contacting = array("q")

    def open(
        self,
        conv: int,
        queue: int,
        media: int,
        enter: int,
        *,
        direction: int = 0,
        campaign: int = -1,
        first_leg: bool = True,
    ) -> int:
        self.conv.append(conv)
        self.queue.append(queue)
        self.media.append(media)
        self.direction.append(direction)
        self.campaign.append(campaign)
        self.first_leg.append(1 if first_leg else 0)
        self.enter.append(enter)
        self.end_queue.append(-1)
        self.outcome.append(WAITING)
        self.user.append(-1)
        self.answer.append(-1)
        self.talk_end.append(-1)
        self.held.append(0)
        self.acw_end.append(-1)
        self.transferred.append(0)
        self.dialing.append(0)
        self.contacting.append(0)
        return len(self.conv) - 1

    def __len__(self) -> int:
        return len(self.conv)


class AlertLog:
    """One row per alert offered to an agent, with how it ended (ALERT_* codes)."""

    def __init__(self) -> None:
        self.leg = array("i")
        self.user = array("i")
        self.start = array("q")
        self.end = array("q")
        self.outcome = array("b")

    def add(self, leg: int, user: int, start: int, end: int, outcome: int) -> None:
        self.leg.append(leg)
        self.user.append(user)
        self.start.append(start)
        self.end.append(end)
        self.outcome.append(outcome)

    def __len__(self) -> int:
        return len(self.leg)


class DialLog:
    """One row per dialer attempt; only attempts a customer answered become queue legs."""

    def __init__(self) -> None:
        self.start = array("q")
        self.queue = array("i")
        self.campaign = array("b")
        self.dialing = array("q")  # ms until the customer answered or the attempt gave up
        self.connected = array("b")

    def add(self, start: int, queue: int, campaign: int, dialing: int, connected: bool) -> None:
        self.start.append(start)
        self.queue.append(queue)
        self.campaign.append(campaign)
        self.dialing.append(dialing)
        self.connected.append(1 if connected else 0)

    def __len__(self) -> int:
        return len(self.start)

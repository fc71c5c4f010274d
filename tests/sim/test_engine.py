"""The contact center without sockets: shifts, routing rules and the shape of the event log."""

from __future__ import annotations

from collections import Counter

import pytest

from wfmcli.sim.engine import DAY_MS, ContactCenter
from wfmcli.sim.ledger import ANSWERED, OFFLINE_RS, RS, SP
from wfmcli.sim.org import LICENSED_ROLE_NAME, build_org

START = 1_773_014_400_000  # 2026-03-09T00:00Z


@pytest.fixture(scope="module")
def center() -> ContactCenter:
    engine = ContactCenter(build_org(seed=8, agents=40, queues=4), START)
    engine.run_until(START + DAY_MS + 7 * 3_600_000)  # every shift of the first day is over
    return engine


def test_org_is_deterministic_and_complete() -> None:
    a, b = build_org(seed=3, agents=50, queues=12), build_org(seed=3, agents=50, queues=12)
    assert [u.id for u in a.users] == [u.id for u in b.users]
    assert [q.id for q in a.queues] == [q.id for q in b.queues]
    assert a.credentials == b.credentials
    assert [u.id for u in build_org(seed=4, agents=50).users] != [u.id for u in a.users]
    assert {q.media for q in a.queues} == {"voice", "chat", "email", "message", "callback"}
    assert a.licensed_role.name == LICENSED_ROLE_NAME
    assert 0 < sum(not u.licensed for u in a.users) < 50
    assert len({u.username for u in a.users}) == len({u.employee_id for u in a.users}) == 50
    assert {c.kind for c in a.campaigns} == {"voice", "messaging"}
    names = {p.name for p in a.presences if not p.primary}
    assert {"Coaching", "Lunch", "Short Break", "E-learning", "Team Meeting"} <= names


def test_only_licensed_queue_members_take_contacts(center: ContactCenter) -> None:
    org, legs = center.org, center.legs
    for i in range(len(legs)):
        if legs.outcome[i] == ANSWERED:
            user = org.users[legs.user[i]]
            assert user.licensed
            assert legs.queue[i] in user.queue_indexes


def test_shifts_have_login_breaks_meal_and_logout(center: ContactCenter) -> None:
    log = center.states
    per_user: dict[int, Counter[int]] = {}
    first_day = set()
    for row in range(len(log)):
        per_user.setdefault(log.user[row], Counter())[log.sp[row]] += 1
        if log.sp[row] == SP["ON_QUEUE"] and log.t[row] < START + DAY_MS:
            first_day.add(log.user[row])
    working = [u for u in center.org.users if u.licensed and u.index in first_day]
    assert len(working) > 20
    for user in working:
        seen = per_user[user.index]
        assert seen[SP["BREAK"]] >= 1 and seen[SP["MEAL"]] >= 1 and seen[SP["OFFLINE"]] >= 2


def test_state_rows_are_in_time_order_and_linked(center: ContactCenter) -> None:
    log = center.states
    assert all(log.t[i] <= log.t[i + 1] for i in range(len(log) - 1))
    last: dict[int, int] = {}
    for row in range(len(log)):
        assert log.prev[row] == last.get(log.user[row], -1)
        last[log.user[row]] = row
        if log.rs[row] == OFFLINE_RS:
            assert log.sp[row] == SP["OFFLINE"]
    assert {log.rs[r] for r in range(len(log))} >= {
        RS["IDLE"],
        RS["INTERACTING"],
        RS["NOT_RESPONDING"],
        RS["OFF_QUEUE"],
    }


def test_running_in_steps_gives_the_same_log() -> None:
    org = build_org(seed=8, agents=25, queues=3)
    whole = ContactCenter(org, START)
    whole.run_until(START + DAY_MS // 2)
    steps = ContactCenter(build_org(seed=8, agents=25, queues=3), START)
    for k in range(1, 49):
        steps.run_until(START + k * DAY_MS // 96)
    assert list(whole.states.t) == list(steps.states.t)
    assert list(whole.legs.answer) == list(steps.legs.answer)


def test_set_clock_moves_the_live_clock_and_the_engine_follows() -> None:
    from wfmcli.sim.runtime import Runtime

    runtime = Runtime(
        build_org(seed=8, agents=20, queues=2),
        now_ms=START + 10 * 3_600_000,
        days=0,
        live=True,
        speed=0.0,
    )
    before = len(runtime.center.states)
    runtime.set_clock(START + 11 * 3_600_000, 0.0)
    assert runtime.now_ms() == START + 11 * 3_600_000
    assert runtime.catch_up() > 0
    assert len(runtime.center.states) > before
    assert runtime.center.clock_ms == START + 11 * 3_600_000


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "Pacific/Kiritimati", "America/Los_Angeles"])
def test_shifts_follow_the_org_time_zone(zone: str) -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    engine = ContactCenter(build_org(seed=8, agents=30, queues=2, timezone=zone), START)
    engine.run_until(START + 2 * DAY_MS)
    log = engine.states
    assert all(log.t[i] <= log.t[i + 1] for i in range(len(log) - 1))
    logins = [
        log.t[i]
        for i in range(len(log))
        if log.sp[i] == SP["AVAILABLE"]
        and log.prev[i] >= 0
        and log.sp[log.prev[i]] == SP["OFFLINE"]
    ]
    hours = Counter(
        datetime.fromtimestamp(t / 1000, tz=UTC).astimezone(ZoneInfo(zone)).hour for t in logins
    )
    assert len(logins) > 20
    assert sum(n for h, n in hours.items() if 6 <= h < 22) == len(logins)


def test_a_budget_stops_early_and_the_rest_follows() -> None:
    engine = ContactCenter(build_org(seed=8, agents=20, queues=2), START)
    target = START + 12 * 3_600_000
    assert engine.run_until(target, budget=50) == 50
    assert engine.clock_ms < target
    rest = engine.run_until(target)
    reference = ContactCenter(build_org(seed=8, agents=20, queues=2), START)
    assert reference.run_until(target) == 50 + rest
    assert list(reference.states.t) == list(engine.states.t)

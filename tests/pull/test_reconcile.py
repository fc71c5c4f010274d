"""Reconciliation: every frame cell equals what the twin's event log says, per queue, interval and
media, over several seeds and zones (DST both ways, +05:30, +05:45)."""

from __future__ import annotations

from datetime import date

import pytest

from tests.pull.conftest import FAST
from tests.pull.truth import Grid, agent_queue_truth, agent_time_truth, compare, queue_truth
from wfmcli import frames
from wfmcli.pull import PullSpec, pull

CASES = [
    (3, "Europe/Berlin", date(2026, 3, 29), 15),  # spring forward: 92 quarter hours
    (4, "Europe/Berlin", date(2026, 10, 25), 15),  # fall back: 100 quarter hours
    (5, "Asia/Kolkata", date(2026, 3, 10), 30),
    (6, "Asia/Kathmandu", date(2026, 3, 10), 15),
    (7, "America/New_York", date(2026, 11, 1), 60),  # fall back, hourly
]
QUEUE_COLUMNS = [
    c.name
    for c in frames.FRAMES["queue_interval"].columns
    if c.kind in ("count", "seconds") and c.name != "sl_threshold_s"
]
QUEUE_KEYS = ["interval_start", "queue_id", "media", "direction", "campaign_id"]


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("seed", "zone", "day", "minutes"), CASES)
def test_frames_equal_the_event_log(
    org_factory, seed: int, zone: str, day: date, minutes: int
) -> None:
    org = org_factory(seed, zone, day, credentials=2)
    result = pull(org.source(), PullSpec("lab", org.start, org.end, org.zone, minutes), retry=FAST)
    for name, df in result.data.items():
        assert frames.problems(name, df) == []
    g = Grid(org.start, org.end, org.zone, minutes)
    queue_ids = {q.id for q in org.twin.org.queues if q.division.name != "Home"}
    agents = {u.id for u in org.twin.org.users if u.licensed and u.division.name != "Home"}
    queue = result.data["queue_interval"]
    assert len(queue) > 50 and queue["offered"].sum() > 100
    assert compare(queue, queue_truth(org.twin, g, queue_ids), QUEUE_KEYS, QUEUE_COLUMNS) == []
    secondary = {p.id for p in org.twin.org.presences if not p.primary}
    time_columns = [
        "logged_in_s",
        "on_queue_s",
        "idle_s",
        "interacting_s",
        "communicating_s",
        "not_responding_s",
        *(f"presence_{n}_s" for n in frames.SYSTEM_PRESENCES),
        *(f"secondary_{p}_s" for p in secondary),
    ]
    agent = result.data["agent_interval"]
    want = agent_time_truth(org.twin, g, agents, secondary)
    assert compare(agent, want, ["interval_start", "user_id"], time_columns) == []
    aq_columns = ["answered", "handled", "talk_s", "hold_s", "acw_s", "handle_s", "transferred"]
    aq_keys = ["interval_start", "user_id", "queue_id", "media", "direction"]
    got = result.data["agent_queue_interval"]
    assert (
        compare(got, agent_queue_truth(org.twin, g, agents, queue_ids), aq_keys, aq_columns) == []
    )
    # Every interval start lies on the local grid, and the day has its DST-correct length.
    assert set(agent["interval_start"]) <= {g.stamp(i) for i in range(len(g.starts))}
    assert len(g.starts) * minutes == (org.end - org.start).total_seconds() / 60


def test_compare_reports_a_wrong_cell(org_factory) -> None:
    org = org_factory(3, "Asia/Kolkata", date(2026, 3, 10))
    result = pull(org.source(), PullSpec("lab", org.start, org.end, org.zone, 15), retry=FAST)
    queue = result.data["queue_interval"].copy()
    queue.loc[queue.index[0], "answered_in_sl"] += 1
    g = Grid(org.start, org.end, org.zone, 15)
    queue_ids = set(queue["queue_id"])
    problems = compare(queue, queue_truth(org.twin, g, queue_ids), QUEUE_KEYS, QUEUE_COLUMNS)
    assert len(problems) == 1 and problems[0].startswith("answered_in_sl")

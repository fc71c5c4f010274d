"""Scope rules, agent ids, batching and request counts, cache replacement, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import RunWfm
from tests.pull.conftest import FAST, Org, record_analytics
from wfmcli import frames
from wfmcli.errors import ConfigError, UsageError
from wfmcli.pull import FrameCache, Partition, PullSpec, pull
from wfmcli.pull.directory import read_agent_map
from wfmcli.pull.queries import USER_BATCH

DAY = date(2026, 3, 10)


@pytest.fixture
def org(org_factory) -> Org:
    # 260 users: about 200 licensed agents in scope, so the user queries need several batches.
    return org_factory(11, "Europe/Berlin", DAY, agents=260, queues=14, credentials=2)


def _spec(org: Org, **kw: object) -> PullSpec:
    return PullSpec("lab", org.start, org.end, org.zone, 15, **kw)  # type: ignore[arg-type]


def test_only_licensed_agents_and_queues_in_the_divisions(org: Org) -> None:
    result = pull(org.source(divisions=("Sales",)), _spec(org), retry=FAST)
    users, queues = org.twin.org.users, org.twin.org.queues
    expected = {u.id for u in users if u.licensed and u.division.name == "Sales"}
    expected_queues = {q.id for q in queues if q.division.name == "Sales"}
    assert result.agents == len(expected)
    assert result.unlicensed_users == sum(1 for u in users if not u.licensed)
    assert result.out_of_division_queues == len(queues) - len(expected_queues)
    for name in ("agent_interval", "agent_queue_interval", "agent_status"):
        assert set(result.data[name]["user_id"]) <= expected
        assert len(result.data[name])
    assert set(result.data["queue_interval"]["queue_id"]) == expected_queues
    assert set(result.data["agent_queue_interval"]["queue_id"]) <= expected_queues


def test_a_pull_has_arrow_allocate_from_the_c_heap(org: Org) -> None:
    """What Arrow frees goes back to the heap numpy and pandas use (see run.py), not to a pool
    of Arrow's own that keeps it."""
    import pyarrow as pa

    if "mimalloc" not in pa.supported_memory_backends():
        pytest.skip("this pyarrow has no mimalloc")
    pa.set_memory_pool(pa.mimalloc_memory_pool())  # Arrow's default in its wheels
    pull(org.source(), _spec(org, frames=("queue_interval",)), retry=FAST)
    assert pa.default_memory_pool().backend_name == "system"


def test_parquet_writes_from_the_c_heap_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parquet's writer allocates from Arrow's C++ default pool, not pyarrow's; importing wfmcli
    before pyarrow makes that the C heap as well, so a store leaves nothing in mimalloc."""
    import pyarrow as pa

    if "mimalloc" not in pa.supported_memory_backends():
        pytest.skip("this pyarrow has no mimalloc")
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    script = f"""
import wfmcli
import pyarrow as pa
from wfmcli import frames
from wfmcli.pull.cache import _PieceWriter
df = frames.empty_frame("agent_status")
df = df.reindex(range(50_000))
df["user_id"] = [f"user-{{i:06d}}" for i in range(len(df))]
writer = _PieceWriter(None)
writer.extend({str(tmp_path / "status.parquet")!r}, [df])
writer.close()
print(pa.mimalloc_memory_pool().max_memory(), pa.default_memory_pool().backend_name)
"""
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert run.stdout.split() == ["0", "system"]


def test_large_blocks_go_back_to_the_system_after_a_larger_one_was_freed() -> None:
    """After a 16 MiB block is freed, glibc would serve a 2 MiB one from its heap (and keep it
    there once freed); a pull has it mapped from the system instead, and unmapped when freed."""
    import platform

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("mallopt's threshold is glibc's")
    script = """
import ctypes, sys
import numpy as np
from wfmcli.pull import run

class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Info
if sys.argv[1] == "set":
    assert run._large_blocks_back_to_the_system()
np.ones(16 * 2**20 // 8)  # made and freed at once: glibc's own threshold rises to 16 MiB
block = np.ones(2 * 2**20 // 8)
print(libc.mallinfo2().hblkhd >= block.nbytes)
"""

    def mapped(mode: str) -> str:
        command = [sys.executable, "-c", script, mode]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()

    assert mapped("set") == "True"
    assert mapped("unset") == "False"  # the test would pass without the setting otherwise


def test_requests_are_batched_sharded_and_counted(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    bodies = record_analytics(monkeypatch)
    served_before = org.twin.server.requests
    result = pull(org.source(), _spec(org), retry=FAST)
    sets = 2
    per_set = -(-result.agents // sets)
    batches = sets * -(-per_set // USER_BATCH)
    calls = Counter(name for name, _ in bodies)
    assert calls["users/aggregates"] == batches
    assert calls["users/details"] == batches
    # one agent x queue query grouped by userId + one queue query (five SL thresholds fit one
    # query's views)
    assert calls["conversations/aggregates"] == 2
    by_endpoint = result.requests_by_endpoint
    assert by_endpoint["POST /oauth/token"] == 2
    assert len(result.requests_by_credential) == 2
    assert result.requests == sum(by_endpoint.values())
    # the twin counts every /api/ request it served; tokens come from /oauth/token
    assert org.twin.server.requests - served_before == result.requests - 2
    assert result.requests == sum(calls.values()) + 6 + 2  # + directory listings + tokens
    assert result.requests_per_agent_day < 0.2
    for name, body in bodies:
        predicates = [
            p
            for f in [body.get("filter"), *body.get("userFilters", [])]
            if f
            for p in f["predicates"]
        ]
        assert len(predicates) <= USER_BATCH
        if "aggregates" in name:
            assert body["timeZone"] == "Europe/Berlin"
            assert body["interval"].startswith("2026-03-10T00:00:00+01:00/")


def test_agent_ids_follow_the_chosen_field(org: Org, tmp_path: Path) -> None:
    by_id = org.twin.org.user_by_id
    email = pull(
        org.source(), _spec(org, agent_id="email", frames=("agent_status",)), retry=FAST
    ).data["agent_status"]
    assert all(
        by_id[u].email == a for u, a in zip(email["user_id"], email["agent_id"], strict=True)
    )
    employee = pull(
        org.source(), _spec(org, agent_id="employee_id", frames=("agent_status",)), retry=FAST
    ).data["agent_status"]
    assert all(
        by_id[u].employee_id == a
        for u, a in zip(employee["user_id"], employee["agent_id"], strict=True)
    )
    first = employee["user_id"].iloc[0]
    mapping = tmp_path / "agents.csv"
    mapping.write_text(f"username,wfm_id\n{by_id[first].username},IEX-0042\n", encoding="utf-8")
    mapped = pull(
        org.source(),
        _spec(org, agent_id="mapping", agent_map=read_agent_map(mapping), frames=("agent_status",)),
        retry=FAST,
    )
    status = mapped.data["agent_status"]
    assert set(status.loc[status["user_id"] == first, "agent_id"]) == {"IEX-0042"}
    assert set(status.loc[status["user_id"] != first, "agent_id"]) == {""}
    assert mapped.unmapped_agents == mapped.agents - 1


def test_media_selection_drops_other_media(org: Org) -> None:
    result = pull(
        org.source(), _spec(org, media=("chat",), frames=("queue", "agent_queue")), retry=FAST
    )
    assert set(result.data["queue_interval"]["media"]) == {"chat"}
    assert set(result.data["agent_queue_interval"]["media"]) == {"chat"}
    assert set(result.data) == {"queue_interval", "agent_queue_interval"}


def test_status_rows_are_a_gapless_timeline(org: Org) -> None:
    status = pull(org.source(), _spec(org, frames=("agent_status",)), retry=FAST).data[
        "agent_status"
    ]
    assert frames.problems("agent_status", status) == []
    for _, rows in status.groupby("user_id"):
        ends, starts = rows["end"].iloc[:-1].to_numpy(), rows["start"].iloc[1:].to_numpy()
        assert (ends == starts).all()
        same = rows[["system_presence", "secondary_presence", "routing_status"]]
        assert not (same.iloc[1:].to_numpy() == same.iloc[:-1].to_numpy()).all(axis=1).any()
    assert {"ON_QUEUE", "OFFLINE"} <= set(status["system_presence"])
    assert {"Lunch", "Short Break"} <= set(status["secondary_presence"])


def test_range_off_the_grid_is_a_usage_error(org: Org) -> None:
    with pytest.raises(UsageError, match="not on the 15-minute grid"):
        pull(
            org.source(),
            PullSpec("lab", org.start + timedelta(minutes=5), org.end, org.zone),
            retry=FAST,
        )


def test_repull_replaces_only_its_range(org: Org, tmp_path: Path) -> None:
    cache = FrameCache(tmp_path)
    pull(org.source(), _spec(org, frames=("queue",)), cache=cache, retry=FAST)
    partition = Partition("lab", "queue_interval", org.zone, 15, DAY)
    whole = cache.read("lab", "queue_interval", org.zone, 15, org.start, org.end)
    assert len(whole) and frames.problems("queue_interval", whole) == []
    # Late data: fake a change in 09:00-10:00 and re-pull only that hour.
    nine = org.start + timedelta(hours=9)
    stale = whole.copy()
    stale["offered"] = 999
    cache.write(partition, org.start, org.end, stale)
    pull(
        org.source(),
        PullSpec("lab", nine, nine + timedelta(hours=1), org.zone, 15, frames=("queue_interval",)),
        cache=cache,
        retry=FAST,
    )
    after = cache.read("lab", "queue_interval", org.zone, 15, org.start, org.end)
    in_hour = (after["interval_start"] >= pd.Timestamp(nine)) & (
        after["interval_start"] < pd.Timestamp(nine + timedelta(hours=1))
    )
    assert in_hour.any() and (after.loc[in_hour, "offered"] < 999).all()
    assert (after.loc[~in_hour, "offered"] == 999).all()
    expected = whole[
        (whole["interval_start"] >= pd.Timestamp(nine))
        & (whole["interval_start"] < pd.Timestamp(nine + timedelta(hours=1)))
    ]
    assert after.loc[in_hour, "offered"].tolist() == expected["offered"].tolist()
    records = cache.pulls(partition)
    assert [r.end - r.start for r in records] == [timedelta(days=1)] * 2 + [timedelta(hours=1)]
    assert records[-1].pulled_at >= records[0].pulled_at
    assert records[-1].pulled_at.tzinfo is not None


def test_agent_map_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("only-one-column\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="row 1"):
        read_agent_map(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        read_agent_map(tmp_path / "missing.csv")


def test_cli_pull_json_and_out(org: Org, run_wfm: RunWfm, tmp_path: Path) -> None:
    secret = org.twin.credentials[0].client_secret
    config = tmp_path / "config.yaml"
    config.write_text(
        "version: 1\nscopes:\n  lab:\n    source:\n"
        f"      base_url: {org.twin.base_url}\n"
        f"      credentials:\n        - client_id: {org.twin.credentials[0].client_id}\n"
        "          client_secret: ${LAB_SECRET}\n"
        "      licensed_role: Contact Center Agent\n"
        "      divisions: [Sales, Customer Service]\n"
        "    destinations:\n      calabrio:\n        profile: calabrio\n"
        "        timezone: Asia/Kolkata\n        interval: 30\n",
        encoding="utf-8",
    )
    out = tmp_path / "frames"
    result = run_wfm(
        "--config",
        str(config),
        "pull",
        "lab",
        "--start",
        "2026-03-10",
        "--frames",
        "queue,agent",
        "--out",
        str(out),
        "--json",
        env={"LAB_SECRET": secret},
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)["data"]
    assert data["timezone"] == "Asia/Kolkata" and data["interval_minutes"] == 30
    assert data["requests"] == sum(data["requests_by_endpoint"].values()) > 0
    assert {f["frame"] for f in data["frames"]} == {"queue_interval", "agent_interval"}
    files = sorted(out.rglob("data.parquet"))
    assert [p.parent.parent.parent.parent.name for p in files] == [
        "agent_interval",
        "queue_interval",
    ]
    assert "tz=Asia~Kolkata" in str(files[0]) and "day=2026-03-10" in str(files[0])
    from wfmcli.ops.budget import UsageStore

    usage = UsageStore().load("lab")  # the API budget counts the pull's requests
    assert sum(usage.day_total(day) for day in usage.days) == data["requests"]
    table = run_wfm(
        "--config",
        str(config),
        "pull",
        "lab",
        "--start",
        "2026-03-10",
        "--frames",
        "queue",
        "--out",
        str(out),
        env={"LAB_SECRET": secret},
    )
    assert table.exit_code == 0, table.stderr
    assert "queue_interval" in table.stdout and "API requests" in table.stdout
    bad = run_wfm(
        "--config",
        str(config),
        "pull",
        "lab",
        "--start",
        "2026-03-10T00:10",
        env={"LAB_SECRET": secret},
    )
    assert bad.exit_code == 2 and "grid" in bad.stderr


def test_pulled_at_is_recent(org: Org, tmp_path: Path) -> None:
    cache = FrameCache(tmp_path)
    before = datetime.now(UTC)
    pull(org.source(), _spec(org, frames=("agent",)), cache=cache, retry=FAST)
    (record,) = cache.pulls(Partition("lab", "agent_interval", org.zone, 15, DAY))
    assert record.pulled_at >= before and record.rows > 0

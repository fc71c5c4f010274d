"""wfm doctor names faults the twin now models: a group feeding a queue, credential sets that see
different divisions, and a clock off from Genesys' `Date` header."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunWfm
from wfmcli.ops.doctor import check_clock
from wfmcli.sim import RunningTwin, start_twin

NOW_MS = 1_773_154_800_000
SCOPE = ["Customer Service", "Sales", "Back Office"]


@pytest.fixture
def twin() -> Iterator[RunningTwin]:
    with start_twin(
        seed=8, agents=40, queues=6, days=0, live=False, now_ms=NOW_MS, credentials=2
    ) as running:
        yield running


def doctor(
    run_wfm: RunWfm, tmp_path: Path, twin: RunningTwin, sets: int
) -> tuple[int, dict[str, dict[str, Any]]]:
    credentials = "".join(
        f"        - client_id: {c.client_id}\n          client_secret: {c.client_secret}\n"
        for c in twin.credentials[:sets]
    )
    path = tmp_path / "config.yaml"
    path.write_text(
        "scopes:\n  lab:\n    source:\n"
        f"      base_url: {twin.base_url}\n      credentials:\n{credentials}"
        f"      divisions: [{', '.join(SCOPE)}]\n"
        f"      licensed_role: {twin.org.licensed_role.name}\n"
        "    destinations:\n      nice:\n        profile: nice-iex\n        timezone: UTC\n"
        f"        delivery:\n          url: {(tmp_path / 'outbox').as_uri()}\n",
        encoding="utf-8",
    )
    result = run_wfm("-c", str(path), "doctor", "--json")
    data = json.loads(result.stdout)["data"]["scopes"][0]
    return result.exit_code, {c["name"]: c for c in data["checks"]}


@pytest.fixture(autouse=True)
def _own_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WFM_DATA_DIR", str(tmp_path / "data"))


def test_doctor_names_an_unlicensed_user_in_a_group_feeding_a_queue(
    tmp_path: Path, twin: RunningTwin, run_wfm: RunWfm
) -> None:
    org = twin.org
    queue = next(
        q for q in org.queues if q.index in org.group_of_queue and q.division.name in SCOPE
    )
    group = org.groups[org.group_of_queue[queue.index]]
    intruder = next(u for u in org.users if not u.licensed and u.index not in queue.member_indexes)
    code, before = doctor(run_wfm, tmp_path, twin, sets=1)
    # the twin puts some Home-division agents in queues: those are named before and after
    already = before["queue and group members"]["items"]
    assert all(intruder.id not in i["user"] for i in already)
    group = org.add_to_group(group, intruder)
    code, checks = doctor(run_wfm, tmp_path, twin, sets=1)
    assert code == 1
    members = checks["queue and group members"]
    assert members["status"] == "fail"
    added = [i for i in members["items"] if i not in already]
    assert len(members["items"]) == len(already) + 1
    (offender,) = added
    assert intruder.id in offender["user"] and offender["container"] == f"group {group.name}"
    assert "licensing role" in offender["why"]
    assert checks["credentials"]["status"] == "pass"


def test_doctor_names_a_credential_set_restricted_to_another_division(
    tmp_path: Path, twin: RunningTwin, run_wfm: RunWfm
) -> None:
    code, before = doctor(run_wfm, tmp_path, twin, sets=2)
    assert before["credentials"]["status"] == "pass", before["credentials"]
    twin.restrict_divisions(twin.credentials[1].client_id, ["Home"])
    code, checks = doctor(run_wfm, tmp_path, twin, sets=2)
    assert code == 1
    creds = checks["credentials"]
    assert creds["status"] == "fail"
    assert "set(s) 2 differ from set 1" in creds["detail"]
    differs = {i["differs_in"]: i for i in creds["items"]}
    assert {"divisions", "users visible", "queues visible"} <= set(differs)
    assert differs["divisions"]["this_set"] == "Home"
    assert all(i["set"] == 2 for i in creds["items"])
    home_users = sum(1 for u in twin.org.users if u.division.name == "Home")
    assert differs["users visible"]["this_set"] == str(home_users)
    # set 1 still sees the whole org, so the directory checks run on it as before
    assert checks["divisions and role"]["status"] == "pass"


def test_doctor_names_a_clock_off_from_the_twin_date(
    tmp_path: Path, twin: RunningTwin, run_wfm: RunWfm
) -> None:
    assert check_clock(twin.base_url, None).status == "pass"
    twin.faults.clock_skew_s = 30
    assert check_clock(twin.base_url, None).status == "warn"
    twin.faults.clock_skew_s = -600
    code, checks = doctor(run_wfm, tmp_path, twin, sets=1)
    clock = checks["clock"]
    assert code == 1 and clock["status"] == "fail"
    assert "ahead of" in clock["detail"] and twin.base_url in clock["detail"]
    twin.faults.reset()
    assert check_clock(twin.base_url, None).status == "pass"

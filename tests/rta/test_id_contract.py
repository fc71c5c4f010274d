"""Id width is a checked contract: `config validate` (the agent map) and `doctor` (the org)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RunWfm
from wfmcli.sim import RunningTwin, start_twin

NOW_MS = 1_773_154_800_000


@pytest.fixture
def twin() -> Iterator[RunningTwin]:
    with start_twin(seed=4, agents=30, queues=3, days=0, live=False, now_ms=NOW_MS) as running:
        yield running


def write_config(tmp_path: Path, base_url: str, client_id: str, secret: str,
                 agent_lines: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(f"""
version: 1
scopes:
  lab:
    source:
      base_url: {base_url}
      credentials:
        - client_id: {client_id}
          client_secret: {secret}
      licensed_role: Contact Center Agent
    destinations:
      aspect:
        profile: alvaria
        timezone: UTC
{agent_lines}
        rta:
          endpoint: tcp://127.0.0.1:9
""", encoding="utf-8")
    return path


def test_config_validate_refuses_agent_map_ids_wider_than_the_field(
    tmp_path: Path, run_wfm: RunWfm
) -> None:
    agent_map = tmp_path / "agents.csv"
    agent_map.write_text("username,wfm_id\nada@example.com,E1\nbob@example.com,EMPLOYEE-000042\n",
                         encoding="utf-8")
    path = write_config(tmp_path, "http://127.0.0.1:9", "x", "y",
                        f"        agent_id: mapping\n        agent_map_file: {agent_map}")
    result = run_wfm("-c", str(path), "config", "validate")
    assert result.exit_code == 3
    assert "lab/aspect agent map: 1 agent id(s) do not fit the alvaria record" in result.output
    assert "agentId holds 10" in result.output and "EMPLOYEE-000042" in result.output
    agent_map.write_text("username,wfm_id\nada@example.com,E1\nbob@example.com,E42\n",
                         encoding="utf-8")
    assert run_wfm("-c", str(path), "config", "validate").exit_code == 0


def test_doctor_names_agents_whose_ids_do_not_fit(
    tmp_path: Path, twin: RunningTwin, run_wfm: RunWfm, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WFM_DATA_DIR", str(tmp_path / "data"))
    path = write_config(tmp_path, twin.base_url, twin.client_id, twin.client_secret,
                        "        agent_id: email")
    result = run_wfm("-c", str(path), "doctor", "--json")
    checks = {c["name"]: c for c in json.loads(result.stdout)["data"]["scopes"][0]["checks"]}
    check = checks["RTA aspect agent ids"]
    licensed = sum(1 for u in twin.org.users if u.licensed)
    assert check["status"] == "fail"
    assert f"{licensed} agent id(s) do not fit" in check["detail"]
    assert "agentId holds 10" in check["detail"] and "@" in check["detail"]

    mapped = tmp_path / "agents.csv"
    mapped.write_text("".join(f"{u.id},E{u.index:05d}\n" for u in twin.org.users),
                      encoding="utf-8")
    path = write_config(tmp_path, twin.base_url, twin.client_id, twin.client_secret,
                        f"        agent_id: mapping\n        agent_map_file: {mapped}")
    result = run_wfm("-c", str(path), "doctor", "--json")
    checks = {c["name"]: c for c in json.loads(result.stdout)["data"]["scopes"][0]["checks"]}
    assert checks["RTA aspect agent ids"]["status"] == "pass"

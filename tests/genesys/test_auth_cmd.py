"""`wfm auth test` and `wfm auth store` end to end, in-process, against a server on 127.0.0.1."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend

from tests.conftest import RunWfm
from tests.genesys.fake_server import CLIENT_ID, CLIENT_SECRET, FakeGenesys, paged
from wfmcli.errors import ExitCode

pytestmark = pytest.mark.timeout(60)

CONFIG = """\
version: 1
scopes:
  prod:
    source:
      {location}
      credentials:
        - client_id: {client_id}
          client_secret: {secret}
      divisions: [Home]
      licensed_role: WFM Agent
"""


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.store.pop((service, username), None)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def org(fake: FakeGenesys) -> FakeGenesys:
    """Two divisions; 230 users alternating between them; 120 of them hold the licensing role."""
    home, other = {"id": "d-home", "name": "Home"}, {"id": "d-other", "name": "Other"}
    for index, user in enumerate(fake.users):
        user["division"] = home if index % 2 == 0 else other
    holders = [{"id": user["id"]} for user in fake.users[:120]]
    queues = [
        {"id": f"q{i}", "name": f"Q{i}", "division": home if i < 7 else other} for i in range(12)
    ]
    roles = [{"id": "r-agent", "name": "WFM Agent"}, {"id": "r-sup", "name": "Supervisor"}]
    fake.routes[("GET", "/api/v2/authorization/divisions")] = paged([home, other])
    fake.routes[("GET", "/api/v2/authorization/roles")] = paged(roles)
    fake.routes[("GET", "/api/v2/authorization/roles/r-agent/users")] = paged(holders)
    fake.routes[("GET", "/api/v2/routing/queues")] = paged(queues)
    return fake


def write_config(
    tmp_path: Path,
    *,
    location: str,
    reference: str = "${GC_SECRET}",
    client_id: str = CLIENT_ID,
) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.format(location=location, secret=reference, client_id=client_id))
    return path


def test_auth_test_reports_what_the_credentials_reach(
    org: FakeGenesys, tmp_path: Path, run_wfm: RunWfm
) -> None:
    config = write_config(tmp_path, location=f"base_url: {org.base_url}")
    result = run_wfm(
        "--config", str(config), "auth", "test", "--json", env={"GC_SECRET": CLIENT_SECRET}
    )
    assert result.exit_code == 0, result.stderr
    envelope = json.loads(result.stdout)
    assert envelope["ok"] is True
    (scope,) = envelope["data"]["scopes"]
    assert scope["region"] == "base URL"
    assert scope["credentials"][0]["ok"] is True
    assert scope["credentials"][0]["token_lifetime_s"] == 86400
    assert scope["credentials"][0]["divisions_visible"] == ["Home", "Other"]
    assert scope["divisions"] == ["Home"]
    assert scope["licensed_users"] == 60  # 120 role holders, every other one in Home
    assert scope["queues"] == 7
    assert scope["notification_capacity"] == 20_000
    assert scope["sets_needed"] == 1
    assert scope["requests"][CLIENT_ID]["POST /oauth/token"] == 1
    assert CLIENT_SECRET not in result.stdout


def test_auth_test_table_for_people(org: FakeGenesys, tmp_path: Path, run_wfm: RunWfm) -> None:
    config = write_config(tmp_path, location=f"base_url: {org.base_url}")
    result = run_wfm("--config", str(config), "auth", "test", env={"GC_SECRET": CLIENT_SECRET})
    assert result.exit_code == 0, result.stderr
    assert "licensed users in scope" in result.stdout
    assert "60 agents + 7 queues of 20,000" in result.stdout  # counted as doctor does


def test_wrong_secret_is_one_clear_line(org: FakeGenesys, tmp_path: Path, run_wfm: RunWfm) -> None:
    config = write_config(tmp_path, location=f"base_url: {org.base_url}")
    result = run_wfm("--config", str(config), "auth", "test", env={"GC_SECRET": "wrong-secret-1"})
    assert result.exit_code == ExitCode.AUTH
    lines = [line for line in result.stderr.splitlines() if line.startswith("wfm: error:")]
    assert len(lines) == 1
    assert "credential set 1" in lines[0]
    assert f"refused client {CLIENT_ID}: invalid_client: authentication failed" in lines[0]
    assert "wrong-secret-1" not in result.stdout + result.stderr


def test_unreachable_host_is_one_clear_line(tmp_path: Path, run_wfm: RunWfm) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = write_config(tmp_path, location=f"base_url: http://127.0.0.1:{port}")
    result = run_wfm(
        "--config", str(config), "auth", "test", "--json", env={"GC_SECRET": "x-secret"}
    )
    assert result.exit_code == ExitCode.REMOTE
    envelope = json.loads(result.stdout)
    assert envelope["ok"] is False
    error = envelope["data"]["scopes"][0]["credentials"][0]["error"]
    assert "cannot reach 127.0.0.1" in error


def test_unknown_region_is_one_clear_line(tmp_path: Path, run_wfm: RunWfm) -> None:
    config = write_config(tmp_path, location="region: eu_wset_1")
    result = run_wfm("--config", str(config), "auth", "test", env={"GC_SECRET": "x-secret"})
    assert result.exit_code == ExitCode.CONFIG
    assert "unknown Genesys Cloud region 'eu_wset_1'" in result.stderr
    assert "eu_west_1" in result.stderr


def test_missing_licensing_role_is_a_config_problem(
    org: FakeGenesys, tmp_path: Path, run_wfm: RunWfm
) -> None:
    config = write_config(tmp_path, location=f"base_url: {org.base_url}")
    config.write_text(config.read_text().replace("WFM Agent", "Nobody"))
    result = run_wfm("--config", str(config), "auth", "test", env={"GC_SECRET": CLIENT_SECRET})
    assert result.exit_code == ExitCode.CONFIG
    assert "licensed_role 'Nobody' is not a role in the org" in result.stderr


def test_store_saves_the_secret_in_the_keyring_unechoed(
    org: FakeGenesys, tmp_path: Path, run_wfm: RunWfm, memory_keyring: MemoryKeyring
) -> None:
    config = write_config(tmp_path, location=f"base_url: {org.base_url}", reference="keyring")
    typed = f"{CLIENT_SECRET}\n{CLIENT_SECRET}\n"
    result = run_wfm("--config", str(config), "auth", "store", "prod", input=typed)
    assert result.exit_code == 0, result.stderr
    assert memory_keyring.store == {("wfm", f"prod/{CLIENT_ID}"): CLIENT_SECRET}
    assert CLIENT_SECRET not in result.stdout + result.stderr
    assert "next:" not in result.stdout  # the configuration already refers to the keyring

    # The configuration now resolves the secret from the keyring and works.
    tested = run_wfm("--config", str(config), "auth", "test", "--json")
    assert tested.exit_code == 0, tested.stderr
    assert json.loads(tested.stdout)["data"]["scopes"][0]["credentials"][0]["ok"] is True


def test_store_refuses_a_secret_genesys_rejects(
    org: FakeGenesys, tmp_path: Path, run_wfm: RunWfm, memory_keyring: MemoryKeyring
) -> None:
    config = write_config(tmp_path, location=f"base_url: {org.base_url}", reference="keyring")
    result = run_wfm(
        "--config", str(config), "auth", "store", "prod", input="bad-secret-9\nbad-secret-9\n"
    )
    assert result.exit_code == ExitCode.AUTH
    assert memory_keyring.store == {}
    assert "bad-secret-9" not in result.stdout + result.stderr


def test_store_tells_how_to_refer_to_the_keyring(
    tmp_path: Path, run_wfm: RunWfm, memory_keyring: MemoryKeyring
) -> None:
    config = write_config(tmp_path, location="region: eu_west_1", reference="${GC_SECRET}")
    result = run_wfm(
        "--config",
        str(config),
        "auth",
        "store",
        "prod",
        "--no-check",
        "--json",
        input="abc-secret-7\nabc-secret-7\n",
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)["data"]
    assert data["keyring_user"] == f"prod/{CLIENT_ID}"
    assert data["config_refers_to_keyring"] is False
    assert memory_keyring.store[("wfm", f"prod/{CLIENT_ID}")] == "abc-secret-7"


def test_store_rejects_a_missing_set(tmp_path: Path, run_wfm: RunWfm) -> None:
    config = write_config(tmp_path, location="region: eu_west_1", reference="keyring")
    result = run_wfm("--config", str(config), "auth", "store", "prod", "--set", "2", input="x\nx\n")
    assert result.exit_code == ExitCode.USAGE
    assert "has 1 credential set(s), not a set 2" in result.stderr

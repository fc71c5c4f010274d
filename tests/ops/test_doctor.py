"""wfm doctor against twin orgs with deliberate faults; wfm api-usage from the recorded counts."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunWfm
from wfmcli.genesys.counter import RequestCounter
from wfmcli.ops.budget import UsageRecorder, UsageStore, allotment_per_user, record_usage
from wfmcli.ops.doctor import check_capacity, check_clock, check_proxy
from wfmcli.sim import RunningTwin, start_twin

NOW_MS = 1_773_154_800_000


@pytest.fixture
def twin() -> Iterator[RunningTwin]:
    with start_twin(seed=4, agents=40, queues=4, days=0, live=False, now_ms=NOW_MS) as running:
        yield running


def config(tmp_path: Path, twin: RunningTwin, role: str, listen: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        f"""
scopes:
  lab:
    source:
      base_url: {twin.base_url}
      credentials:
        - client_id: {twin.client_id}
          client_secret: {twin.client_secret}
      divisions: [Customer Service, Sales, Back Office]
      licensed_role: {role}
    destinations:
      nice:
        profile: nice-iex
        timezone: UTC
        delivery:
          url: {(tmp_path / "outbox").as_uri()}
        rta:
          listen: {listen}
""",
        encoding="utf-8",
    )
    return path


def doctor(run_wfm: RunWfm, path: Path) -> tuple[int, dict[str, dict[str, Any]]]:
    result = run_wfm("-c", str(path), "doctor", "--json")
    data = json.loads(result.stdout)["data"]["scopes"][0]
    return result.exit_code, {c["name"]: c for c in data["checks"]}


def test_doctor_names_an_unlicensed_queue_member_and_a_full_port(
    tmp_path: Path, twin: RunningTwin, run_wfm: RunWfm, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WFM_DATA_DIR", str(tmp_path / "data"))
    org = twin.org
    queue = next(q for q in org.queues if q.division.name == "Sales")
    intruder = next(u for u in org.users if not u.licensed)
    queue.member_indexes.append(intruder.index)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, checks = doctor(run_wfm, config(tmp_path, twin, org.licensed_role.name,
                                              f"127.0.0.1:{port}"))  # fmt: skip
    assert code == 1
    members = checks["queue and group members"]
    assert members["status"] == "fail"
    offenders = [i for i in members["items"] if intruder.id in i["user"]]
    assert offenders and offenders[0]["container"] == f"queue {queue.name}"
    assert "licensing role" in offenders[0]["why"]
    assert checks["RTA nice"]["status"] == "fail" and str(port) in checks["RTA nice"]["detail"]
    assert checks["credentials"]["status"] == "pass"
    assert checks["destination nice"]["status"] == "pass"
    assert checks["licensed users outside the divisions"]["status"] == "warn"  # Home division
    assert checks["clock"]["status"] == "pass"
    network = checks["network"]["items"]
    assert {"direction": "in", "port": port} in [
        {"direction": e["direction"], "port": e["port"]} for e in network
    ]
    assert UsageStore().load("lab").day_total(next(iter(UsageStore().load("lab").days))) > 0
    assert UsageStore().load("lab").sizes["agents"] > 0

    api = run_wfm("-c", str(tmp_path / "config.yaml"), "api-usage", "lab", "--licence", "cx2",
                  "--json")  # fmt: skip
    assert api.exit_code == 0, api.stderr
    budget = json.loads(api.stdout)["data"]["scopes"][0]
    assert budget["projection"]["per_day"] > 0
    feeds = budget["projection"]["by_feed_per_agent_month"]
    assert feeds["runs"] > 0 and feeds["relay"] > 0 and feeds["tokens"] > 0  # the relay counts
    assert budget["allotment"]["per_user"] == 110_000


def test_doctor_names_a_missing_role(
    tmp_path: Path, twin: RunningTwin, run_wfm: RunWfm, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WFM_DATA_DIR", str(tmp_path / "data"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    code, checks = doctor(run_wfm, config(tmp_path, twin, "WFM Agent", f"127.0.0.1:{free}"))
    assert code == 1
    assert checks["divisions and role"]["status"] == "fail"
    assert "'WFM Agent' not found" in checks["divisions and role"]["detail"]
    assert checks["RTA nice"]["status"] == "pass"


def test_capacity_counts_agents_and_queues_per_set() -> None:
    assert check_capacity(19_990, 20, 1, detailed=False).status == "fail"
    assert check_capacity(15_000, 100, 1, detailed=False).status == "pass"
    assert check_capacity(9_000, 100, 1, detailed=True).status == "warn"
    assert "3 set(s) needed" in check_capacity(45_000, 0, 2, detailed=False).detail


def test_proxy_from_config_or_environment_without_passwords() -> None:
    shown = check_proxy("http://bob:hunter2@proxy.corp:3128").detail
    assert "proxy.corp:3128" in shown and "hunter2" not in shown
    env = check_proxy(None, {"https": "http://proxy.corp:8080", "no": "localhost"}).detail
    assert "HTTPS_PROXY" in env and "NO_PROXY localhost" in env
    assert "direct" in check_proxy(None, {}).detail


def test_clock_skew_against_a_server_date_header() -> None:
    import email.utils
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, HTTPServer

    offset = [0.0]

    class Handler(BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:
            self.send_response_only(200)
            self.send_header("Date", email.utils.formatdate(time.time() + offset[0], usegmt=True))
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        assert check_clock(url, None).status == "pass"
        offset[0] = 30
        assert check_clock(url, None).status == "warn"
        offset[0] = -600
        late = check_clock(url, None)
        assert late.status == "fail" and "ahead of" in late.detail
    finally:
        server.shutdown()


def test_usage_store_records_and_merges_safely(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    store = UsageStore(tmp_path)
    counter = RequestCounter()
    counter.add("client-a", "GET /api/v2/users")
    counter.add("client-a", "GET /api/v2/users")
    day = datetime(2026, 11, 25, 12, tzinfo=UTC)
    record_usage("prod", counter, store=store, when=day)
    recorder = UsageRecorder("prod", counter, store)
    assert recorder.flush(day) == 2
    counter.add("client-b", "POST /oauth/token")
    assert recorder.flush(day) == 1
    assert recorder.flush(day) == 0
    log = store.load("prod")
    assert log.days["2026-11-25"]["client-a"]["GET /api/v2/users"] == 4
    assert log.month_totals() == {"2026-11": 5}
    assert not list(tmp_path.glob(".prod.json.*"))  # no temporary file left behind
    assert allotment_per_user("CX 3", "concurrent") == 182_000

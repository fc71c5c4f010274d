"""The control API of a running `wfm sim serve --control`, driven only over HTTP.

Each knob is turned through `/_twin/...` (or the `wfm sim` command that calls it) and its effect
is seen through the public Genesys endpoints, as a CI smoke test outside this repository would.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.conftest import RunWfm
from wfmcli.errors import ExitCode
from wfmcli.sim import start_twin

pytestmark = pytest.mark.timeout(90)
SPEED = 120  # a simulated minute every half second: a moving clock shows quickly


class Twin:
    """A `wfm sim serve --control` subprocess: what it printed, and clients of its two faces."""

    def __init__(self, info: dict[str, Any]) -> None:
        self.info = info
        self.url: str = info["base_url"]
        self.control = httpx.Client(base_url=f"{self.url}/_twin", timeout=30, trust_env=False)
        self.api = httpx.Client(base_url=self.url, timeout=30, trust_env=False)
        self.api.headers["Authorization"] = f"Bearer {self.token()}"

    def token(self) -> str:
        response = self.api.post(
            "/oauth/token",
            auth=(self.info["client_id"], self.info["client_secret"]),
            data={"grant_type": "client_credentials"},
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def twin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.control.request(method, path, json=body)
        assert response.status_code == 200, response.text
        return response.json()

    def states(self) -> list[tuple[str, str, str, str]]:
        """Every user's presence and routing status with their start times (public API)."""
        page = self.api.get(
            "/api/v2/users", params={"pageSize": 100, "expand": "presence,routingStatus"}
        ).json()
        return [
            (
                u["id"],
                u["presence"]["modifiedDate"],
                u["routingStatus"]["status"],
                u["routingStatus"]["startTime"],
            )
            for u in page["entities"]
        ]

    def licensed_ids(self) -> set[str]:
        role = self.api.get(
            "/api/v2/authorization/roles", params={"name": self.info["licensed_role"]}
        ).json()["entities"][0]
        users = self.api.get(
            f"/api/v2/authorization/roles/{role['id']}/users", params={"pageSize": 100}
        ).json()
        return {u["id"] for u in users["entities"]}


@pytest.fixture(scope="module")
def served() -> Iterator[Twin]:
    command = [sys.executable, "-m", "wfmcli", "sim", "serve", "--control", "--json"]
    command += ["--agents", "30", "--queues", "3", "--days", "0", "--seed", "4"]
    command += ["--speed", str(SPEED), "--at", "2026-03-10T15:00:00Z"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        assert info["control_url"] == f"{info['base_url']}/_twin"
        twin = Twin(info)
        twin.twin("POST", "/clock/pause")  # tests below resume it when they want it moving
        yield twin
        twin.api.close()
        twin.control.close()
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture
def twin(served: Twin) -> Twin:
    served.twin("DELETE", "/faults")
    return served


def _until(check: Any, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(0.05)


def test_a_paused_clock_stops_the_public_state_and_a_step_moves_it(twin: Twin) -> None:
    moving = twin.twin("POST", "/clock/resume")
    assert moving["paused"] is False and moving["speed"] == SPEED
    before = twin.states()
    _until(lambda: twin.states() != before, "a state change while the clock runs")

    paused = twin.twin("POST", "/clock/pause")
    assert paused["paused"] is True and paused["speed"] == 0
    frozen = twin.states()
    time.sleep(0.5)  # a simulated minute, were the clock still moving
    assert twin.states() == frozen
    assert twin.twin("GET", "/clock")["now_ms"] == paused["now_ms"]
    latest = max(max(s[1], s[3]) for s in frozen)
    assert latest <= paused["now"]

    stepped = twin.twin("POST", "/clock/step", {"seconds": 900})
    assert stepped["now_ms"] == paused["now_ms"] + 900_000 and stepped["paused"] is True
    assert stepped["events"] > 0
    after = twin.states()
    newest = max(max(s[1], s[3]) for s in after)
    assert paused["now"] < newest <= stepped["now"]  # what happened in the step is published
    assert twin.states() == after  # and the clock is still paused after it


def test_dropped_sockets_and_socket_closing_reach_a_websocket_client(twin: Twin) -> None:
    users = twin.api.get("/api/v2/users", params={"pageSize": 5}).json()["entities"]
    channel = twin.api.post("/api/v2/notifications/channels").json()
    topics = [{"id": f"v2.users.{u['id']}.activity"} for u in users]
    subscribed = twin.api.put(
        f"/api/v2/notifications/channels/{channel['id']}/subscriptions", json=topics
    )
    assert subscribed.status_code == 200, subscribed.text

    def sent(path: str, body: dict[str, Any]) -> bool:
        """The fault reached one socket (the twin records it just after the handshake)."""
        response = twin.control.post(path, json=body)
        assert response.status_code in (200, 404), response.text
        return response.status_code == 200 and 1 in response.json().values()

    with connect(channel["connectUri"], open_timeout=5) as ws:
        _until(lambda: sent("/sockets/drop", {"channel": channel["id"]}), "a socket to drop")
        with pytest.raises(ConnectionClosed) as dropped:
            ws.recv(timeout=10)
    assert dropped.value.rcvd is None  # cut as by a network failure: no close frame

    with connect(channel["connectUri"], open_timeout=5) as ws:
        closing = {"grace_s": 0.05}
        _until(lambda: sent("/sockets/closing", closing), "a socket to close")
        notice = json.loads(ws.recv(timeout=10))
        assert notice["topicName"] == "v2.system.socket_closing"
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001

    unknown = twin.control.post("/sockets/drop", json={"channel": "no-such-channel"})
    assert unknown.status_code == 404 and "no-such-channel" in unknown.json()["error"]["message"]


def test_expired_tokens_answer_401_and_a_new_token_works(twin: Twin) -> None:
    old = twin.token()
    headers = {"Authorization": f"Bearer {old}"}
    assert twin.api.get("/api/v2/routing/queues", headers=headers).status_code == 200
    assert twin.twin("POST", "/tokens/expire")["expired"] >= 1
    refused = twin.api.get("/api/v2/routing/queues", headers=headers)
    assert refused.status_code == 401 and refused.json()["code"] == "credentials.expired"
    fresh = {"Authorization": f"Bearer {twin.token()}"}
    assert twin.api.get("/api/v2/routing/queues", headers=fresh).status_code == 200
    twin.api.headers["Authorization"] = fresh["Authorization"]  # the module's client goes on


def test_an_unlicensed_user_leaves_the_licensed_role_and_comes_back(twin: Twin) -> None:
    licensed = twin.licensed_ids()
    user = sorted(licensed)[0]
    changed = twin.twin("POST", f"/users/{user}/unlicense")
    assert changed["licensed"] is False and twin.info["licensed_role"] not in changed["roles"]
    assert twin.licensed_ids() == licensed - {user}
    roles = twin.api.get(f"/api/v2/users/{user}", params={"expand": "authorization"}).json()
    assert twin.info["licensed_role"] not in {r["name"] for r in roles["authorization"]["roles"]}

    username = changed["username"]  # a username (or email) names the user too
    assert twin.twin("POST", f"/users/{username}/license")["licensed"] is True
    assert twin.licensed_ids() == licensed

    division = next(d for d in twin.info["divisions"] if d != changed["division"])
    assert twin.twin("POST", f"/users/{user}/division", {"division": division})["division"] == (
        division
    )
    assert twin.api.get(f"/api/v2/users/{user}").json()["division"]["name"] == division
    missing = twin.control.post("/users/nobody@example.com/unlicense")
    assert missing.status_code == 404 and "nobody@example.com" in missing.text


def test_fail_next_fails_that_many_calls_then_the_twin_answers(twin: Twin) -> None:
    twin.twin("POST", "/faults/fail-next", {"count": 3, "status": 502})
    assert [twin.api.get("/api/v2/routing/queues").status_code for _ in range(4)] == [
        502,
        502,
        502,
        200,
    ]
    pending = twin.twin("POST", "/faults/fail-next", {"count": 2, "path": "/api/v2/users"})
    assert pending["fail_next"] == [{"count": 2, "status": 503, "path": "/api/v2/users"}]
    assert twin.api.get("/api/v2/routing/queues").status_code == 200  # another path passes
    assert [twin.api.get("/api/v2/users").status_code for _ in range(3)] == [503, 503, 200]
    assert twin.twin("GET", "/faults")["fail_next"] == []
    assert twin.twin("PUT", "/faults/latency", {"ms": 20})["latency_ms"] == 20
    assert twin.twin("DELETE", "/faults")["latency_ms"] == 0
    bad = twin.control.post("/faults/fail-next", json={"count": 0})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid.value"
    required = twin.control.put("/faults/latency", json={})
    assert required.status_code == 400 and "ms is required" in required.text


def test_the_request_counter_counts_each_endpoint_called(twin: Twin) -> None:
    twin.twin("DELETE", "/requests")
    users = twin.api.get("/api/v2/users", params={"pageSize": 3}).json()["entities"]
    for user in users:
        twin.api.get(f"/api/v2/users/{user['id']}")
    twin.api.get("/api/v2/routing/queues")
    twin.token()
    twin.api.get("/api/v2/no/such/path")
    counts = twin.twin("GET", "/requests")
    found = {(e["method"], e["route"]): e["count"] for e in counts["endpoints"]}
    assert found == {
        ("GET", "/api/v2/users"): 1,
        ("GET", "/api/v2/users/{user_id}"): 3,
        ("GET", "/api/v2/routing/queues"): 1,
        ("POST", "/oauth/token"): 1,
        ("GET", "/api/v2/no/such/path"): 1,
    }
    assert counts["total"] == 7
    assert twin.twin("DELETE", "/requests")["total"] == 7  # the counts as they were, then zero
    assert twin.twin("GET", "/requests") == {"total": 0, "endpoints": []}


def test_wfm_sim_commands_drive_the_twin(twin: Twin, run_wfm: RunWfm) -> None:
    env = {"WFM_SIM_URL": twin.url}
    shown = run_wfm("sim", "clock", "show", "--json", env=env)
    assert shown.exit_code == 0, shown.stderr
    assert json.loads(shown.stdout)["data"]["paused"] is True

    stepped = run_wfm("sim", "clock", "step", "60", "--url", twin.url)
    assert stepped.exit_code == 0, stepped.stderr
    assert "events" in stepped.stdout and "paused" in stepped.stdout

    user = sorted(twin.licensed_ids())[-1]
    off = run_wfm("sim", "users", "unlicense", user, "--json", env=env)
    assert off.exit_code == 0, off.stderr
    assert user not in twin.licensed_ids()
    assert run_wfm("sim", "users", "license", user, env=env).exit_code == 0
    assert user in twin.licensed_ids()

    failing = run_wfm("sim", "fault", "fail-next", "2", "--status", "500", env=env)
    assert failing.exit_code == 0 and "2 x 500 on any path" in failing.stdout
    assert [twin.api.get("/api/v2/routing/queues").status_code for _ in range(3)] == [
        500,
        500,
        200,
    ]

    run_wfm("sim", "requests", "--reset", env=env)
    twin.api.get("/api/v2/routing/queues")
    table = run_wfm("sim", "requests", env=env)
    assert table.exit_code == 0, table.stderr
    assert "1 requests" in table.stdout and "/api/v2/routing/queues" in table.stdout
    counted = json.loads(run_wfm("sim", "requests", "--json", env=env).stdout)["data"]
    assert counted["endpoints"] == [
        {"method": "GET", "route": "/api/v2/routing/queues", "count": 1}
    ]

    reset = run_wfm("sim", "fault", "reset", "--json", env=env)
    assert reset.exit_code == 0 and json.loads(reset.stdout)["data"]["fail_next"] == []
    paused = run_wfm("sim", "clock", "pause", "--json", env=env)
    assert paused.exit_code == 0 and json.loads(paused.stdout)["command"] == "sim clock pause"

    nobody = run_wfm("sim", "users", "show", "nobody", env=env)
    assert nobody.exit_code == ExitCode.USAGE and "no user 'nobody'" in nobody.stderr


def test_without_control_the_paths_are_unknown_and_the_commands_say_so(run_wfm: RunWfm) -> None:
    with start_twin(seed=2, agents=5, queues=1, days=0, live=False) as plain:
        with httpx.Client(base_url=plain.base_url, timeout=10, trust_env=False) as http:
            for path in ("/_twin/", "/_twin/clock", "/_twin/requests"):
                assert http.get(path).status_code == 404
            assert http.post("/_twin/clock/pause").status_code == 404
            assert http.get("/no/such/path").status_code == 404
        result = run_wfm("sim", "clock", "pause", "--url", plain.base_url)
    assert result.exit_code == ExitCode.REMOTE
    assert "does not serve the twin control API" in result.stderr
    assert "--control" in result.stderr


def test_a_twin_that_is_not_running_is_one_line_and_a_remote_exit(run_wfm: RunWfm) -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    result = run_wfm("sim", "fault", "drop-sockets", "--url", f"http://127.0.0.1:{port}")
    assert result.exit_code == ExitCode.REMOTE
    assert result.stderr.count("\n") == 1 and "no twin answers at" in result.stderr
    bad = run_wfm("sim", "clock", "show", "--url", "ftp://127.0.0.1")
    assert bad.exit_code == ExitCode.USAGE and "not an http(s) URL" in bad.stderr


def test_a_pause_leaves_the_org_in_its_final_state_at_once() -> None:
    """What happened up to the frozen moment is in the org when the pause returns, not on the
    twin's next tick: a test reads its expected states right after pausing."""
    from tests.rta.harness import control

    running = start_twin(seed=3, agents=60, queues=4, days=0, live=True, speed=600.0,
                         now_ms=1_773_154_800_000, credentials=1, control=True)
    try:
        states = running.runtime.center.states.now

        def seen() -> list[tuple[int, int]]:
            return [(s.system_presence, s.routing_status) for s in states]

        for _ in range(5):
            control(running).resume(600.0)
            time.sleep(0.3)
            control(running).pause()
            at_pause = seen()
            time.sleep(0.4)  # longer than a tick: what a late catch-up would change
            assert seen() == at_pause
    finally:
        running.stop()

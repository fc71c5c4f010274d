"""The twin's HTTP surface: OAuth, paging envelopes, limits and fault knobs, over real sockets."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.sim.conftest import get_token
from wfmcli.sim import RunningTwin

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ERROR_KEYS = {"message", "code", "status", "contextId", "details", "errors"}


def test_token_is_issued_for_basic_client_credentials(twin: RunningTwin) -> None:
    with httpx.Client(base_url=twin.base_url) as client:
        response = client.post(
            "/oauth/token",
            auth=(twin.client_id, twin.client_secret),
            data={"grant_type": "client_credentials"},
        )
    body = response.json()
    assert response.status_code == 200
    assert body["token_type"] == "bearer"
    assert isinstance(body["access_token"], str) and len(body["access_token"]) > 20
    assert body["expires_in"] == 86400


@pytest.mark.parametrize(
    ("client_id", "secret", "description"),
    [("nobody", "x", "client not found"), (None, "wrong", "authentication failed")],
)
def test_token_refusals_are_oauth_style(
    twin: RunningTwin, client_id: str | None, secret: str, description: str
) -> None:
    with httpx.Client(base_url=twin.base_url) as client:
        response = client.post(
            "/oauth/token",
            auth=(client_id or twin.client_id, secret),
            data={"grant_type": "client_credentials"},
        )
    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_client",
        "description": description,
        "error_description": description,
    }


def test_api_without_token_gets_platform_error_body(twin: RunningTwin) -> None:
    with httpx.Client(base_url=twin.base_url) as client:
        response = client.get("/api/v2/users")
    body = response.json()
    assert response.status_code == 401
    assert body.keys() >= ERROR_KEYS
    assert body["code"] == "authentication.required"
    assert body["contextId"] == response.headers["ININ-Correlation-Id"]


def test_users_paging_envelope(twin: RunningTwin, api: httpx.Client) -> None:
    first = api.get("/api/v2/users", params={"pageSize": 25}).json()
    assert first["total"] == 60 and first["pageCount"] == 3 and first["pageNumber"] == 1
    assert len(first["entities"]) == 25
    assert "previousUri" not in first and first["nextUri"].endswith("pageNumber=2")
    last = api.get("/api/v2/users", params={"pageSize": 25, "pageNumber": 3}).json()
    assert len(last["entities"]) == 10 and "nextUri" not in last
    ids = {
        u["id"]
        for page in (1, 2, 3)
        for u in api.get("/api/v2/users", params={"pageNumber": page}).json()["entities"]
    }
    assert ids == {u.id for u in twin.org.users}


def test_user_fields_and_expands(twin: RunningTwin, api: httpx.Client) -> None:
    wanted = [twin.org.users[3].id, twin.org.users[7].id]
    body = api.get(
        "/api/v2/users", params={"id": ",".join(wanted), "expand": "presence,routingStatus"}
    ).json()
    assert [u["id"] for u in body["entities"]] == wanted
    user = body["entities"][0]
    assert {"id", "name", "division", "email", "username", "state", "selfUri"} <= user.keys()
    assert user["employerInfo"]["employeeId"].startswith("E")
    assert user["routingStatus"]["status"] in {
        "OFF_QUEUE",
        "IDLE",
        "INTERACTING",
        "NOT_RESPONDING",
        "COMMUNICATING",
    }
    assert ISO_MS.match(user["routingStatus"]["startTime"])
    definition = user["presence"]["presenceDefinition"]
    known = {p.id for p in twin.org.presences}
    assert definition["id"] in known
    assert ISO_MS.match(user["presence"]["modifiedDate"])


def test_page_size_over_the_limit_is_a_400(api: httpx.Client) -> None:
    response = api.get("/api/v2/users", params={"pageSize": 501})
    assert response.status_code == 400
    assert response.json()["status"] == 400


def test_queue_members_have_no_totals(twin: RunningTwin, api: httpx.Client) -> None:
    queue = twin.org.queues[0]
    body = api.get(f"/api/v2/routing/queues/{queue.id}/members", params={"pageSize": 100}).json()
    assert not {"total", "pageCount", "lastUri"} & body.keys()
    assert {m["id"] for m in body["entities"]} == {
        twin.org.users[i].id for i in queue.member_indexes
    }
    assert all(m["joined"] is True for m in body["entities"])


def test_queues_carry_sl_targets(twin: RunningTwin, api: httpx.Client) -> None:
    body = api.get("/api/v2/routing/queues").json()
    assert body["total"] == 5
    voice = next(q for q in body["entities"] if q["name"].endswith("Voice"))
    assert voice["mediaSettings"]["call"]["serviceLevel"] == {
        "percentage": 0.8,
        "durationMs": 20000,
    }


def test_licensing_role_leaves_some_users_out(twin: RunningTwin, api: httpx.Client) -> None:
    roles = api.get("/api/v2/authorization/roles").json()["entities"]
    role = next(r for r in roles if r["name"] == "Contact Center Agent")
    members = api.get(
        f"/api/v2/authorization/roles/{role['id']}/users", params={"pageSize": 100}
    ).json()
    assert 0 < members["total"] < 60
    assert members["total"] == role["userCount"]


def test_divisions_and_presences(twin: RunningTwin, api: httpx.Client) -> None:
    divisions = api.get("/api/v2/authorization/divisions").json()["entities"]
    assert sum(d["homeDivision"] for d in divisions) == 1
    definitions = api.get("/api/v2/presence/definitions").json()
    names = {d["name"] for d in definitions["entities"] if d["type"] == "User"}
    assert {"Coaching", "Lunch", "Short Break"} <= names
    assert definitions["total"] == len(definitions["entities"])
    system = {d["systemPresence"] for d in definitions["entities"]}
    assert "OnQueue" in system and "Available" in system


def test_rate_limit_answers_429_with_retry_after(fresh_twin: RunningTwin) -> None:
    fresh_twin.faults.rate_limit_per_minute = 5
    with httpx.Client(base_url=fresh_twin.base_url) as client:
        headers = {"Authorization": f"Bearer {get_token(client, fresh_twin)}"}
        statuses = [client.get("/api/v2/routing/queues", headers=headers) for _ in range(6)]
        other = {"Authorization": f"Bearer {get_token(client, fresh_twin)}"}
        fresh = client.get("/api/v2/routing/queues", headers=other)
    assert [r.status_code for r in statuses] == [200] * 5 + [429]
    refused = statuses[-1]
    assert int(refused.headers["Retry-After"]) >= 1
    body = refused.json()
    assert body["code"] == "too.many.requests.retry.after"
    assert f"[{refused.headers['Retry-After']}] seconds" in body["message"]
    assert statuses[0].headers["inin-ratelimit-allowed"] == "5"
    assert fresh.status_code == 200  # the budget is per token


def test_fault_knobs_5xx_throttle_and_expiry(fresh_twin: RunningTwin) -> None:
    with httpx.Client(base_url=fresh_twin.base_url) as client:
        client.headers["Authorization"] = f"Bearer {get_token(client, fresh_twin)}"
        fresh_twin.faults.fail_next(2)
        fresh_twin.faults.throttle_next(1, retry_after_s=3)
        codes = [client.get("/api/v2/users").status_code for _ in range(4)]
        throttled_retry = None
        fresh_twin.faults.throttle_next(1, retry_after_s=3)
        throttled_retry = client.get("/api/v2/users").headers["Retry-After"]
        assert fresh_twin.expire_tokens() == 1
        expired = client.get("/api/v2/users")
    assert codes == [503, 503, 429, 200]
    assert throttled_retry == "3"
    assert expired.status_code == 401 and expired.json()["code"] == "credentials.expired"


def test_short_token_lifetime_expires(fresh_twin: RunningTwin) -> None:
    fresh_twin.faults.token_lifetime_s = 0
    with httpx.Client(base_url=fresh_twin.base_url) as client:
        response = client.post(
            "/oauth/token",
            auth=(fresh_twin.client_id, fresh_twin.client_secret),
            data={"grant_type": "client_credentials"},
        )
        assert response.json()["expires_in"] == 0
        token = response.json()["access_token"]
        refused = client.get("/api/v2/users", headers={"Authorization": f"Bearer {token}"})
    assert refused.json()["code"] == "credentials.expired"


def test_unknown_paths_get_platform_error_bodies(api: httpx.Client) -> None:
    missing = api.get("/api/v2/no/such/thing")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not.found"
    unknown_user = api.get("/api/v2/users/00000000-0000-4000-8000-000000000000")
    assert unknown_user.status_code == 404 and unknown_user.json()["status"] == 404
    wrong_method = api.delete("/api/v2/users")
    assert wrong_method.status_code == 405
    assert wrong_method.json().keys() >= ERROR_KEYS


def test_group_membership_of_queues(twin: RunningTwin, api: httpx.Client) -> None:
    groups = api.get("/api/v2/groups").json()
    assert groups["total"] == len(twin.org.groups) > 0
    queue = twin.org.queues[0]
    body = api.get(f"/api/v2/routing/queues/{queue.id}").json()
    group = body["memberGroups"][0]
    assert group["type"] == "GROUP"
    members = api.get(f"/api/v2/groups/{group['id']}/members", params={"pageSize": 100}).json()
    by_group = {m["id"] for m in members["entities"]}
    queue_members = api.get(
        f"/api/v2/routing/queues/{queue.id}/members", params={"pageSize": 100}
    ).json()["entities"]
    assert {m["id"] for m in queue_members if m["memberBy"] == "group"} == by_group
    assert any(m["memberBy"] == "user" for m in queue_members)


def test_bulk_presences(twin: RunningTwin, api: httpx.Client) -> None:
    ids = [u.id for u in twin.org.users[:3]]
    body = api.get("/api/v2/users/presences/purecloud/bulk", params={"id": ",".join(ids)}).json()
    assert [p["userId"] for p in body] == ids
    assert all("presenceDefinition" in p for p in body)
    too_many = ",".join(u.id for u in twin.org.users[:51])
    assert (
        api.get("/api/v2/users/presences/purecloud/bulk", params={"id": too_many}).status_code
        == 400
    )


def test_token_endpoint_fault(fresh_twin: RunningTwin) -> None:
    fresh_twin.faults.fail_token_next(1, status=502)
    with httpx.Client(base_url=fresh_twin.base_url) as client:
        refused = client.post(
            "/oauth/token",
            auth=(fresh_twin.client_id, fresh_twin.client_secret),
            data={"grant_type": "client_credentials"},
        )
        assert refused.status_code == 502
        assert refused.json()["error"] == "temporarily_unavailable"
        assert get_token(client, fresh_twin)


def test_error_rate_and_latency_knobs(fresh_twin: RunningTwin) -> None:
    with httpx.Client(base_url=fresh_twin.base_url, timeout=10) as client:
        client.headers["Authorization"] = f"Bearer {get_token(client, fresh_twin)}"
        fresh_twin.faults.error_rate = 0.5
        fresh_twin.faults.error_status = 502
        fresh_twin.faults.latency_s = 0.01
        codes = [client.get("/api/v2/authorization/divisions").status_code for _ in range(40)]
        fresh_twin.faults.reset()
        after = client.get("/api/v2/authorization/divisions").status_code
    assert set(codes) == {200, 502}
    assert 5 < codes.count(502) < 35
    assert after == 200

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from wfmcli.sim import RunningTwin, start_twin

# A fixed "now" (2026-03-10 15:00 UTC) makes history, ids and aggregates repeatable.
NOW_MS = 1_773_154_800_000


@pytest.fixture(scope="module")
def twin() -> Iterator[RunningTwin]:
    running = start_twin(seed=5, agents=60, queues=5, days=2, live=False, now_ms=NOW_MS)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def fresh_twin() -> Iterator[RunningTwin]:
    """A twin of its own, for tests that turn fault knobs or spend the rate limit."""
    running = start_twin(seed=9, agents=30, queues=3, days=1, live=False, now_ms=NOW_MS)
    try:
        yield running
    finally:
        running.stop()


def get_token(client: httpx.Client, twin: RunningTwin) -> str:
    response = client.post(
        "/oauth/token",
        auth=(twin.client_id, twin.client_secret),
        data={"grant_type": "client_credentials"},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.fixture(scope="module")
def api(twin: RunningTwin) -> Iterator[httpx.Client]:
    """An authenticated client for the module's twin."""
    with httpx.Client(base_url=twin.base_url, timeout=10) as client:
        client.headers["Authorization"] = f"Bearer {get_token(client, twin)}"
        yield client

"""wfm usage end to end: licence usage read from the twin's status timelines."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import RunWfm
from tests.twin_config import write_twin_config
from wfmcli.sim import RunningTwin, start_twin

NOW = datetime(2026, 6, 3, 14, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def twin() -> Iterator[RunningTwin]:
    with start_twin(
        seed=5, agents=40, queues=3, days=2, live=False, now_ms=int(NOW.timestamp() * 1000)
    ) as running:
        yield running


def test_usage_counts_named_and_concurrent_users(
    tmp_path: Path, twin: RunningTwin, run_wfm: RunWfm
) -> None:
    config = write_twin_config(tmp_path / "config.yaml", twin)
    result = run_wfm(
        "-c", str(config), "usage", "prod", "--start", "2026-06-02", "--end", "2026-06-03",
        "--json", env={"TWIN_SECRET": twin.client_secret},
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)["data"]
    licensed = sum(1 for user in twin.org.users if user.licensed)
    named = data["named_users"]
    assert 0 < named <= licensed
    (day,) = data["days"]
    assert 0 < day["peak"] <= day["instantaneous"] <= named

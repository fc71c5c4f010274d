"""wfm run / status / backfill end to end: the twin, the real pull, a profile, a file transport."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import RunWfm
from tests.twin_config import write_twin_config
from wfmcli.errors import ExitCode
from wfmcli.jobs.build import state_paths
from wfmcli.jobs.lock import DestinationLock
from wfmcli.sim import RunningTwin, start_twin

NOW = datetime(2026, 6, 3, 14, 24, tzinfo=UTC)  # 10:24 in New York


@pytest.fixture(scope="module")
def twin() -> Iterator[RunningTwin]:
    with start_twin(
        seed=11, agents=30, queues=4, days=2, live=False, now_ms=int(NOW.timestamp() * 1000)
    ) as running:
        yield running


@pytest.fixture
def config(tmp_path: Path, twin: RunningTwin) -> Path:
    outbox = (tmp_path / "outbox").as_uri()
    destination = f"""      nice:
        profile: nice-iex
        timezone: America/New_York
        interval: 15
        max_backfill: 1d
        delivery:
          url: {outbox}
"""
    return write_twin_config(tmp_path / "config.yaml", twin, destination)


def _wfm(run_wfm: RunWfm, config: Path, twin: RunningTwin, *args: str):  # type: ignore[no-untyped-def]
    return run_wfm("-c", str(config), *args, env={"TWIN_SECRET": twin.client_secret})


def result_requests(stdout: str) -> int:
    """A run pulls at least the directory and one analytics query per frame kind."""
    return 5 if json.loads(stdout)["data"]["outcome"] == "delivered" else 0


def _files(tmp_path: Path) -> list[Path]:
    return sorted(p for p in (tmp_path / "outbox").rglob("*") if p.is_file())


def test_run_delivers_then_has_nothing_to_do(
    tmp_path: Path, config: Path, twin: RunningTwin, run_wfm: RunWfm
) -> None:
    first = _wfm(run_wfm, config, twin, "run", "prod/nice", "--now", NOW.isoformat(), "--json")
    assert first.exit_code == ExitCode.OK, first.stderr
    result = json.loads(first.stdout)["data"]
    files = _files(tmp_path)
    assert result["outcome"] == "delivered"
    assert len(files) == sum(1 for f in result["files"] if f["action"] == "sent") > 90
    # queue files carry the twin's traffic: some interval has calls
    assert any(len(p.read_text().splitlines()) > 0 for p in files if "agents" not in p.parts)

    again = _wfm(run_wfm, config, twin, "run", "prod/nice", "--now", NOW.isoformat())
    assert again.exit_code == ExitCode.NOTHING_TO_DO, again.stderr
    assert "nothing" in again.stdout
    assert _files(tmp_path) == files

    from wfmcli.ops.budget import UsageStore

    usage = UsageStore().load("prod")
    assert sum(usage.day_total(day) for day in usage.days) >= result_requests(first.stdout)

    status = _wfm(run_wfm, config, twin, "status", "--now", NOW.isoformat(), "--json")
    (row,) = json.loads(status.stdout)["data"]
    assert row["pending_periods"] == 0
    assert row["last_outcome"] == "nothing"
    assert row["last_delivered_end"] == "2026-06-03T14:00:00+00:00"


def test_second_concurrent_run_exits_locked(
    tmp_path: Path, config: Path, twin: RunningTwin, run_wfm: RunWfm, isolated_dirs: Path
) -> None:
    from wfmcli.paths import data_dir

    _, lock_file = state_paths(data_dir(), "prod", "nice")
    with DestinationLock(lock_file, "prod/nice"):
        result = _wfm(run_wfm, config, twin, "run", "prod/nice", "--now", NOW.isoformat())
    assert result.exit_code == ExitCode.LOCKED
    assert "another wfm run of prod/nice is in progress" in result.stderr
    assert not (tmp_path / "outbox").exists() or not _files(tmp_path)


def test_backfill_resends_a_range(
    tmp_path: Path, config: Path, twin: RunningTwin, run_wfm: RunWfm
) -> None:
    _wfm(run_wfm, config, twin, "run", "prod/nice", "--now", NOW.isoformat())
    result = _wfm(
        run_wfm, config, twin, "backfill", "prod/nice", "--start", "2026-06-03T06:00",
        "--end", "2026-06-03T07:00", "--now", NOW.isoformat(), "--json",
    )  # fmt: skip
    assert result.exit_code == ExitCode.OK, result.stderr
    sent = [f for f in json.loads(result.stdout)["data"]["files"] if f["action"] == "sent"]
    assert len(sent) == 8  # 4 quarter-hours x (queue file + agent file)


def test_run_without_delivery_is_config_error(
    tmp_path: Path, config: Path, twin: RunningTwin, run_wfm: RunWfm
) -> None:
    text = config.read_text().split("        delivery:")[0]
    config.write_text(text)
    result = _wfm(run_wfm, config, twin, "run", "prod/nice", "--now", NOW.isoformat())
    assert result.exit_code == ExitCode.CONFIG
    assert "has no delivery" in result.stderr


def test_second_run_within_the_hour_reuses_the_directory(
    tmp_path: Path, config: Path, twin: RunningTwin, run_wfm: RunWfm
) -> None:
    first = _wfm(run_wfm, config, twin, "run", "prod/nice", "--now", NOW.isoformat())
    assert first.exit_code == ExitCode.OK, first.stderr
    from wfmcli.config import load_config
    from wfmcli.jobs.build import PulledFrames, build_job
    from wfmcli.paths import data_dir

    job = build_job(
        load_config(config, {"TWIN_SECRET": twin.client_secret}), "prod/nice", data_dir()
    )
    later = NOW + timedelta(minutes=15)  # the 10:15 interval has closed: one small pull
    result = job.run(later)
    assert result.count("sent") >= 1
    assert isinstance(job.source, PulledFrames)
    endpoints = {row.endpoint for row in job.source.counter.rows()}
    assert "GET /api/v2/users" not in endpoints
    assert "GET /api/v2/routing/queues" not in endpoints

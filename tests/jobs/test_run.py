"""wfm run's core: every closed period delivered exactly once, late data re-sent, kills survived."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from tests.jobs.pipeline import SyntheticSource, make_job
from wfmcli.errors import ExitCode

NOW = datetime(2026, 6, 3, 14, 24, tzinfo=UTC)  # 10:24 in New York
ROOT = Path(__file__).resolve().parents[2]


def _outbox(folder: Path) -> list[str]:
    outbox = folder / "outbox"
    return sorted(p.relative_to(outbox).as_posix() for p in outbox.rglob("*") if p.is_file())


def test_second_run_delivers_nothing(tmp_path: Path) -> None:
    job = make_job(tmp_path, "nice-iex")
    first = job.run(NOW)
    assert first.outcome == "delivered"
    assert first.exit_code == ExitCode.OK
    sent = first.count("sent")
    assert sent == len(_outbox(tmp_path)) > 0
    second = job.run(NOW + timedelta(seconds=30))
    assert second.outcome == "nothing"
    assert second.exit_code == ExitCode.NOTHING_TO_DO
    assert second.count("sent") == 0
    assert second.rechecked_periods == 0  # re-checks ride along with new periods only
    assert len(_outbox(tmp_path)) == sent


def test_next_interval_is_delivered_when_it_closes(tmp_path: Path) -> None:
    job = make_job(tmp_path, "nice-iex")
    job.run(NOW)
    later = job.run(NOW + timedelta(minutes=15))
    assert later.new_periods == len(job.renderer.reports())
    assert {f.period_start for f in later.files if f.action == "sent"} == {
        datetime(2026, 6, 3, 14, 0, tzinfo=UTC)
    }


def test_late_data_resends_exactly_the_changed_intervals(tmp_path: Path) -> None:
    source = SyntheticSource()
    job = make_job(tmp_path, "nice-iex", source)
    job.run(NOW)
    changed = pd.Timestamp("2026-06-03T13:15:00Z")  # inside the 2 h re-send window
    source.extra_offered[changed] = 5
    result = job.run(NOW + timedelta(minutes=15))  # the next interval closes: re-checks ride along
    sent = {(f.report, f.period_start) for f in result.files if f.action == "sent"}
    newest = datetime(2026, 6, 3, 14, 0, tzinfo=UTC)
    assert sent == {("queue", changed.to_pydatetime()), ("queue", newest), ("agent", newest)}
    assert result.count("unchanged") == result.rechecked_periods - 1
    assert result.outcome == "delivered"


def test_unreachable_destination_fails_and_keeps_work_pending(tmp_path: Path) -> None:
    job = make_job(tmp_path, "nice-iex")
    blocker = tmp_path / "blocked"
    blocker.write_text("a file where a folder should be")

    from wfmcli.transports.registry import open_transport

    job.open_transport = lambda: open_transport((blocker / "sub").as_uri())
    result = job.run(NOW)
    assert result.outcome == "failed"
    assert result.exit_code != ExitCode.OK
    assert job.store.load().files == {}
    retry = make_job(tmp_path, "nice-iex").run(NOW)
    assert retry.count("sent") == result.new_periods


def test_stop_event_stops_between_files(tmp_path: Path) -> None:
    job = make_job(tmp_path, "nice-iex")
    job.stop.set()
    result = job.run(NOW)
    assert result.count("sent") == 0
    assert "stopped by a signal" in result.error


@pytest.fixture
def ftp_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real FTP server on 127.0.0.1 whose root is a folder the test can read."""
    from tests.transports.servers import USER, start_ftp

    root = tmp_path / "ftp-root"
    root.mkdir()
    server, port, _ = start_ftp(root, "plain", None)
    try:
        yield f"ftp://{USER}@127.0.0.1:{port}/outbox", root / "outbox"
    finally:
        server.close_all()


@pytest.mark.parametrize("stage", ["after_pull", "after_render", "mid_upload", "before_state"])
@pytest.mark.parametrize("over", ["file", "ftp"])
def test_sigkill_at_any_stage_loses_and_doubles_nothing(
    tmp_path: Path, stage: str, over: str, request: pytest.FixtureRequest
) -> None:
    from tests.transports.servers import PASSWORD

    url, outbox, env = None, tmp_path / "outbox", dict(os.environ)
    if over == "ftp":
        url, outbox = request.getfixturevalue("ftp_server")
        env["KILLER_PASSWORD"] = PASSWORD
    command = [sys.executable, "-m", "tests.jobs.killer", str(tmp_path), stage, NOW.isoformat()]
    killed = subprocess.run(
        [*command, *([url] if url else [])], cwd=ROOT, capture_output=True, text=True, env=env
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    options = {"password": PASSWORD} if url else None
    job = make_job(tmp_path, "calabrio", url=url, options=options)
    result = job.run(NOW)
    assert result.outcome == "delivered"
    everything = sorted(p.relative_to(outbox).as_posix() for p in outbox.rglob("*") if p.is_file())
    # the killed upload's temp file was journalled before its first byte, so this run removed it
    files = [name for name in everything if not name.endswith(".wfm-part")]
    assert files == everything
    assert not state_after(job).temp_files
    # calabrio names carry the render time, so a doubled delivery would show as a second file
    periods = [name.rsplit("_", 1)[0] for name in files]
    assert len(periods) == len(set(periods))
    state = job.store.load()
    assert sorted(d.name for d in state.files.values()) == files
    assert all((outbox / d.name).stat().st_size == d.bytes for d in state.files.values())
    assert not state.in_flight
    expected = {(r, p.start.isoformat()) for r, p in _periods(job)}
    assert state.delivered_periods() == expected


def state_after(job):  # type: ignore[no-untyped-def]
    return job.store.load()


def test_temp_files_of_interrupted_runs_are_removed_and_nothing_else(tmp_path: Path) -> None:
    job = make_job(tmp_path, "nice-iex")
    outbox = tmp_path / "outbox"
    # an interrupted run journalled a temp name, then died; the importer's own files sit beside
    left = outbox / ".queue.txt.0a1b2c3d.wfm-part"
    theirs = [outbox / ".other.abcd1234.wfm-part", outbox / "import-me.txt"]
    for path in (left, *theirs):
        path.write_text("x")
    state = job.store.load()
    job.store.record_temp(state, str(left), "2026-06-03T14:00:00+00:00")
    job.store.save(state)
    first = job.run(NOW)
    assert first.outcome == "delivered"
    assert not left.exists() and all(path.exists() for path in theirs)
    assert not job.store.load().temp_files

    # with nothing to deliver, a left temp file is still removed
    later = outbox / ".x.txt.99999999.wfm-part"
    later.write_text("x")
    state = job.store.load()
    job.store.record_temp(state, str(later), "2026-06-03T14:20:00+00:00")
    job.store.save(state)
    again = job.run(NOW)
    assert again.outcome == "nothing" and not later.exists()
    assert not job.store.load().temp_files


def test_only_wfm_temp_names_can_be_removed(tmp_path: Path) -> None:
    from wfmcli.errors import UsageError
    from wfmcli.transports.registry import open_transport

    (tmp_path / "keep.txt").write_text("x")
    with open_transport(tmp_path.as_uri()) as transport, pytest.raises(UsageError):
        transport.remove_temp(str(tmp_path / "keep.txt"))
    assert (tmp_path / "keep.txt").exists()


def _periods(job):  # type: ignore[no-untyped-def]
    from wfmcli.jobs.plan import plan_run

    plan = plan_run(job.renderer.reports(), job.timing, NOW, set())
    return [(p.report, p) for p in plan.new]


def test_backfill_resends_a_range_on_purpose(tmp_path: Path) -> None:
    job = make_job(tmp_path, "nice-iex")
    job.run(NOW)
    start = datetime(2026, 6, 3, 12, 0, tzinfo=UTC)
    result = job.backfill(start, start + timedelta(hours=1), NOW)
    assert result.count("sent") == 4 * len(job.renderer.reports())
    assert {f.period_start for f in result.files} == {
        start + timedelta(minutes=15 * i) for i in range(4)
    }


def test_sigterm_finishes_the_file_in_flight_and_stops(tmp_path: Path) -> None:
    """The run stops after the file in flight, exits PARTIAL, and the next run completes."""
    stopped = subprocess.run(
        [sys.executable, "-m", "tests.jobs.killer", str(tmp_path), "sigterm", NOW.isoformat()],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert stopped.returncode == ExitCode.PARTIAL, stopped.stderr
    assert "1 sent" in stopped.stdout and "stopped by a signal" in stopped.stdout
    result = make_job(tmp_path, "calabrio").run(NOW)
    assert result.count("sent") == len(_periods(make_job(tmp_path, "calabrio"))) - 1


def test_status_counts_pending_intervals_of_day_per_file_reports(tmp_path: Path) -> None:
    from wfmcli.jobs.plan import plan_run
    from wfmcli.jobs.render import ProfileRenderer
    from wfmcli.jobs.status import pending_intervals
    from wfmcli.reports.profiles import load_profile
    from wfmcli.reports.render import Destination

    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "daily.yaml").write_text(
        "extends: calabrio\nreports:\n  queue:\n    per: day\n", encoding="utf-8"
    )  # one file per local day
    job = make_job(tmp_path, "calabrio")
    job.renderer = ProfileRenderer(
        load_profile("daily", profiles),
        Destination(timezone="America/New_York", reports=("queue",)),
    )
    assert job.run(NOW).outcome == "delivered"
    state = job.store.load()
    reports = job.renderer.reports()
    due = plan_run(reports, job.timing, NOW, state.delivered_periods())
    assert not due.new  # today's files are not due before the day ends...
    # ...but 00:00-10:00 New York (40 quarter-hours) is closed and in no delivered file yet
    assert pending_intervals(reports, job.timing, NOW, state) == 40 * len(reports)

"""The frame cache and the delivery state belong to an org, not to a scope name: a second
configuration whose scope `prod` is another org is refused with one line."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import RunWfm
from tests.twin_config import write_twin_config
from wfmcli.errors import ExitCode
from wfmcli.sim import RunningTwin, start_twin

NOW = datetime(2026, 6, 3, 14, 24, tzinfo=UTC)
DESTINATION = """      nice:
        profile: nice-iex
        timezone: America/New_York
        max_backfill: 2h
        delivery:
          url: {url}
"""


@pytest.fixture(scope="module")
def twins() -> Iterator[tuple[RunningTwin, RunningTwin]]:
    now_ms = int(NOW.timestamp() * 1000)
    with (
        start_twin(seed=3, agents=6, queues=2, days=1, live=False, now_ms=now_ms) as first,
        start_twin(seed=4, agents=6, queues=2, days=1, live=False, now_ms=now_ms) as second,
    ):
        yield first, second


def _config(folder: Path, twin: RunningTwin, name: str) -> Path:
    url = (folder / f"outbox-{name}").as_uri()
    return write_twin_config(folder / f"{name}.yaml", twin, DESTINATION.format(url=url))


def _wfm(run_wfm: RunWfm, config: Path, twin: RunningTwin, *args: str):  # type: ignore[no-untyped-def]
    return run_wfm("-c", str(config), *args, env={"TWIN_SECRET": twin.client_secret})


def test_another_org_under_the_same_scope_name_is_refused(
    tmp_path: Path,
    twins: tuple[RunningTwin, RunningTwin],
    run_wfm: RunWfm,
) -> None:
    first, second = twins
    config_a, config_b = _config(tmp_path, first, "a"), _config(tmp_path, second, "b")
    now = ("--now", NOW.isoformat())
    ran = _wfm(run_wfm, config_a, first, "run", "prod/nice", *now)
    assert ran.exit_code == ExitCode.OK, ran.stderr
    again = _wfm(run_wfm, config_a, first, "run", "prod/nice", *now)
    assert again.exit_code == ExitCode.NOTHING_TO_DO, again.stderr

    # the delivery state: refused before planning (it would have said "nothing to do")
    other = _wfm(run_wfm, config_b, second, "run", "prod/nice", *now)
    assert other.exit_code == ExitCode.CONFIG, other.stderr
    (line,) = other.stderr.strip().splitlines()
    assert "the delivery state of scope 'prod'" in line
    assert f"belongs to org Twin Org 3 ({first.org.id})" in line
    assert f"is org Twin Org 4 ({second.org.id})" in line

    # the frame cache: a pull for the other org is refused before it writes
    pulled = _wfm(
        run_wfm, config_b, second, "pull", "prod", "--start", "2026-06-03",
        "--tz", "America/New_York", "--frames", "queue",
    )  # fmt: skip
    assert pulled.exit_code == ExitCode.CONFIG, pulled.stderr
    assert "the frame cache of scope 'prod'" in pulled.stderr
    assert "belongs to org Twin Org 3" in pulled.stderr

    # re-rendering from the cache with the other org's credentials is refused too
    report = _wfm(
        run_wfm, config_b, second, "report", "prod/nice", "--start", "2026-06-03T08:00",
        "--end", "2026-06-03T09:00", "--no-pull",
    )  # fmt: skip
    assert report.exit_code == ExitCode.CONFIG, report.stderr
    assert "never seen using" in report.stderr

    # the first org's own runs go on
    mine = _wfm(run_wfm, config_a, first, "run", "prod/nice", *now)
    assert mine.exit_code == ExitCode.NOTHING_TO_DO, mine.stderr

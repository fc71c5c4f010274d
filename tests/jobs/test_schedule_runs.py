"""Generated schedules run as written, in the scheduler's own environment (no login shell, a
minimal PATH, cwd /), on a fresh data folder; `wfm schedule check` says how a run went."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.config.helpers import ENV, VALID, write
from tests.conftest import RunWfm
from tests.twin_config import write_twin_config
from wfmcli.config import load_config
from wfmcli.errors import ConfigError, ExitCode
from wfmcli.sim import RunningTwin, start_twin

WFM = Path(sys.executable).parent / "wfm"
pytestmark = pytest.mark.skipif(os.name == "nt", reason="cron and systemd are POSIX")


@pytest.fixture(scope="module")
def twin() -> Iterator[RunningTwin]:
    # the twin's clock is the real one: a cron line carries no --now
    with start_twin(seed=5, agents=12, queues=3, days=1, live=False) as running:
        yield running


@pytest.fixture
def fresh(tmp_path: Path, twin: RunningTwin, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config whose destination writes to tmp/outbox; empty data and cache folders."""
    monkeypatch.setenv("WFM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("WFM_CACHE_DIR", str(tmp_path / "cache"))
    destinations = f"""      nice:
        profile: nice-iex
        timezone: America/New_York
        max_backfill: 1h
        resend: 0s
        delivery:
          url: {(tmp_path / "outbox").as_uri()}
      cal:
        profile: calabrio
        timezone: America/New_York
        delivery:
          url: {(tmp_path / "cal").as_uri()}
        rta:
          endpoint: https://127.0.0.1:1/rta
          api_key: ${{CAL_KEY}}
"""
    return write_twin_config(tmp_path / "config.yaml", twin, destinations)


def _cron_command(stdout: str) -> str:
    line = next(ln for ln in stdout.splitlines() if ln and not ln.startswith("#"))
    return line.split(None, 5)[5].replace(r"\%", "%")


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_cron_line_delivers_under_env_i(
    tmp_path: Path, fresh: Path, twin: RunningTwin, run_wfm: RunWfm
) -> None:
    made = run_wfm(
        "-c", str(fresh), "schedule", "cron", "prod/nice", "--wfm", str(WFM),
        env={"TWIN_SECRET": twin.client_secret},
    )  # fmt: skip
    assert made.exit_code == 0, made.stderr
    env_file = tmp_path / "data" / "schedule" / "prod-nice.env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert not (tmp_path / "data" / "logs").exists()  # the line itself must create it
    command = _cron_command(made.stdout)
    ran = subprocess.run(
        ["env", "-i", "PATH=/usr/bin:/bin", "/bin/sh", "-c", command],
        cwd="/", capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    crash_log = (tmp_path / "data" / "logs" / "prod-nice.cron.log").read_text()
    assert ran.returncode == 0, crash_log + ran.stderr
    assert "delivered" in crash_log
    assert _files(tmp_path / "outbox")
    assert (tmp_path / "data" / "state" / "prod" / "nice.json").exists()


def test_schedule_check_reports_success_then_nothing_to_do(
    tmp_path: Path, fresh: Path, twin: RunningTwin, run_wfm: RunWfm
) -> None:
    env = {"TWIN_SECRET": twin.client_secret}
    first = run_wfm("-c", str(fresh), "schedule", "check", "prod/nice", "--wfm", str(WFM), env=env)
    assert first.exit_code == 0, first.stderr
    assert first.stdout.startswith("wfm: cron run of prod/nice: ok: prod/nice: delivered")
    assert len(first.stdout.splitlines()) == 1
    again = run_wfm(
        "-c", str(fresh), "schedule", "check", "prod/nice", "--scheduler", "systemd",
        "--wfm", str(WFM), "--json", env=env,
    )  # fmt: skip
    assert again.exit_code == 0, again.stderr
    data = json.loads(again.stdout)["data"]
    assert data["exit_code"] == ExitCode.NOTHING_TO_DO
    assert "nothing" in data["line"]


def test_schedule_needs_the_variables_it_carries(fresh: Path, run_wfm: RunWfm) -> None:
    result = run_wfm("-c", str(fresh), "schedule", "check", "prod/nice", "--wfm", str(WFM))
    assert result.exit_code == ExitCode.CONFIG
    assert "environment variable TWIN_SECRET is not set" in result.stderr


def test_schedule_check_names_a_refused_secret(fresh: Path, run_wfm: RunWfm) -> None:
    result = run_wfm(
        "-c", str(fresh), "schedule", "check", "prod/nice", "--wfm", str(WFM),
        env={"TWIN_SECRET": "not-the-secret"},
    )  # fmt: skip
    assert result.exit_code == ExitCode.AUTH, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("wfm: cron run of prod/nice: failed (exit 4): ")
    assert "not-the-secret" not in line


def test_schedule_check_names_a_missing_executable(
    tmp_path: Path, fresh: Path, twin: RunningTwin, run_wfm: RunWfm
) -> None:
    missing = tmp_path / "gone" / "wfm"
    result = run_wfm(
        "-c", str(fresh), "schedule", "check", "prod/nice", "--wfm", str(missing),
        env={"TWIN_SECRET": twin.client_secret},
    )  # fmt: skip
    assert result.exit_code != 0
    (line,) = result.stderr.strip().splitlines()
    assert "failed (exit 127)" in line and "not found" in line


def test_run_needs_only_its_own_destinations_secrets(tmp_path: Path) -> None:
    # CAL_KEY is an RTA secret of another destination: it must not stop prod/nice's run
    config = write(tmp_path, VALID.replace("${RTA_KEY}", "${CAL_KEY}"))
    env = {k: v for k, v in ENV.items() if k != "RTA_KEY"}
    loaded = load_config(config, env, only="prod/nice")
    assert loaded.destination("prod/nice")[3].rta is None
    with pytest.raises(ConfigError, match="CAL_KEY is not set"):
        load_config(config, env)


def test_env_file_shared_with_others_is_refused(tmp_path: Path, run_wfm: RunWfm) -> None:
    env_file = tmp_path / "x.env"
    env_file.write_text('A="1"\n')
    env_file.chmod(0o644)
    result = run_wfm("--env-file", str(env_file), "config", "regions")
    assert result.exit_code == ExitCode.USAGE
    assert f"chmod 600 {env_file}" in result.stderr

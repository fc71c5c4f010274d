"""Generated scheduler entries parse, run at the right minutes and carry absolute paths."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.config.helpers import ENV, VALID, write
from tests.conftest import RunWfm
from wfmcli.errors import ExitCode, UsageError
from wfmcli.schedule import (
    TASK_NAMESPACE,
    JobSpec,
    check_cron_expression,
    cron_expression,
    crontab,
    systemd_units,
    windows_task,
)

NS = {"t": TASK_NAMESPACE}


def _spec(tmp_path: Path, every: int = 15, lag: int = 10, folder: str = "cfg") -> JobSpec:
    return JobSpec(
        target="prod/nice",
        wfm=tmp_path / "bin" / "wfm",
        config=tmp_path / folder / "config.yaml",
        log_file=tmp_path / "logs" / "prod-nice.log",
        every=timedelta(minutes=every),
        offset=timedelta(minutes=lag),
        time_limit=timedelta(hours=2),
        env_file=tmp_path / "data" / "schedule" / "prod-nice.env",
    )


def _cron_minutes(field: str) -> set[int]:
    span, _, step = field.partition("/")
    low, high = (0, 59) if span == "*" else (int(span.split("-")[0]), int(span.split("-")[-1]))
    return set(range(low, high + 1, int(step or 1)))


@given(
    every=st.sampled_from([1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30]),
    lag=st.integers(min_value=0, max_value=180),
)
def test_cron_runs_every_period_offset_by_lag(every: int, lag: int) -> None:
    expression = cron_expression(timedelta(minutes=every), timedelta(minutes=lag))
    check_cron_expression(expression)
    minute, *rest = expression.split()
    assert rest == ["*", "*", "*", "*"]
    assert _cron_minutes(minute) == {m for m in range(60) if m % every == lag % every}


@pytest.mark.parametrize(("every", "expected"), [(60, "10 * * * *"), (120, "10 */2 * * *")])
def test_cron_hourly_periods(every: int, expected: str) -> None:
    assert cron_expression(timedelta(minutes=every), timedelta(minutes=10)) == expected


@pytest.mark.parametrize("every", [7, 45, 90])
def test_uneven_period_is_refused(every: int) -> None:
    with pytest.raises(UsageError, match="divisor"):
        cron_expression(timedelta(minutes=every), timedelta())


@pytest.mark.parametrize(
    "bad", ["* * * *", "60 * * * *", "*/0 * * * *", "5-2 * * * *", "a * * * *"]
)
def test_cron_checker_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        check_cron_expression(bad)


def test_crontab_line_is_absolute_and_escapes_percent(tmp_path: Path) -> None:
    spec = _spec(tmp_path, folder="50% off")
    text = crontab(spec).content.decode()
    line = next(ln for ln in text.splitlines() if not ln.startswith("#"))
    check_cron_expression(" ".join(line.split()[:5]))
    command = line.split(None, 5)[5]
    assert command.startswith("cd / && mkdir -p ")  # the redirect's folder exists before use
    assert f"&& {spec.wfm} --config" in command
    assert r"50\% off" in line and "50% off" not in line
    assert "run prod/nice" in line
    assert "2>&1" in line


def test_windows_task_is_utf16_with_bom_and_valid(tmp_path: Path) -> None:
    content = windows_task(_spec(tmp_path, every=30, lag=5)).content
    assert content.startswith(b"\xff\xfe")
    root = ET.fromstring(content.decode("utf-16").split("?>", 1)[1])
    assert root.find("t:Triggers/t:TimeTrigger/t:Repetition/t:Interval", NS).text == "PT30M"
    assert root.find("t:Triggers/t:TimeTrigger/t:StartBoundary", NS).text.endswith("00:05:00")
    settings = root.find("t:Settings", NS)
    assert settings.find("t:MultipleInstancesPolicy", NS).text == "IgnoreNew"
    assert settings.find("t:ExecutionTimeLimit", NS).text == "PT2H"
    assert settings.find("t:StartWhenAvailable", NS).text == "true"
    exec_node = root.find("t:Actions/t:Exec", NS)
    assert exec_node.find("t:Command", NS).text == str(tmp_path / "bin" / "wfm")
    assert exec_node.find("t:Arguments", NS).text.endswith("run prod/nice")
    assert b"\r\n".decode() in content.decode("utf-16")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_systemd_units_verify_and_fire_on_offset_minutes(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    spec.wfm.parent.mkdir(parents=True)
    spec.wfm.write_text("#!/bin/sh\n")
    spec.wfm.chmod(0o755)
    for unit in systemd_units(spec):
        (tmp_path / unit.name).write_bytes(unit.content)
    units = sorted(str(p) for p in tmp_path.glob("wfm-prod-nice.*"))
    verify = subprocess.run(["systemd-analyze", "verify", *units], capture_output=True, text=True)
    assert verify.returncode == 0, verify.stderr
    timer = (tmp_path / "wfm-prod-nice.timer").read_text()
    calendar = next(ln.split("=", 1)[1] for ln in timer.splitlines() if ln.startswith("OnCalendar"))
    shown = subprocess.run(
        ["systemd-analyze", "calendar", "--iterations=4", calendar],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    minutes = {
        int(line.split(":")[-2])
        for line in shown.splitlines()
        if "elapse" in line or "Iter." in line
    }
    assert minutes == {10, 25, 40, 55}


def test_cli_cron_to_stdout(tmp_path: Path, run_wfm: RunWfm) -> None:
    config = write(tmp_path, VALID)
    result = run_wfm(
        "-c", str(config), "schedule", "cron", "prod/nice", "--wfm", "/opt/wfm/bin/wfm", env=ENV
    )
    assert result.exit_code == 0, result.stderr
    line = result.stdout.strip().splitlines()[-1]
    assert line.startswith("10-59/15 * * * * cd / && mkdir -p ")
    assert "&& /opt/wfm/bin/wfm --config " + str(config.resolve()) in line


def test_cli_windows_writes_file(tmp_path: Path, run_wfm: RunWfm) -> None:
    config = write(tmp_path, VALID)
    out = tmp_path / "task.xml"
    result = run_wfm(
        "-c", str(config), "schedule", "windows", "prod/nice", "--every", "30m", "--out", str(out),
        "--wfm", "/opt/wfm/bin/wfm", env=ENV,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes().startswith(b"\xff\xfe")
    assert "schtasks /Create /XML" in result.stderr


def test_cli_unknown_destination(tmp_path: Path, run_wfm: RunWfm) -> None:
    config = write(tmp_path, VALID)
    result = run_wfm("-c", str(config), "schedule", "cron", "prod/nope", "--wfm", "/x/wfm", env=ENV)
    assert result.exit_code == ExitCode.CONFIG
    assert "known: prod/nice" in result.stderr


def test_cli_uneven_every(tmp_path: Path, run_wfm: RunWfm) -> None:
    config = write(tmp_path, VALID)
    result = run_wfm(
        "-c",
        str(config),
        "schedule",
        "cron",
        "prod/nice",
        "--every",
        "7m",
        "--wfm",
        "/x/wfm",
        env=ENV,
    )
    assert result.exit_code == ExitCode.USAGE
    assert "divisor of 60" in result.stderr

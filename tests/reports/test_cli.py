"""wfm report and wfm profiles, end to end through the CLI."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from tests.conftest import RunWfm
from tests.reports.fixtures import day_frames
from wfmcli.errors import ExitCode

CONFIG = """\
version: 1
scopes:
  prod:
    source:
      base_url: http://127.0.0.1:9
      credentials:
        - client_id: abc
          client_secret: not-a-real-secret
      licensed_role: WFM Agent
    destinations:
      cal:
        profile: calabrio
        timezone: Europe/Berlin
        interval: 30
        reports: [agent_queue]
        agent_id: mapping
        agent_map_file: {map}
"""


@pytest.fixture
def frames_dir(tmp_path: Path) -> Path:
    """Frames as the pull writes them: partitioned by scope and day, plus one flat file."""
    root = tmp_path / "frames"
    data = day_frames(date(2026, 3, 29), "Europe/Berlin")
    for name in ("queue_interval", "agent_queue_interval"):
        part = root / name / "scope=prod" / "day=2026-03-29"
        part.mkdir(parents=True)
        data[name].to_parquet(part / "part-0.parquet")
    data["agent_interval"].to_parquet(root / "agent_interval.parquet")
    return root


def test_report_from_explicit_options_as_json(
    run_wfm: RunWfm, frames_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = run_wfm(
        "report",
        "--frames",
        str(frames_dir),
        "--profile",
        "calabrio",
        "--tz",
        "Europe/Berlin",
        "--interval",
        "15",
        "--start",
        "2026-03-29",
        "--reports",
        "queue",
        "--out",
        str(out),
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)["data"]
    written = data["files"]
    # intraday: a file per interval; one Calabrio queue per Genesys queue x media (4 pairs)
    assert len(written) == 92 and {f["rows"] for f in written} == {4}
    assert (
        written[0]["start"] == "2026-03-29T00:00:00+01:00"
        and written[-1]["end"] == "2026-03-30T00:00:00+02:00"
    )
    assert sum(f["totals"]["offd_direct_call_cnt"] for f in written) == 26
    assert all(Path(f["path"]).parent == out for f in written)
    times = {
        line.split(";")[2] for f in written for line in Path(f["path"]).read_text().splitlines()
    }
    assert "02:00" not in times and len(times) == 92


def test_report_for_a_configured_destination_uses_its_settings(
    run_wfm: RunWfm, frames_dir: Path, tmp_path: Path
) -> None:
    mapping = tmp_path / "agents.csv"
    mapping.write_text("user_id,wfm_id\nu-2,2002\n", encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG.format(map=mapping), encoding="utf-8")
    result = run_wfm(
        "--config",
        str(config),
        "report",
        "prod/cal",
        "--from",
        str(frames_dir),
        "--start",
        "2026-03-29",
        "--out",
        str(tmp_path / "o"),
    )
    assert result.exit_code == 0, result.stderr
    assert "46 file(s), 3 row(s)" in result.stdout  # a file per half hour of a 23-hour day
    [path] = [p for p in (tmp_path / "o").iterdir() if p.stat().st_size]
    text = path.read_text(encoding="utf-8")
    assert text.startswith("30;20260329;10:00;ann@example.com;")  # 30-minute destination
    assert ";2002;Bob Ng;" in text


def test_report_for_a_destination_reads_the_pull_cache(run_wfm: RunWfm, tmp_path: Path) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from wfmcli.pull.cache import FrameCache, Partition

    mapping = tmp_path / "agents.csv"
    mapping.write_text("u-1,1001\n", encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(
        CONFIG.format(map=mapping).replace("interval: 30", "interval: 15"), encoding="utf-8"
    )
    berlin = ZoneInfo("Europe/Berlin")
    day = date(2026, 3, 29)
    frame = day_frames(day, "Europe/Berlin")["agent_queue_interval"]
    FrameCache().write(
        Partition("prod", "agent_queue_interval", berlin, 15, day),
        datetime(2026, 3, 29, tzinfo=berlin),
        datetime(2026, 3, 30, tzinfo=berlin),
        frame,
    )
    result = run_wfm(
        "--config", str(config), "report", "prod/cal", "--start", "2026-03-29", "--json"
    )
    assert result.exit_code == 0, result.stderr
    files = json.loads(result.stdout)["data"]["files"]
    [written] = [f for f in files if f["rows"]]  # one interval has agent traffic
    assert written["rows"] == 3
    assert "/staging/prod/cal/" in written["path"]
    # the queue field is the numeric code the mapping gave Sales voice
    assert "15;20260329;10:00;1001;Ann Lee;1;Sales Voice;" in Path(written["path"]).read_text()

    empty = run_wfm(
        "--config", str(config), "report", "prod/cal", "--start", "2026-04-02", "--no-pull"
    )
    assert empty.exit_code == ExitCode.USAGE
    assert "nothing cached for scope prod" in empty.stderr


def test_report_without_target_or_profile_is_a_usage_error(
    run_wfm: RunWfm, frames_dir: Path
) -> None:
    result = run_wfm("report", "--frames", str(frames_dir), "--start", "2026-03-29")
    assert result.exit_code == ExitCode.USAGE
    assert "give SCOPE/DEST, or --profile and --tz" in result.stderr


def test_report_with_missing_frames_folder(run_wfm: RunWfm, tmp_path: Path) -> None:
    result = run_wfm(
        "report",
        "--frames",
        str(tmp_path / "none"),
        "--profile",
        "verint",
        "--tz",
        "UTC",
        "--start",
        "2026-03-29",
    )
    assert result.exit_code == ExitCode.USAGE
    assert "does not exist" in result.stderr


def test_profiles_list_show_validate(run_wfm: RunWfm, tmp_path: Path) -> None:
    listed = run_wfm("profiles", "list", "--json")
    assert listed.exit_code == 0
    names = {p["name"] for p in json.loads(listed.stdout)["data"]["profiles"]}
    assert names == {"calabrio", "nice-iex", "nice-cxone", "verint", "alvaria", "alvaria-via"}
    shown = run_wfm("profiles", "show", "nice-cxone")
    assert shown.exit_code == 0 and "History-{start:%y%m%d%H%M}.txt" in shown.stdout

    good = tmp_path / "mine.yaml"
    good.write_text("extends: verint\nproduct: My Verint\n", encoding="utf-8")
    result = run_wfm("profiles", "validate", str(good))
    assert result.exit_code == 0 and "valid profile 'mine' (4 report(s))" in result.stdout

    bad = tmp_path / "bad.yaml"
    bad.write_text("extends: verint\nreports:\n  call_stats:\n    per: week\n", encoding="utf-8")
    result = run_wfm("profiles", "validate", str(bad))
    assert result.exit_code == ExitCode.CONFIG
    assert f"{bad}:4: reports.call_stats.per: Input should be 'interval' or 'day'" in result.stderr


TWIN_CONFIG = """\
version: 1
scopes:
  prod:
    source:
      base_url: {url}
      credentials:
        - client_id: {client_id}
          client_secret: {secret}
      divisions: [{divisions}]
      licensed_role: Contact Center Agent
    destinations:
      cal:
        profile: calabrio
        timezone: Europe/Berlin
        reports: [queue, agent]
"""


@pytest.mark.timeout(120)
def test_report_pulls_a_missing_range_from_the_twin_then_uses_the_cache(
    run_wfm: RunWfm, tmp_path: Path
) -> None:
    from tests.pull.conftest import SCOPED_DIVISIONS, start_org

    org = start_org(5, "Europe/Berlin", date(2026, 3, 29), agents=30, queues=4)
    try:
        credential = org.twin.credentials[0]
        config = tmp_path / "config.yaml"
        config.write_text(
            TWIN_CONFIG.format(
                url=org.twin.base_url,
                client_id=credential.client_id,
                secret=credential.client_secret,
                divisions=", ".join(f'"{d}"' for d in SCOPED_DIVISIONS),
            ),
            encoding="utf-8",
        )
        args = ("--config", str(config), "report", "prod/cal", "--start", "2026-03-29", "--json")
        first = run_wfm(*args, "--out", str(tmp_path / "a"))
        assert first.exit_code == 0, first.stderr
    finally:
        org.twin.stop()
    files = json.loads(first.stdout)["data"]["files"]
    queue = [f for f in files if f["report"] == "queue"]
    assert len(queue) == 92 and sum(f["rows"] for f in queue) > 0  # a file per interval
    assert sum(f["totals"]["offd_direct_call_cnt"] for f in queue) > 0
    # the twin is gone: the same range now renders from the cache, byte for byte
    second = run_wfm(*args, "--out", str(tmp_path / "b"))
    assert second.exit_code == 0, second.stderr
    again = json.loads(second.stdout)["data"]["files"]
    assert [f["sha256"] for f in again] == [f["sha256"] for f in files]

"""Mappings and accounting end to end on the twin: `wfm map`, `wfm backfill`, `wfm reconcile`.

The twin org has blended queues (voice + callback + chat in one queue) and outbound voice
campaigns. Every built-in profile must account for every contact on both DST days.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import RunWfm
from tests.twin_config import write_twin_config
from wfmcli.errors import ExitCode
from wfmcli.sim import RunningTwin, start_twin

GOLDEN = Path(__file__).parent / "golden"
# (destination, profile, zone, interval): every built-in profile, in zones with European DST
DESTINATIONS = (
    ("calabrio", "calabrio", "Europe/Stockholm", 15),
    ("nice-iex", "nice-iex", "Europe/Berlin", 15),
    ("nice-cxone", "nice-cxone", "Europe/Paris", 30),
    ("verint", "verint", "Europe/London", 15),
    ("alvaria", "alvaria", "Europe/Madrid", 30),
    ("alvaria-via", "alvaria-via", "Europe/Rome", 15),
)
DST_DAYS = {"spring-forward": "2026-03-29", "fall-back": "2026-10-25"}


def _config(path: Path, twin: RunningTwin, outbox: Path) -> Path:
    text = ""
    for name, profile, zone, interval in DESTINATIONS:
        text += (
            f"      {name}:\n        profile: {profile}\n        timezone: {zone}\n"
            f"        interval: {interval}\n        max_backfill: 3d\n"
            f"        delivery:\n          url: {(outbox / name).as_uri()}\n"
        )
    return write_twin_config(path, twin, text)


@pytest.fixture(scope="module", params=list(DST_DAYS))
def dst_twin(request: pytest.FixtureRequest) -> Iterator[tuple[str, RunningTwin]]:
    day = DST_DAYS[request.param]
    now = datetime.fromisoformat(f"{day}T00:00:00+00:00").replace(hour=0)
    now = now.replace(day=now.day + 1, hour=9)  # the morning after: every zone's day has closed
    with start_twin(
        seed=5, agents=24, queues=4, days=2, live=False, mixed_media=True,
        now_ms=int(now.astimezone(UTC).timestamp() * 1000),
    ) as running:  # fmt: skip
        yield day, running


def _wfm(run_wfm: RunWfm, config: Path, twin: RunningTwin, *args: str):  # type: ignore[no-untyped-def]
    return run_wfm("-c", str(config), *args, env={"TWIN_SECRET": twin.client_secret})


def test_every_profile_accounts_for_every_contact_on_dst_days(
    tmp_path: Path, dst_twin: tuple[str, RunningTwin], run_wfm: RunWfm
) -> None:
    day, twin = dst_twin
    config = _config(tmp_path / "config.yaml", twin, tmp_path / "outbox")
    now = f"{day[:8]}{int(day[8:]) + 1:02d}T09:00:00Z"
    end = f"{day[:8]}{int(day[8:]) + 1:02d}"
    media_seen: set[tuple[str, str]] = set()
    for name, *_ in DESTINATIONS:
        target = f"prod/{name}"
        sent = _wfm(run_wfm, config, twin, "backfill", target, "--start", day, "--end", end,
                    "--now", now, "--json")  # fmt: skip
        assert sent.exit_code == 0, sent.stderr
        checked = _wfm(run_wfm, config, twin, "reconcile", target, "--start", day, "--no-pull",
                       "--json")  # fmt: skip
        assert checked.exit_code == 0, checked.stdout + checked.stderr
        [balance] = json.loads(checked.stdout)["data"]["days"]
        assert balance["day"] == day and balance["reported"] > 0
        assert balance["unaccounted"] == 0 and balance["delivered"] == balance["reported"]
        _all_periods_recorded(config, target, day, end, now)
        mapping = tmp_path / "data" / "mappings" / "prod" / f"{name}-queues.csv"
        if not mapping.exists():  # the data dir is the platform's when the config names none
            mapping = next(Path(os.environ["XDG_DATA_HOME"]).rglob(f"{name}-queues.csv"))
        rows = list(csv.DictReader(io.StringIO(mapping.read_text(encoding="utf-8"))))
        media_seen |= {(r["media"], r["direction"]) for r in rows}
        if name == "calabrio":  # numeric codes from the mapping in field 4, never a queue id
            files = sorted((tmp_path / "outbox" / name).glob("queue_*.csv"))
            codes = {line.split(";")[3] for f in files for line in f.read_text().splitlines()}
            assert codes and all(code.isdigit() for code in codes)
    # blended queues and campaigns: several media in one queue and outbound voice, each its own key
    assert {("voice", "inbound"), ("callback", "inbound"), ("chat", "inbound")} <= media_seen
    assert ("voice", "outbound") in media_seen and ("email", "outbound") in media_seen


def _all_periods_recorded(config: Path, target: str, day: str, end: str, now: str) -> None:
    """Every period of the day is on record as delivered, the repeated hour's too (a period
    missed here would be pulled again on every run)."""
    from wfmcli.config import load_config
    from wfmcli.jobs.build import build_job
    from wfmcli.jobs.plan import plan_range
    from wfmcli.timegrid import parse_local

    os.environ["TWIN_SECRET"] = "unused-here"  # the config interpolates it; nothing is pulled
    try:
        loaded = load_config(config)
        job = build_job(loaded, target, loaded.state_root())
    finally:
        del os.environ["TWIN_SECRET"]
    zone = job.timing.zone
    moment = datetime.fromisoformat(now.replace("Z", "+00:00"))
    plan = plan_range(job.renderer.reports(), job.timing, parse_local(day, zone),
                      parse_local(end, zone), moment)  # fmt: skip
    wanted = {(p.report, p.start.isoformat()) for p in plan.periods}
    assert len(wanted) >= 46
    missing = wanted - job.store.load().delivered_periods()
    assert not missing, sorted(missing)[:3]


def test_a_file_not_delivered_is_unaccounted(
    tmp_path: Path, dst_twin: tuple[str, RunningTwin], run_wfm: RunWfm
) -> None:
    day, twin = dst_twin
    if day != DST_DAYS["fall-back"]:
        pytest.skip("one day is enough")
    config = _config(tmp_path / "config.yaml", twin, tmp_path / "outbox")
    result = _wfm(run_wfm, config, twin, "reconcile", "prod/nice-cxone", "--start", day)
    assert result.exit_code == ExitCode.PARTIAL, result.stdout + result.stderr
    assert "never delivered" in result.stderr


def _fall_back(dst_twin: tuple[str, RunningTwin]) -> tuple[str, RunningTwin]:
    day, twin = dst_twin
    if day != DST_DAYS["fall-back"]:
        pytest.skip("the map tests need one org, not two")
    return day, twin


def test_map_queues_golden_and_round_trip(
    tmp_path: Path, dst_twin: tuple[str, RunningTwin], run_wfm: RunWfm
) -> None:
    day, twin = _fall_back(dst_twin)
    config = _config(tmp_path / "config.yaml", twin, tmp_path / "outbox")
    now = "2026-10-26T09:00:00Z"
    first = _wfm(run_wfm, config, twin, "map", "queues", "prod/calabrio", "--days", "1",
                 "--now", now, "--json")  # fmt: skip
    assert first.exit_code == 0, first.stderr
    data = json.loads(first.stdout)["data"]
    path = Path(data["file"])
    text = path.read_text(encoding="utf-8")
    golden = GOLDEN / "map-queues-calabrio.csv"
    if os.environ.get("WFM_UPDATE_GOLDEN"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")
    counts = [p["contacts"] for p in data["pairs"]]
    assert counts == sorted(counts, reverse=True) and data["added"] == len(counts)
    # an engineer renames the busiest contact type and drops the last row; a re-run over two
    # days keeps the edit, puts the dropped pair back (new), and adds nothing else
    lines = text.splitlines()
    header, busiest, *rest = lines
    cells = busiest.split(",")
    cells[4], cells[6] = "Main line", "Main line (voice)"
    edited = [header, ",".join(cells), *rest[:-1]]
    path.write_text("\n".join(edited) + "\n", encoding="utf-8")
    again = _wfm(run_wfm, config, twin, "map", "queues", "prod/calabrio", "--days", "1",
                 "--now", now, "--json")  # fmt: skip
    assert again.exit_code == 0, again.stderr
    redone = json.loads(again.stdout)["data"]
    assert redone["added"] == 1 and [p["new"] for p in redone["pairs"]][-1] is True
    kept = path.read_text(encoding="utf-8").splitlines()
    assert kept[1].split(",")[4] == "Main line" and kept[1].split(",")[6] == "Main line (voice)"
    assert [line.split(",")[5] for line in kept[1:]] == [line.split(",")[5] for line in lines[1:]]
    # the run uses the file: the renamed contact type is what Calabrio receives
    sent = _wfm(run_wfm, config, twin, "backfill", "prod/calabrio", "--start", day,
                "--end", "2026-10-26", "--now", now)  # fmt: skip
    assert sent.exit_code == 0, sent.stderr
    delivered = "".join(f.read_text() for f in (tmp_path / "outbox" / "calabrio").glob("queue_*"))
    assert f";{cells[5]};Main line (voice);" in delivered


def test_a_bad_mapping_stops_validate_and_delivery(
    tmp_path: Path, dst_twin: tuple[str, RunningTwin], run_wfm: RunWfm
) -> None:
    day, twin = _fall_back(dst_twin)
    mapping = tmp_path / "calabrio-queues.csv"
    queue = twin.org.queues[0].id
    mapping.write_text(
        "queue_id,media,direction,campaign_id,key,code,name,action\n"
        f"{queue},voice,inbound,,,12,Main,\n{queue},chat,inbound,,,12,Chat,\n",
        encoding="utf-8",
    )
    config = _config(tmp_path / "config.yaml", twin, tmp_path / "outbox")
    text = config.read_text().replace(
        "        profile: calabrio\n",
        f"        profile: calabrio\n        queue_map_file: {mapping}\n",
    )
    config.write_text(text)
    checked = _wfm(run_wfm, config, twin, "config", "validate")
    assert checked.exit_code == ExitCode.CONFIG
    assert f"{mapping}:3:5: duplicate key '12'" in checked.stderr
    sent = _wfm(run_wfm, config, twin, "backfill", "prod/calabrio", "--start", day,
                "--end", "2026-10-26", "--now", "2026-10-26T09:00:00Z")  # fmt: skip
    assert sent.exit_code == ExitCode.CONFIG, sent.stdout + sent.stderr
    assert not (tmp_path / "outbox" / "calabrio").exists() or not any(
        (tmp_path / "outbox" / "calabrio").iterdir()
    )


def test_map_agents_lists_licensed_agents_and_refuses_ids_too_wide(
    tmp_path: Path, dst_twin: tuple[str, RunningTwin], run_wfm: RunWfm
) -> None:
    _fall_back(dst_twin)
    _, twin = dst_twin
    config = _config(tmp_path / "config.yaml", twin, tmp_path / "outbox")
    made = _wfm(run_wfm, config, twin, "map", "agents", "prod/verint", "--json")
    assert made.exit_code == 0, made.stderr
    data = json.loads(made.stdout)["data"]
    licensed = [u for u in twin.org.users if u.licensed]
    assert data["agents"] == data["added"] <= len(licensed) and data["problems"] == []
    rows = list(csv.DictReader(io.StringIO(Path(data["file"]).read_text(encoding="utf-8"))))
    usernames = {u.id: u.username for u in licensed}
    assert all(usernames[r["user_id"]] == r["agent_id"] for r in rows)
    # a vendor whose agent field holds 12 characters: the usernames do not fit; wfm refuses
    profiles = Path(os.environ["XDG_CONFIG_HOME"]) / "wfm" / "profiles"
    profiles.mkdir(parents=True)
    (profiles / "narrow.yaml").write_text(
        "extends: verint\nproduct: Verint, 12-character agent ids\nagent_key:\n  max_length: 12\n"
    )
    config.write_text(config.read_text().replace("profile: verint", "profile: narrow"))
    refused = _wfm(run_wfm, config, twin, "map", "agents", "prod/verint")
    assert refused.exit_code == ExitCode.CONFIG
    assert "longer than the vendor's 12 characters" in refused.stderr
    again = _wfm(run_wfm, config, twin, "config", "validate")
    assert again.exit_code == ExitCode.CONFIG and "12 characters" in again.stderr

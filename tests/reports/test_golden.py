"""Golden files: every report of every built-in profile, over a normal day and both DST days.

Each golden file lists every file written (name, rows, sha256) and the full text of those with rows.
Regenerate after a deliberate format change with: WFM_UPDATE_GOLDEN=1 pytest tests/reports
"""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

import wfmcli.profiles as builtin
from tests.reports.fixtures import day_frames
from wfmcli.reports.profiles import load_profile
from wfmcli.reports.render import Destination, RenderedFile, render_reports

GOLDEN = Path(__file__).parent / "golden"
DAYS = {
    "normal": (date(2026, 6, 15), "Europe/Berlin"),
    "spring-forward": (date(2026, 3, 29), "Europe/Berlin"),
    "fall-back": (date(2026, 11, 1), "America/Chicago"),
}


def render_day(profile_name: str, day: date, zone_name: str, out: Path) -> list[RenderedFile]:
    zone = ZoneInfo(zone_name)
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    end = datetime.fromordinal(day.toordinal() + 1).replace(tzinfo=zone)
    with freeze_time("2026-12-01 06:30:00"):
        return render_reports(
            day_frames(day, zone_name),
            load_profile(profile_name),
            Destination(zone_name, constants={"account_id": "org-123"}),
            start,
            end,
            out,
        )


def describe(written: list[RenderedFile], out: Path) -> str:
    parts = []
    for f in written:
        name = f.path.relative_to(out).as_posix()
        if f.alias:  # the same file again, for the repeated hour's second pass
            parts.append(f"{f.report} {name} also holds {f.start:%H:%M%z}")
            continue
        parts.append(f"{f.report} {name} rows={f.rows} bytes={f.bytes} sha256={f.sha256[:16]}")
        parts.extend(f"  warning: {w}" for w in f.warnings)
    for f in written:
        if f.rows and not f.alias:
            text = f.path.read_bytes().decode("utf-8").replace("\r\n", "\u240d\n")
            parts.append(f"==> {f.path.relative_to(out).as_posix()} <==\n{text}")
    return "\n".join(parts) + "\n"


@pytest.mark.parametrize("day_name", list(DAYS))
@pytest.mark.parametrize("profile_name", sorted(builtin.builtin_files()))
def test_golden(profile_name: str, day_name: str, tmp_path: Path) -> None:
    day, zone = DAYS[day_name]
    written = render_day(profile_name, day, zone, tmp_path)
    actual = describe(written, tmp_path)
    golden = GOLDEN / f"{profile_name}--{day_name}.txt"
    if os.environ.get("WFM_UPDATE_GOLDEN"):
        golden.write_text(actual, encoding="utf-8")
    assert golden.exists(), f"missing {golden}; run with WFM_UPDATE_GOLDEN=1"
    assert actual == golden.read_text(encoding="utf-8")

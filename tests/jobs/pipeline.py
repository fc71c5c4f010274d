"""Jobs over synthetic canonical frames, the real report engine and a real file transport."""

from __future__ import annotations

import os
import signal
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

from tests.reports.fixtures import day_frames
from wfmcli.jobs.plan import Timing
from wfmcli.jobs.render import ProfileRenderer
from wfmcli.jobs.run import Job
from wfmcli.jobs.state import StateStore
from wfmcli.reports.profiles import load_profile
from wfmcli.reports.render import Destination
from wfmcli.transports.registry import open_transport

ZONE = "America/New_York"


@dataclass
class SyntheticSource:
    """The canonical frames of the report fixtures for every day asked, with optional late data."""

    zone: str = ZONE
    extra_offered: dict[pd.Timestamp, int] = field(default_factory=dict)
    pulls: list[tuple[datetime, datetime]] = field(default_factory=list)

    def frames(
        self, start: datetime, end: datetime, names: Collection[str], now: datetime
    ) -> Mapping[str, pd.DataFrame]:
        self.pulls.append((start, end))
        zone = ZoneInfo(self.zone)
        day = start.astimezone(zone).date()
        parts: dict[str, list[pd.DataFrame]] = {}
        while day <= (end - timedelta(microseconds=1)).astimezone(zone).date():
            for name, frame in day_frames(day, self.zone).items():
                parts.setdefault(name, []).append(frame)
            day += timedelta(days=1)
        result = {}
        for name, pieces in parts.items():
            frame = pd.concat(pieces, ignore_index=True)
            column = "start" if name == "agent_status" else "interval_start"
            inside = (frame[column] >= pd.Timestamp(start)) & (frame[column] < pd.Timestamp(end))
            result[name] = frame[inside].reset_index(drop=True)
        queue = result["queue_interval"]
        for moment, extra in self.extra_offered.items():
            queue.loc[queue["interval_start"] == moment, "offered"] += extra
        return result


def make_job(
    folder: Path,
    profile: str,
    source: SyntheticSource | None = None,
    url: str | None = None,
    options: Mapping[str, str] | None = None,
) -> Job:
    """A job delivering to `url` (default: the folder's outbox, over file://)."""
    timing = Timing(
        ZoneInfo(ZONE), 15, timedelta(minutes=10), timedelta(hours=2), timedelta(days=2), None
    )
    outbox = folder / "outbox"
    outbox.mkdir(parents=True, exist_ok=True)
    return Job(
        target="prod/test",
        timing=timing,
        source=source or SyntheticSource(),
        renderer=ProfileRenderer(load_profile(profile), Destination(timezone=ZONE)),
        open_transport=lambda: open_transport(url or outbox.as_uri(), options),
        store=StateStore(folder / "state" / "test.json", "prod/test"),
        lock_path=folder / "state" / "test.lock",
    )


def kill_self() -> None:
    os.kill(os.getpid(), signal.SIGKILL)

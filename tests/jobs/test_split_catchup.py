"""Content does not depend on scheduling: a catch-up delivered in two runs, split anywhere,
writes the same bytes as one run (fill rows come from the scope's queues, not from what one
run's range happened to see)."""

from __future__ import annotations

import tempfile
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.jobs.pipeline import ZONE, SyntheticSource
from wfmcli.jobs.plan import Timing
from wfmcli.jobs.render import ProfileRenderer
from wfmcli.jobs.run import Job
from wfmcli.jobs.state import StateStore
from wfmcli.reports.profiles import load_profile
from wfmcli.reports.render import FILL_ENTITIES, Destination
from wfmcli.transports.registry import open_transport

from .test_run import NOW

BACKFILL = timedelta(days=1)


@dataclass
class WithDirectory(SyntheticSource):
    """The fixture frames, plus the scope's queues as a pull provides them."""

    def frames(
        self, start: datetime, end: datetime, names: Collection[str], now: datetime
    ) -> Mapping[str, pd.DataFrame]:
        result = dict(super().frames(start, end, names, now))
        result[FILL_ENTITIES] = pd.DataFrame(
            {"queue_id": ["q-idle", "q-sales", "q-support"],
             "queue_name": ["Idle all day", "Sales", "Support, 2nd line"]},
            dtype="str",
        )  # fmt: skip
        return result


# the built-in nice-iex keys its queue file on the mapping's queue_key; this one keys it on the
# Genesys queue id, which the directory's fill set covers (a mapping feeds queue keys later)
PROFILE = """extends: nice-iex
reports:
  queue:
    keys: [queue_id]
    checks: []
    columns:
      - {name: queue_tag, expr: queue_id, format: text}
      - {name: date, expr: local_start, format: "datetime:%m%d%Y"}
      - {name: time, expr: local_start, format: "datetime:%H%M"}
      - {name: received, expr: offered}
      - {name: handled, expr: answered}
      - {name: talk, expr: talk_s, format: seconds}
"""


def _job(folder: Path) -> Job:
    outbox = folder / "outbox"
    outbox.mkdir(parents=True, exist_ok=True)
    timing = Timing(ZoneInfo(ZONE), 15, timedelta(minutes=10), timedelta(hours=2), BACKFILL, None)
    profiles = folder / "profiles"
    profiles.mkdir(exist_ok=True)
    (profiles / "iex-by-id.yaml").write_text(PROFILE, encoding="utf-8")
    renderer = ProfileRenderer(
        load_profile("iex-by-id", profiles), Destination(timezone=ZONE, reports=("queue",))
    )
    return Job(
        target="prod/split",
        timing=timing,
        source=WithDirectory(),
        renderer=renderer,
        open_transport=lambda: open_transport(outbox.as_uri()),
        store=StateStore(folder / "state" / "split.json", "prod/split"),
        lock_path=folder / "state" / "split.lock",
    )


def _delivered(folder: Path) -> dict[str, bytes]:
    outbox = folder / "outbox"
    files = (p for p in outbox.rglob("*") if p.is_file())
    return {p.relative_to(outbox).as_posix(): p.read_bytes() for p in files}


@cache
def _one_run() -> dict[str, bytes]:
    with tempfile.TemporaryDirectory() as folder:
        _job(Path(folder)).run(NOW)
        return _delivered(Path(folder))


@settings(max_examples=8, deadline=None)
@given(split=st.integers(min_value=20, max_value=int(BACKFILL.total_seconds() // 60) - 20))
def test_any_split_of_a_catch_up_delivers_the_same_bytes(split: int) -> None:
    whole = _one_run()
    with tempfile.TemporaryDirectory() as folder:
        first_at = NOW - BACKFILL + timedelta(minutes=split)
        _job(Path(folder)).run(first_at)
        _job(Path(folder)).run(NOW)
        parts = _delivered(Path(folder))
    # the first part may reach further back (its backfill window starts earlier); every file of
    # the single run must be there, byte for byte
    assert set(whole) <= set(parts)
    differing = sorted(name for name in whole if parts[name] != whole[name])
    assert not differing, f"split at +{split} min: {differing[:4]}"
    assert any("q-idle" in text.decode() for text in whole.values())

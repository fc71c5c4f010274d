"""Content does not depend on scheduling: a catch-up delivered in two runs, split anywhere,
writes the same bytes as one run. Fill rows come from the scope's queues (reports keyed on queue
ids) or from the destination's stored queue mapping (reports keyed on its queue keys), not from
what one run's range happened to see; a job makes mapping rows in the order of first traffic and
zero-fills each from then on, so a mapping the runs grow themselves is split-proof too."""

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
ORIGIN = pd.Timestamp(NOW - BACKFILL)


# a stored mapping holds Genesys queue ids, which are UUIDs
QUEUE_IDS = {
    "q-idle": "0b7d1e0e-0000-4000-8000-000000000001",
    "q-sales": "0b7d1e0e-0000-4000-8000-000000000002",
    "q-support": "0b7d1e0e-0000-4000-8000-000000000003",
}


@dataclass
class WithDirectory(SyntheticSource):
    """The fixture frames from ORIGIN on (the org's first traffic), plus the scope's queues as a
    pull provides them. Without a start of history the split's first run, whose backfill window
    reaches further back, would know queues from traffic the single run never saw."""

    def frames(
        self, start: datetime, end: datetime, names: Collection[str], now: datetime
    ) -> Mapping[str, pd.DataFrame]:
        result = dict(super().frames(start, end, names, now))
        result[FILL_ENTITIES] = pd.DataFrame(
            {"queue_id": ["q-idle", "q-sales", "q-support"],
             "queue_name": ["Idle all day", "Sales", "Support, 2nd line"]},
            dtype="str",
        )  # fmt: skip
        for name, frame in result.items():
            column = {"agent_status": "start", FILL_ENTITIES: ""}.get(name, "interval_start")
            if column:
                frame = frame[frame[column] >= ORIGIN].reset_index(drop=True)
                result[name] = frame
            if "queue_id" in frame.columns:
                ids = frame["queue_id"].map(QUEUE_IDS).astype(frame["queue_id"].dtype)
                result[name] = frame.assign(queue_id=ids)
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


# the test profile, and built-ins keyed on the mapping's queue keys (Calabrio: numeric codes,
# one file per interval; Alvaria: keyed on key, media and direction)
PROFILES = ("iex-by-id", "nice-iex", "calabrio", "alvaria")


def _job(folder: Path, profile: str = "iex-by-id") -> Job:
    outbox = folder / "outbox"
    outbox.mkdir(parents=True, exist_ok=True)
    timing = Timing(ZoneInfo(ZONE), 15, timedelta(minutes=10), timedelta(hours=2), BACKFILL, None)
    profiles = folder / "profiles"
    profiles.mkdir(exist_ok=True)
    (profiles / "iex-by-id.yaml").write_text(PROFILE, encoding="utf-8")
    renderer = ProfileRenderer(
        load_profile(profile, profiles),
        Destination(timezone=ZONE, reports=("queue",) if profile == "iex-by-id" else ()),
        clock=lambda: NOW,  # Calabrio's file names carry the time they were made
        queue_map_path=folder / "mappings" / "split-queues.csv",
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
def _one_run(profile: str) -> dict[str, bytes]:
    with tempfile.TemporaryDirectory() as folder:
        _job(Path(folder), profile).run(NOW)
        return _delivered(Path(folder))


@settings(max_examples=6, deadline=None)
@given(
    profile=st.sampled_from(PROFILES),
    split=st.integers(min_value=20, max_value=int(BACKFILL.total_seconds() // 60) - 20),
)
def test_any_split_of_a_catch_up_delivers_the_same_bytes(profile: str, split: int) -> None:
    whole = _one_run(profile)
    with tempfile.TemporaryDirectory() as folder:
        first_at = NOW - BACKFILL + timedelta(minutes=split)
        _job(Path(folder), profile).run(first_at)
        _job(Path(folder), profile).run(NOW)
        parts = _delivered(Path(folder))
    # the first part may reach further back (its backfill window starts earlier); every file of
    # the single run must be there, byte for byte
    assert set(whole) <= set(parts)
    differing = sorted(name for name in whole if parts[name] != whole[name])
    assert not differing, f"{profile}, split at +{split} min: {differing[:4]}"
    if profile == "iex-by-id":
        assert any(QUEUE_IDS["q-idle"] in text.decode() for text in whole.values())


def test_a_mapped_key_is_zero_filled_from_its_first_traffic_on(tmp_path: Path) -> None:
    """The fill set of a queue-key report is the stored mapping: a key a job added is zero-filled
    from its first interval with traffic (its `since`), a hand-made row at every interval."""
    mapping = tmp_path / "mappings" / "split-queues.csv"
    mapping.parent.mkdir(parents=True)
    mapping.write_text(
        f"queue_id,media,direction,key\n{QUEUE_IDS['q-idle']},voice,inbound,IDLE\n",
        encoding="utf-8",
    )
    _job(tmp_path, "nice-iex").run(NOW)
    files = _delivered(tmp_path)
    # New York times: Sales Email first has traffic at 09:30 on June 3
    assert "Sales Email" not in files["060226.1030"].decode()
    assert "Sales Email|06032026|0945|0|" in files["060326.0945"].decode()
    queue_files = [text.decode() for name, text in files.items() if "/" not in name]
    assert len(queue_files) > 90 and all("IDLE|" in text for text in queue_files)
    assert "since" in mapping.read_text(encoding="utf-8").splitlines()[0]

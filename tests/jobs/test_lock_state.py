"""The destination lock and the delivery state store."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from wfmcli.errors import ExitCode, LockedError, WfmError
from wfmcli.jobs.lock import DestinationLock
from wfmcli.jobs.state import Delivered, DeliveryState, InFlight, RunRecord, StateStore

HOLD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from wfmcli.jobs.lock import DestinationLock
    with DestinationLock(Path(sys.argv[1]), "prod/nice"):
        print("locked", flush=True)
        time.sleep(60)
    """
)


def _hold_lock(path: Path) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_second_holder_is_refused_and_lock_survives_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "nice.lock"
    holder = _hold_lock(path)
    try:
        with pytest.raises(LockedError) as caught, DestinationLock(path, "prod/nice"):
            pass
        assert f"pid {holder.pid}" in str(caught.value)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with DestinationLock(path, "prod/nice"):
        assert path.read_text() != str(holder.pid)


def test_lock_is_reentrant_after_release(tmp_path: Path) -> None:
    path = tmp_path / "a.lock"
    with DestinationLock(path, "x/y"):
        pass
    with DestinationLock(path, "x/y"):
        pass


def _state() -> DeliveryState:
    state = DeliveryState("prod/nice")
    state.files["queue@2026-03-01T06:00:00+00:00"] = Delivered(
        "Q_0600.txt",
        "ab" * 32, 120, "queue", "2026-03-01T06:00:00+00:00", "2026-03-01T06:15:00+00:00",
        "2026-03-01T06:30:01+00:00",
    )  # fmt: skip
    state.in_flight["queue@2026-03-01T06:15:00+00:00"] = InFlight(
        "Q_0615.txt", "cd" * 32, 99, "2026-03-01T06:45:00+00:00"
    )
    state.add_run(RunRecord("a", "b", "delivered", 1, 0, 0))
    return state


def test_state_round_trips(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s" / "nice.json", "prod/nice")
    assert store.load().files == {}
    store.save(_state())
    assert store.load() == _state()
    assert not list((tmp_path / "s").glob("*.tmp"))


def test_state_keeps_recent_runs_only() -> None:
    state = DeliveryState("t")
    for i in range(70):
        state.add_run(RunRecord(str(i), str(i), "nothing", 0, 0, 0))
    assert len(state.runs) == 50
    assert state.runs[-1].started_at == "69"


def test_forget_before_drops_old_periods() -> None:
    state = _state()
    state.forget_before(datetime(2026, 3, 2, tzinfo=UTC))
    assert state.files == {}


def test_forget_before_compares_instants_not_text() -> None:
    """A cutoff in New York (UTC-5) just after a period's end drops it; as text it sorted before."""
    state = _state()
    (record,) = state.files.values()
    end = datetime.fromisoformat(record.period_end)
    state.forget_before((end + timedelta(minutes=1)).astimezone(ZoneInfo("America/New_York")))
    assert state.files == {}
    state = _state()
    state.forget_before((end - timedelta(minutes=1)).astimezone(ZoneInfo("Asia/Tokyo")))
    assert len(state.files) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [("{not json", "is damaged"), ('{"format": "x"}', "not a wfm delivery state")],
)
def test_damaged_state_is_clear_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "nice.json"
    path.write_text(content)
    with pytest.raises(WfmError, match=message) as caught:
        StateStore(path, "prod/nice").load()
    assert "move it and its .journal aside" in str(caught.value)
    assert caught.value.exit_code == ExitCode.USAGE  # a file to move aside, not an internal error


def test_newer_version_is_refused(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "nice.json", "prod/nice")
    store.save(_state())
    document = json.loads(store.path.read_text())
    document["version"] = 99
    store.path.write_text(json.dumps(document))
    with pytest.raises(WfmError, match="version 99"):
        store.load()


def _delivered(name: str) -> Delivered:
    return Delivered(name, "ef" * 32, 10, "queue", "2026-03-01T07:00:00+00:00",
                     "2026-03-01T07:15:00+00:00", "2026-03-01T07:30:00+00:00")  # fmt: skip


def test_journal_is_replayed_without_a_snapshot(tmp_path: Path) -> None:
    """A run killed before it saved a snapshot still left every record in the journal."""
    store = StateStore(tmp_path / "nice.json", "prod/nice")
    state = store.load()
    store.record_in_flight(state, "queue@a", InFlight("A.txt", "aa", 1, "t"))
    store.record_in_flight(state, "queue@b", InFlight("B.txt", "bb", 2, "t"))
    store.record_delivered(state, "queue@a", _delivered("A.txt"))
    reloaded = StateStore(tmp_path / "nice.json", "prod/nice").load()
    assert reloaded.files == {"queue@a": _delivered("A.txt")}
    assert list(reloaded.in_flight) == ["queue@b"]
    store.save(reloaded)
    assert not store.journal_path.exists()
    assert StateStore(tmp_path / "nice.json", "prod/nice").load() == reloaded


def test_torn_last_journal_line_is_ignored_but_a_torn_middle_is_not(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "nice.json", "prod/nice")
    state = store.load()
    store.record_delivered(state, "queue@a", _delivered("A.txt"))
    with store.journal_path.open("a") as journal:
        journal.write('{"op": "delivered", "key": "queue@b", "rec')
    assert list(StateStore(store.path, "prod/nice").load().files) == ["queue@a"]
    with store.journal_path.open("a") as journal:
        journal.write("\n" + store.journal_path.read_text().splitlines()[0] + "\n")
    with pytest.raises(WfmError, match="journal line 2"):
        StateStore(store.path, "prod/nice").load()

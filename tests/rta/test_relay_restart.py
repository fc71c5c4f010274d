"""A restart serves the saved roster and states at once, then corrects them from REST."""

from __future__ import annotations

import asyncio
import gc
import json
from pathlib import Path

import pytest

from tests.rta.harness import (
    VerintClient,
    eventually,
    pause,
    resume,
    settings,
    truth,
)
from wfmcli.rta.persist import load
from wfmcli.rta.service import Relay, SinkSpec
from wfmcli.sim import RunningTwin

SPEED = 20.0
pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def twin(one_set_twin: RunningTwin) -> RunningTwin:
    return one_set_twin


def test_restart_serves_saved_states_then_corrections(twin: RunningTwin, tmp_path: Path) -> None:
    state = tmp_path / "relay.state.json"

    async def scenario() -> None:
        first = Relay(settings(twin, "verint", [SinkSpec("tcp-server")], state_path=state))
        stop = asyncio.Event()
        task = asyncio.create_task(first.run(stop))
        await first.sinks[0].listening.wait()  # type: ignore[attr-defined]
        port = first.sinks[0].port  # type: ignore[attr-defined]
        client = await VerintClient("127.0.0.1", port).start()
        await first.feed.ready.wait()
        pause(twin)
        before = truth(twin, "verint")
        await eventually(lambda: client.latest == before, what="the first relay's view")
        stop.set()
        await task
        assert gc.isenabled()  # the final save turns the collector off only while it encodes
        saved = load(state, ["lab"])
        assert saved is not None and len(saved.rosters["lab"]) == len(before)
        await client.stop()

        # While the relay is down: states move on and one agent loses the licensing role.
        resume(twin, SPEED)
        await asyncio.sleep(1.0)
        pause(twin)
        leaver = next(u for u in twin.org.users  # one logged in: the logout must be ours
                      if u.licensed and before.get(u.username, ("27", ""))[0] != "27")
        leaver.role_ids = tuple(r for r in leaver.role_ids if r != twin.org.licensed_role.id)
        leaver.licensed = False
        after = truth(twin, "verint")
        assert after != {k: v for k, v in before.items() if k != leaver.username}

        twin.faults.latency_s = 1.5  # REST is slow: what the client gets first is from disk
        second = Relay(settings(twin, "verint", [SinkSpec("tcp-server", port=port)],
                                state_path=state))
        stop = asyncio.Event()
        task = asyncio.create_task(second.run(stop))
        late = await VerintClient("127.0.0.1", port).start()
        await eventually(lambda: late.latest == before, timeout=20,
                         what="the saved snapshot, before any REST answer")
        assert second.sources[0].stats["resyncs"] == 0
        twin.faults.latency_s = 0.0
        await eventually(lambda: late.latest.get(leaver.username) == ("27", "")
                         and leaver.id not in second.sources[0].roster, timeout=30,
                         what="the leaver logged out after the roster check")
        expected = {**after, leaver.username: ("27", "")}
        await eventually(lambda: late.latest == expected, timeout=30,
                         what="corrections from REST")
        stop.set()
        await task
        await late.stop()
        assert leaver.id not in json.loads(state.read_text())["rosters"]["lab"]

    asyncio.run(scenario())


def test_an_unreadable_state_file_is_a_cold_start(tmp_path: Path) -> None:
    broken = tmp_path / "relay.state.json"
    broken.write_text("{not json", encoding="utf-8")
    assert load(broken, ["lab"]) is None
    assert load(tmp_path / "missing.json", ["lab"]) is None
    broken.write_text(json.dumps({"format": 99, "rosters": {}, "states": []}), encoding="utf-8")
    assert load(broken, ["lab"]) is None


def test_the_state_file_is_not_read_as_a_status_file(monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    from wfmcli.rta import status
    from wfmcli.rta.persist import Saved, default_state_path, encode, write

    monkeypatch.setenv("WFM_DATA_DIR", str(tmp_path))
    write(default_state_path("lab/verint"), encode(Saved({"lab": {}})))
    assert default_state_path("lab/verint").exists()
    assert status.read_all() == []


def test_the_periodic_save_encodes_in_steps_and_reads_back(tmp_path: Path) -> None:
    """A save runs on the relay's loop in pieces: other tasks run between them (one blocking
    encode of the roster stalled every event by 480 ms at 20,000 agents), and the file reads
    back to the same roster, ids and states as the one written at stop."""
    from wfmcli.rta.model import Media, Observation, Presence, Routing
    from wfmcli.rta.persist import ENCODE_BATCH, Saved, encode, encode_in_steps, write

    agents = 3 * ENCODE_BATCH + 7
    users = {f"user-{n}": f"agent{n}@example.com" for n in range(agents)}
    states = [Observation(f"agent{n}@example.com", "lab",
                          Presence("AVAILABLE", "Lunch" if n % 2 else None, 1000 + n),
                          Routing("IDLE", 2000 + n), Media(("voice",), (), 3000))
              for n in range(agents)]
    saved = Saved({"lab": users}, {"lab/verint": users}, {"lab/verint": iter(states)})
    turns = 0

    async def other_task() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    async def save() -> bytes:
        task = asyncio.create_task(other_task())
        await asyncio.sleep(0)
        data = await encode_in_steps(saved)
        task.cancel()
        return data

    data = asyncio.run(save())
    assert turns > 3 * (agents // ENCODE_BATCH)  # rosters, ids and states each in pieces
    stepwise, at_stop = tmp_path / "stepwise.json", tmp_path / "at-stop.json"
    write(stepwise, data)
    write(at_stop, encode(Saved({"lab": users}, {"lab/verint": users},
                                {"lab/verint": states})))
    read, reference = load(stepwise, ["lab"]), load(at_stop, ["lab"])
    assert read is not None and reference is not None
    assert (read.rosters, read.ids, read.states) == (reference.rosters, reference.ids,
                                                     reference.states)
    assert read.rosters == {"lab": users} and list(read.states["lab/verint"]) == states

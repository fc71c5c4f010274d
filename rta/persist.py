"""What a restarted relay serves at once: each source's roster and every agent's last state.

The relay writes them to one JSON file every 30 s while states change (encoded on its loop in
pieces of a few hundred agents with a turn of the loop between, written by a worker thread, so
the feed never waits for the whole roster) and once more when it stops. On start it
loads the file into the engine in steps while the sources send their first requests, before
any sink serves anyone: a WFM that connects gets the full saved snapshot as soon as it is in,
and the channels are subscribed from the saved roster without waiting for the role and user
listings. Once the channels are up, one roster read checks both the saved roster and the saved
states: what changed while the relay was down goes out as ordinary changes, and agents who
left are logged out. A missing, unreadable or foreign file is a cold start, never an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from wfmcli.paths import data_dir
from wfmcli.rta.model import Media, Observation, Presence, Routing

if TYPE_CHECKING:
    from wfmcli.rta.service import Relay

log = logging.getLogger("wfm.rta")
T = TypeVar("T")
FORMAT = 2
SAVE_EVERY_S = 30.0
ENCODE_BATCH = 500
SAVE_PAUSE_S = 0.004  # after each piece: a save takes at most about a third of the loop
RESTORE_CHUNK = 2_000  # agents loaded between two turns of the relay's loop (about 30 ms)


def default_state_path(name: str) -> Path:
    """One file per relay (its SCOPE/DEST name), in a folder of its own: `wfm rta status`
    reads every JSON file next to it as a status file."""
    return data_dir() / "rta" / "state" / f"{re.sub(r'[^A-Za-z0-9._-]+', '__', name)}.json"


@dataclass
class Saved:
    """Per scope its roster (user id -> the source's key); per destination (lane) the agent id
    it gives each user and every agent's last parts."""

    rosters: dict[str, dict[str, str]] = field(default_factory=dict)
    ids: dict[str, dict[str, str]] = field(default_factory=dict)
    states: Mapping[str, Iterable[Observation]] = field(default_factory=dict)  # lists if loaded
    saved_at: float = 0.0


Snapshot = Callable[[], Saved]


def _row(o: Observation) -> list[Any]:
    p, r, m = o.presence, o.routing, o.media
    return [
        o.agent, o.source,
        [p.system, p.secondary, p.since_ms] if p else None,
        [r.status, r.since_ms] if r else None,
        [list(m.active), list(m.acw), m.seen_ms] if m else None,
    ]  # fmt: skip


def _observation(row: list[Any]) -> Observation:
    agent, source, p, r, m = row
    return Observation(
        str(agent), str(source),
        Presence(str(p[0]), None if p[1] is None else str(p[1]), int(p[2])) if p else None,
        Routing(str(r[0]), int(r[1])) if r else None,
        Media(tuple(map(str, m[0])), tuple(map(str, m[1])), int(m[2])) if m else None,
    )  # fmt: skip


def encode(saved: Saved) -> bytes:
    """The file's bytes at once (at stop, in a thread: nothing else waits for the loop)."""
    return b"".join(_pieces(saved))


async def encode_in_steps(saved: Saved) -> bytes:
    """The file's bytes, a piece (at most ENCODE_BATCH entries, about 2 ms) at a time, with a
    pause after each. json's C encoder holds the GIL for a whole call, so one call over the
    roster (or a thread encoding it) stalls every event behind it: 480 ms once per save at
    20,000 agents in bench/rta_bench.py. Without the pauses the save still took a quarter of
    the loop for half a second, and the events of that second waited up to 150 ms."""
    parts = []
    for piece in _pieces(saved):
        parts.append(piece)
        await asyncio.sleep(SAVE_PAUSE_S)
    return b"".join(parts)


def _pieces(saved: Saved) -> Iterator[bytes]:
    """The JSON document in pieces of at most ENCODE_BATCH entries."""
    yield json.dumps({"format": FORMAT, "saved_at": time.time()})[:-1].encode()
    for name, mappings in (("rosters", saved.rosters), ("ids", saved.ids)):
        yield f',"{name}":{{'.encode()
        for number, (key, mapping) in enumerate(mappings.items()):
            yield (b"," if number else b"") + json.dumps(key).encode() + b":"
            yield from _object_pieces(mapping)
        yield b"}"
    yield b',"states":{'
    for number, (lane, observations) in enumerate(saved.states.items()):
        yield (b"," if number else b"") + json.dumps(lane).encode() + b":["
        for first, batch in enumerate(_batches(observations)):
            text = json.dumps([_row(o) for o in batch], separators=(",", ":"))[1:-1]
            yield (b"," if first else b"") + text.encode()
        yield b"]"
    yield b"}}"


def _object_pieces(mapping: dict[str, str]) -> Iterator[bytes]:
    """A snapshot's own copy of a roster, so it does not change while it is read."""
    yield b"{"
    for first, batch in enumerate(_batches(mapping.items())):
        text = json.dumps(dict(batch), separators=(",", ":"))[1:-1]
        yield (b"," if first else b"") + text.encode()
    yield b"}"


def _batches(items: Iterable[T]) -> Iterator[list[T]]:
    """ENCODE_BATCH at a time: a list of all of them at once is an allocation per agent in one
    step, which runs the collector (86 ms at 20,000 agents, measured in the relay)."""
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, ENCODE_BATCH)):
        yield batch


def write(path: Path, data: bytes) -> None:
    """Atomically: a crash mid-write leaves the previous file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(data)
    temporary.replace(path)


def load(path: Path, scopes: Iterable[str]) -> Saved | None:
    """The saved state of these scopes, or None (no file, or one we cannot use)."""
    steps = _loading(path, scopes)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return cast(Saved | None, done.value)


def _loading(path: Path, scopes: Iterable[str]) -> Generator[None, None, Saved | None]:
    """`load` in steps of RESTORE_CHUNK agents: a relay's loop runs between them."""
    try:
        body = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("ignoring the saved relay state %s (%s); starting cold", path, exc)
        return None
    wanted = set(scopes)
    try:
        if body.get("format") != FORMAT:
            return None
        rosters = {str(scope): {str(k): str(v) for k, v in roster.items()}
                   for scope, roster in body["rosters"].items() if scope in wanted}
        ids = {str(lane): {str(k): str(v) for k, v in known.items()}
               for lane, known in body["ids"].items()}
        states: dict[str, list[Observation]] = {}
        for lane, rows in body["states"].items():
            observations = states[str(lane)] = []
            for start in range(0, len(rows), RESTORE_CHUNK):
                yield
                observations += [_observation(row) for row in rows[start : start + RESTORE_CHUNK]
                                 if row[1] in wanted]
        return Saved(rosters, ids, states, float(body.get("saved_at", 0.0)))
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        log.warning("ignoring the saved relay state %s (%s); starting cold", path, exc)
        return None


class StateSaver:
    """Saves every SAVE_EVERY_S while anything changed, and once more on `final()`.

    `snapshot` is taken on the event loop (a consistent view); encoding and writing run in a
    thread. `changes` is a counter that moves whenever a state changes.
    """

    def __init__(self, path: Path, snapshot: Snapshot, changes: Callable[[], int]) -> None:
        self.path = path
        self._snapshot = snapshot
        self._changes = changes
        self._saved_changes = -1
        self.saves = 0
        # A write in a thread may finish after a later one began (the final one at stop):
        # snapshots are numbered and an older one never replaces a newer file.
        self._lock = threading.Lock()
        self._taken = 0
        self._written = 0

    async def run(self) -> None:
        while True:
            await asyncio.sleep(SAVE_EVERY_S)
            changes = self._changes()
            if changes == self._saved_changes:
                continue
            number, saved = self._take()
            data = await encode_in_steps(saved)
            try:
                await asyncio.to_thread(self._write, number, data)
            except OSError as exc:
                log.warning("cannot save the relay state to %s: %s", self.path, exc)
                continue
            self._saved_changes = changes

    def _take(self) -> tuple[int, Saved]:
        self._taken += 1
        return self._taken, self._snapshot()

    def _write(self, number: int, data: bytes) -> None:
        with self._lock:
            if number <= self._written:
                return
            write(self.path, data)
            self._written = number
            self.saves += 1

    async def final(self) -> None:
        """The last save, at stop: in a thread, so the stop deadline still holds (a save cut
        short leaves the previous file, never half a file)."""
        number, saved = self._take()
        try:
            await asyncio.to_thread(self._final_write, number, saved)
        except OSError as exc:
            log.warning("cannot save the relay state to %s: %s", self.path, exc)

    def _final_write(self, number: int, saved: Saved) -> None:
        # Nothing made at stop outlives it, so the collector's passes would be wasted work in
        # the stop's second: with it off the 100,000-agent encode takes about a third less.
        with _collector_off():
            self._write(number, encode(saved))


@contextlib.contextmanager
def _collector_off() -> Iterator[None]:
    """No cyclic collection meanwhile (for work that makes many objects and no garbage)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


async def _restore(relay: Relay, path: Path) -> Saved | None:
    steps = _loading(path, [source.config.scope for source in relay.sources])
    while True:
        try:
            next(steps)
        except StopIteration as done:
            saved = cast(Saved | None, done.value)
            break
        await asyncio.sleep(0)
    if saved is None or not any(saved.states.values()):
        return None
    now = int(time.time() * 1000)
    for lane in relay.lanes:
        # No sink listens yet: the restored states are the snapshot every WFM gets first.
        lane.ids.update(saved.ids.get(lane.settings.name, {}))
        observations = [o for o in saved.states.get(lane.settings.name, [])
                        if o.source in lane.scopes]
        for start in range(0, len(observations), RESTORE_CHUNK):
            lane.engine.load(observations[start : start + RESTORE_CHUNK], now)
            await asyncio.sleep(0)
    for source in relay.sources:
        source.restore_roster(saved.rosters.get(source.config.scope, {}))
    return saved


async def restore(relay: Relay) -> StateSaver:
    """Loads the relay's saved state into its lanes and sources (before they serve or watch
    anyone), and returns the saver that keeps the file current. The load runs in steps, so the
    sources' first requests and the sinks' listening go on meanwhile: a restart asks Genesys
    first, then serves the saved snapshot while the answers come back."""
    path = relay.settings.state_path
    assert path is not None
    # Hundreds of thousands of objects that live as long as the relay, and no garbage: with
    # the collector off while they are made, then settled out of its full passes, the load
    # takes a third less time.
    with _collector_off():
        saved = await _restore(relay, path)
    if saved is not None:
        relay.heap.settle()
        age = max(0.0, time.time() - saved.saved_at)
        relay.set_ready(f"restored from {path} (saved {age:.0f} s before)")

    def snapshot() -> Saved:
        return Saved(
            {source.config.scope: dict(source.roster) for source in relay.sources},
            {lane.settings.name: dict(lane.ids) for lane in relay.lanes},
            {lane.settings.name: lane.engine.observations() for lane in relay.lanes},
        )

    def changes() -> int:
        return sum(lane.feed.stats["changes"] for lane in relay.lanes)

    return StateSaver(path, snapshot, changes)

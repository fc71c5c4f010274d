"""The mapping files of a destination on disk: the queue mapping CSV and the agent mapping CSV.

The queue mapping's format and rules are in `wfmcli.reports.mapping`; this module finds the file,
reads it, and writes back the rows the policy made for new queues, so a generated key or code is
made once and kept (a temporary file renamed over the old one: a killed run leaves either).
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from wfmcli.errors import ConfigError, LockedError
from wfmcli.reports.mapping import Policy, QueueMap, QueueRow, Seen, parse, render

if TYPE_CHECKING:
    from wfmcli.config import Destination
    from wfmcli.reports.spec import Profile

log = logging.getLogger("wfm.mapping")
AGENT_COLUMNS = ("user_id", "agent_id", "name", "username", "email")


def queue_map_path(data_dir: Path, scope: str, destination: str, settings: Destination) -> Path:
    """The configured file, or the destination's default one in the data folder."""
    if settings.queue_map_file is not None:
        return settings.queue_map_file
    return data_dir / "mappings" / scope / f"{destination}-queues.csv"


def agent_map_path(data_dir: Path, scope: str, destination: str, settings: Destination) -> Path:
    """The configured agent mapping, or where `wfm map agents` writes one."""
    if settings.agent_map_file is not None:
        return settings.agent_map_file
    return data_dir / "mappings" / scope / f"{destination}-agents.csv"


def load_queue_map(path: Path, profile: Profile, policy: Policy | None = None) -> QueueMap:
    """The file's rows (none when it does not exist yet), checked against the profile's key;
    `policy` for unmapped pairs (None: the profile's)."""
    policy = policy or profile.queue_key.policy
    if not path.exists():
        return QueueMap([], profile.queue_key, policy, str(path))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the queue mapping {path}: {exc.strerror or exc}") from exc
    return parse(data, str(path), profile.queue_key, policy)


def save_queue_map(path: Path, mapping: QueueMap) -> None:
    _replace(path, render(mapping.rows))


@contextlib.contextmanager
def file_lock(path: Path, wait_s: float = 30.0) -> Iterator[None]:
    """Hold `<path>.lock` while the file is read and written again: `wfm map`, `wfm report` and
    `wfm run` may all add rows to one mapping at once."""
    from wfmcli.filelock import try_lock, unlock

    lock = path.with_name(path.name + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("a+", encoding="utf-8") as handle:
        deadline = time.monotonic() + wait_s
        while not try_lock(handle):
            if time.monotonic() > deadline:
                raise LockedError(
                    f"{path} is being updated by another wfm", hint="try again in a moment"
                )
            time.sleep(0.05)
        try:
            yield
        finally:
            unlock(handle)


def update_queue_map(
    path: Path, mapping: QueueMap, seen: Sequence[Seen], *, counts: bool = False
) -> list[QueueRow]:
    """Add rows for the pairs the file lacks, read afresh under the lock so an edit made since
    `mapping` was loaded is kept; `mapping` becomes what the file now says."""
    with file_lock(path):
        fresh = (
            parse(path.read_bytes(), str(path), mapping.spec, mapping.policy)
            if path.exists()
            else QueueMap([], mapping.spec, mapping.policy, str(path))
        )
        if counts:
            fresh.update_counts(seen)
        added = fresh.extend(seen)
        if added or counts or not path.exists():
            save_queue_map(path, fresh)
    mapping.rows = fresh.rows
    mapping.__post_init__()
    return added


def complete(path: Path | None, mapping: QueueMap, seen: Sequence[Seen]) -> list[QueueRow]:
    """Add rows for pairs the mapping lacks (by its policy), write them to the file, log each."""
    first = path is not None and not path.exists()
    if not mapping.missing(seen):
        return []
    added = update_queue_map(path, mapping, seen) if path is not None else mapping.extend(seen)
    if first and added:
        # the mapping's first writing is not news: queues that come later are
        log.info(
            "queue mapping %s made with %d row(s) (policy %s)", path, len(added), mapping.policy
        )
        return added
    for row in added:
        what = f"{row.queue_name or row.queue_id} {row.media} {row.direction}"
        if row.campaign_id:
            what += f" campaign {row.campaign_id}"
        outcome = (
            "excluded"
            if row.action == "exclude"
            else f"key {row.key!r}" + (f" code {row.code}" if row.code else "")
        )
        log.warning(
            "new queue in Genesys: %s -> %s (policy %s%s)",
            what,
            outcome,
            mapping.policy,
            f"; recorded in {path}" if path else "",
        )
    return added


# ---------------------------------------------------------------------- agents


@dataclass(frozen=True)
class AgentRow:
    user_id: str
    agent_id: str
    name: str = ""
    username: str = ""
    email: str = ""


def read_agent_rows(path: Path) -> list[AgentRow]:
    """The agent mapping as `wfm map agents` writes it (user id and agent id first)."""
    if not path.exists():
        return []
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the agent mapping {path}: {exc}") from exc
    rows = [r for r in csv.reader(io.StringIO(text)) if r and not r[0].startswith("#")]
    if rows and rows[0][0].strip().casefold() in ("user_id", "username", "email", "key"):
        rows = rows[1:]
    padded = [[*r, "", "", "", ""][:5] for r in rows]
    return [AgentRow(*(cell.strip() for cell in r)) for r in padded]


def write_agent_rows(path: Path, rows: Iterable[AgentRow]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(AGENT_COLUMNS)
    for row in rows:
        writer.writerow([row.user_id, row.agent_id, row.name, row.username, row.email])
    _replace(path, buffer.getvalue())


def agent_collisions(ids: Iterable[tuple[str, str]], width: int | None) -> list[str]:
    """Problems with agent ids for a vendor field of `width` characters: too long, or two agents
    on one id (also once cut to the width). We refuse; we never cut an id silently."""
    problems: list[str] = []
    owner: dict[str, str] = {}
    for user, agent_id in ids:
        if width is not None and len(agent_id) > width:
            cut = agent_id[:width]
            clash = owner.get(cut)
            problems.append(
                f"agent {user}: id {agent_id!r} is longer than the vendor's {width} characters"
                + (f" and would collide with {clash!r} once cut" if clash else "")
            )
            continue
        if agent_id in owner and owner[agent_id] != user:
            problems.append(f"agents {owner[agent_id]} and {user} share the id {agent_id!r}")
        owner[agent_id] = user
    return problems


def _replace(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".part")
    with temporary.open("w", encoding="utf-8", newline="") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)


# ---------------------------------------------------------------------- checks


def destination_problems(
    data_dir: Path, scope: str, destination: str, settings: Destination
) -> list[str]:
    """What `config validate` and `doctor` report about a destination's mapping files."""
    from wfmcli.reports.profiles import load_profile

    problems: list[str] = []
    try:
        profile = load_profile(settings.profile)
        path = queue_map_path(data_dir, scope, destination, settings)
        load_queue_map(path, profile, settings.unmapped_queues)
    except ConfigError as exc:
        problems.append(exc.one_line())
        return problems
    agents = agent_map_path(data_dir, scope, destination, settings)
    if agents.exists():
        try:
            rows = read_agent_rows(agents)
        except ConfigError as exc:
            return [*problems, exc.one_line()]
        problems += [
            f"{agents}: {problem}"
            for problem in agent_collisions(
                ((r.user_id, r.agent_id) for r in rows), profile.agent_key.max_length
            )
        ]
    return problems

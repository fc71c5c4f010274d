"""Whom each WFM was last told about, kept on disk across restarts.

After a restart or a roster change the relay logs out, at the WFM, every agent it told about
before and no longer covers (left the role or division while the relay was down, unlicensed,
re-mapped), before or with the new snapshot. One small JSON file per destination; writes are
batched (`flush`, called from the relay's housekeeping and at stop) and atomic (temp + rename).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wfmcli.paths import data_dir
from wfmcli.rta.model import AgentView, Change

if TYPE_CHECKING:
    from wfmcli.rta.engine import Engine
    from wfmcli.rta.records import Encoder

log = logging.getLogger("wfm.rta")


def told_path(scope: str, destination: str) -> Path:
    return data_dir() / "rta" / "told" / f"{scope}__{destination}.json"


class ToldStore:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._agents: set[str] = set()
        self._dirty = False
        if path is not None:
            self._agents = _read(path)

    def agents(self) -> set[str]:
        return set(self._agents)

    def replace(self, agents: Iterable[str]) -> None:
        new = set(agents)
        if new != self._agents:
            self._agents, self._dirty = new, True

    def update(self, contexts: Iterable[Mapping[str, Any]]) -> None:
        """Records just sent: logged-out and removed agents are forgotten, others remembered."""
        for ctx in contexts:
            agent = str(ctx["agent"])
            if ctx.get("removed"):
                if agent in self._agents:
                    self._agents.discard(agent)
                    self._dirty = True
            elif agent not in self._agents:
                self._agents.add(agent)
                self._dirty = True

    def flush(self) -> None:
        if not self._dirty or self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_suffix(".tmp")
        try:
            temp.write_text(json.dumps(sorted(self._agents)), encoding="utf-8")
            temp.replace(self.path)
        except OSError as exc:
            log.warning("cannot record the agents told to the WFM in %s: %s", self.path, exc)
            return
        self._dirty = False


def _read(path: Path) -> set[str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return set()
    except (OSError, ValueError) as exc:
        log.warning("ignoring the unreadable told-agents file %s: %s", path, exc)
        return set()
    return {str(agent) for agent in data} if isinstance(data, list) else set()


def stale_views(told: ToldStore | None, views: list[AgentView], offline: str | int,
                now_ms: int) -> list[AgentView]:
    """Logged-out views of the agents the WFM was told about that `views` no longer cover."""
    if told is None:
        return []
    covered = {view.agent for view in views}
    return [AgentView(agent, "", "OFFLINE", offline, "", now_ms)
            for agent in sorted(told.agents() - covered)]


def snapshot_bytes(encoder: Encoder, engine: Engine, told: ToldStore | None) -> bytes:
    """A connect snapshot: first a logout for every agent no longer covered, then everyone."""
    views = engine.snapshot()
    now = encoder.clock()
    stale = stale_views(told, views, engine.state_map.code("OFFLINE", "", None), now)
    gone = encoder.changes([Change(view, None, removed=True) for view in stale]) if stale else b""
    if stale:
        log.info("%s: logging out %d agents the WFM was told about and no longer covered",
                 encoder.layout.name, len(stale))
    data = gone + encoder.snapshot(views)
    if told is not None:
        told.replace(view.agent for view in views)
    return data

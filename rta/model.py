"""The values the state engine takes in and gives out. Times are epoch milliseconds (UTC)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class Presence:
    system: str  # UPPER_SNAKE, as notifications spell it: ON_QUEUE, BREAK, OFFLINE...
    secondary: str | None  # the user-defined presence's name, when one is set
    since_ms: int


@dataclass(frozen=True, slots=True)
class Routing:
    status: str  # OFF_QUEUE, IDLE, INTERACTING, COMMUNICATING, NOT_RESPONDING
    since_ms: int


@dataclass(frozen=True, slots=True)
class Media:
    """Detailed mode: which media an agent handles or wraps up; Genesys stamps no time on it."""

    active: tuple[str, ...]
    acw: tuple[str, ...]
    seen_ms: int


@dataclass(frozen=True, slots=True)
class Observation:
    """What one event or one REST read says about an agent; parts left None say nothing."""

    agent: str  # the WFM-side agent key (username, email, employee id or mapped id)
    source: str  # the scope it came from
    presence: Presence | None = None
    routing: Routing | None = None
    media: Media | None = None


@dataclass(frozen=True, slots=True)
class AgentView:
    """An agent's state as a vendor sees it: one per agent (combined) or per agent and source."""

    agent: str
    source: str  # "" when sources are blended into one stream
    state: str  # the state-map key: IDLE, INTERACTING, ACW, BREAK, OFFLINE...
    code: str | int
    reason: str
    since_ms: int
    media: str = ""  # detailed mode: the media the state is about (voice, chat...)

    @property
    def logged_in(self) -> bool:
        return self.state != "OFFLINE"

    def same_state(self, other: AgentView | None) -> bool:
        return (
            other is not None
            and other.state == self.state
            and other.code == self.code
            and other.reason == self.reason
            and other.media == self.media
        )


@dataclass(frozen=True, slots=True)
class Change:
    """A state a vendor must be told about; `previous` is what it was told last (None: never)."""

    view: AgentView
    previous: AgentView | None
    removed: bool = False  # the agent left the roster: said once as logged out, then forgotten


AgentIdMode = Literal["username", "email", "employee_id", "mapping"]


@dataclass(frozen=True)
class AgentIds:
    """How one destination names a Genesys user: by `mode`, or through the agent map."""

    mode: AgentIdMode = "username"
    agent_map: Mapping[str, str] | None = None  # casefolded id/username/email -> WFM id

    def of(self, user: Mapping[str, Any]) -> str | None:
        if self.mode == "mapping":
            mapping = self.agent_map or {}
            for key in ("id", "username", "email"):
                found = mapping.get(str(user.get(key) or "").casefold())
                if found:
                    return found
            return None
        if self.mode == "email":
            return str(user.get("email") or "") or None
        if self.mode == "employee_id":
            return str((user.get("employerInfo") or {}).get("employeeId") or "") or None
        return str(user.get("username") or "") or None

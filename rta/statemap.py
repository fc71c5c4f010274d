"""From Genesys presence, routing status and media to a vendor's state and reason codes.

The profile's `rta.state_map` gives a code for each base state key; a destination's
`rta.state_map` overrides or refines it. Refinements are tried first, most specific first:
`INTERACTING:voice` (detailed mode, by media), `BREAK:Lunch` (by secondary presence), then the
base key.
"""

from __future__ import annotations

from collections.abc import Mapping

from wfmcli.errors import ConfigError
from wfmcli.rta.model import Media, Presence, Routing

BASE_STATES: tuple[str, ...] = (
    "OFFLINE", "AVAILABLE", "IDLE", "INTERACTING", "ACW", "NOT_RESPONDING",
    "AWAY", "BREAK", "MEAL", "MEETING", "TRAINING", "BUSY",
)
_ROUTING_STATE = {
    "IDLE": "IDLE",
    "INTERACTING": "INTERACTING",
    "COMMUNICATING": "INTERACTING",
    "NOT_RESPONDING": "NOT_RESPONDING",
    "OFF_QUEUE": "AVAILABLE",  # on queue in presence, but routing has not caught up yet
}
# Genesys' IDLE system presence is "inactive at the desk", not routing IDLE.
_PRESENCE_STATE = {"IDLE": "AWAY"}
_TITLES = {"ON_QUEUE": "On Queue", "NOT_RESPONDING": "Not Responding"}


def derive(
    presence: Presence | None, routing: Routing | None, media: Media | None
) -> tuple[str, str, str | None]:
    """(state key, reason, media refinement) for one agent's parts."""
    system = presence.system if presence else "OFFLINE"
    if system == "OFFLINE":
        return "OFFLINE", "", None
    secondary = presence.secondary if presence else None
    if system == "ON_QUEUE":
        if media is not None and media.active:
            return "INTERACTING", "", media.active[0]
        if media is not None and media.acw:
            return "ACW", "", media.acw[0]
        status = routing.status if routing else "IDLE"
        return _ROUTING_STATE.get(status, "IDLE"), secondary or "", None
    state = _PRESENCE_STATE.get(system, system)
    reason = secondary or _TITLES.get(system, system.replace("_", " ").title())
    return state, reason, None


class StateMap:
    def __init__(
        self,
        profile_map: Mapping[str, str | int],
        overrides: Mapping[str, str | int] | None = None,
    ) -> None:
        self.codes: dict[str, str | int] = {**profile_map, **(overrides or {})}
        missing = [key for key in BASE_STATES if key not in self.codes]
        if missing:
            raise ConfigError(
                f"the RTA state map has no code for {', '.join(missing)}",
                hint="add them to the profile's rta.state_map or the destination's rta.state_map",
            )

    def code(self, state: str, reason: str, media: str | None) -> str | int:
        codes = self.codes
        if media is not None:
            refined = codes.get(f"{state}:{media}")
            if refined is not None:
                return refined
        if reason:
            refined = codes.get(f"{state}:{reason}")
            if refined is not None:
                return refined
        return codes[state]

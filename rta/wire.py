"""Genesys payloads (notification events and REST users) -> engine observations."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wfmcli.rta.model import Media, Observation, Presence, Routing

# conversationSummary keys -> our media names
_SUMMARY_MEDIA = {"call": "voice", "callback": "callback", "email": "email",
                  "message": "message", "chat": "chat"}
_PASCAL = re.compile(r"(?<=[a-z])(?=[A-Z])")


@dataclass(frozen=True, slots=True)
class PresenceDefinition:
    name: str
    primary: bool


def epoch_ms(value: Any) -> int:
    if not isinstance(value, str) or not value:
        return 0
    try:
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return 0


def system_presence(value: Any) -> str:
    """REST spells presences PascalCase (`OnQueue`), notifications UPPER_SNAKE (`ON_QUEUE`)."""
    text = str(value or "OFFLINE")
    return text if text.isupper() else _PASCAL.sub("_", text).upper()


def _presence(body: Any, definitions: Mapping[str, PresenceDefinition]) -> Presence | None:
    if not isinstance(body, dict):
        return None
    definition = body.get("presenceDefinition") or {}
    known = definitions.get(str(definition.get("id")))
    secondary = known.name if known is not None and not known.primary else None
    return Presence(
        system_presence(definition.get("systemPresence")), secondary,
        epoch_ms(body.get("modifiedDate")),
    )


def _routing(body: Any) -> Routing | None:
    if not isinstance(body, dict) or "status" not in body:
        return None
    return Routing(str(body["status"]), epoch_ms(body.get("startTime")))


def media(summary: Any, seen_ms: int) -> Media | None:
    if not isinstance(summary, dict):
        return None
    active: list[str] = []
    acw: list[str] = []
    for key, name in _SUMMARY_MEDIA.items():
        counts = (summary.get(key) or {}).get("contactCenter") or {}
        if counts.get("active"):
            active.append(name)
        if counts.get("acw"):
            acw.append(name)
    return Media(tuple(active), tuple(acw), seen_ms)


def from_activity(
    agent: str, source: str, body: Any, definitions: Mapping[str, PresenceDefinition]
) -> Observation:
    """`v2.users.{id}.activity`: presence and routing status together."""
    return Observation(agent, source, _presence(body.get("presence"), definitions),
                       _routing(body.get("routingStatus")))


def from_user(
    agent: str, source: str, user: Mapping[str, Any],
    definitions: Mapping[str, PresenceDefinition], now_ms: int,
) -> Observation:
    """A REST user with `expand=presence,routingStatus[,conversationSummary]`."""
    return Observation(
        agent, source, _presence(user.get("presence"), definitions),
        _routing(user.get("routingStatus")), media(user.get("conversationSummary"), now_ms),
    )


def topic_user(topic: str) -> tuple[str, str]:
    """`v2.users.{id}.activity` -> (id, 'activity')."""
    parts = topic.split(".")
    return (parts[2], parts[3]) if len(parts) == 4 else ("", "")

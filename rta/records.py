"""Vendor RTA records as data: a layout per protocol family, one encoder per framing.

A layout lists fields, each naming a value of the record context (agent, code, reason, event
type...) with an optional width or length cap. Framings: `delimited` (Verint STCI), `fixed`
(Aspect/Alvaria Universal ACD, the IEX template), `json` (JSON lines) and `calabrio` (state codes
for the HTTP batch API, encoded by its sink). The family comes from the profile's `rta.protocol`;
where a vendor's framing is not public (Verint, Aspect, IEX) the layout is our best public
knowledge and says so in the profile.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Literal

from wfmcli.errors import ConfigError
from wfmcli.rta.model import AgentView, Change

Framing = Literal["delimited", "fixed", "json", "calabrio"]
LinkStatus = Literal["normal", "unavailable", "shutdown"]
# Verint's extErrorCode: 0 agent event, 1 feed normal, 3 feed unavailable, 4 graceful shutdown.
EXT_ERROR = {"normal": 1, "unavailable": 3, "shutdown": 4}
VERINT_LOGIN, VERINT_LOGOUT, VERINT_CHANGE = 26, 27, 28


@dataclass(frozen=True)
class FieldSpec:
    name: str
    value: str  # a key of the record context
    width: int = 0  # fixed framing: exact width; delimited: a cap (0 = none)
    align: Literal["<", ">"] = "<"
    fill: str = " "


@dataclass(frozen=True)
class Layout:
    family: str
    framing: Framing
    fields: tuple[FieldSpec, ...] = ()
    header: tuple[FieldSpec, ...] = ()  # fixed framing: one header line per batch
    delimiter: str = "|"
    terminator: str = "\r\n"
    encoding: str = "ascii"
    time_format: str = "%Y-%m-%dT%H:%M:%S.{ms}Z"
    blend: Literal["combined", "per-source"] = "per-source"
    link_status: bool = False  # heartbeats and link-status records (Verint extErrorCode)
    max_code: int = 0  # state codes cut to this length (Calabrio: 25)


LAYOUTS: dict[str, Layout] = {
    "verint-stci": Layout(
        family="verint-stci",
        framing="delimited",
        fields=(
            FieldSpec("eventType", "event_type"),
            FieldSpec("agentId", "agent", 128),
            FieldSpec("monitorParty", "monitor_party"),
            FieldSpec("timeStamp", "since"),
            FieldSpec("agentMode", "code"),
            FieldSpec("agentGroup", "group", 24),
            FieldSpec("agentData", "agent_data"),
            FieldSpec("badDevType", "bad_dev_type"),
            FieldSpec("reasonCode", "reason", 24),
            FieldSpec("extErrorCode", "ext_error"),
        ),
        link_status=True,
        encoding="utf-8",
    ),
    "universal-acd": Layout(
        family="universal-acd",
        framing="fixed",
        header=(FieldSpec("recordType", "header_mark", 1), FieldSpec("timestamp", "now", 14)),
        fields=(
            FieldSpec("recordType", "record_mark", 1),
            FieldSpec("agentId", "agent", 10),
            FieldSpec("extension", "extension", 6),
            FieldSpec("stateCode", "code", 4, ">", "0"),
            FieldSpec("reasonCode", "reason_code", 4, ">", "0"),
            FieldSpec("workgroup", "group", 24),
            FieldSpec("timeInState", "seconds_in_state", 6, ">", "0"),
        ),
        time_format="%Y%m%d%H%M%S",
    ),
    "iex-template": Layout(
        family="iex-template",
        framing="fixed",
        fields=(
            FieldSpec("agentId", "agent", 16),
            FieldSpec("stateCode", "code", 4, ">", "0"),
            FieldSpec("reason", "reason", 16),
            FieldSpec("timestamp", "since", 14),
        ),
        time_format="%Y%m%d%H%M%S",
    ),
    "calabrio-batch": Layout(
        family="calabrio-batch", framing="calabrio", blend="combined", max_code=25
    ),
    "json": Layout(family="json", framing="json", terminator="\n", encoding="utf-8"),
}
# Keywords of the profile's `rta.protocol`, most specific first.
_FAMILY_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("rta/state", "calabrio-batch"),
    ("stci", "verint-stci"),
    ("verint", "verint-stci"),
    ("universal acd", "universal-acd"),
    ("iex", "iex-template"),
)


def family_for(protocol: str) -> str | None:
    """The layout named by a profile's rta.format, or guessed from its protocol text."""
    if protocol in LAYOUTS:
        return protocol
    text = protocol.casefold()
    return next((family for word, family in _FAMILY_KEYWORDS if word in text), None)


def layout_for(protocol: str, *, unicode: bool = False) -> Layout:
    family = family_for(protocol)
    if family is None:
        raise ConfigError(
            f"no RTA record layout for the protocol {protocol!r}",
            hint="the relay speaks Verint STCI, Universal ACD, the IEX template and Calabrio's "
            "Rta/State/Batch; use --stdout for JSON lines",
        )
    layout = LAYOUTS[family]
    if unicode and layout.framing == "fixed":
        return replace(layout, encoding="utf-16-le")
    return layout


def _time(ms: int, layout: Layout) -> str:
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.strftime(layout.time_format).replace("{ms}", f"{ms % 1000:03d}")


def _event_type(change: Change) -> int:
    previous = change.previous
    if not change.view.logged_in:
        return VERINT_LOGOUT
    if previous is None or not previous.logged_in:
        return VERINT_LOGIN
    return VERINT_CHANGE


def _context(view: AgentView, event_type: int, now_ms: int, layout: Layout) -> dict[str, object]:
    return {
        "agent": view.agent,
        "source": view.source,
        "state": view.state,
        "code": view.code,
        "reason": view.reason,
        "reason_code": "",
        "group": "",
        "extension": "",
        "monitor_party": "",
        "agent_data": "",
        "bad_dev_type": "",
        "event_type": event_type,
        "ext_error": 0,
        "since": _time(view.since_ms, layout),
        "now": _time(now_ms, layout),
        "seconds_in_state": max(0, (now_ms - view.since_ms) // 1000),
        "record_mark": "A",
        "header_mark": "H",
    }


def _cell(spec: FieldSpec, value: object, fixed: bool) -> str:
    text = str(value)
    if spec.width:
        text = text[: spec.width]
        if fixed:
            text = f"{text:{spec.fill}{spec.align}{spec.width}}"
    return text


@dataclass
class Encoder:
    """Bytes for changes, snapshots and link status in one layout."""

    layout: Layout
    clock: Callable[[], int] = field(default=lambda: int(datetime.now(UTC).timestamp() * 1000))

    def _line(self, specs: Iterable[FieldSpec], context: dict[str, object]) -> str:
        fixed = self.layout.framing == "fixed"
        cells = [_cell(spec, context[spec.value], fixed) for spec in specs]
        joiner = "" if fixed else self.layout.delimiter
        return joiner.join(cells) + self.layout.terminator

    def _json(self, view: AgentView, event: str, now_ms: int) -> str:
        record = {
            "event": event, "agent": view.agent, "source": view.source, "state": view.state,
            "code": view.code, "reason": view.reason, "since_ms": view.since_ms,
            "sent_ms": now_ms,
        }
        return json.dumps(record, separators=(",", ":")) + self.layout.terminator

    def changes(self, changes: Iterable[Change]) -> bytes:
        now = self.clock()
        if self.layout.framing == "json":
            text = "".join(
                self._json(c.view, "removed" if c.removed else "change", now) for c in changes
            )
            return text.encode(self.layout.encoding)
        lines = [
            self._line(self.layout.fields, _context(c.view, _event_type(c), now, self.layout))
            for c in changes
        ]
        return self._batch(lines, now)

    def snapshot(self, views: Iterable[AgentView]) -> bytes:
        now = self.clock()
        if self.layout.framing == "json":
            return "".join(self._json(v, "snapshot", now) for v in views).encode(
                self.layout.encoding
            )
        lines = []
        for view in views:
            event_type = VERINT_LOGIN if view.logged_in else VERINT_LOGOUT
            lines.append(self._line(self.layout.fields, _context(view, event_type, now,
                                                                 self.layout)))
        return self._batch(lines, now)

    def _batch(self, lines: list[str], now: int) -> bytes:
        if not lines:
            return b""
        if self.layout.header:
            header_context: dict[str, object] = {"header_mark": "H",
                                                 "now": _time(now, self.layout)}
            lines.insert(0, self._line(self.layout.header, header_context))
        return "".join(lines).encode(self.layout.encoding, errors="replace")

    def link(self, status: LinkStatus) -> bytes:
        """A link-status record (also the heartbeat) where the protocol has one, else b''."""
        if not self.layout.link_status:
            return b""
        now = self.clock()
        blank = AgentView("", "", "", "", "", now)
        context = _context(blank, VERINT_CHANGE, now, self.layout)
        context["ext_error"] = EXT_ERROR[status]
        context["since"] = _time(now, self.layout)
        return self._line(self.layout.fields, context).encode(self.layout.encoding)


def state_code(view: AgentView, layout: Layout) -> str:
    code = str(view.code)
    return code[: layout.max_code] if layout.max_code else code

"""Vendor RTA records from data: the profile's `rta` layout, compiled once, applied per record.

A layout (see `reports.spec.RtaSpec`) lists fields, each an expression in the reports' safe
language over the agent view (`reports.spec.RTA_NAMES`), then an optional value map, a format
(raw, text, int, datetime:PATTERN with {ms} for milliseconds), a width with pad and alignment,
and an overflow policy. Framings: `delimited` (fields joined by a delimiter, widths are caps),
`fixed` (every field padded to its width), `json` (one object per record: JSON lines, or the
records of an HTTP push body). A value that does not fit is a `RecordError`, never cut
silently: the record is held back and the agent named, unless the field says `truncate`.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from importlib.resources import files
from typing import Any, Literal, TypeVar

from wfmcli.errors import ConfigError
from wfmcli.reports.expr import Binary, Call, Expression, Name, Node, Unary
from wfmcli.reports.expr import Literal as Lit
from wfmcli.reports.spec import RtaField, RtaSpec
from wfmcli.rta.model import AgentView, Change

log = logging.getLogger("wfm.rta.records")
Framing = Literal["delimited", "fixed", "json"]
LinkStatus = Literal["starting", "normal", "unavailable", "shutdown"]
Context = dict[str, Any]
Compiled = Callable[[Context], Any]
T = TypeVar("T")


class RecordError(ConfigError):
    """A value that the layout cannot carry (too wide, unmapped, not encodable)."""


# -- the safe language over one record's values ---------------------------------------------


# Directives that time.strftime writes as datetime.strftime does for a UTC moment, in a third
# of the time (a timestamp is in every record); any other pattern goes through datetime.
_PLAIN_TIME = re.compile(r"(?:[^%]|%[YmdHMSjaAbBpIyU%])*")


_plain_patterns: dict[str, bool] = {}


def _fmt_time(ms: Any, pattern: str) -> str:
    millis = int(ms)
    plain = _plain_patterns.get(pattern)
    if plain is None:
        plain = _plain_patterns[pattern] = _PLAIN_TIME.fullmatch(pattern) is not None
    if "{ms}" in pattern:
        pattern = pattern.replace("{ms}", f"{millis % 1000:03d}")
    if plain and millis >= 0:
        return time.strftime(pattern, time.gmtime(millis // 1000))
    return datetime.fromtimestamp(millis / 1000, UTC).strftime(pattern)


def _text(value: Any) -> str:
    if type(value) is str:  # the common case first: this runs for every field of every record
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def _round(value: Any) -> int:
    return math.floor(float(value) + 0.5)


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "if": lambda cond, then, other: then if cond else other,
    "min": lambda *values: min(values),
    "max": lambda *values: max(values),
    "abs": abs,
    "round": _round,
    "floor": lambda x: math.floor(x),
    "ceil": lambda x: math.ceil(x),
    "fmt": _fmt_time,
    "concat": lambda *values: "".join(_text(v) for v in values),
    "text": _text,
    "left": lambda value, count: _text(value)[: int(count)],
    "upper": lambda value: _text(value).upper(),
    "lower": lambda value: _text(value).lower(),
    "coalesce": lambda value, fallback: fallback if value in ("", None) else value,
}
# Scalar twins of reports.evaluate's (those work on pandas columns): the relay stays pandas-free.
_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b if b else 0,  # as in reports: an empty average is 0
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def compile_expression(source: str) -> Compiled:
    """A closure that evaluates `source` over one record's context (plain Python values)."""
    return _compile(Expression(source).tree)


def _compile(node: Node) -> Compiled:
    if isinstance(node, Lit):
        value = node.value
        return lambda _context: value
    if isinstance(node, Name):
        key = node.name
        return lambda context: context[key]
    if isinstance(node, Unary):
        operand = _compile(node.operand)
        if node.op == "-":
            return lambda context: -operand(context)
        return lambda context: not operand(context)
    if isinstance(node, Binary):
        left, right = _compile(node.left), _compile(node.right)
        if node.op == "and":
            return lambda context: bool(left(context)) and bool(right(context))
        if node.op == "or":
            return lambda context: bool(left(context)) or bool(right(context))
        operator = _OPERATORS[node.op]
        return lambda context: operator(left(context), right(context))
    assert isinstance(node, Call)
    function = _FUNCTIONS[node.function]
    args = [_compile(arg) for arg in node.args]
    if node.function == "if":  # only the branch taken is evaluated
        cond, then, other = args
        return lambda context: then(context) if cond(context) else other(context)
    return lambda context: function(*(arg(context) for arg in args))


# -- layouts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    name: str
    value: Compiled
    source: str
    format: str = "raw"
    width: int | None = None
    pad: str = " "
    align: Literal["left", "right"] = "left"
    truncate: bool = False
    values: Mapping[str, str | int] | None = None
    default: str | int | None = None


@dataclass(frozen=True)
class Layout:
    name: str  # the profile (or layout file) it came from
    framing: Framing
    fields: tuple[FieldSpec, ...]
    header: tuple[FieldSpec, ...] = ()  # one header record per batch (Universal ACD)
    delimiter: str = "|"
    terminator: str = "\r\n"
    encoding: str = "ascii"
    blend: Literal["combined", "per-source"] = "per-source"
    link_status: bool = False  # heartbeats and link-status records (Verint extErrorCode)

    def widths(self, name: str = "agent") -> list[tuple[str, int]]:
        """(field, width) of the fields whose expression reads `name`."""
        return [(f.name, f.width) for f in self.fields
                if f.width and name in Expression(f.source).names]


def _field(spec: RtaField, framing: Framing) -> FieldSpec:
    numeric = spec.format == "int"
    return FieldSpec(
        name=spec.name,
        value=compile_expression(spec.source),
        source=spec.source,
        format=spec.format,
        width=spec.width,
        pad=spec.pad,
        align=spec.align or ("right" if numeric else "left"),
        truncate=spec.overflow == "truncate",
        values=spec.map,
        default=spec.default,
    )


def apply_overrides(rta: RtaSpec) -> list[RtaField]:
    """The layout's fields with `override` (field name -> keys) merged in."""
    fields = []
    for spec in rta.fields:
        changes = rta.override.get(spec.name)
        fields.append(RtaField.model_validate({**spec.model_dump(exclude_unset=True), **changes})
                      if changes else spec)
    return fields


def layout_from(rta: RtaSpec, name: str, *, unicode: bool = False) -> Layout:
    """The compiled layout of a profile's rta section; ConfigError when it has none."""
    if rta.framing is None or not rta.fields:
        raise ConfigError(
            f"profile {name!r} declares no RTA record layout for {rta.protocol!r}",
            hint="add rta.framing and rta.fields to the profile (or a profile that extends it), "
            "or use --stdout for JSON lines",
        )
    framing = rta.framing
    encoding = "utf-16-le" if unicode and framing == "fixed" else rta.encoding
    return Layout(
        name=name,
        framing=framing,
        fields=tuple(_field(spec, framing) for spec in apply_overrides(rta)),
        header=tuple(_field(spec, framing) for spec in rta.header),
        delimiter=rta.delimiter,
        terminator=rta.terminator,
        encoding=encoding,
        blend=rta.blend,
        link_status=rta.link_records,
    )


def builtin_layout(name: str) -> Layout:
    """A layout shipped as data in profiles/layouts/ (json-lines: the stdout sink's)."""
    from wfmcli.config.yamlfile import parse_yaml

    entry = files("wfmcli.profiles").joinpath("layouts", f"{name}.yaml")
    document = parse_yaml(entry.read_text(encoding="utf-8"), f"built-in layouts/{name}.yaml",
                          trusted=True)
    return layout_from(RtaSpec.model_validate(document.data), name)


# -- records ----------------------------------------------------------------------------------


def event_of(change: Change) -> str:
    if change.removed or not change.view.logged_in:
        return "logout"
    previous = change.previous
    return "login" if previous is None or not previous.logged_in else "change"


def context(view: AgentView, event: str, now_ms: int, *, snapshot: bool = False,
            removed: bool = False, link: str = "") -> Context:
    return {
        "agent": view.agent,
        "source": view.source,
        "state": view.state,
        "code": view.code,
        "reason": view.reason,
        "media": view.media,
        "since": view.since_ms,
        "now": now_ms,
        "seconds_in_state": max(0, (now_ms - view.since_ms) // 1000),
        "event": event,
        "snapshot": snapshot,
        "removed": removed,
        "logged_in": view.logged_in,
        "link": link,
        "count": 0,
    }


def _typed(spec: FieldSpec, context: Context) -> Any:
    value = spec.value(context)
    if spec.values is not None:
        key = _text(value)
        if key in spec.values:
            value = spec.values[key]
        elif spec.default is not None:
            value = spec.default
        else:
            raise RecordError(f"field {spec.name}: {key!r} is not in its map",
                              hint=f"add {key!r} (or a default) to the field's map")
    kind = spec.format
    if kind == "raw":
        return value
    if kind == "int":
        try:
            return int(value)
        except (TypeError, ValueError):
            raise RecordError(f"field {spec.name}: {value!r} is not a whole number") from None
    if kind == "text":
        return _text(value)
    return _fmt_time(value, kind[9:])  # datetime:PATTERN


def _fit(spec: FieldSpec, text: str, fixed: bool) -> str:
    width = spec.width
    if width is None:
        return text
    if len(text) > width:
        if not spec.truncate:
            raise RecordError(f"field {spec.name}: {text!r} is {len(text)} characters, the "
                              f"field holds {width}",
                              hint="widen the field in a profile that extends this one; for "
                              "agent ids, give the agents ids that fit (agent_id: mapping "
                              "with an agent map)")
        text = text[:width]
    if fixed:
        return text.rjust(width, spec.pad) if spec.align == "right" else text.ljust(width,
                                                                                     spec.pad)
    return text


def _cell_maker(spec: FieldSpec, fixed: bool) -> Callable[[Context], str]:
    """One field's text in a delimited or fixed record; the same as `_fit(_text(_typed()))`,
    in a third of the time, with only the steps the spec needs (this runs for every field of
    every record: a snapshot of 100,000 agents). Anything unusual takes the general path."""

    def general(ctx: Context) -> str:
        return _fit(spec, _text(_typed(spec, ctx)), fixed)

    if not Expression(spec.source).names:  # a constant: the same text in every record
        made: list[str] = []

        def constant(ctx: Context) -> str:
            if not made:
                made.append(general(ctx))  # a misfit raises here, as every time after
            return made[0]

        return constant
    value, values, default, width = spec.value, spec.values, spec.default, spec.width
    if spec.format.startswith("datetime:") and values is None and width is None:
        pattern = spec.format[9:]
        return lambda ctx: _fmt_time(value(ctx), pattern)
    if spec.format not in ("raw", "text"):
        return general
    if values is None:
        if width is None:
            return lambda ctx: _text(value(ctx))
        return lambda ctx: _fit(spec, _text(value(ctx)), fixed)

    def mapped(ctx: Context) -> str:
        found = values.get(_text(value(ctx)), default)  # a map's values are never None
        if found is None:
            return general(ctx)  # not in the map and no default: the general path says so
        return _text(found) if width is None else _fit(spec, _text(found), fixed)

    return mapped


def _inside(text: str, cells: list[str], delimiter: str, terminator: str) -> bool:
    """Whether a cell may hold the delimiter or the terminator (then each is checked): a
    one-character delimiter occurs in the joined text once per joint exactly when no cell has
    it, and a terminator in a cell is in the joined text (one there across a joint is checked
    and found harmless)."""
    if terminator in text:
        return True
    if len(delimiter) == 1:
        return text.count(delimiter) != len(cells) - 1
    return any(delimiter in cell for cell in cells)


def _now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


@dataclass
class Encoder:
    """Bytes (or JSON objects) for changes, snapshots and link status in one layout.

    A record that cannot be written is left out and its agent remembered in `rejected`
    (logged once per agent); everything else still goes out.
    """

    layout: Layout
    clock: Callable[[], int] = field(default=_now_ms)
    rejected: dict[str, str] = field(default_factory=dict)
    quiet: bool = False  # collect misfits in `rejected` without logging them
    # per field (by identity, the spec kept with it): how its text is made, with only the
    # steps its spec needs; and the list of them for the layout's fields and header
    _cells: dict[int, tuple[FieldSpec, Callable[[Context], str]]] = field(
        default_factory=dict, init=False, repr=False, compare=False)
    _rows: dict[int, list[Callable[[Context], str]]] = field(
        default_factory=dict, init=False, repr=False, compare=False)

    # -- one record ---------------------------------------------------------------------------

    def record(self, ctx: Context) -> dict[str, Any]:
        """The fields of one record as JSON values (json framing, HTTP bodies)."""
        return {spec.name: self._json_value(spec, ctx) for spec in self.layout.fields}

    def _json_value(self, spec: FieldSpec, ctx: Context) -> Any:
        value = _typed(spec, ctx)
        if spec.width is not None or spec.format != "raw":
            if isinstance(value, str):
                return _fit(spec, value, False)
            _fit(spec, _text(value), False)
        return value

    def line(self, specs: Iterable[FieldSpec], ctx: Context) -> bytes:
        layout = self.layout
        if layout.framing == "json":
            text = json.dumps({s.name: self._json_value(s, ctx) for s in specs},
                              separators=(",", ":"), ensure_ascii=False)
            return self._encode(text + layout.terminator)
        fixed = layout.framing == "fixed"
        joiner = "" if fixed else layout.delimiter
        made: str | None = None
        try:
            cells = [make(ctx) for make in self._makers(specs, fixed)]
            made = joiner.join(cells)
        except RecordError:
            pass
        if made is None or (not fixed and _inside(made, cells, joiner, layout.terminator)):
            made = joiner.join(self._checked_cells(specs, ctx, fixed))  # raises the first problem
        return self._encode(made + layout.terminator)

    def _makers(self, specs: Iterable[FieldSpec], fixed: bool) -> list[Callable[[Context], str]]:
        layout = self.layout
        whole = specs is layout.fields or specs is layout.header
        if whole and (row := self._rows.get(id(specs))) is not None:
            return row
        makers = []
        for spec in specs:
            known = self._cells.get(id(spec))
            if known is None or known[0] is not spec:
                known = self._cells[id(spec)] = (spec, _cell_maker(spec, fixed))
            makers.append(known[1])
        if whole:
            self._rows[id(specs)] = makers
        return makers

    def _checked_cells(self, specs: Iterable[FieldSpec], ctx: Context, fixed: bool
                       ) -> list[str]:
        """Field by field, in order: the first field that cannot be written raises."""
        layout = self.layout
        cells = []
        for spec in specs:
            cell = _fit(spec, _text(_typed(spec, ctx)), fixed)
            if not fixed and (layout.delimiter in cell or layout.terminator in cell):
                raise RecordError(f"field {spec.name}: {cell!r} contains the delimiter or the "
                                  "record terminator")
            cells.append(cell)
        return cells

    def _encode(self, text: str) -> bytes:
        try:
            return text.encode(self.layout.encoding)
        except UnicodeEncodeError as exc:
            bad = exc.object[exc.start : exc.end]
            raise RecordError(f"{bad!r} cannot be written in {self.layout.encoding}",
                              hint="choose an encoding that holds it (rta.encoding, unicode)"
                              ) from None


    def agent_record(self, ctx: Context) -> dict[str, Any] | None:
        """One agent's record as JSON values, or None when it cannot be written."""
        return self._guarded(ctx, lambda: self.record(ctx))

    def _guarded(self, ctx: Context, make: Callable[[], T]) -> T | None:
        try:
            data = make()
        except RecordError as exc:
            self._reject(ctx, exc)
            return None
        if self.rejected:
            self.rejected.pop(str(ctx["agent"]), None)
        return data

    def _reject(self, ctx: Context, exc: RecordError) -> None:
        agent = str(ctx["agent"])
        if agent not in self.rejected and not self.quiet:
            log.error("RTA record for agent %r not sent (%s): %s", agent, self.layout.name,
                      exc.one_line())
        self.rejected[agent] = exc.message

    # -- batches ------------------------------------------------------------------------------

    def contexts(self, changes: Iterable[Change], now: int) -> list[Context]:
        return [context(c.view, event_of(c), now, removed=c.removed) for c in changes]

    def snapshot_contexts(self, views: Iterable[AgentView], now: int) -> list[Context]:
        return [context(v, "login" if v.logged_in else "logout", now, snapshot=True)
                for v in views]

    def changes(self, changes: Iterable[Change]) -> bytes:
        now = self.clock()
        return self._batch(self.contexts(changes, now), now)

    def snapshot(self, views: Iterable[AgentView]) -> bytes:
        now = self.clock()
        return self._batch(self.snapshot_contexts(views, now), now)

    def _batch(self, contexts: list[Context], now: int) -> bytes:
        # `_guarded` written out: this loop runs once per agent of every snapshot
        fields, rejected, lines = self.layout.fields, self.rejected, []
        for ctx in contexts:
            try:
                line = self.line(fields, ctx)
            except RecordError as exc:
                self._reject(ctx, exc)
                continue
            if rejected:
                rejected.pop(str(ctx["agent"]), None)
            if line:
                lines.append(line)
        if not lines:
            return b""
        if self.layout.header:
            header = context(AgentView("", "", "", "", "", now), "header", now)
            header["count"] = len(lines)
            lines.insert(0, self.line(self.layout.header, header))
        return b"".join(lines)

    def link(self, status: LinkStatus) -> bytes:
        """A link-status record (also the heartbeat) where the protocol has one, else b''."""
        if not self.layout.link_status:
            return b""
        now = self.clock()
        blank = AgentView("", "", "", "", "", now)
        return self.line(self.layout.fields, context(blank, "link", now, link=status))

    # -- checks -------------------------------------------------------------------------------

    def misfits(self, agents: Iterable[str]) -> dict[str, str]:
        """Agent ids the layout cannot carry, each with why (a probe record per agent)."""
        now = self.clock()
        specs = [s for s in self.layout.fields if "agent" in Expression(s.source).names]
        found: dict[str, str] = {}
        for agent in agents:
            probe = AgentView(agent, "", "OFFLINE", "", "", now)
            try:
                for spec in specs:
                    self.line((spec,), context(probe, "logout", now))
            except RecordError as exc:
                found[agent] = exc.message
        return found


def with_encoding(layout: Layout, encoding: str) -> Layout:
    return replace(layout, encoding=encoding)


def id_problems(layout: Layout, agents: dict[str, str], where: str, limit: int = 5) -> list[str]:
    """Agents (user -> WFM id) whose ids do not fit the layout, as one line per problem."""
    misfits = Encoder(layout).misfits(sorted(set(agents.values())))
    if not misfits:
        return []
    widths = ", ".join(f"{name} holds {width}" for name, width in layout.widths())
    shown = ", ".join(sorted(misfits)[:limit])
    more = f" and {len(misfits) - limit} more" if len(misfits) > limit else ""
    return [f"{where}: {len(misfits)} agent id(s) do not fit the {layout.name} record "
            f"({widths or 'see the layout'}): {shown}{more}; give them ids that fit "
            "(agent_id: mapping, agent_map_file) or widen the field in a profile that extends "
            f"{layout.name}"]

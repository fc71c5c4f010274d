"""The profile schema: what a vendor profile YAML may say, validated by pydantic.

A profile is data: its reports name a canonical frame, how rows are grouped, filtered and laid out,
and each output column as an expression (see `reports.expr`). Names an expression may read are the
frame's columns (see `wfmcli.frames`), the derived names in `DERIVED` and the profile's constants.
"""

from __future__ import annotations

import codecs
import re
from datetime import UTC, datetime
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from wfmcli import frames
from wfmcli.reports.expr import Expression, ExpressionError
from wfmcli.reports.mapping import MAPPED

DERIVED = {
    "local_start": "interval (or event) start in the destination's zone",
    "local_end": "interval end in the destination's zone",
    "interval_end": "interval end, UTC",
    "interval": "the destination's interval length in minutes",
}
_FORMAT = re.compile(
    r"^(?:text|int|seconds|mm:ss|hh:mm:ss|(?:percent|ratio|decimal)(?::\d)?|datetime:.+)$"
)
FORMAT_HELP = (
    "text, int, seconds, mm:ss, hh:mm:ss, percent[:N], ratio[:N], decimal[:N], datetime:PATTERN"
)
Publication = Literal["published", "partial", "template"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _expression(value: str | None) -> str | None:
    if value is not None:
        try:
            Expression(value)
        except ExpressionError as exc:
            raise ValueError(f"invalid expression {value!r}: {exc}") from exc
    return value


class ColumnSpec(Strict):
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    expr: str | None = None
    title: str | None = None
    format: str = "int"
    width: int | None = Field(default=None, ge=1)
    align: Literal["left", "right"] | None = None
    gap: int = Field(default=0, ge=0)
    overflow: Literal["error", "truncate", "extend"] = "error"

    _check_expr = field_validator("expr")(lambda v: _expression(v))

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        if not _FORMAT.match(value):
            raise ValueError(f"unknown format {value!r}; allowed: {FORMAT_HELP}")
        return value

    @property
    def source(self) -> str:
        return self.expr or self.name

    @property
    def label(self) -> str:
        return self.name if self.title is None else self.title

    @property
    def alignment(self) -> Literal["left", "right"]:
        if self.align:
            return self.align
        return "left" if self.format == "text" or self.format.startswith("datetime") else "right"


class Check(Strict):
    """A vendor consistency rule, checked before a file is written.

    per: row  -> `rule` must hold on every output row; a failure stops the file.
    per: day  -> per `group` and local day, `left` must equal `right`. Genesys counts each metric
                 at its emit time, so a contact offered before midnight and answered after it
                 unbalances both days. An imbalance the day's edges can explain is a warning;
                 anything else stops the file. The edges are the first and last `carry_window`
                 minutes, widened by `wait` (seconds, per row): a row whose longest wait reaches
                 back past midnight may hold yesterday's contacts, and the group's longest wait of
                 the day bounds how long before midnight a still-waiting contact was offered.
    """

    name: str
    per: Literal["row", "day"] = "row"
    rule: str | None = None
    left: str | None = None
    right: str | None = None
    group: list[str] = Field(default_factory=list)
    carry_window: int = Field(default=60, ge=0)
    wait: str | None = None

    _check_exprs = field_validator("rule", "left", "right", "wait")(lambda v: _expression(v))

    @model_validator(mode="after")
    def _shape(self) -> Check:
        if self.per == "row" and (self.rule is None or self.left or self.right):
            raise ValueError("a per: row check needs rule (and no left/right)")
        if self.per == "day" and (self.rule is not None or not self.left or not self.right):
            raise ValueError("a per: day check needs left and right (and no rule)")
        if self.per == "row" and self.wait is not None:
            raise ValueError("wait applies to per: day checks only")
        return self


class ReportSpec(Strict):
    description: str = ""
    publication: Publication = "template"
    reference: str = ""
    frame: Literal["queue_interval", "agent_interval", "agent_queue_interval", "agent_status"]
    filter: str | None = None
    keys: list[str] = Field(default_factory=list)
    aggregate: bool = True
    sort: list[str] = Field(default_factory=list)
    per: Literal["interval", "day"] = "interval"
    fill: bool = False
    layout: Literal["delimited", "fixed"] = "delimited"
    delimiter: str = ","
    quoting: Literal["minimal", "all", "none"] = "minimal"
    quote_char: str = Field(default='"', min_length=1, max_length=1)
    encoding: str = "utf-8"
    line_ending: Literal["lf", "crlf"] = "lf"
    line_suffix: str = ""
    null_text: str = ""
    header: list[str] = Field(default_factory=list)
    trailer: list[str] = Field(default_factory=list)
    file_name: str
    repeat_marker: str = "_2"  # what {fold} becomes in the repeated hour of a fall-back day
    max_name_length: int | None = Field(default=None, ge=1)
    max_bytes: int | None = Field(default=None, ge=1)
    columns: list[ColumnSpec] = Field(min_length=1)
    checks: list[Check] = Field(default_factory=list)
    # the output column that counts contacts (queue reports): what `wfm reconcile` adds up
    contacts: str | None = None
    # the repeated hour of a fall-back day: `marker` keeps its intervals apart ({fold} in the file
    # name tells the second pass's files apart); `combine` writes the second pass into the first
    # pass's file, after it (one file, both periods, for names that cannot carry a marker);
    # `merge` adds the second pass into the first (one row per local date and time)
    repeated_hour: Literal["marker", "combine", "merge"] = "marker"

    _check_filter = field_validator("filter")(lambda v: _expression(v))

    @model_validator(mode="after")
    def _safe_file_name(self) -> ReportSpec:
        check_file_name(self.file_name, self.max_name_length)
        return self

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError as exc:
            raise ValueError(
                f"unknown encoding {value!r}; use e.g. utf-8, utf-16-le, cp1252"
            ) from exc
        return value

    @field_validator("delimiter")
    @classmethod
    def _one_character(cls, value: str) -> str:
        if len(value) != 1:
            raise ValueError(f"delimiter must be one character, not {value!r}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ReportSpec:
        frame_spec = frames.FRAMES[self.frame]
        names = [column.name for column in self.columns]
        if len(set(names)) != len(names):
            raise ValueError("column names must be unique")
        for key in self.keys:
            if not (key in MAPPED and "queue_id" in frame_spec.names):
                _frame_column(frame_spec, key, "keys")
        if self.contacts is not None and self.contacts not in names:
            raise ValueError(f"contacts: {self.contacts!r} is not one of the report's columns")
        if self.layout == "fixed" and any(c.width is None for c in self.columns):
            raise ValueError("a fixed layout needs a width on every column")
        if self.repeated_hour == "merge" and (self.frame == "agent_status" or not self.aggregate):
            raise ValueError("repeated_hour: merge needs an aggregated interval frame")
        if self.fill and (self.frame == "agent_status" or not self.aggregate):
            raise ValueError("fill needs an aggregated interval frame, not agent_status")
        return self

    @property
    def newline(self) -> str:
        return "\r\n" if self.line_ending == "crlf" else "\n"


# What a file-name template may use: the fields render passes (reports.render), and nothing
# else: no attribute access, no secrets, nothing that leaves the destination's folder.
FILE_NAME_FIELDS = frozenset(
    {"start", "end", "start_utc", "now", "fold", "rows", "intervals", "interval", "report",
     "profile", "sum", "const"}
)  # fmt: skip
NAME_MAX = 255  # bytes in one file name on every common file system and server
_TEMPLATE_PART = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_FIELD = re.compile(r"^([a-z_]+)(?::([^{}]*))?$")
_SAMPLE_TIME = datetime(2026, 12, 31, 23, 45, tzinfo=UTC)
_SAMPLES: dict[str, object] = {
    "start": _SAMPLE_TIME, "end": _SAMPLE_TIME, "start_utc": _SAMPLE_TIME, "now": _SAMPLE_TIME,
    "fold": "_2", "rows": 99999, "intervals": 96, "interval": 60, "report": "r" * 24,
    "profile": "p" * 24, "sum": 999999999, "const": "c" * 24,
}  # fmt: skip


def check_file_name(template: str, max_length: int | None) -> None:
    """Raise ValueError unless the template names only declared fields, stays inside the
    output folder and renders to a name within the length limit."""
    sample = _TEMPLATE_PART.sub(lambda m: _sample_text(m, template), template)
    if "\\" in sample or sample.startswith("/") or re.match(r"^[A-Za-z]:", sample):
        raise ValueError(f"file_name {template!r} must be a relative path (no \\, / or C:)")
    parts = sample.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"file_name {template!r} must stay inside the output folder")
    limit = min(max_length or NAME_MAX, NAME_MAX)
    if len(parts[-1].encode("utf-8")) > limit:
        raise ValueError(
            f"file_name {template!r} makes names of {len(parts[-1].encode())} characters; "
            f"the limit is {limit}"
        )


def _sample_text(match: re.Match[str], template: str) -> str:
    whole = match.group(0)
    if whole in ("{{", "}}"):
        return whole[0]
    field = _FIELD.match(match.group(1) or "")
    if field is None or field.group(1) not in FILE_NAME_FIELDS:
        raise ValueError(
            f"file_name {template!r}: {whole} is not a field a file name can use "
            f"(fields: {', '.join(sorted(FILE_NAME_FIELDS))}; write {{{{ for a brace)"
        )
    name, spec = field.groups()
    value = _SAMPLES[name]
    if name in ("sum", "const"):
        return str(value)
    try:
        if isinstance(value, datetime):
            return value.strftime(spec or "%Y-%m-%dT%H:%M")
        return format(value, spec or "")
    except ValueError as exc:
        raise ValueError(f"file_name {template!r}: {whole}: {exc}") from exc


def _frame_column(frame_spec: frames.FrameSpec, name: str, where: str) -> None:
    try:
        frame_spec.column(name)
    except KeyError:
        raise ValueError(
            f"{where}: {name!r} is not a column of {frame_spec.name} "
            f"(columns: {', '.join(frame_spec.names)})"
        ) from None


# -- RTA record layouts -----------------------------------------------------------------------

# Names an RTA field expression may read: the agent view and the record's context.
RTA_NAMES = {
    "agent": "the WFM agent id (username, email, employee id or the agent map's id)",
    "user_id": "the Genesys user id",
    "source": "the scope (org) the state came from; empty when sources are blended",
    "state": "the state-map key: IDLE, INTERACTING, ACW, BREAK, OFFLINE...",
    "code": "the vendor state code from the state map",
    "reason": "the reason: secondary presence name, or the presence title",
    "media": "detailed mode: the media handled or wrapped up (voice, chat...), else empty",
    "since": "when the state began (epoch ms; format it with format: datetime:...)",
    "now": "when the record is written (epoch ms)",
    "seconds_in_state": "whole seconds since the state began",
    "event": "login, logout, change or link (a link-status or heartbeat record)",
    "snapshot": "true in a snapshot (on connect, periodic), false for a change",
    "logged_in": "false when the agent is logged out",
    "link": "link-status records: starting, normal, unavailable or shutdown; else empty",
    "count": "header records: how many agent records follow",
}
_RTA_FORMAT = re.compile(r"^(?:text|int|raw|datetime:.+)$")


class RtaField(Strict):
    """One field of an RTA record: an expression over the agent view, then value map, format,
    width. A value that does not fit its width is an error unless `overflow: truncate`."""

    name: str = Field(min_length=1)
    expr: str | None = None
    format: str = "raw"  # raw: as the expression gives it (JSON keeps numbers numbers)
    width: int | None = Field(default=None, ge=1)
    pad: str = Field(default=" ", min_length=1, max_length=1)
    align: Literal["left", "right"] | None = None
    overflow: Literal["error", "truncate"] = "error"
    map: dict[str, str | int] | None = None  # value (as text) -> what the WFM wants
    default: str | int | None = None  # for a value the map lacks; none: an error

    _check_expr = field_validator("expr")(lambda v: _expression(v))

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        if not _RTA_FORMAT.match(value):
            raise ValueError(f"unknown format {value!r}; allowed: raw, text, int, datetime:PATTERN")
        return value

    @property
    def source(self) -> str:
        return self.expr or self.name


class RtaAuth(Strict):
    """How the HTTP push authenticates; the secrets come from the destination's rta settings."""

    kind: Literal["none", "bearer", "basic", "header", "oauth-client-credentials",
                  "token-exchange"] = "none"
    header: str = "Authorization"  # kind header: the header that carries rta.api_key
    token_url: str = ""  # oauth/token-exchange: default; the destination's rta.token_url wins
    # token-exchange: a JSON body template ({client_id}, {client_secret}, {tenant})
    body: dict[str, str] = Field(default_factory=dict)
    token_field: str = "access_token"  # noqa: S105 - the name of a field, not a secret
    expires_field: str = "expires_in"


class RtaHttp(Strict):
    """The generic HTTP push: where, how, what body, how many records per call."""

    path: str = ""  # appended to the destination's endpoint unless it already ends with it
    method: Literal["POST", "PUT", "PATCH"] = "POST"
    auth: RtaAuth = Field(default_factory=RtaAuth)
    # JSON body template: "{records}" is the list of records, "{is_snapshot}" a bool,
    # "{api_key}" / "{source_id}" / "{tenant}" the destination's values, "{sent_at}" ISO UTC.
    body: dict[str, object] | list[object] | str = "{records}"
    batch_size: int = Field(default=50, ge=1)
    max_wait_s: float = Field(default=0.0, ge=0)  # gather changes this long before a call
    success: list[int] = Field(default_factory=lambda: [200, 201, 202, 204])
    # snapshot: the flag a full roster call sets; only set when everyone fits in one call
    snapshot_flag: bool = False


class RtaSpec(Strict):
    protocol: str
    format: str | None = None  # the layout family's name (verint-stci, universal-acd...)
    transport: Literal["tcp-server", "tcp-client", "http-push", "pull", "none"]
    # tcp-server and tcp-client: both possible; the destination picks with listen/endpoint
    published: Publication = "template"
    reference: str = ""
    notes: str = ""
    state_map: dict[str, str | int] = Field(default_factory=dict)
    # numeric codes in the state map are our placeholders: the WFM's own codes must replace them
    placeholder_codes: bool = False
    # the record layout (none: the relay cannot speak this protocol)
    framing: Literal["delimited", "fixed", "json"] | None = None
    encoding: str = "ascii"  # before delimiter and terminator: they are checked against it
    delimiter: str = "|"
    terminator: str = "\r\n"
    blend: Literal["combined", "per-source"] = "per-source"
    fields: list[RtaField] = Field(default_factory=list)
    header: list[RtaField] = Field(default_factory=list)  # one header record per batch
    link_records: bool = False  # link-status and heartbeat records (event == "link")
    override: dict[str, dict[str, object]] = Field(default_factory=dict)  # field name -> keys
    http: RtaHttp | None = None

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError as exc:
            raise ValueError(
                f"unknown encoding {value!r}; use e.g. ascii, utf-8, utf-16-le"
            ) from exc
        return value

    @field_validator("terminator", "delimiter")
    @classmethod
    def _encodable(cls, value: str, info: ValidationInfo) -> str:
        encoding = info.data.get("encoding", "ascii")
        try:
            value.encode(encoding)
        except (UnicodeEncodeError, LookupError) as exc:
            raise ValueError(f"{value!r} cannot be encoded in {encoding}") from exc
        return value


class QueueKeySpec(Strict):
    """What the WFM's queue key looks like, so the mapping can be checked against it."""

    kind: Literal["text", "numeric"] = "text"  # numeric: the files carry the code (Calabrio)
    max_length: int = Field(default=50, ge=1)  # characters, or digits for a numeric key
    characters: str = r"[^\x00-\x1f]"  # a regex one allowed character must match
    policy: Literal["split", "merge", "exclude"] = "split"  # unmapped pairs, unless configured
    code_start: int = Field(default=1, ge=0)  # the first generated code

    @field_validator("characters")
    @classmethod
    def _regex(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"characters: {value!r} is not a regular expression: {exc}") from exc
        return value


class AgentKeySpec(Strict):
    """The WFM's agent id field: ids longer than this are refused, never cut."""

    max_length: int | None = Field(default=None, ge=1)


class Profile(Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    extends: str | None = None
    product: str
    versions: str = ""
    notes: str = ""
    delivery: str
    # URL schemes the vendor takes files over; empty: any. `doctor` warns, quoting `delivery`.
    delivery_schemes: list[str] = Field(default_factory=list)
    constants: dict[str, str] = Field(default_factory=dict)
    reports: dict[str, ReportSpec] = Field(min_length=1)
    queue_key: QueueKeySpec = QueueKeySpec()
    agent_key: AgentKeySpec = AgentKeySpec()
    rta: RtaSpec | None = None

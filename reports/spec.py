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

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from wfmcli import frames
from wfmcli.reports.expr import Expression, ExpressionError

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
            _frame_column(frame_spec, key, "keys")
        if self.layout == "fixed" and any(c.width is None for c in self.columns):
            raise ValueError("a fixed layout needs a width on every column")
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


RtaFormat = Literal["verint-stci", "universal-acd", "iex-template", "calabrio-batch", "json"]


class RtaSpec(Strict):
    protocol: str
    # the record layout the relay writes (rta.records.LAYOUTS); None: no layout is known
    format: RtaFormat | None = None
    transport: Literal["tcp-server", "tcp-client", "http-push", "pull", "none"]
    published: Publication = "template"
    reference: str = ""
    notes: str = ""
    state_map: dict[str, str | int] = Field(default_factory=dict)


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
    rta: RtaSpec | None = None

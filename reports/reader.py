"""Read a rendered report file back into fields: the inverse of the layout.

Used to prove round trips, and to inspect a file a vendor rejected.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from wfmcli.reports.formats import from_text
from wfmcli.reports.spec import ReportSpec


def read_fields(report: ReportSpec, data: bytes) -> list[dict[str, str]]:
    """One mapping of column name to its text per data line (header and trailer lines skipped)."""
    text = data.decode(report.encoding)
    lines = text.split(report.newline)
    if lines and lines[-1] == "":
        lines.pop()
    body = lines[len(report.header) : len(lines) - len(report.trailer)]
    if report.line_suffix:
        body = [line.removesuffix(report.line_suffix) for line in body]
    if report.layout == "fixed":
        return [_slice(report, line) for line in body]
    reader = csv.reader(
        io.StringIO("\n".join(body)),
        delimiter=report.delimiter,
        quotechar=report.quote_char,
        quoting=csv.QUOTE_NONE if report.quoting == "none" else csv.QUOTE_MINIMAL,
    )
    names = [column.name for column in report.columns]
    return [dict(zip(names, row, strict=True)) for row in reader]


def _slice(report: ReportSpec, line: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    position = 0
    for column in report.columns:
        position += column.gap
        width = column.width or 0
        fields[column.name] = line[position : position + width]
        position += width
    return fields


def read_values(report: ReportSpec, data: bytes) -> list[dict[str, Any]]:
    """Like read_fields, with numbers parsed back (mm:ss to seconds, percent to a ratio)."""
    formats = {column.name: column.format for column in report.columns}
    nulls = report.null_text
    return [
        {
            name: ("" if nulls and value == nulls else from_text(value, formats[name]))
            for name, value in row.items()
        }
        for row in read_fields(report, data)
    ]

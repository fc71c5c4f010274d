"""Lay rendered fields out as lines, delimited or fixed-width, with pyarrow string kernels.

Lines are built as one Arrow string array (each line already ending in the report's line ending),
so a file's body is a zero-copy slice of that array's UTF-8 data: no per-line Python work, which is
what keeps two million agent rows to seconds.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from wfmcli.errors import UsageError
from wfmcli.reports.formats import to_text
from wfmcli.reports.spec import ColumnSpec, ReportSpec


def format_lines(report: ReportSpec, values: dict[str, Any], index: pd.Index) -> pa.Array:
    """One string per row: the fields joined, the line suffix and the line ending appended."""
    fields = [
        to_text(values[column.name], column.format, index, report.null_text)
        for column in report.columns
    ]
    if report.layout == "fixed":
        laid = [_fixed(column, text) for column, text in zip(report.columns, fields, strict=True)]
        separator = ""
    else:
        laid = [_quoted(report, c, text) for c, text in zip(report.columns, fields, strict=True)]
        separator = report.delimiter
    # the line ending goes onto the last field: one pass over that field, not over every line
    ending = _text(report.line_suffix + report.newline)
    laid[-1] = pc.binary_join_element_wise(laid[-1], ending, _text(""))
    joined = pc.binary_join_element_wise(*laid, _text(separator)).cast(pa.large_string())
    # frames concatenated from several days hold chunked columns; a body is one buffer slice
    return joined.combine_chunks() if isinstance(joined, pa.ChunkedArray) else joined


def body_bytes(lines: pa.Array, low: int, high: int) -> bytes:
    """The UTF-8 text of lines [low, high), sliced straight from the Arrow buffers."""
    if high <= low:
        return b""
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)
    start = int(offsets[lines.offset + low])
    end = int(offsets[lines.offset + high])
    data: bytes = lines.buffers()[2].slice(start, end - start).to_pybytes()
    return data


def header_line(report: ReportSpec) -> str:
    if report.layout == "fixed":
        return "".join(
            " " * c.gap
            + (
                c.label.ljust(c.width or 0)
                if c.alignment == "left"
                else c.label.rjust(c.width or 0)
            )
            for c in report.columns
        )
    return report.delimiter.join(c.label for c in report.columns)


def _text(value: str) -> pa.Scalar:
    return pa.scalar(value, pa.large_string())


def _first(array: pa.Array, mask: pa.Array) -> str:
    return str(array.filter(mask)[0].as_py())


def _fixed(column: ColumnSpec, text: pa.Array) -> pa.Array:
    width = column.width or 0
    too_long = pc.greater(pc.utf8_length(text), width)
    if pc.any(too_long).as_py():
        if column.overflow == "error":
            raise UsageError(
                f"column {column.name}: {_first(text, too_long)!r} is wider than {width} "
                "characters",
                hint="widen the column, or set overflow: truncate or extend",
            )
        if column.overflow == "truncate":
            text = pc.utf8_slice_codeunits(text, 0, width)
    if column.alignment == "left":
        padded = pc.utf8_rpad(text, width=width, padding=" ")
    else:
        padded = pc.utf8_lpad(text, width=width, padding=" ")
    if column.gap:
        return pc.binary_join_element_wise(_text(" " * column.gap), padded, _text(""))
    return padded


def _quoted(report: ReportSpec, column: ColumnSpec, text: pa.Array) -> pa.Array:
    quote = report.quote_char
    if report.quoting == "all":
        return _wrap(text, quote)
    if column.format != "text":
        return text
    specials = report.delimiter + quote + "\r\n"
    if not _holds_any(text, specials):  # the usual case: one byte scan, no regex over every row
        return text
    special = pc.match_substring_regex(text, "[" + re.escape(specials) + "]")
    if not pc.any(special).as_py():
        return text
    if report.quoting == "none":
        raise UsageError(
            f"column {column.name}: {_first(text, special)!r} contains the delimiter or a quote",
            hint="set quoting: minimal in the profile",
        )
    return pc.if_else(special, _wrap(text, quote), text)


def _holds_any(text: pa.Array, characters: str) -> bool:
    """Whether any string holds one of these ASCII characters: a scan of the UTF-8 bytes in use
    (an ASCII byte never occurs inside a multi-byte UTF-8 sequence, so no false match)."""
    if isinstance(text, pa.ChunkedArray):
        return any(_holds_any(chunk, characters) for chunk in text.chunks)
    if not characters.isascii():
        return True  # let the regex decide
    text = text.cast(pa.large_string())
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int64)
    low, high = int(offsets[text.offset]), int(offsets[text.offset + len(text)])
    if high <= low:
        return False
    data = np.frombuffer(text.buffers()[2], dtype=np.uint8, count=high)[low:]
    return any(bool((data == byte).any()) for byte in characters.encode("ascii"))


def _wrap(text: pa.Array, quote: str) -> pa.Array:
    escaped = pc.replace_substring(text, quote, quote * 2)
    return pc.binary_join_element_wise(_text(quote), escaped, _text(quote), _text(""))

"""Turn evaluated column values into text (vectorised), read text back, and fill line templates."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from wfmcli.reports.groups import row_groups

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([a-z_]+)(?::([^{}]*))?\}")


class TemplateError(ValueError):
    pass


def fill_template(template: str, values: Mapping[str, Any]) -> str:
    """Replace {name} / {name:spec}: datetimes take a strftime spec, {sum:column} a column name."""

    def replace(match: re.Match[str]) -> str:
        whole, name, spec = match.group(0), match.group(1), match.group(2)
        if whole in ("{{", "}}"):
            return whole[0]
        if name == "sum" or name == "const":
            table = values.get(name, {})
            if spec not in table:
                raise TemplateError(
                    f"{{{name}:{spec}}}: no such {name} (known: {', '.join(table)})"
                )
            return str(table[spec])
        if name not in values:
            known = ", ".join(sorted(k for k in values if k not in ("sum", "const")))
            raise TemplateError(
                f"unknown placeholder {{{name}}} (known: {known}, sum:COL, const:NAME)"
            )
        value = values[name]
        if isinstance(value, datetime):
            return value.strftime(spec or "%Y-%m-%dT%H:%M")
        return format(value, spec or "")

    return _PLACEHOLDER.sub(replace, template)


def template_names(template: str) -> list[str]:
    return [m.group(1) for m in _PLACEHOLDER.finditer(template) if m.group(1)]


# ---------------------------------------------------------------- values -> text


def format_times(values: pd.Series, pattern: str) -> pd.Series:
    """strftime, once per distinct time: report times repeat for every queue and agent, and
    pandas' strftime costs tens of microseconds a value (with %Z). Missing times give None."""
    codes, texts = _distinct_times(values, pattern)
    return pd.Series(texts[codes], index=values.index, dtype=object)


def _time_text(values: pd.Series, pattern: str) -> pa.Array:
    """format_times as Arrow strings, gathered straight from the distinct texts; NaT is empty."""
    codes, texts = _distinct_times(values, pattern)
    gathered = pa.array(texts, type=pa.large_string()).take(pa.array(codes))
    return pc.fill_null(gathered, "")


def _distinct_times(values: pd.Series, pattern: str) -> tuple[np.ndarray, np.ndarray]:
    """Each value's code and the text of each distinct time (None for NaT)."""
    stamps = pd.DatetimeIndex(values)
    keys = stamps.as_unit("ns").asi8
    if "%f" not in pattern:
        keys = keys // 1_000_000_000  # whole seconds print alike; floor division keeps NaT apart
    codes, first = row_groups([keys])
    samples = stamps[first]
    texts = np.asarray(samples.strftime(pattern), dtype=object)
    texts[np.asarray(samples.isna())] = None
    return codes, texts


def _rounded(values: pd.Series | np.ndarray) -> np.ndarray:
    """Round half up to whole numbers (seconds and counts are never banker's-rounded)."""
    numbers = np.asarray(values, dtype="float64")
    rounded: np.ndarray = np.floor(numbers + 0.5).astype("int64")
    return rounded


def _integers(numbers: np.ndarray, width: int = 0) -> pa.Array:
    """Whole numbers as text, zero-padded to width; a report's values span a small range, so
    each distinct number is printed once and gathered."""
    if not len(numbers):
        return pa.array([], type=pa.large_string())
    low, high = int(numbers.min()), int(numbers.max())
    if high - low < len(numbers):
        table = _padded(pa.array(np.arange(low, high + 1, dtype=np.int64)), width)
        return table.take(pa.array(numbers - low))
    return _padded(pa.array(numbers), width)


def _padded(numbers: pa.Array, width: int) -> pa.Array:
    text = numbers.cast(pa.large_string())
    return pc.utf8_lpad(text, width=width, padding="0") if width else text


def _joined(*parts: pa.Array | str) -> pa.Array:
    pieces = [pa.scalar(p, pa.large_string()) if isinstance(p, str) else p for p in parts]
    return pc.binary_join_element_wise(*pieces, pa.scalar("", pa.large_string()))


def _signed(negative: np.ndarray, text: pa.Array) -> pa.Array:
    if not negative.any():
        return text
    return pc.if_else(pa.array(negative), _joined("-", text), text)


def _clock(values: pd.Series, with_hours: bool) -> pa.Array:
    total = _rounded(values)
    negative = total < 0
    total = np.abs(total)
    seconds = _integers(total % 60, 2)
    if not with_hours:
        return _signed(negative, _joined(_integers(total // 60), ":", seconds))
    hours, minutes = _integers(total // 3600, 2), _integers(total // 60 % 60, 2)
    return _signed(negative, _joined(hours, ":", minutes, ":", seconds))


def _fixed_point(values: pd.Series, places: int, scale: float) -> pa.Array:
    scaled = np.asarray(values, dtype="float64") * scale
    if places == 0:
        return _integers(_rounded(scaled))
    factor = 10**places
    whole = np.floor(scaled * factor + 0.5).astype("int64")
    negative = whole < 0
    whole = np.abs(whole)
    text = _joined(_integers(whole // factor), ".", _integers(whole % factor, places))
    return _signed(negative, text)


def to_text(values: Any, fmt: str, index: pd.Index, null_text: str = "") -> pa.Array:
    """Render one column as Arrow strings; scalars (constants) are broadcast to the index."""
    if not isinstance(values, pd.Series):
        one = to_text(pd.Series([values]), fmt, pd.RangeIndex(1), null_text)
        return pa.repeat(one[0], len(index))
    series = values
    if fmt.startswith("datetime:"):
        return _time_text(series, fmt.split(":", 1)[1])
    if fmt == "text":
        if pd.api.types.is_string_dtype(series) or pd.api.types.is_object_dtype(series):
            text = _strings(series)
        else:
            text = _strings(series.astype(str))
        if null_text:
            return pc.if_else(pc.equal(text, ""), pa.scalar(null_text, pa.large_string()), text)
        return text
    series = pd.to_numeric(series).fillna(0)
    if fmt in ("int", "seconds"):
        return _integers(_rounded(series))
    if fmt in ("mm:ss", "hh:mm:ss"):
        return _clock(series, fmt == "hh:mm:ss")
    kind, _, places = fmt.partition(":")
    digits = int(places) if places else (0 if kind == "percent" else 2)
    return _fixed_point(series, digits, 100.0 if kind == "percent" else 1.0)


def _strings(text: pd.Series) -> pa.Array:
    try:
        array = pa.array(text, type=pa.large_string(), from_pandas=True)
    except (pa.ArrowTypeError, pa.ArrowInvalid):  # mixed objects: fall back to str()
        array = pa.array(text.astype(str), type=pa.large_string(), from_pandas=True)
    return pc.fill_null(array, "")


# ---------------------------------------------------------------- text -> values (the reader)


def from_text(text: str, fmt: str) -> Any:
    """Parse one rendered field back: numbers to float, times to their text."""
    text = text.strip()
    if fmt == "text" or fmt.startswith("datetime:"):
        return text
    negative = text.startswith("-")
    body = text[1:] if negative else text
    if fmt in ("mm:ss", "hh:mm:ss"):
        parts = [int(part) for part in body.split(":")]
        value = sum(part * 60**power for power, part in enumerate(reversed(parts)))
    elif fmt.startswith("percent"):
        value = float(body) / 100.0
    else:
        value = float(body)
    return -value if negative else value

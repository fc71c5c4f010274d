"""Turn evaluated column values into text (vectorised), read text back, and fill line templates."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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


def _rounded(values: pd.Series) -> pd.Series:
    """Round half up to whole numbers (seconds and counts are never banker's-rounded)."""
    return np.floor(values.astype("float64") + 0.5).astype("int64")


def _clock(values: pd.Series, with_hours: bool) -> pd.Series:
    total = _rounded(values)
    sign = pd.Series(np.where(total < 0, "-", ""), index=values.index)
    total = total.abs()
    seconds = (total % 60).astype(str).str.zfill(2)
    if not with_hours:
        return sign + (total // 60).astype(str) + ":" + seconds
    minutes = (total // 60 % 60).astype(str).str.zfill(2)
    return sign + (total // 3600).astype(str).str.zfill(2) + ":" + minutes + ":" + seconds


def _fixed_point(values: pd.Series, places: int, scale: float) -> pd.Series:
    scaled = values.astype("float64") * scale
    if places == 0:
        return _rounded(scaled).astype(str)
    factor = 10**places
    whole = np.floor(scaled * factor + 0.5).astype("int64")
    sign = pd.Series(np.where(whole < 0, "-", ""), index=values.index)
    whole = whole.abs()
    fraction = (whole % factor).astype(str).str.zfill(places)
    return sign + (whole // factor).astype(str) + "." + fraction


def _by_unique(values: pd.Series, render: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """Format each distinct value once: report times repeat for every queue and agent."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    rendered = render(pd.Series(uniques)).to_numpy(dtype=object)
    rendered = np.append(rendered, "")  # code -1 (missing) picks the last entry
    return pd.Series(rendered[codes], index=values.index, dtype=object)


def to_text(values: Any, fmt: str, index: pd.Index, null_text: str = "") -> pa.Array:
    """Render one column as Arrow strings; scalars (constants) are broadcast to the index."""
    series = (
        values if isinstance(values, pd.Series) else pd.Series([values] * len(index), index=index)
    )
    if fmt.startswith("datetime:"):
        pattern = fmt.split(":", 1)[1]
        return _strings(_by_unique(series, lambda u: u.dt.strftime(pattern)))
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
        return pa.array(_rounded(series).to_numpy()).cast(pa.large_string())
    if fmt in ("mm:ss", "hh:mm:ss"):
        return _strings(_clock(series, fmt == "hh:mm:ss"))
    kind, _, places = fmt.partition(":")
    digits = int(places) if places else (0 if kind == "percent" else 2)
    return _strings(_fixed_point(series, digits, 100.0 if kind == "percent" else 1.0))


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

"""Evaluate parsed expressions (`reports.expr`) over whole pandas columns."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from wfmcli.reports.expr import (
    ARITY,
    Binary,
    Env,
    ExpressionError,
    Literal,
    Name,
    Node,
    Unary,
    Value,
)
from wfmcli.reports.formats import format_times


def _where(cond: Value, then: Value, other: Value) -> Value:
    if not isinstance(cond, pd.Series):
        return then if cond else other
    index = cond.index
    result = np.where(cond.to_numpy(dtype=bool), _array(then, index), _array(other, index))
    # text stays object here: nested ifs would each convert it to Arrow strings again
    return pd.Series(result, index=index, dtype=result.dtype)


def _array(value: Value, index: pd.Index) -> Any:
    return (
        value.to_numpy()
        if isinstance(value, pd.Series)
        else np.full(len(index), value, dtype=object if isinstance(value, str) else None)
    )


def _fold(function: Callable[[Value, Value], Value]) -> Callable[..., Value]:
    def folded(*values: Value) -> Value:
        result = values[0]
        for value in values[1:]:
            result = function(result, value)
        return result

    return folded


def _minimum(a: Value, b: Value) -> Value:
    if isinstance(a, pd.Series) or isinstance(b, pd.Series):
        return _where(_lt(a, b), a, b)
    return min(a, b)


def _maximum(a: Value, b: Value) -> Value:
    if isinstance(a, pd.Series) or isinstance(b, pd.Series):
        return _where(_lt(a, b), b, a)
    return max(a, b)


def _lt(a: Value, b: Value) -> Value:
    return a < b


def _divide(a: Value, b: Value) -> Value:
    if isinstance(b, pd.Series):
        safe = b.where(b != 0, 1)
        return (a / safe).where(b != 0, 0.0)
    return a / b if b else (a * 0.0 if isinstance(a, pd.Series) else 0.0)


def _numeric(
    function: Callable[[Any], Any], scalar: Callable[[Any], Any]
) -> Callable[[Value], Value]:
    def apply(value: Value) -> Value:
        return function(value) if isinstance(value, pd.Series) else scalar(value)

    return apply


def _round_half_up(value: Value) -> Value:
    if isinstance(value, pd.Series):
        return np.floor(value.astype("float64") + 0.5)
    return math.floor(value + 0.5)


def _text(value: Value) -> Value:
    if isinstance(value, pd.Series):
        if pd.api.types.is_float_dtype(value):
            as_int = value.round().astype("int64")
            exact = value == as_int
            return as_int.astype(str).where(exact, value.astype(str))
        return value.astype(str)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _concat(*values: Value) -> Value:
    result: Value = ""
    for value in values:
        result = result + _text(value)
    return result


def _fmt(value: Value, pattern: Value) -> Value:
    if not isinstance(pattern, str):
        raise ExpressionError("fmt() needs a quoted strftime pattern as its second argument")
    if isinstance(value, pd.Series):
        if not pd.api.types.is_datetime64_any_dtype(value):
            raise ExpressionError(f"fmt() formats times, not {value.dtype} values")
        return format_times(value, pattern)
    return value.strftime(pattern)


def _left(value: Value, count: Value) -> Value:
    return (
        value.str.slice(0, int(count)) if isinstance(value, pd.Series) else str(value)[: int(count)]
    )


def _upper(value: Value) -> Value:
    return value.str.upper() if isinstance(value, pd.Series) else str(value).upper()


def _lower(value: Value) -> Value:
    return value.str.lower() if isinstance(value, pd.Series) else str(value).lower()


def _coalesce(value: Value, fallback: Value) -> Value:
    if isinstance(value, pd.Series):
        empty = value.isna() | (value.astype(str) == "")
        return _where(empty, fallback, value)
    return fallback if value in ("", None) else value


FUNCTIONS: dict[str, Callable[..., Value]] = {
    "if": _where,
    "min": _fold(_minimum),
    "max": _fold(_maximum),
    "abs": _numeric(np.abs, abs),
    "round": _round_half_up,
    "floor": _numeric(np.floor, math.floor),
    "ceil": _numeric(np.ceil, math.ceil),
    "fmt": _fmt,
    "concat": _concat,
    "text": _text,
    "left": _left,
    "upper": _upper,
    "lower": _lower,
    "coalesce": _coalesce,
    "col": lambda name: name,  # replaced by a Name while parsing
}
assert FUNCTIONS.keys() == ARITY.keys(), "reports.expr.ARITY and FUNCTIONS must name the same"

_INT64_LIMIT = float(2**63)


def _checked(function: Callable[[Any, Any], Any]) -> Callable[[Value, Value], Value]:
    """Integer column arithmetic that raises OverflowError where numpy would wrap around
    silently; the same operation in floats shows whether the exact result still fits."""

    def apply(a: Value, b: Value) -> Value:
        result = function(a, b)
        if isinstance(result, pd.Series) and pd.api.types.is_integer_dtype(result):
            estimate = function(_as_float(a), _as_float(b))
            if bool((np.abs(estimate) >= _INT64_LIMIT).any()):
                raise OverflowError("the result is too large for a 64-bit integer")
        return result

    return apply


def _as_float(value: Value) -> Any:
    if isinstance(value, pd.Series):
        return value.astype("float64")
    return float(value) if isinstance(value, int | float) else value


_OPERATORS: dict[str, Callable[[Value, Value], Value]] = {
    "+": _checked(lambda a, b: a + b),
    "-": _checked(lambda a, b: a - b),
    "*": _checked(lambda a, b: a * b),
    "/": _divide,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "and": lambda a, b: a & b if isinstance(a, pd.Series) or isinstance(b, pd.Series) else a and b,
    "or": lambda a, b: a | b if isinstance(a, pd.Series) or isinstance(b, pd.Series) else a or b,
}


def evaluate(node: Node, env: Env) -> Value:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Name):
        try:
            return env[node.name]
        except KeyError:
            raise ExpressionError(f"unknown name {node.name!r}") from None
    if isinstance(node, Unary):
        operand = evaluate(node.operand, env)
        if node.op == "-":
            return -operand
        return ~operand.astype(bool) if isinstance(operand, pd.Series) else not operand
    if isinstance(node, Binary):
        return _OPERATORS[node.op](evaluate(node.left, env), evaluate(node.right, env))
    return FUNCTIONS[node.function](*(evaluate(arg, env) for arg in node.args))

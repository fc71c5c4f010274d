"""Vendor consistency rules, evaluated on a report's output values before any file is written."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from wfmcli.errors import ExitCode, WfmError
from wfmcli.reports.expr import Expression, Value
from wfmcli.reports.spec import Check

MAX_LISTED = 5


class ConsistencyError(WfmError):
    """The numbers break the vendor's own rules, so the file was not written; a person should look.

    Exit code REMOTE: the data came from Genesys as it is; retrying the same render will not help.
    """

    exit_code = ExitCode.REMOTE

    def __init__(self, report: str, violations: Sequence[str]) -> None:
        more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
        super().__init__(
            f"report {report}: {violations[0]}{more}",
            hint="the file was not written; re-pull the range or fix the profile's columns",
        )
        self.violations = list(violations)


@dataclass(frozen=True)
class CheckContext:
    env: Mapping[str, Value]
    index: pd.Index  # the rows checked
    describe: Callable[[Any], str]  # a row (by index label) for people: its keys, local time
    day: pd.Series  # the local date of each row
    bin_start: pd.Series  # UTC interval start of each row
    day_first: pd.Series  # first interval start of each row's day within the rendered range
    day_last: pd.Series  # last interval start of each row's day within the rendered range
    interval: pd.Timedelta


Warning = tuple[date, str]  # (local day, text)


def run_checks(checks: Sequence[Check], context: CheckContext) -> tuple[list[str], list[Warning]]:
    """(faults, warnings): faults stop the file, warnings explain legitimate Genesys carry-over."""
    faults: list[str] = []
    warnings: list[Warning] = []
    for check in checks:
        if check.per == "row":
            faults += _row_check(check, context)
        else:
            found_faults, found_warnings = _day_check(check, context)
            faults += found_faults
            warnings += found_warnings
    return faults, warnings


def _as_series(value: Value, index: pd.Index) -> pd.Series:
    if isinstance(value, pd.Series):
        return value
    return pd.Series([value] * len(index), index=index)


def _row_check(check: Check, context: CheckContext) -> list[str]:
    expression = Expression(check.rule or "")
    ok = _as_series(expression.evaluate(context.env), context.index).astype(bool)
    failed = context.index[~ok.to_numpy()]
    shown = sorted(name for name in expression.names if name in context.env)
    found = []
    for position in failed:
        numbers = ", ".join(f"{name}={_number(context.env[name], position)}" for name in shown)
        where = context.describe(position)
        found.append(f"{check.name} fails for {where}: {check.rule} ({numbers})")
    return found


def _waits(check: Check, context: CheckContext, index: pd.Index) -> pd.Series:
    if check.wait is None:
        return pd.Series(0.0, index=index)
    value = Expression(check.wait).evaluate(context.env)
    return _as_series(value, index).astype("float64").fillna(0.0)


def _number(value: Value, position: object) -> str:
    item = value[position] if isinstance(value, pd.Series) else value
    if isinstance(item, float | np.floating) and float(item).is_integer():
        return str(int(item))
    return str(item)


def _day_check(check: Check, context: CheckContext) -> tuple[list[str], list[Warning]]:
    index = context.index
    left = _as_series(Expression(check.left or "").evaluate(context.env), index).astype("float64")
    right = _as_series(Expression(check.right or "").evaluate(context.env), index).astype("float64")
    since_start = context.bin_start - context.day_first
    until_end = context.day_last + context.interval - context.bin_start
    window = pd.Timedelta(minutes=check.carry_window)
    wait = pd.to_timedelta(_waits(check, context, index), unit="s")
    keys = ["day", *check.group]
    frame = pd.DataFrame({"day": context.day, "wait": wait})
    for name in check.group:
        frame[name] = _as_series(context.env[name], index)
    # how long before midnight a contact still waiting then may have been offered, per group
    longest = frame.groupby(keys, sort=False)["wait"].transform("max")
    early = (since_start < window) | (since_start < wait)
    late = (until_end <= window) | (until_end <= longest)
    frame = frame.drop(columns=["wait"]).assign(
        left=left, right=right, late_left=left.where(late, 0.0), early_right=right.where(early, 0.0)
    )
    totals = frame.groupby(keys, sort=True).sum(numeric_only=True)
    faults: list[str] = []
    warnings: list[Warning] = []
    for key, row in totals.iterrows():
        imbalance = row["left"] - row["right"]
        if abs(imbalance) < 1e-9:
            continue
        parts = key if isinstance(key, tuple) else (key,)
        where = ", ".join(f"{name} {value}" for name, value in zip(keys, parts, strict=True))
        text = (
            f"{check.name}: {where}: {check.left} = {row['left']:g} but {check.right} = "
            f"{row['right']:g} (off by {imbalance:+g})"
        )
        if -row["early_right"] <= imbalance <= row["late_left"]:
            warnings.append(
                (
                    parts[0],
                    f"{text}; explained by contacts waiting across midnight (Genesys counts each "
                    "at its emit time), not a fault",
                )
            )
        else:
            faults.append(text)
    return faults, warnings

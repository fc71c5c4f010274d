"""The report expression language: what it computes and what it refuses."""

from __future__ import annotations

import pandas as pd
import pytest

from wfmcli.reports.expr import ExpressionError, parse

ENV = {
    "a": pd.Series([1, 4, 0]),
    "b": pd.Series([2, 0, 0]),
    "name": pd.Series(["x", "", "z"]),
    "when": pd.Series(pd.to_datetime(["2026-03-29 01:45", "2026-03-29 03:00", "2026-01-01 00:00"])),
}


def values(source: str) -> list[object]:
    result = parse(source).evaluate(ENV)
    return result.tolist() if isinstance(result, pd.Series) else [result]


def test_arithmetic_follows_precedence() -> None:
    assert values("a + b * 2") == [5, 4, 0]
    assert values("(a + b) * 2") == [6, 8, 0]
    assert values("-a + 10 - 1") == [8, 5, 9]


def test_division_by_zero_gives_zero() -> None:
    assert values("a / b") == [0.5, 0.0, 0.0]
    assert values("7 / 0") == [0.0]


def test_comparison_logic_and_if() -> None:
    assert values('if(a > 0 and not (b == 0), "busy", "quiet")') == ["busy", "quiet", "quiet"]
    assert values("a >= 1 or b >= 1") == [True, True, False]


def test_functions() -> None:
    assert values("max(a, b, 3)") == [3, 4, 3]
    assert values("min(a, b)") == [1, 0, 0]
    assert values("round(2.5) + floor(2.7) + ceil(2.1)") == [8]
    assert values('concat(name, "-", a)') == ["x-1", "-4", "z-0"]
    assert values('coalesce(name, "none")') == ["x", "none", "z"]
    assert values('fmt(when, "%d/%m %H:%M")') == ["29/03 01:45", "29/03 03:00", "01/01 00:00"]
    assert values('left(upper(concat(name, "abc")), 2)') == ["XA", "AB", "ZA"]
    assert values('col("a") * 2') == [2, 8, 0]


def test_names_are_reported() -> None:
    assert parse('if(a > b, col("secondary_x_s"), talk_s)').names == {
        "a",
        "b",
        "secondary_x_s",
        "talk_s",
    }


@pytest.mark.parametrize(
    "source",
    [
        '__import__("os").system("id")',
        "a.__class__",
        "open('x')",
        "a[0]",
        "lambda: 1",
        "a ** 2",
        "eval('1')",
        "a; b",
        "a if b else c",
        "1 +",
        "a < b < c",
        "f'{a}'",
        "col(a)",
        "max(a)",
        "(" * 100 + "1" + ")" * 100,
        "x" * 3000,
    ],
)
def test_unsafe_or_invalid_input_is_rejected(source: str) -> None:
    with pytest.raises(ExpressionError):
        parse(source)


def test_unknown_name_fails_at_evaluation() -> None:
    with pytest.raises(ExpressionError, match="unknown name 'nope'"):
        parse("nope + 1").evaluate(ENV)


def test_parsing_needs_no_pandas() -> None:
    """Reading a profile (as the RTA relay does at start) parses expressions without pandas."""
    import subprocess
    import sys

    probe = (
        "import sys; from reports.profiles import load_profile; load_profile('calabrio'); "
        "print('pandas' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"

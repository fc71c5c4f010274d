"""A small, safe expression language for report columns, filters and checks.

Parsed by our own tokenizer and precedence-climbing parser, never `eval`: only the constructs below
exist, so a profile cannot reach Python. Expressions are evaluated over whole pandas columns.

    literals     12  0.5  "text"  'text'  true  false
    names        offered  talk_s  local_start        (a frame column or a derived column)
                 col("secondary_1a2b-3c_s")  (any column, for names that are not identifiers)
    arithmetic   a + b   a - b   a * b   a / b  (x / 0 is 0: an empty interval has no average)   -a
    comparison   ==  !=  <  <=  >  >=
    logic        and  or  not
    functions    if(cond, then, else)  min(a, b, ...)  max(a, b, ...)  abs(x)  round(x)  floor(x)
                 ceil(x)  fmt(time, "%Y%m%d")  concat(a, b, ...)  text(x)  left(text, n)
                 upper(text)  lower(text)  coalesce(text, fallback)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wfmcli.errors import UsageError

Value = Any  # a pandas Series or a scalar (int, float, str, bool)
Env = Mapping[str, Value]

# Functions and their arity (min, max; max -1: any number). They are implemented over pandas
# columns in `reports.evaluate`, which only evaluation loads: parsing a profile needs no pandas.
ARITY: dict[str, tuple[int, int]] = {
    "if": (3, 3),
    "min": (2, -1),
    "max": (2, -1),
    "abs": (1, 1),
    "round": (1, 1),
    "floor": (1, 1),
    "ceil": (1, 1),
    "fmt": (2, 2),
    "concat": (1, -1),
    "text": (1, 1),
    "left": (2, 2),
    "upper": (1, 1),
    "lower": (1, 1),
    "coalesce": (2, 2),
    "col": (1, 1),  # becomes a Name while parsing
}

MAX_LENGTH = 2000
MAX_DEPTH = 40

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>\d+(?:\.\d+)?)
      | (?P<string>"[^"\\]*"|'[^'\\]*')
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<op>==|!=|<=|>=|[-+*/<>(),])
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "true", "false"}
_COMPARE = {"==", "!=", "<", "<=", ">", ">="}


class ExpressionError(ValueError):
    """The expression is not valid; the message says where and why, in one line."""


class EvaluationError(UsageError):
    """A valid expression could not be computed on the data (a value out of range)."""


# beyond 15 digits a float is no longer exact, and products of such literals overflow int64
MAX_DIGITS = 15


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    pos: int


def tokenize(source: str) -> list[Token]:
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_LENGTH} characters")
    tokens: list[Token] = []
    pos = 0
    while pos < len(source):
        if source[pos:].strip() == "":
            break
        match = _TOKEN.match(source, pos)
        if match is None or match.lastgroup is None:
            start = len(source[pos:]) - len(source[pos:].lstrip()) + pos
            raise ExpressionError(f"unexpected character {source[start]!r} at position {start + 1}")
        tokens.append(
            Token(match.lastgroup, match.group(match.lastgroup), match.start(match.lastgroup))
        )
        pos = match.end()
    tokens.append(Token("end", "", len(source)))
    return tokens


# ---------------------------------------------------------------- syntax tree


@dataclass(frozen=True)
class Literal:
    value: Any


@dataclass(frozen=True)
class Name:
    name: str


@dataclass(frozen=True)
class Unary:
    op: str
    operand: Node


@dataclass(frozen=True)
class Binary:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Call:
    function: str
    args: tuple[Node, ...]


Node = Literal | Name | Unary | Binary | Call

_BINARY_LEVELS: tuple[frozenset[str], ...] = (
    frozenset({"or"}),
    frozenset({"and"}),
    frozenset(_COMPARE),
    frozenset({"+", "-"}),
    frozenset({"*", "/"}),
)


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.index = 0
        self.depth = 0

    def peek(self) -> Token:
        return self.tokens[self.index]

    def take(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def expect(self, text: str) -> None:
        token = self.take()
        if token.text != text:
            raise ExpressionError(
                f"expected {text!r} at position {token.pos + 1}, found {_show(token)}"
            )

    def parse(self) -> Node:
        node = self.binary(0)
        token = self.peek()
        if token.kind != "end":
            raise ExpressionError(f"unexpected {_show(token)} at position {token.pos + 1}")
        return node

    def binary(self, level: int) -> Node:
        if level == len(_BINARY_LEVELS):
            return self.unary()
        node = self.binary(level + 1)
        while self.peek().text in _BINARY_LEVELS[level] and self.peek().kind in ("op", "name"):
            op = self.take().text
            right = self.binary(level + 1)
            if op in _COMPARE and isinstance(node, Binary) and node.op in _COMPARE:
                raise ExpressionError(f"chained comparison near position {self.peek().pos + 1}")
            node = Binary(op, node, right)
        return node

    def unary(self) -> Node:
        token = self.peek()
        if token.text in ("-", "not") and token.kind in ("op", "name"):
            self.take()
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise ExpressionError("expression nested too deeply")
            operand = self.unary()
            self.depth -= 1
            return Unary(token.text, operand)
        return self.atom()

    def atom(self) -> Node:
        token = self.take()
        if token.kind == "number":
            if sum(c.isdigit() for c in token.text) > MAX_DIGITS:
                raise ExpressionError(
                    f"number at position {token.pos + 1} has more than {MAX_DIGITS} digits"
                )
            return Literal(float(token.text) if "." in token.text else int(token.text))
        if token.kind == "string":
            return Literal(token.text[1:-1])
        if token.text == "(":
            node = self.nested()
            self.expect(")")
            return node
        if token.kind == "name" and token.text in ("true", "false"):
            return Literal(token.text == "true")
        if token.kind == "name" and token.text not in _KEYWORDS:
            if self.peek().text == "(":
                return self.call(token)
            return Name(token.text)
        raise ExpressionError(f"unexpected {_show(token)} at position {token.pos + 1}")

    def nested(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError("expression nested too deeply")
        node = self.binary(0)
        self.depth -= 1
        return node

    def call(self, name: Token) -> Node:
        if name.text not in ARITY:
            raise ExpressionError(
                f"unknown function {name.text!r} at position {name.pos + 1} "
                f"(allowed: {', '.join(sorted(ARITY))})"
            )
        self.expect("(")
        args: list[Node] = []
        if self.peek().text != ")":
            args.append(self.nested())
            while self.peek().text == ",":
                self.take()
                args.append(self.nested())
        self.expect(")")
        low, high = ARITY[name.text]
        if not low <= len(args) <= (high if high >= 0 else len(args)):
            raise ExpressionError(
                f"{name.text}() takes {_arity(low, high)} argument(s), not {len(args)}"
            )
        if name.text == "col" and not (
            isinstance(args[0], Literal) and isinstance(args[0].value, str)
        ):
            raise ExpressionError(f"{name.text}() needs a quoted name as its first argument")
        if name.text == "col":
            return Name(args[0].value)  # type: ignore[union-attr]
        return Call(name.text, tuple(args))


def _show(token: Token) -> str:
    return "end of expression" if token.kind == "end" else repr(token.text)


def _arity(low: int, high: int) -> str:
    if high < 0:
        return f"at least {low}"
    return str(low) if low == high else f"{low} to {high}"


class Expression:
    """A parsed expression: `names` lists the columns it reads; `evaluate` computes it."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.tree = _Parser(source).parse()
        self.names = frozenset(_names(self.tree))

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"

    def evaluate(self, env: Env) -> Value:
        from wfmcli.reports.evaluate import evaluate

        try:
            return evaluate(self.tree, env)
        except OverflowError as exc:
            raise EvaluationError(
                f"expression {self.source!r} cannot be computed: {exc}",
                hint="keep the numbers in it within the range of the data (15 digits)",
            ) from exc


def parse(source: str) -> Expression:
    return Expression(source)


def _names(node: Node) -> list[str]:
    if isinstance(node, Name):
        return [node.name]
    if isinstance(node, Unary):
        return _names(node.operand)
    if isinstance(node, Binary):
        return _names(node.left) + _names(node.right)
    if isinstance(node, Call):
        return [name for arg in node.args for name in _names(arg)]
    return []

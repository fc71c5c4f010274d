"""Read YAML keeping the line of every key, so errors can point at file:line."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from wfmcli.errors import ConfigError

KeyPath = tuple[str | int, ...]

# Bounds no real configuration or profile comes near; past them a file is refused with one
# line rather than exhausting memory (an alias bomb) or the stack (deep nesting).
MAX_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 100
MAX_EXPANDED_NODES = 200_000


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that refuses nesting deeper than MAX_DEPTH while it composes."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise _Bounds(mark.line + 1, f"nested deeper than {MAX_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _Bounds(Exception):
    def __init__(self, line: int | None, what: str) -> None:
        super().__init__(what)
        self.line = line
        self.what = what


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """Values the node stands for once every alias is expanded; aliases share the node, so
    memoising on identity keeps this linear in the file however many times it is reused."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    sizes[id(node)] = 1  # a recursive alias counts once rather than looping
    total = 1
    if isinstance(node, yaml.MappingNode):
        total += sum(_expanded_size(k, sizes) + _expanded_size(v, sizes) for k, v in node.value)
    elif isinstance(node, yaml.SequenceNode):
        total += sum(_expanded_size(item, sizes) for item in node.value)
    total = min(total, MAX_EXPANDED_NODES + 1)
    sizes[id(node)] = total
    return total


@dataclass
class YamlDocument:
    origin: str  # the file path, or a name for text that has no file
    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return Path(self.origin)

    def line_of(self, key_path: KeyPath) -> int | None:
        """The line of the deepest known ancestor of key_path (1-based)."""
        for end in range(len(key_path), -1, -1):
            line = self.lines.get(tuple(key_path[:end]))
            if line is not None:
                return line
        return None

    def where(self, key_path: KeyPath) -> str:
        line = self.line_of(key_path)
        return f"{self.origin}:{line}" if line else self.origin


def read_yaml(path: Path) -> YamlDocument:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise ConfigError(
            f"configuration file {path} does not exist",
            hint="create one with 'wfm config init' or pass --config",
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read configuration file {path}: {exc}") from exc
    return parse_yaml(text, str(path))


def _loader(text: str, trusted: bool) -> Any:
    """Our own files (built-in profiles and layouts) are composed by libyaml, when present,
    about 8x faster than pure Python (it is on `rta serve`'s path to its first request); the
    depth bound, which needs the Python composer, only matters for files we did not write.
    Either way the node tree carries the lines, and the checks below run on it."""
    if trusted and getattr(yaml, "__with_libyaml__", False):
        return yaml.CSafeLoader(text)
    return _BoundedLoader(text)


def parse_yaml(text: str, origin: str, *, trusted: bool = False) -> YamlDocument:
    """YAML text with the line of every key; a syntax error, a duplicate key or a file past the
    size, depth or alias-expansion bounds is a ConfigError. `trusted`: text shipped with wfm."""
    if len(text) > MAX_BYTES:
        raise ConfigError(
            f"{origin}: the file is larger than {MAX_BYTES // (1024 * 1024)} MB",
            hint="a configuration or profile is a few kilobytes; is this the right file?",
        )
    try:
        # one parse: the node tree gives the lines, the same tree gives the data
        loader = _loader(text, trusted)
        try:
            root = loader.get_single_node()
            if root is not None and _expanded_size(root, {}) > MAX_EXPANDED_NODES:
                raise _Bounds(None, f"expands to more than {MAX_EXPANDED_NODES:,} values "
                              "through aliases (&anchor / *alias)")  # fmt: skip
            data = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except _Bounds as exc:
        where = f"{origin}:{exc.line}" if exc.line else origin
        raise ConfigError(
            f"{where}: refused: the YAML {exc.what}", hint="write the values out plainly"
        ) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{origin}:{mark.line + 1}:{mark.column + 1}" if mark else origin
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(
            f"{where}: invalid YAML: {problem}", hint="check indentation and quoting"
        ) from exc
    document = YamlDocument(origin, data)
    if root is not None:
        _record_lines(document, root, ())
    return document


def _record_lines(document: YamlDocument, node: yaml.Node, key_path: KeyPath) -> None:
    document.lines[key_path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                raise ConfigError(
                    f"{document.origin}:{key_node.start_mark.line + 1}: "
                    f"duplicate key {dotted((*key_path, key))!r}",
                    hint="each key may appear once; merge the two entries",
                )
            seen.add(key)
            _record_lines(document, value_node, (*key_path, key))
            # the key's own line is more useful than its value's for errors
            document.lines[(*key_path, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record_lines(document, item, (*key_path, index))


def dotted(key_path: KeyPath) -> str:
    text = ""
    for part in key_path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def describe(document: YamlDocument, error: Mapping[str, Any], root: type[BaseModel]) -> str:
    """One pydantic validation error as `file:line: dotted.key: what is wrong`."""
    loc: KeyPath = tuple(part for part in error["loc"] if part != "[key]")
    kind = error["type"]
    if kind == "extra_forbidden":
        message = _unknown_key_message(loc, root)
    elif kind == "missing":
        message = "required key is missing"
    else:
        message = str(error["msg"]).removeprefix("Value error, ")
        if "input" in error and kind not in ("value_error", "assertion_error"):
            shown = error["input"]
            if not isinstance(shown, dict | list) and not _is_secret_path(loc):
                message += f" (got {shown!r})"
    return f"{document.where(loc)}: {dotted(loc) or '(top level)'}: {message}"


def _is_secret_path(loc: KeyPath) -> bool:
    from wfmcli.config.resolve import SECRET_KEYS

    return any(part in SECRET_KEYS for part in loc)


def _unknown_key_message(loc: KeyPath, root: type[BaseModel]) -> str:
    allowed = allowed_keys(loc[:-1], root)
    key = str(loc[-1])
    close = difflib.get_close_matches(key, allowed, n=1)
    suggestion = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown key {key!r}{suggestion} (allowed: {', '.join(allowed)})"


def allowed_keys(parent: KeyPath, root: type[BaseModel]) -> list[str]:
    """Field names of the model found by walking the schema along parent; dict keys are skipped."""
    model = root
    expect_mapping_key = False
    for part in parent:
        if expect_mapping_key:
            expect_mapping_key = False
            continue
        if isinstance(part, int) or part not in model.model_fields:
            continue
        annotation = model.model_fields[part].annotation
        nested = _model_in(annotation)
        if nested is None:
            break
        model = nested
        expect_mapping_key = getattr(annotation, "__origin__", None) is dict
    return list(model.model_fields)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None

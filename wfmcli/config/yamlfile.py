"""Read YAML keeping the line of every key, so errors can point at file:line."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from wfmcli.errors import ConfigError

KeyPath = tuple[str | int, ...]


@dataclass
class YamlDocument:
    path: Path
    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line_of(self, key_path: KeyPath) -> int | None:
        """The line of the deepest known ancestor of key_path (1-based)."""
        for end in range(len(key_path), -1, -1):
            line = self.lines.get(tuple(key_path[:end]))
            if line is not None:
                return line
        return None

    def where(self, key_path: KeyPath) -> str:
        line = self.line_of(key_path)
        return f"{self.path}:{line}" if line else str(self.path)


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
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.load(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(
            f"{where}: invalid YAML: {problem}", hint="check indentation and quoting"
        ) from exc
    document = YamlDocument(path, data)
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
                    f"{path_line(document.path, key_node)}: "
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


def path_line(path: Path, node: yaml.Node) -> str:
    return f"{path}:{node.start_mark.line + 1}"


def dotted(key_path: KeyPath) -> str:
    text = ""
    for part in key_path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text

"""The environment file a scheduled run reads with --env-file.

Schedulers start wfm without a login shell, so the `${VAR}` values a configuration refers to are
not there. `wfm schedule` writes the ones a destination needs to a file only its owner can read
(mode 0600, like a `*_file` secret), and the entry passes it to `wfm --env-file`.

Format: `NAME="json string"` per line, `#` comments; JSON quoting holds any value unambiguously.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path

from wfmcli.errors import UsageError

_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$")


def write_env_file(path: Path, values: Mapping[str, str], header: str) -> None:
    """Replace path with values, readable by its owner only from the first byte."""
    lines = [f"# {line}" for line in header.splitlines()]
    lines += [f"{name}={json.dumps(value)}" for name, value in sorted(values.items())]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temp.unlink(missing_ok=True)
        descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        temp.replace(path)
    except OSError as exc:
        raise UsageError(f"cannot write the environment file {path}: {exc.strerror}") from exc


def read_env_file(path: Path) -> dict[str, str]:
    """NAME -> value; a malformed line is a usage error naming its line number."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            f"cannot read the environment file {path}: {exc.strerror}",
            hint="regenerate it with 'wfm schedule'",
        ) from exc
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line.strip())
        value = _value(match.group(2)) if match else None
        if match is None or value is None:
            raise UsageError(
                f'{path}:{number}: expected NAME="value"',
                hint="regenerate it with 'wfm schedule'",
            )
        values[match.group(1)] = value
    return values


def _value(text: str) -> str | None:
    if not text.startswith('"'):
        return text
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, str) else None


def apply_env_file(path: Path) -> None:
    """Add the file's variables to this process's environment; variables already set win, so
    an operator can still override one for a single run."""
    if os.name != "nt":
        try:
            shared = path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO)
        except OSError:
            shared = 0
        if shared:
            raise UsageError(
                f"the environment file {path} is readable by other users",
                hint=f"run: chmod 600 {path}",
            )
    # secrets among them are registered for redaction when the configuration resolves them
    for name, value in read_env_file(path).items():
        os.environ.setdefault(name, value)

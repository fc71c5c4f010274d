"""What the config commands do: write the example, validate, and show with secrets masked."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from enum import Enum
from importlib import resources
from pathlib import Path
from typing import Any

from wfmcli.config.loader import load_config
from wfmcli.config.model import Config, format_duration
from wfmcli.config.resolve import SECRET_KEYS
from wfmcli.errors import ConfigError, UsageError
from wfmcli.secrets import MASK

SECRET_PLACEHOLDER = "replace-with-your-client-secret"  # noqa: S105 - a placeholder


@dataclass
class InitResult:
    config_path: Path
    secret_path: Path


@dataclass
class ValidationReport:
    path: Path
    problems: list[str] = field(default_factory=list)
    scopes: int = 0
    destinations: int = 0
    credential_sets: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def example_text() -> str:
    return resources.files("wfmcli.config").joinpath("example.yaml").read_text(encoding="utf-8")


def write_example(path: Path, *, force: bool = False) -> InitResult:
    secret_path = path.parent / "client.secret"
    if path.exists() and not force:
        raise UsageError(f"{path} already exists", hint="pass --force to overwrite it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(example_text(), encoding="utf-8")
        if force or not secret_path.exists():
            _write_private(secret_path, SECRET_PLACEHOLDER + "\n")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from exc
    return InitResult(path, secret_path)


def _write_private(path: Path, text: str) -> None:
    # create with 0600 from the start so the secret is never briefly readable by others
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


def validate(path: Path) -> ValidationReport:
    report = ValidationReport(path)
    try:
        config = load_config(path)
    except ConfigError as exc:
        report.problems = exc.problems
        return report
    from wfmcli.rta.settings import rta_problems

    report.problems = rta_problems(config)  # layouts, sinks, agent-map ids against widths
    report.scopes = len(config.scopes)
    report.destinations = sum(len(scope.destinations) for scope in config.scopes.values())
    report.credential_sets = sum(len(s.source.credentials) for s in config.scopes.values())
    report.problems += _mapping_problems(config)
    return report


def _mapping_problems(config: Config) -> list[str]:
    """The destinations' queue and agent mapping files, checked against their profiles."""
    from wfmcli.mapfiles import destination_problems

    return [
        problem
        for scope_name, scope in config.scopes.items()
        for dest_name, settings in scope.destinations.items()
        for problem in destination_problems(config.state_root(), scope_name, dest_name, settings)
    ]


def masked(config: Config) -> dict[str, Any]:
    """The resolved configuration as plain data, every secret replaced by a mask."""
    data: dict[str, Any] = _mask(config.model_dump(mode="python", exclude_none=True))
    return data


def _mask(value: Any, key: str = "") -> Any:
    if key in SECRET_KEYS:
        return MASK
    if isinstance(value, dict):
        return {k: _mask(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(item) for item in value]
    if isinstance(value, Enum):
        return value.value
    if hasattr(value, "total_seconds"):
        return format_duration(value)
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "get_secret_value"):
        return MASK
    return value

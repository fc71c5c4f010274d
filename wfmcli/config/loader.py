"""Load, resolve and validate the configuration file, reporting every problem as file:line: key."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from wfmcli.config.model import Config
from wfmcli.config.resolve import Resolver
from wfmcli.config.yamlfile import describe, read_yaml
from wfmcli.errors import ConfigError
from wfmcli.paths import default_config_path


def load_config(
    path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    only: str | None = None,
) -> Config:
    """The validated configuration; raises ConfigError listing every problem found.

    only='SCOPE/DEST' keeps just what a batch run of that destination needs (the scope's source
    and the destination without its RTA settings), so a secret or a mistake that belongs to
    another destination cannot stop this one's run. `config validate` checks the whole file.
    """
    document = read_yaml(path or default_config_path())
    if not isinstance(document.data, dict):
        raise ConfigError(
            f"{document.path}: the configuration must be a mapping with a 'scopes' key",
            hint="start from 'wfm config init'",
        )
    raw = document.data if only is None else needed_for_run(document.data, only)
    resolver = Resolver(document, dict(os.environ if environ is None else environ))
    data = resolver.resolve(raw)
    problems = list(resolver.problems)
    config: Config | None = None
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems += [describe(document, error, Config) for error in exc.errors()]
    if problems or config is None:
        raise ConfigError(problems[0], problems=problems)
    return config


def needed_for_run(data: dict[Any, Any], target: str) -> dict[Any, Any]:
    """The part of the raw YAML a `wfm run SCOPE/DEST` uses; the whole of it when the target
    is not there (so the usual 'no destination' error names what is known)."""
    scopes = data.get("scopes")
    if not isinstance(scopes, dict):
        return data
    scope_name, _, dest_name = target.rpartition("/")
    if not scope_name and len(scopes) == 1:
        scope_name = str(next(iter(scopes)))
    scope = scopes.get(scope_name)
    if not isinstance(scope, dict):
        return data
    destinations = scope.get("destinations")
    if not isinstance(destinations, dict) or not isinstance(destinations.get(dest_name), dict):
        return data
    destination = {k: v for k, v in destinations[dest_name].items() if k != "rta"}
    pruned_scope = {**scope, "destinations": {dest_name: destination}}
    return {**data, "scopes": {scope_name: pruned_scope}}

"""Load, resolve and validate the configuration file, reporting every problem as file:line: key."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationError

from wfmcli.config.model import Config
from wfmcli.config.resolve import Resolver
from wfmcli.config.yamlfile import describe, read_yaml
from wfmcli.errors import ConfigError
from wfmcli.paths import default_config_path


def load_config(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """The validated configuration; raises ConfigError listing every problem found."""
    document = read_yaml(path or default_config_path())
    if not isinstance(document.data, dict):
        raise ConfigError(
            f"{document.path}: the configuration must be a mapping with a 'scopes' key",
            hint="start from 'wfm config init'",
        )
    resolver = Resolver(document, dict(os.environ if environ is None else environ))
    data = resolver.resolve(document.data)
    problems = list(resolver.problems)
    config: Config | None = None
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems += [describe(document, error, Config) for error in exc.errors()]
    if problems or config is None:
        raise ConfigError(problems[0], problems=problems)
    return config

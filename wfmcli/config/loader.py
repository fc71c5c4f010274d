"""Load, resolve and validate the configuration file, reporting every problem as file:line: key."""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from wfmcli.config.model import Config
from wfmcli.config.resolve import Resolver
from wfmcli.config.yamlfile import KeyPath, YamlDocument, dotted, read_yaml
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
        problems += [_describe(document, error) for error in exc.errors()]
    if problems or config is None:
        raise ConfigError(problems[0], problems=problems)
    return config


def _describe(document: YamlDocument, error: Mapping[str, Any]) -> str:
    loc: KeyPath = tuple(part for part in error["loc"] if part != "[key]")
    kind = error["type"]
    if kind == "extra_forbidden":
        message = _unknown_key_message(loc)
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


def _unknown_key_message(loc: KeyPath) -> str:
    allowed = _allowed_keys(loc[:-1])
    key = str(loc[-1])
    close = difflib.get_close_matches(key, allowed, n=1)
    suggestion = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown key {key!r}{suggestion} (allowed: {', '.join(allowed)})"


def _allowed_keys(parent: KeyPath) -> list[str]:
    """Field names of the model found by walking the schema along parent; dict keys are skipped."""
    model: type[BaseModel] = Config
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
        expect_mapping_key = _is_mapping(annotation)
    return list(model.model_fields)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _is_mapping(annotation: Any) -> bool:
    origin = getattr(annotation, "__origin__", None)
    return origin is dict

"""Find, merge and validate vendor profiles: the built-in ones and the user's own.

Users drop YAML files into `<config folder>/profiles/`. A file named like a built-in one replaces
it; `extends: NAME` starts from another profile and overrides only what it states (mappings merge
key by key, lists such as `columns` are replaced whole). Every problem is reported as
file:line: key: what is allowed.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

import wfmcli.profiles as builtin
from wfmcli import frames
from wfmcli.config.yamlfile import KeyPath, YamlDocument, describe, dotted, parse_yaml
from wfmcli.errors import ConfigError
from wfmcli.paths import config_dir
from wfmcli.reports.expr import Expression
from wfmcli.reports.mapping import MAPPED
from wfmcli.reports.spec import DERIVED, RTA_NAMES, Profile, ReportSpec, RtaField

BUILTIN = "built-in "  # how a shipped profile's origin starts (a user's is its path)


def user_profile_dir() -> Path:
    return config_dir() / "profiles"


@dataclass(frozen=True)
class ProfileSource:
    name: str
    origin: str  # "built-in" or the file's path
    text: str


@dataclass(frozen=True)
class ProfileSummary:
    name: str
    product: str
    origin: str
    delivery: str
    reports: list[str]
    publication: dict[str, str]
    rta: str | None


def sources(user_dir: Path | None = None) -> dict[str, ProfileSource]:
    """Every profile by name; the user's files win over built-in ones of the same name."""
    found = {
        name: ProfileSource(name, f"{BUILTIN}{name}.yaml", entry.read_text(encoding="utf-8"))
        for name, entry in builtin.builtin_files().items()
    }
    folder = user_dir or user_profile_dir()
    if folder.is_dir():
        for path in sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml")):
            found[path.stem] = ProfileSource(path.stem, str(path), _read(path))
    return found


def load_profile(name: str, user_dir: Path | None = None) -> Profile:
    known = sources(user_dir)
    if name not in known:
        close = difflib.get_close_matches(name, list(known), n=1)
        raise ConfigError(
            f"no profile named {name!r}",
            hint=f"did you mean {close[0]!r}?"
            if close
            else f"profiles: {', '.join(sorted(known))}",
        )
    return _build(known[name], known)


def load_profile_file(path: Path, user_dir: Path | None = None) -> Profile:
    """Validate one profile file as it would load (its `extends` resolved against the others)."""
    source = ProfileSource(path.stem, str(path), _read(path))
    return _build(source, sources(user_dir))


def summaries(user_dir: Path | None = None) -> list[ProfileSummary]:
    known = sources(user_dir)
    result = []
    for name in sorted(known):
        profile = _build(known[name], known)
        result.append(
            ProfileSummary(
                name=profile.name,
                product=profile.product,
                origin=known[name].origin,
                delivery=profile.delivery,
                reports=list(profile.reports),
                publication={k: r.publication for k, r in profile.reports.items()},
                rta=profile.rta.protocol if profile.rta else None,
            )
        )
    return result


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise ConfigError(f"profile file {path} does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read profile file {path}: {exc}") from exc


def _parse(source: ProfileSource) -> YamlDocument:
    document = parse_yaml(source.text, source.origin, trusted=source.origin.startswith(BUILTIN))
    if not isinstance(document.data, dict):
        raise ConfigError(
            f"{source.origin}: a profile must be a mapping with name, product, reports"
        )
    return document


def _merged(
    source: ProfileSource,
    known: Mapping[str, ProfileSource],
    seen: tuple[str, ...],
    document: YamlDocument | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = (document or _parse(source)).data
    parent = data.get("extends")
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise ConfigError(f"{source.origin}: extends must be a profile name")
    if parent in seen:
        raise ConfigError(f"{source.origin}: extends loops: {' -> '.join((*seen, parent))}")
    base_source = known.get(parent)
    if parent == source.name or (base_source is not None and base_source.origin == source.origin):
        base_source = _builtin_source(parent)
    if base_source is None:
        raise ConfigError(
            f"{source.origin}: extends names unknown profile {parent!r}",
            hint=f"profiles: {', '.join(sorted(known))}",
        )
    base = _merged(base_source, known, (*seen, source.name))
    return _deep_merge(base, data)


def _builtin_source(name: str) -> ProfileSource | None:
    entry = builtin.builtin_files().get(name)
    return (
        ProfileSource(name, f"{BUILTIN}{name}.yaml", entry.read_text(encoding="utf-8"))
        if entry
        else None
    )


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _build(source: ProfileSource, known: Mapping[str, ProfileSource]) -> Profile:
    document = _parse(source)
    own = dict(document.data)
    data = _merged(source, known, (), document)
    data["name"] = own.get("name", source.name)  # never the name of the profile it extends
    problems: list[str] = []
    profile: Profile | None = None
    try:
        profile = Profile.model_validate(data)
    except ValidationError as exc:
        problems = [describe(document, error, Profile) for error in exc.errors()]
    if profile is not None:
        problems = [
            f"{document.where(path)}: {dotted(path)}: {message}"
            for path, message in _expression_problems(profile) + _rta_problems(profile)
        ]
    if problems or profile is None:
        more = (
            f" (and {len(problems) - 1} more: run 'wfm profiles validate FILE')"
            if len(problems) > 1
            else ""
        )
        error = ConfigError(problems[0] + more)
        error.problems = problems
        raise error
    return profile


def _expression_problems(profile: Profile) -> list[tuple[KeyPath, str]]:
    """Names in expressions must exist: frame columns, derived names, constants, output columns."""
    found: list[tuple[KeyPath, str]] = []
    for name, report in profile.reports.items():
        base: KeyPath = ("reports", name)
        allowed = _allowed_names(profile, report)
        outputs = {column.name for column in report.columns}
        found += _unknown(report.filter, (*base, "filter"), allowed)
        for index, column in enumerate(report.columns):
            found += _unknown(column.source, (*base, "columns", index, "expr"), allowed)
        for index, check in enumerate(report.checks):
            for key in ("rule", "left", "right", "wait"):
                found += _unknown(
                    getattr(check, key), (*base, "checks", index, key), allowed | outputs
                )
            for group in check.group:
                if group not in allowed | outputs:
                    found.append(((*base, "checks", index, "group"), f"unknown name {group!r}"))
        for sort_name in report.sort:
            if sort_name not in allowed | outputs | {"_bin"}:
                found.append(((*base, "sort"), f"unknown name {sort_name!r}"))
    return found


def _allowed_names(profile: Profile, report: ReportSpec) -> set[str]:
    frame_spec = frames.FRAMES[report.frame]
    mapped = set(MAPPED) if "queue_id" in frame_spec.names else set()
    return set(frame_spec.names) | set(DERIVED) | set(profile.constants) | mapped


def _unknown(source: str | None, path: KeyPath, allowed: set[str]) -> list[tuple[KeyPath, str]]:
    if not source:
        return []
    missing = sorted(
        name
        for name in Expression(source).names
        if name not in allowed and not (frames.SECONDARY_PRESENCE.match(name))
    )
    if not missing:
        return []
    close = difflib.get_close_matches(missing[0], sorted(allowed), n=1)
    hint = (
        f"did you mean {close[0]!r}?"
        if close
        else "names are frame columns (wfmcli/frames.py), " + ", ".join(DERIVED) + " or constants"
    )
    return [(path, f"unknown name {missing[0]!r} in {source!r} ({hint})")]


def _rta_problems(profile: Profile) -> list[tuple[KeyPath, str]]:
    """The RTA layout: names its expressions read, overrides of fields it has, fixed widths."""
    rta = profile.rta
    if rta is None:
        return []
    found: list[tuple[KeyPath, str]] = []
    allowed = set(RTA_NAMES)
    for key in ("fields", "header"):
        for index, spec in enumerate(getattr(rta, key)):
            found += _unknown_rta(spec.source, ("rta", key, index, "expr"), allowed)
    names = [spec.name for spec in rta.fields]
    for name, changes in rta.override.items():
        if name not in names:
            close = difflib.get_close_matches(name, names, n=1)
            hint = f"did you mean {close[0]!r}?" if close else "fields: " + ", ".join(names)
            found.append((("rta", "override", name), f"unknown field {name!r} ({hint})"))
            continue
        base = rta.fields[names.index(name)]
        try:
            merged = RtaField.model_validate({**base.model_dump(exclude_unset=True), **changes})
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ("rta", "override", name, *error["loc"])
            found.append((where, str(error["msg"]).removeprefix("Value error, ")))
            continue
        found += _unknown_rta(merged.source, ("rta", "override", name, "expr"), allowed)
    if rta.framing == "fixed":
        for key in ("fields", "header"):
            for index, spec in enumerate(getattr(rta, key)):
                if spec.width is None and not rta.override.get(spec.name, {}).get("width"):
                    found.append((("rta", key, index, "width"),
                                  f"field {spec.name!r} needs a width in a fixed layout"))
    if rta.framing is not None and not rta.fields:
        found.append((("rta", "fields"), "a layout needs at least one field"))
    if rta.transport == "http-push" and rta.framing is not None and rta.http is None:
        found.append((("rta", "http"), "an http-push layout needs http (path, body, batch)"))
    return found


def _unknown_rta(source: str, path: KeyPath, allowed: set[str]) -> list[tuple[KeyPath, str]]:
    missing = sorted(name for name in Expression(source).names if name not in allowed)
    if not missing:
        return []
    close = difflib.get_close_matches(missing[0], sorted(allowed), n=1)
    hint = f"did you mean {close[0]!r}?" if close else "names: " + ", ".join(sorted(allowed))
    return [(path, f"unknown name {missing[0]!r} in {source!r} ({hint})")]

"""`wfm config validate`: everything a delivery needs, checked before the first delivery.

The configuration model checks shapes; this adds what only the transports and profiles know:
the URL scheme has a transport, every delivery option is one that transport declares and has a
valid value, the profile loads (its file-name templates included) and names the reports asked.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from wfmcli.config import Config, Destination
from wfmcli.config.manage import ValidationReport
from wfmcli.config.manage import validate as validate_model
from wfmcli.config.yamlfile import KeyPath, YamlDocument, dotted, read_yaml
from wfmcli.errors import WfmError


def validate(path: Path) -> ValidationReport:
    report = validate_model(path)
    if report.scopes:  # the model loaded (a configuration has at least one scope)
        from wfmcli.config import load_config

        mine = delivery_problems(load_config(path), read_yaml(path))
        # the RTA checks may name the same fault (a missing profile) without the file's line
        others = [p for p in report.problems if not any(p.split(": ", 1)[-1] in m for m in mine)]
        report.problems = mine + others
    return report


def delivery_problems(config: Config, document: YamlDocument) -> list[str]:
    problems: list[str] = []
    for scope_name, scope in config.scopes.items():
        for dest_name, destination in scope.destinations.items():
            where: KeyPath = ("scopes", scope_name, "destinations", dest_name)
            found = _transport_problems(destination, where) + _profile_problems(destination, where)
            problems += [f"{document.where(key)}: {dotted(key)}: {text}" for key, text in found]
    return problems


def _transport_problems(destination: Destination, where: KeyPath) -> list[tuple[KeyPath, str]]:
    from wfmcli.transports.registry import open_transport, transport_class
    from wfmcli.transports.url import parse_url

    delivery = destination.delivery
    if delivery is None:
        return []
    at = (*where, "delivery")
    try:
        cls = transport_class(parse_url(delivery.url).scheme)
    except WfmError as exc:
        return [((*at, "url"), exc.one_line())]
    options = delivery.transport_options()
    for name in options:
        if name not in cls.option_names:
            close = difflib.get_close_matches(name, sorted(cls.option_names), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            allowed = ", ".join(sorted(cls.option_names))
            text = f"unknown option {name!r} for {cls.scheme}:// ({hint}allowed: {allowed})"
            return [((*at, name), text)]
    try:
        open_transport(delivery.url, options)  # checks values and URL; does not connect
    except WfmError as exc:
        return [(at, exc.one_line())]
    return []


def _profile_problems(destination: Destination, where: KeyPath) -> list[tuple[KeyPath, str]]:
    from wfmcli.reports.profiles import load_profile

    try:
        profile = load_profile(destination.profile)
    except WfmError as exc:
        return [((*where, "profile"), exc.one_line())]
    unknown = [name for name in destination.reports if name not in profile.reports]
    if unknown:
        known = ", ".join(profile.reports)
        text = f"profile {profile.name!r} has no report {unknown[0]!r} (reports: {known})"
        return [((*where, "reports"), text)]
    if destination.agent_map_file and not destination.agent_map_file.is_file():
        return [((*where, "agent_map_file"), f"{destination.agent_map_file} is not a file")]
    return []

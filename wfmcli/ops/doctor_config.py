"""Doctor checks that need the configuration file but no network: every RTA destination can
start, each destination's transport is one its vendor takes, and no secret sits in the file in
clear."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from wfmcli.config import Config
from wfmcli.config.resolve import SECRET_KEYS
from wfmcli.config.yamlfile import KeyPath, YamlDocument, dotted
from wfmcli.errors import WfmError
from wfmcli.ops.doctor import Check
from wfmcli.secrets import redact


def config_checks(config: Config, scope_name: str, document: YamlDocument) -> list[Check]:
    scope = config.scope(scope_name)
    checks = [check_clear_secrets(document, scope_name)]
    for dest_name, destination in sorted(scope.destinations.items()):
        target = f"{scope_name}/{dest_name}"
        checks.append(check_vendor_transport(target, destination.profile, destination))
        if destination.rta is not None:
            checks.append(check_rta_start(config, target))
    return checks


def check_rta_start(config: Config, target: str) -> Check:
    """Build the relay's settings exactly as `wfm rta serve` does, without starting it."""
    from wfmcli.rta.settings import relay_settings

    label = f"rta {target} can start"
    try:
        settings = relay_settings(config, target, write_status=False)
    except WfmError as exc:
        return Check(label, "fail", redact(exc.one_line()), exc.hint or "fix the rta settings")
    sinks = ", ".join(sink.kind for sink in settings.sinks) or "no sink"
    return Check(label, "pass", f"{settings.layout.name} records to {sinks}")


def check_vendor_transport(target: str, profile_name: str, destination: Any) -> Check:
    from wfmcli.reports.profiles import load_profile

    label = f"transport {target}"
    delivery = destination.delivery
    if delivery is None:
        return Check(label, "pass", "no delivery: files stay local")
    try:
        profile = load_profile(profile_name)
    except WfmError as exc:
        return Check(label, "fail", exc.one_line(), exc.hint or "fix the profile name")
    scheme = urlsplit(delivery.url).scheme.lower()
    if not profile.delivery_schemes or scheme in profile.delivery_schemes:
        return Check(label, "pass", f"{scheme}:// is how {profile.product} takes files")
    wanted = " or ".join(f"{s}://" for s in profile.delivery_schemes)
    return Check(
        label,
        "warn",
        f"{profile.product} takes files over {wanted}, not {scheme}:// "
        f"(profile {profile.name}: {profile.delivery})",
        f"deliver with a {wanted} URL, unless this customer agreed otherwise",
    )


def check_clear_secrets(document: YamlDocument, scope_name: str) -> Check:
    """Secret keys written as a literal value rather than ${VAR}, *_file or keyring."""
    found = [path for path in _secret_paths(document.data, ()) if _in_scope(path, scope_name)]
    label = "secrets not in clear"
    if not found:
        return Check(label, "pass", "every secret is a ${VAR}, a *_file or the keyring")
    where = [f"{document.where(path)} ({dotted(path)})" for path in found]
    return Check(
        label,
        "warn",
        f"{len(found)} secret(s) written in clear in the file: {', '.join(where)}",
        "replace each with ${VAR} (set in the environment, or the env file 'wfm schedule' "
        "writes), a <key>_file path to a 0600 file, or 'keyring' after 'wfm auth store'",
    )


def _in_scope(path: KeyPath, scope_name: str) -> bool:
    return len(path) < 2 or path[0] != "scopes" or path[1] == scope_name


def _secret_paths(value: Any, path: KeyPath) -> list[KeyPath]:
    if isinstance(value, dict):
        found: list[KeyPath] = []
        for key, item in value.items():
            here = (*path, str(key))
            if str(key) in SECRET_KEYS and _is_clear(item):
                found.append(here)
            else:
                found += _secret_paths(item, here)
        return found
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in _secret_paths(item, (*path, i))]
    return []


def _is_clear(value: Any) -> bool:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return False
    text = str(value)
    return bool(text) and "${" not in text and text.split(":")[0] != "keyring"

"""Resolve what the YAML refers to: ${ENV} variables, *_file secrets and keyring entries.

Runs on the raw YAML data before validation, so every problem can name its file, line and key.
Resolved secrets are registered for redaction the moment they are read.
"""

from __future__ import annotations

import logging
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wfmcli.config.yamlfile import KeyPath, YamlDocument, dotted
from wfmcli.secrets import register_secret

log = logging.getLogger("wfm.config")

# Keys whose values are secrets wherever they appear. A `<key>_file` sibling reads it from a file.
SECRET_KEYS = frozenset(
    {
        "client_secret",
        "password",
        "secret_access_key",
        "session_token",
        "api_key",
        "authentication_key",
        "key_passphrase",
        "token",  # https:// delivery: the bearer token
        "data_source_key",  # https:// delivery: Calabrio's data source key
    }
)
KEYRING_SERVICE = "wfm"
_ENV_REFERENCE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def referenced_variables(value: Any) -> set[str]:
    """The environment variables `${NAME}` references anywhere in raw YAML data."""
    if isinstance(value, dict):
        return set().union(*(referenced_variables(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(referenced_variables(v) for v in value))
    if isinstance(value, str):
        return {m.group(1) for m in _ENV_REFERENCE.finditer(value) if m.group(1)}
    return set()


def uses_keyring(value: Any, key: str = "") -> bool:
    """Whether raw YAML data reads any secret from the OS keyring."""
    if isinstance(value, dict):
        return any(uses_keyring(v, str(k)) for k, v in value.items())
    if isinstance(value, list):
        return any(uses_keyring(v, key) for v in value)
    return key in SECRET_KEYS and isinstance(value, str) and value.split(":")[0] == "keyring"


@dataclass
class Resolver:
    document: YamlDocument
    environ: dict[str, str]
    problems: list[str] = field(default_factory=list)

    def problem(self, key_path: KeyPath, message: str) -> None:
        self.problems.append(f"{self.document.where(key_path)}: {dotted(key_path)}: {message}")

    def resolve(self, value: Any, key_path: KeyPath = ()) -> Any:
        if isinstance(value, dict):
            return self._resolve_mapping(value, key_path)
        if isinstance(value, list):
            return [self.resolve(item, (*key_path, i)) for i, item in enumerate(value)]
        if isinstance(value, str):
            return self._interpolate(value, key_path)
        return value

    def _resolve_mapping(self, mapping: dict[Any, Any], key_path: KeyPath) -> dict[str, Any]:
        resolved: dict[str, Any] = {}
        for raw_key, raw_value in mapping.items():
            key = str(raw_key)
            value = self.resolve(raw_value, (*key_path, key))
            secret_key = key.removesuffix("_file")
            if key.endswith("_file") and secret_key in SECRET_KEYS:
                if secret_key in mapping:
                    self.problem((*key_path, key), f"give {secret_key} or {key}, not both")
                    continue
                value = self._read_secret_file(value, (*key_path, key))
                key = secret_key
            elif key in SECRET_KEYS and isinstance(value, dict | list):
                kind = "a list" if isinstance(value, list) else "a mapping"
                self.problem(
                    (*key_path, key),
                    f"a secret must be one text value, not {kind} "
                    "(quote it, or use ${VAR}, a *_file path or keyring)",
                )
                continue
            elif key in SECRET_KEYS and isinstance(value, str):
                value = self._from_keyring(value, (*key_path, key), mapping)
            if key in SECRET_KEYS and isinstance(value, str):
                register_secret(value)
            resolved[key] = value
        return resolved

    def _interpolate(self, text: str, key_path: KeyPath) -> str:
        def substitute(match: re.Match[str]) -> str:
            if match.group(0) == "$$":
                return "$"
            name, default = match.group(1), match.group(2)
            if name in self.environ:
                return self.environ[name]
            if default is not None:
                return default
            self.problem(
                key_path,
                f"environment variable {name} is not set "
                f"(set it, or write ${{{name}:-default}} to give a default)",
            )
            return ""

        if "${" in _ENV_REFERENCE.sub("", text):
            self.problem(
                key_path,
                "a '${' starts no complete ${NAME} reference (close it with '}', "
                "or write $$ for a literal $)",
            )
            return text
        return _ENV_REFERENCE.sub(substitute, text)

    def _read_secret_file(self, value: Any, key_path: KeyPath) -> str | None:
        if not isinstance(value, str) or not value:
            self.problem(key_path, "expected the path of a file holding the secret")
            return None
        path = Path(value).expanduser()
        if not path.is_absolute():
            path = self.document.path.parent / path
        try:
            secret = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            self.problem(key_path, f"cannot read secret file {path}: {exc.strerror}")
            return None
        if not secret:
            self.problem(key_path, f"secret file {path} is empty")
            return None
        _warn_if_shared(path)
        return secret

    def _from_keyring(self, value: str, key_path: KeyPath, mapping: dict[Any, Any]) -> str | None:
        if value != "keyring" and not value.startswith("keyring:"):
            return value
        username = value.removeprefix("keyring").removeprefix(":") or keyring_username(
            key_path, mapping
        )
        try:
            import keyring
            import keyring.errors
        except ImportError:
            self.problem(
                key_path, "reading secrets from the OS keyring needs: pip install 'wfm[keyring]'"
            )
            return None
        try:
            secret = keyring.get_password(KEYRING_SERVICE, username)
        except keyring.errors.KeyringError as exc:
            self.problem(key_path, f"the OS keyring failed: {exc}")
            return None
        if secret is None:
            self.problem(
                key_path,
                f"no secret for {username!r} in the OS keyring (service {KEYRING_SERVICE!r}); "
                "store it with 'wfm auth store'",
            )
        return secret


def keyring_username(key_path: KeyPath, mapping: dict[Any, Any]) -> str:
    """The keyring user name a bare `keyring` value stands for: `<scope>/<client_id>` for
    Genesys credentials, `<scope>/<destination>/<key>` for destination secrets."""
    scope = str(key_path[1]) if len(key_path) > 1 else "default"
    if "client_id" in mapping:
        return f"{scope}/{mapping['client_id']}"
    names = [str(part) for part in key_path[2:] if isinstance(part, str)]
    named = [name for name in names if name not in {"destinations", "delivery", "rta"}]
    return "/".join([scope, *named])


def _warn_if_shared(path: Path) -> None:
    if os.name == "nt":
        return  # Windows ACLs do not map to mode bits; the folder's ACL governs access
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("secret file %s is readable by other users; run: chmod 600 %s", path, path)

"""Secrets resolve from the environment, files and the keyring, and are never shown."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend

from tests.config.helpers import ENV, VALID, write
from tests.conftest import RunWfm
from wfmcli.config import load_config
from wfmcli.errors import ConfigError, ExitCode
from wfmcli.secrets import redact


class MemoryKeyring(KeyringBackend):
    """A real keyring backend that keeps entries in memory."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.entries.pop((service, username), None)


@pytest.fixture
def memory_keyring() -> MemoryKeyring:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.mark.parametrize(
    "args",
    [
        ("config", "show"),
        ("config", "show", "--json"),
        ("--json", "config", "show"),
        ("--debug", "config", "show"),
        ("-vv", "config", "validate"),
        ("--json", "config", "validate"),
    ],
)
def test_config_show_never_prints_a_secret(
    args: tuple[str, ...], tmp_path: Path, run_wfm: RunWfm
) -> None:
    path = write(tmp_path, VALID)
    result = run_wfm("-c", str(path), *args, env=ENV)
    assert result.exit_code == 0, result.stderr
    output = result.stdout + result.stderr
    for secret in ENV.values():
        assert secret not in output
    if "show" in args:
        assert "client-one" in output  # the rest of the config is there
        assert output.count("***") >= 3


def test_json_show_masks_each_secret_field(tmp_path: Path, run_wfm: RunWfm) -> None:
    result = run_wfm("-c", str(write(tmp_path, VALID)), "config", "show", "--json", env=ENV)
    scope = json.loads(result.stdout)["data"]["scopes"]["prod"]
    assert scope["source"]["credentials"][0]["client_secret"] == "***"
    assert scope["destinations"]["nice"]["delivery"]["password"] == "***"
    assert scope["destinations"]["nice"]["rta"]["api_key"] == "***"


def test_secret_in_error_is_never_echoed(tmp_path: Path, run_wfm: RunWfm) -> None:
    text = VALID.replace("listen: 127.0.0.1:7100", "listen: nonsense")
    result = run_wfm("-c", str(write(tmp_path, text)), "--debug", "config", "show", env=ENV)
    assert result.exit_code == ExitCode.CONFIG
    for secret in ENV.values():
        assert secret not in result.stdout + result.stderr


def test_secret_file_is_read_relative_to_config(tmp_path: Path) -> None:
    (tmp_path / "gc.secret").write_text("from-a-file-secret\n", encoding="utf-8")
    (tmp_path / "gc.secret").chmod(0o600)
    text = VALID.replace("client_secret: ${GC_SECRET}", "client_secret_file: gc.secret")
    config = load_config(write(tmp_path, text), environ=ENV)
    secret = config.scopes["prod"].source.credentials[0].client_secret
    assert secret.get_secret_value() == "from-a-file-secret"
    assert redact("token from-a-file-secret here") == "token *** here"


@pytest.mark.skipif(os.name == "nt", reason="POSIX mode bits")
def test_secret_file_readable_by_others_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "gc.secret").write_text("shared-secret-value", encoding="utf-8")
    (tmp_path / "gc.secret").chmod(0o644)
    text = VALID.replace("client_secret: ${GC_SECRET}", "client_secret_file: gc.secret")
    monkeypatch.setattr(logging.getLogger("wfm"), "propagate", True)
    with caplog.at_level(logging.WARNING, logger="wfm.config"):
        load_config(write(tmp_path, text), environ=ENV)
    assert "readable by other users" in caplog.text
    assert "chmod 600" in caplog.text


def test_missing_secret_file_names_key(tmp_path: Path) -> None:
    text = VALID.replace("client_secret: ${GC_SECRET}", "client_secret_file: nope.secret")
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), environ=ENV)
    assert "client_secret_file: cannot read secret file" in str(caught.value)
    assert ":8:" in str(caught.value)


def test_secret_and_file_together_is_error(tmp_path: Path) -> None:
    text = VALID.replace(
        "client_secret: ${GC_SECRET}",
        "client_secret: ${GC_SECRET}\n          client_secret_file: x",
    )
    with pytest.raises(ConfigError, match="not both"):
        load_config(write(tmp_path, text), environ=ENV)


def test_env_default_and_dollar_escape(tmp_path: Path) -> None:
    text = VALID.replace("licensed_role: WFM Agent", "licensed_role: ${ROLE:-WFM} $$Agent")
    config = load_config(write(tmp_path, text), environ=ENV)
    assert config.scopes["prod"].source.licensed_role == "WFM $Agent"


def test_keyring_secret(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    memory_keyring.set_password("wfm", "prod/client-one", "kr-secret-value")
    memory_keyring.set_password("wfm", "sftp-for-nice", "kr-sftp-value")
    text = VALID.replace("client_secret: ${GC_SECRET}", "client_secret: keyring").replace(
        "password: ${SFTP_PASSWORD}", "password: keyring:sftp-for-nice"
    )
    config = load_config(write(tmp_path, text), environ=ENV)
    scope = config.scopes["prod"]
    assert scope.source.credentials[0].client_secret.get_secret_value() == "kr-secret-value"
    delivery = scope.destinations["nice"].delivery
    assert delivery is not None
    assert delivery.transport_options()["password"] == "kr-sftp-value"


def test_keyring_entry_missing_says_how_to_store(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    text = VALID.replace("client_secret: ${GC_SECRET}", "client_secret: keyring")
    with pytest.raises(ConfigError, match="wfm auth store"):
        load_config(write(tmp_path, text), environ=ENV)


def test_init_writes_example_that_validates(tmp_path: Path, run_wfm: RunWfm) -> None:
    path = tmp_path / "conf" / "config.yaml"
    result = run_wfm("-c", str(path), "config", "init")
    assert result.exit_code == 0, result.stderr
    secret = path.parent / "client.secret"
    if os.name != "nt":
        assert secret.stat().st_mode & 0o777 == 0o600
    assert "#" in path.read_text(encoding="utf-8")
    validated = run_wfm("-c", str(path), "config", "validate")
    assert validated.exit_code == 0, validated.stderr
    again = run_wfm("-c", str(path), "config", "init")
    assert again.exit_code == ExitCode.USAGE
    assert "--force" in again.stderr

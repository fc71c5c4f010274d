"""`wfm auth store` checks for a usable keyring before it asks for the secret."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

from tests.config.helpers import VALID, write
from tests.conftest import RunWfm
from wfmcli.errors import ExitCode

CONFIG = VALID.replace("${GC_SECRET}", "keyring")


@pytest.fixture
def no_keyring() -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        yield
    finally:
        keyring.set_keyring(previous)


def test_store_without_a_keyring_backend_fails_before_prompting(
    tmp_path: Path, run_wfm: RunWfm, no_keyring: None
) -> None:
    config = write(tmp_path, CONFIG)
    result = run_wfm("-c", str(config), "auth", "store", "prod", input="s3cret\ns3cret\n")
    assert result.exit_code == ExitCode.CONFIG
    (line,) = result.stderr.strip().splitlines()
    assert "no usable OS keyring here (keyring.backends.fail.Keyring)" in line
    assert "Client secret" not in result.stderr + result.stdout  # never prompted

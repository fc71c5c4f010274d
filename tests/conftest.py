"""Shared fixtures: every test runs with its own config, data and cache folders."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from wfmcli.cli.main import app

RunWfm = Callable[..., Result]
# a developer's proxy must never carry the tests' 127.0.0.1 traffic elsewhere
PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


@pytest.fixture(autouse=True)
def isolated_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Point platformdirs and the WFM_* overrides at a fresh folder, away from the real home;
    drop proxy settings."""
    home = tmp_path_factory.mktemp("home")
    for variable in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(variable, str(home / variable.lower()))
    for variable in ("WFM_CONFIG", "WFM_DATA_DIR", "WFM_CACHE_DIR", *PROXY_VARIABLES):
        monkeypatch.delenv(variable, raising=False)
    return home


@pytest.fixture
def run_wfm() -> Iterator[RunWfm]:
    """Run the wfm app in-process; the result has .exit_code, .stdout and .stderr apart."""
    runner = CliRunner()

    def run(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Result:
        return runner.invoke(app, list(args), env=env, input=input)

    yield run

"""Input a user can type or a file can hold ends in one line and a documented exit code, never an
internal error (exit 1)."""

from __future__ import annotations

import json
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.config.helpers import ENV, VALID, write
from tests.conftest import RunWfm
from wfmcli.errors import ExitCode
from wfmcli.reports.expr import EvaluationError, Expression


def _alias_bomb() -> str:
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    for level in range(1, 12):
        lines.append(f"a{level}: &a{level} [" + ",".join([f"*a{level - 1}"] * 9) + "]")
    return "\n".join([*lines, "scopes: *a11", ""])


def _one_error_line(stderr: str) -> str:
    (line,) = stderr.strip().splitlines()
    assert line.startswith("wfm: error: ") and "internal error" not in line
    return line


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (_alias_bomb(), "expands to more than 200,000 values through aliases"),
        ("scopes: " + "[" * 50_000 + "]" * 50_000 + "\n", ":1: refused: the YAML nested deeper"),
    ],
    ids=["alias bomb", "50,000 deep"],
)
def test_hostile_yaml_is_a_config_error(
    tmp_path: Path, run_wfm: RunWfm, text: str, expected: str
) -> None:
    config = write(tmp_path, text)
    for command in (["config", "validate"], ["status"], ["run", "prod/nice"]):
        result = run_wfm("-c", str(config), *command)
        assert result.exit_code == ExitCode.CONFIG, (command, result.stderr)
        assert expected in _one_error_line(result.stderr)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sftp://[127.0.0.1/x", "cannot read the URL 'sftp://[127.0.0.1/x': Invalid IPv6 URL"),
        ("ftp://user@:21/x", "the URL 'ftp://user@:21/x' names no host"),
        ("ftp://h:99999/x", "Port out of range"),
        ("nohost", "is not a transport URL"),
    ],
)
def test_bad_urls_are_usage_errors_at_once(
    tmp_path: Path, run_wfm: RunWfm, url: str, expected: str
) -> None:
    local = tmp_path / "a.txt"
    local.write_text("x\n")
    for command in (["upload", url, str(local)], ["transports", "test", url]):
        result = run_wfm(*command)
        assert result.exit_code == ExitCode.USAGE, result.stderr
        assert expected in _one_error_line(result.stderr)


def test_huge_numbers_in_an_expression_are_a_profile_error(
    tmp_path: Path, run_wfm: RunWfm
) -> None:
    big = "9" * 900
    profile = tmp_path / "mine.yaml"
    profile.write_text(
        "extends: verint\nreports:\n  queue:\n    columns:\n"
        f"      - {{name: offered, expr: 'offered * {big} * {big}'}}\n",
        encoding="utf-8",
    )
    result = run_wfm("profiles", "validate", str(profile))
    assert result.exit_code == ExitCode.CONFIG, result.stdout + result.stderr
    assert "has more than 15 digits" in result.stderr
    assert "internal error" not in result.stderr


@pytest.mark.parametrize(
    "source",
    [
        "offered * (999999999999999 * 999999999999999)",
        # a column times literals: numpy would wrap the int64 around without a word
        "offered * 999999999999999 * 999999999999999",
        "offered * 999999999999999 * 9999 + 1",
    ],
)
def test_overflow_while_computing_names_the_expression(source: str) -> None:
    with pytest.raises(EvaluationError) as caught:
        Expression(source).evaluate({"offered": pd.Series([1, 2], dtype="int64")})
    assert caught.value.exit_code == ExitCode.USAGE
    assert f"expression {source!r} cannot be computed" in caught.value.one_line()


def test_large_products_that_fit_are_exact() -> None:
    value = Expression("offered * 999999999999999 * 9").evaluate(
        {"offered": pd.Series([1, 1000], dtype="int64")}
    )
    assert list(value) == [8999999999999991, 8999999999999991000]


def test_json_envelope_after_the_command_too(tmp_path: Path, run_wfm: RunWfm) -> None:
    config = write(tmp_path, "scopes: [unclosed\n")
    for args in (["--json", "status"], ["status", "--json"]):
        result = run_wfm("-c", str(config), *args)
        assert result.exit_code == ExitCode.CONFIG
        envelope = json.loads(result.stdout)
        assert envelope["ok"] is False and envelope["error"]["type"] == "ConfigError"
        assert envelope["error"]["exit_code"] == ExitCode.CONFIG


@pytest.fixture
def read_only_ftp(tmp_path: Path) -> Iterator[int]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from pyftpdlib.authorizers import DummyAuthorizer
        from pyftpdlib.handlers import FTPHandler
        from pyftpdlib.ioloop import IOLoop
        from pyftpdlib.servers import FTPServer
    root = tmp_path / "ftp"
    root.mkdir()
    authorizer = DummyAuthorizer()
    authorizer.add_user("reader", "reader-pass", str(root), perm="elr")  # no write
    attrs: dict[str, Any] = {"authorizer": authorizer}
    server = FTPServer(("127.0.0.1", 0), type("H", (FTPHandler,), attrs), ioloop=IOLoop())
    thread = threading.Thread(target=server.serve_forever, kwargs={"timeout": 0.05})
    thread.start()
    yield int(server.address[1])
    server.close_all()
    thread.join()


def test_refused_upload_says_why(tmp_path: Path, run_wfm: RunWfm, read_only_ftp: int) -> None:
    local = tmp_path / "a.txt"
    local.write_text("x\n")
    result = run_wfm(
        "upload", f"ftp://reader@127.0.0.1:{read_only_ftp}/", str(local),
        "--password-env", "FTP_PASS", "-o", "retries=0", env={"FTP_PASS": "reader-pass"},
    )  # fmt: skip
    assert result.exit_code == ExitCode.REMOTE
    last = result.stderr.strip().splitlines()[-1]
    assert "1 of 1 files were not delivered" in last
    assert "refused: permission denied or no such folder: 550" in last


def test_other_destinations_mistakes_do_not_stop_a_run_config_validate_finds_them(
    tmp_path: Path, run_wfm: RunWfm
) -> None:
    text = VALID + "      other:\n        profile: verint\n        timezone: Mars/Olympus\n"
    config = write(tmp_path, text)
    result = run_wfm("-c", str(config), "config", "validate", env=ENV)
    assert result.exit_code == ExitCode.CONFIG
    assert "unknown time zone 'Mars/Olympus'" in result.stderr + result.stdout

"""The CLI frame: version, help, global options and the one top-level handler."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from tests.conftest import RunWfm
from wfmcli import __version__
from wfmcli.cli.main import WfmGroup
from wfmcli.errors import AuthError, ExitCode, TransientError, WfmError
from wfmcli.secrets import register_secret


def test_version_is_calver(run_wfm: RunWfm) -> None:
    result = run_wfm("--version")
    assert result.exit_code == 0
    assert re.fullmatch(r"wfm \d{4}\.\d{2}\.\d{2}(\.\d+)?\n", result.stdout)
    assert __version__ in result.stdout


def _listed_commands(help_text: str) -> list[str]:
    """Command names from every help panel except the options."""
    panels = help_text.split("╭─ ")[1:]
    commands = [p for p in panels if not p.startswith("Options")]
    return [name for panel in commands for name in re.findall(r"│ (\w[\w-]*)\s{2,}", panel)]


def test_every_command_in_help_has_working_help(run_wfm: RunWfm) -> None:
    """--help lists only commands that exist and answer --help themselves."""
    top = run_wfm("--help")
    assert top.exit_code == 0
    commands = _listed_commands(top.stdout)
    assert "config" in commands
    for command in commands:
        result = run_wfm(command, "--help")
        assert result.exit_code == 0, (command, result.stderr)
        for sub in _listed_commands(result.stdout):
            assert run_wfm(command, sub, "--help").exit_code == 0, (command, sub)


def test_a_command_builds_only_its_own_module() -> None:
    """`wfm rta serve` (and every other command) imports its own command module, not all of
    them: start-up before the relay's first request is what a restart waits for."""
    probe = (
        "import sys; from typer.testing import CliRunner; from wfmcli.cli.main import app; "
        "result = CliRunner().invoke(app, ['rta', 'serve', '--help']); "
        "print(result.exit_code, sorted(m for m in sys.modules if m.endswith('_cmd')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.split(" ", 1) == ["0", "['wfmcli.cli.rta_cmd']\n"]


def test_exit_codes_are_distinct() -> None:
    values = [code.value for code in ExitCode]
    assert len(values) == len(set(values))
    assert ExitCode.USAGE == 2  # what Typer itself returns for a bad command line


def test_unknown_command_is_usage_error(run_wfm: RunWfm) -> None:
    assert run_wfm("no-such-command").exit_code == ExitCode.USAGE


# A throwaway app under the same handler, so failures of every kind can be provoked.
failing = typer.Typer(cls=WfmGroup)


@failing.callback()
def _callback(ctx: typer.Context, debug: bool = False, json_output: bool = False) -> None:
    from wfmcli.cli.context import GlobalOptions

    ctx.obj = GlobalOptions(debug=debug, json=json_output)


@failing.command()
def boom(kind: str) -> None:
    register_secret("s3cr3t-value-123")
    if kind == "auth":
        raise AuthError("token request refused for client abc", hint="check the client secret")
    if kind == "transient":
        raise TransientError("api timed out", hint="retry later")
    if kind == "interrupt":
        raise KeyboardInterrupt
    raise RuntimeError("unexpected with s3cr3t-value-123 inside")


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        ("auth", ExitCode.AUTH),
        ("transient", ExitCode.REMOTE),
        ("interrupt", ExitCode.INTERRUPTED),
        ("other", ExitCode.INTERNAL),
    ],
)
def test_handler_prints_one_line_and_maps_exit_code(kind: str, code: ExitCode) -> None:
    result = CliRunner().invoke(failing, ["boom", kind])
    assert result.exit_code == code
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("wfm: error: ")
    assert "s3cr3t-value-123" not in result.stderr
    assert "Traceback" not in result.stderr


def test_handler_hint_follows_message() -> None:
    result = CliRunner().invoke(failing, ["boom", "auth"])
    assert result.stderr.strip() == (
        "wfm: error: token request refused for client abc (check the client secret)"
    )


def test_debug_shows_redacted_traceback() -> None:
    result = CliRunner().invoke(failing, ["--debug", "boom", "other"])
    assert result.exit_code == ExitCode.INTERNAL
    assert "Traceback" in result.stderr
    assert "s3cr3t-value-123" not in result.stderr


def test_json_mode_reports_error_envelope() -> None:
    import json

    result = CliRunner().invoke(failing, ["--json-output", "boom", "auth"])
    envelope = json.loads(result.stdout)
    assert envelope["ok"] is False
    assert envelope["error"]["exit_code"] == ExitCode.AUTH
    assert envelope["error"]["type"] == "AuthError"


def test_error_one_line_collapses_whitespace() -> None:
    assert WfmError("a\n  b", hint="c\nd").one_line() == "a b (c d)"


def test_log_file_rotates_and_redacts(run_wfm: RunWfm, tmp_path: Path) -> None:
    log_file = tmp_path / "logs" / "wfm.log"
    config = tmp_path / "missing.yaml"
    result = run_wfm("--log-file", str(log_file), "-c", str(config), "config", "show")
    assert result.exit_code == ExitCode.CONFIG
    assert log_file.exists()
    assert "exit 3 after ConfigError" in log_file.read_text(encoding="utf-8")


def test_bad_log_file_is_usage_error(run_wfm: RunWfm, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run_wfm("--log-file", str(blocker / "sub" / "wfm.log"), "config", "regions")
    assert result.exit_code == ExitCode.USAGE
    assert "cannot open log file" in result.stderr


def test_console_script_runs_without_terminal_colour() -> None:
    """Piped output carries no ANSI escapes."""
    result = subprocess.run(
        [sys.executable, "-m", "wfmcli", "config", "regions"],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "", "TERM": "xterm-256color", "HOME": "/nonexistent"},
    )
    assert "\x1b[" not in result.stdout
    assert "mypurecloud.ie" in result.stdout

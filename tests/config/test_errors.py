"""Bad configuration ends in one clear line naming file, line and key, and exit code 3."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.config.helpers import ENV, VALID, write
from tests.conftest import RunWfm
from wfmcli.errors import ExitCode

SIX_SETS = VALID.replace(
    "        - client_id: client-one\n          client_secret: ${GC_SECRET}\n",
    "".join(
        f"        - client_id: c{i}\n          client_secret: ${{GC_SECRET}}\n" for i in range(6)
    ),
)

CASES = {
    "broken yaml": (
        VALID.replace("      divisions: [Home]", "      divisions: [Home"),
        ":10:",
        "invalid YAML",
    ),
    "unknown key": (
        VALID.replace("        interval: 15", "        intervall: 15"),
        ":15: scopes.prod.destinations.nice.intervall: unknown key 'intervall'; "
        "did you mean 'interval'?",
        "allowed:",
    ),
    "wrong type": (
        VALID.replace("        interval: 15", "        interval: [15]"),
        ":15: scopes.prod.destinations.nice.interval:",
        "must be 15, 30 or 60",
    ),
    "unknown region": (
        VALID.replace("region: mypurecloud.ie", "region: mypurecloud.i"),
        ":5: scopes.prod.source.region: unknown Genesys Cloud region 'mypurecloud.i'",
        "did you mean mypurecloud.ie",
    ),
    "missing secret variable": (
        VALID.replace("${GC_SECRET}", "${GC_SECRET_TYPO}"),
        ":8: scopes.prod.source.credentials[0].client_secret: ",
        "environment variable GC_SECRET_TYPO is not set",
    ),
    "six credential sets": (
        SIX_SETS,
        ":6: scopes.prod.source.credentials: ",
        "at most 5 credential sets, not 6",
    ),
    "duplicate key": (
        VALID.replace("        interval: 15", "        interval: 15\n        interval: 30"),
        ":16:",
        "duplicate key 'scopes.prod.destinations.nice.interval'",
    ),
    "password in url": (
        VALID.replace("sftp://wfm@", "sftp://wfm:hunter22@"),
        ":17: scopes.prod.destinations.nice.delivery.url:",
        "keep the password out of the URL",
    ),
    "missing required key": (
        VALID.replace("      licensed_role: WFM Agent\n", ""),
        "scopes.prod.source.licensed_role: required key is missing",
        "",
    ),
    "bad time zone": (
        VALID.replace("America/New_York", "America/New_Yrok"),
        ":14: scopes.prod.destinations.nice.timezone:",
        "unknown time zone",
    ),
    "region and base_url": (
        VALID.replace(
            "region: mypurecloud.ie", "region: mypurecloud.ie\n      base_url: http://127.0.0.1:9"
        ),
        "scopes.prod.source:",
        "exactly one of region",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_config_gives_one_clear_line(case: str, tmp_path: Path, run_wfm: RunWfm) -> None:
    text, location, message = CASES[case]
    path = write(tmp_path, text)
    result = run_wfm("-c", str(path), "config", "show", env=ENV)
    assert result.exit_code == ExitCode.CONFIG
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"wfm: error: {path}")
    assert location in lines[0]
    assert message in lines[0]
    assert "hunter22" not in result.stderr
    assert result.stdout == ""


def test_validate_lists_every_problem(tmp_path: Path, run_wfm: RunWfm) -> None:
    text = VALID.replace("interval: 15", "interval: 20").replace(
        "region: mypurecloud.ie", "region: x"
    )
    result = run_wfm("-c", str(write(tmp_path, text)), "config", "validate", env=ENV)
    assert result.exit_code == ExitCode.CONFIG
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2
    assert any("interval" in line for line in lines)
    assert any("region" in line for line in lines)


def test_missing_file_says_how_to_create_one(tmp_path: Path, run_wfm: RunWfm) -> None:
    result = run_wfm("-c", str(tmp_path / "nope.yaml"), "config", "validate")
    assert result.exit_code == ExitCode.CONFIG
    assert "wfm config init" in result.stderr


def test_empty_file_is_config_error(tmp_path: Path, run_wfm: RunWfm) -> None:
    result = run_wfm("-c", str(write(tmp_path, "")), "config", "show")
    assert result.exit_code == ExitCode.CONFIG
    assert "must be a mapping" in result.stderr


def test_default_config_path_from_env(tmp_path: Path, run_wfm: RunWfm) -> None:
    path = write(tmp_path, VALID)
    result = run_wfm("config", "validate", env={**ENV, "WFM_CONFIG": str(path)})
    assert result.exit_code == 0, result.stderr
    assert str(path) in result.stdout

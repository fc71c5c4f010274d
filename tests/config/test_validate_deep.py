"""`config validate` and `profiles validate` find what would otherwise fail at the first
delivery or render: transport schemes and options, secret shapes, ${ syntax, profiles and
file-name templates."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.config.helpers import ENV, VALID, write
from tests.conftest import RunWfm
from wfmcli.errors import ExitCode

PASSWORD = "          password: ${SFTP_PASSWORD}"

CASES = {
    "unknown option": (
        (PASSWORD, PASSWORD + "\n          retrys: 3"),
        ":19: scopes.prod.destinations.nice.delivery.retrys: unknown option 'retrys' for "
        "sftp:// (did you mean 'retries'?",
    ),
    "unknown scheme": (
        ("sftp://wfm@iex", "gopher://wfm@iex"),
        ":17: scopes.prod.destinations.nice.delivery.url: no transport for URL scheme 'gopher'",
    ),
    "bad option value": (
        (PASSWORD, PASSWORD + "\n          retries: many"),
        "delivery: option 'retries' has an invalid value",
    ),
    "password as a list": (
        (PASSWORD, "          password: [a, b]"),
        ":18: scopes.prod.destinations.nice.delivery.password: a secret must be one text "
        "value, not a list",
    ),
    "unclosed ${": (
        (PASSWORD, "          password: ${RF_OPEN"),
        ":18: scopes.prod.destinations.nice.delivery.password: a '${' starts no complete",
    ),
    "unknown report": (
        ("        interval: 15", "        interval: 15\n        reports: [nope]"),
        ":16: scopes.prod.destinations.nice.reports: profile 'nice-iex' has no report 'nope'",
    ),
    "unknown profile": (
        ("profile: nice-iex", "profile: nice-ix"),
        "scopes.prod.destinations.nice.profile: no profile named 'nice-ix'",
    ),
    "no host": (
        ("sftp://wfm@iex.example.com/import", "sftp://wfm@:22/import"),
        "scopes.prod.destinations.nice.delivery.url:",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_config_validate_finds_delivery_mistakes(
    tmp_path: Path, run_wfm: RunWfm, case: str
) -> None:
    (old, new), expected = CASES[case]
    assert old in VALID
    config = write(tmp_path, VALID.replace(old, new))
    result = run_wfm("-c", str(config), "config", "validate", env=ENV)
    assert result.exit_code == ExitCode.CONFIG, result.stdout
    (line,) = result.stderr.strip().splitlines()
    assert expected in line
    assert ENV["SFTP_PASSWORD"] not in result.stderr


def test_the_example_stays_valid(tmp_path: Path, run_wfm: RunWfm) -> None:
    config = write(tmp_path, VALID)
    result = run_wfm("-c", str(config), "config", "validate", env=ENV)
    assert result.exit_code == 0, result.stderr
    assert "valid (1 scope(s)" in result.stdout


TEMPLATES = {
    "../../x-{start:%H%M}.txt": "must stay inside the output folder",
    "/srv/{start:%H}.txt": "must be a relative path",
    "C:\\\\x\\\\{start:%H}.txt": "must be a relative path",
    "a-{start.__class__}.txt": "{start.__class__} is not a field a file name can use",
    "a-{password}.txt": "{password} is not a field a file name can use",
    "a-{interval:0>300}.txt": "makes names of 306 characters; the limit is 255",
    "a-{rows:%Y}.txt": "{rows:%Y}:",
    "a-{start:%H.txt": "{ is not a field",
}


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_profiles_validate_refuses_unsafe_file_names(
    tmp_path: Path, run_wfm: RunWfm, template: str
) -> None:
    profile = tmp_path / "mine.yaml"
    profile.write_text(
        f'extends: verint\nreports:\n  call_stats:\n    file_name: "{template}"\n',
        encoding="utf-8",
    )
    result = run_wfm("profiles", "validate", str(profile))
    assert result.exit_code == ExitCode.CONFIG, result.stdout
    (line,) = result.stderr.strip().splitlines()
    assert TEMPLATES[template] in line


def test_safe_file_names_with_folders_and_braces_pass(tmp_path: Path, run_wfm: RunWfm) -> None:
    profile = tmp_path / "mine.yaml"
    profile.write_text(
        "extends: verint\nreports:\n  call_stats:\n"
        '    file_name: "day/{start:%Y%m%d}/{{x}}-{start:%H%M}{fold}-{sum:offered}.csv"\n',
        encoding="utf-8",
    )
    result = run_wfm("profiles", "validate", str(profile))
    assert result.exit_code == 0, result.stderr

"""`wfm upload` and `wfm transports test|list` against real servers, in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import RunWfm
from tests.transports.conftest import Farm, make_endpoint
from tests.transports.servers import PASSWORD
from wfmcli.errors import ExitCode

pytestmark = pytest.mark.timeout(60)


def files(tmp_path: Path, count: int) -> list[str]:
    paths = []
    for number in range(count):
        path = tmp_path / f"q{number}.csv"
        path.write_text(f"row {number}\n")
        paths.append(str(path))
    return paths


def sftp_args(farm: Farm) -> tuple[str, list[str], object]:
    endpoint = make_endpoint(farm, "sftp")
    args = ["-o", f"known_hosts={endpoint.options['known_hosts']}", "-o", "retries=0"]
    return endpoint.url, args, endpoint


def test_upload_sends_every_file_and_reports_json(
    run_wfm: RunWfm, farm: Farm, tmp_path: Path
) -> None:
    url, args, endpoint = sftp_args(farm)
    result = run_wfm(
        "upload",
        url,
        *files(tmp_path, 3),
        "--password-env",
        "SFTP_PW",
        *args,
        "--json",
        env={"SFTP_PW": PASSWORD},
    )
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["ok"] is True
    assert [item["sent"] for item in document["data"]["files"]] == [True, True, True]
    assert document["data"]["url"] == url
    assert sorted(endpoint.files()) == ["q0.csv", "q1.csv", "q2.csv"]  # type: ignore[attr-defined]
    assert PASSWORD not in result.stdout + result.stderr


def test_upload_with_some_failures_exits_partial(
    run_wfm: RunWfm, farm: Farm, tmp_path: Path
) -> None:
    endpoint = make_endpoint(farm, "ftp")
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD + "\n")
    paths = files(tmp_path, 2)
    first = run_wfm("upload", endpoint.url, paths[0], "--password-file", str(secret))
    assert first.exit_code == 0, first.stderr
    result = run_wfm(
        "upload",
        endpoint.url,
        *paths,
        "--password-file",
        str(secret),
        "-o",
        "overwrite=false",
        "-o",
        "retries=0",
    )
    assert result.exit_code == ExitCode.PARTIAL
    assert "already exists" in result.stdout
    assert "1 of 2 files were not delivered" in result.stderr
    assert sorted(endpoint.files()) == ["q0.csv", "q1.csv"]


def test_upload_with_wrong_password_exits_auth(run_wfm: RunWfm, farm: Farm, tmp_path: Path) -> None:
    url, args, _ = sftp_args(farm)
    result = run_wfm(
        "upload",
        url,
        *files(tmp_path, 1),
        "--password-env",
        "PW",
        *args,
        env={"PW": "not-the-password"},
    )
    assert result.exit_code == ExitCode.AUTH
    assert "login" in result.stderr
    assert "not-the-password" not in result.stdout + result.stderr


def test_upload_refuses_password_in_url_and_unknown_options(
    run_wfm: RunWfm, tmp_path: Path
) -> None:
    paths = files(tmp_path, 1)
    in_url = run_wfm("upload", "ftp://u:hunter22@127.0.0.1:1/x", *paths)
    assert in_url.exit_code == ExitCode.USAGE
    assert "hunter22" not in in_url.stdout + in_url.stderr
    unknown = run_wfm("upload", f"file://{tmp_path}/out", *paths, "-o", "colour=blue")
    assert unknown.exit_code == ExitCode.CONFIG
    assert "colour" in unknown.stderr


def test_transports_test_reports_each_step(run_wfm: RunWfm, farm: Farm) -> None:
    endpoint = make_endpoint(farm, "webdav")
    result = run_wfm(
        "transports", "test", endpoint.url, "--password-env", "PW", "--json", env={"PW": PASSWORD}
    )
    assert result.exit_code == 0, result.stderr
    steps = json.loads(result.stdout)["data"]["steps"]
    assert [(step["name"], step["ok"]) for step in steps] == [
        ("connect", True),
        ("create folder", True),
        ("write probe", True),
        ("check size", True),
        ("rename", True),
        ("delete", True),
    ]


def test_transports_test_shows_the_failing_step(run_wfm: RunWfm, farm: Farm) -> None:
    endpoint = make_endpoint(farm, "ftps")
    result = run_wfm(
        "transports",
        "test",
        endpoint.url,
        "--password-env",
        "PW",
        "-o",
        "retries=0",
        env={"PW": PASSWORD},
    )
    # No ca_bundle: the test CA is not trusted, so connecting fails and the rest is skipped.
    assert result.exit_code == ExitCode.REMOTE
    assert "FAIL" in result.stdout
    assert "connect failed" in result.stderr


def test_transports_list_names_every_builtin(run_wfm: RunWfm) -> None:
    result = run_wfm("transports", "list", "--json")
    assert result.exit_code == 0
    schemes = [row["scheme"] for row in json.loads(result.stdout)["data"]]
    assert schemes == ["file", "ftp", "ftps", "https", "s3", "sftp", "webdav", "webdavs"]

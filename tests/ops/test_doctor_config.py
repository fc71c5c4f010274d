"""Doctor's offline checks: RTA destinations that cannot start, transports a vendor does not take,
secrets written in clear."""

from __future__ import annotations

from pathlib import Path

from tests.config.helpers import ENV, VALID, write
from wfmcli.config import load_config
from wfmcli.config.yamlfile import read_yaml
from wfmcli.ops.doctor_config import config_checks


def _checks(tmp_path: Path, text: str) -> dict[str, tuple[str, str, str]]:
    path = write(tmp_path, text)
    config = load_config(path, ENV)
    return {c.name: (c.status, c.detail, c.fix) for c in config_checks(config, "prod",
                                                                         read_yaml(path))}


def test_the_valid_example_passes(tmp_path: Path) -> None:
    checks = _checks(tmp_path, VALID)
    assert {status for status, _, _ in checks.values()} == {"pass"}, checks
    assert "tcp-server" in checks["rta prod/nice can start"][1]


def test_an_rta_destination_that_cannot_start_fails(tmp_path: Path) -> None:
    # Calabrio's feed is an HTTP push: it needs an endpoint and a source_id, not listen
    text = VALID.replace("profile: nice-iex", "profile: calabrio").replace(
        "          listen: 127.0.0.1:7100\n", "          endpoint: https://rta.example.com/x\n"
    )
    status, detail, _ = _checks(tmp_path, text)["rta prod/nice can start"]
    assert status == "fail"
    assert "prod/nice rta:" in detail and "needs source_id" in detail


def test_vendor_transport_rules_warn_with_the_profiles_reason(tmp_path: Path) -> None:
    cxone = VALID.replace("profile: nice-iex", "profile: nice-cxone").replace(
        "sftp://wfm@iex.example.com/import", "ftp://wfm@iex.example.com/import"
    )
    status, detail, fix = _checks(tmp_path, cxone)["transport prod/nice"]
    assert "sftp://" in fix
    assert status == "warn"
    assert "takes files over sftp://, not ftp://" in detail
    assert "sftp to NICE's import server (IEX WFM Import)" in detail
    via = VALID.replace("profile: nice-iex", "profile: alvaria-via")
    status, detail, _ = _checks(tmp_path, via)["transport prod/nice"]
    assert status == "warn" and "webdav:// or webdavs://, not sftp://" in detail
    fine = via.replace("sftp://wfm@iex.example.com/import", "webdavs://via.example.com/import")
    assert _checks(tmp_path, fine)["transport prod/nice"][0] == "pass"


def test_secrets_in_clear_warn_with_the_fix(tmp_path: Path) -> None:
    text = VALID.replace("password: ${SFTP_PASSWORD}", "password: hunter2-in-clear")
    status, detail, fix = _checks(tmp_path, text)["secrets not in clear"]
    assert status == "warn"
    assert ":18 (scopes.prod.destinations.nice.delivery.password)" in detail
    assert "hunter2" not in detail
    assert "${VAR}" in fix and "_file" in fix and "wfm auth store" in fix

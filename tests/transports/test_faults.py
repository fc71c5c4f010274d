"""Faults every network transport must survive or report clearly, on the real servers."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.transports import servers
from tests.transports.conftest import TLS_KINDS, Endpoint, Farm, make_endpoint, payload
from wfmcli.errors import AuthError, RemoteError, TransientError
from wfmcli.transports import open_transport

pytestmark = pytest.mark.timeout(60)


def local_file(tmp_path: Path, size: int = 512 * 1024) -> tuple[Path, bytes]:
    data = payload(size)
    path = tmp_path / "report.csv"
    path.write_bytes(data)
    return path, data


def test_server_down_is_transient_and_retried(network_endpoint: Endpoint) -> None:
    url, options = network_endpoint.on_port(servers.closed_port(), retries=2)
    transport = open_transport(url, options)
    calls = []
    real_open = transport._open
    transport._open = lambda: (calls.append(1), real_open())[1]  # type: ignore[method-assign]
    with pytest.raises(TransientError) as caught:
        transport.connect()
    assert len(calls) == 3
    assert "127.0.0.1" in caught.value.message
    assert servers.PASSWORD not in caught.value.one_line()


def test_upload_cut_midway_leaves_no_file_under_the_final_name(
    network_endpoint: Endpoint, tmp_path: Path
) -> None:
    local, data = local_file(tmp_path)
    with open_transport(network_endpoint.url, network_endpoint.opts(retries=0)) as transport:
        network_endpoint.break_upload()
        with pytest.raises(TransientError):
            transport.put(local, "report.csv")
        assert "report.csv" not in network_endpoint.files()
        result = transport.put(local, "report.csv")
    assert result.attempts == 1
    assert network_endpoint.files() == {"report.csv": data}


def test_retry_completes_an_upload_cut_midway(network_endpoint: Endpoint, tmp_path: Path) -> None:
    local, data = local_file(tmp_path)
    with open_transport(network_endpoint.url, network_endpoint.opts(retries=2)) as transport:
        network_endpoint.break_upload()
        result = transport.put(local, "report.csv")
    assert (result.sent, result.attempts) == (True, 2)
    # The abandoned temporary file is cleaned up on reconnect: only the final file remains.
    assert network_endpoint.files() == {"report.csv": data}


def test_wrong_password_fails_fast_without_retries(network_endpoint: Endpoint) -> None:
    options = network_endpoint.opts(retries=3, backoff=5, **network_endpoint.wrong_credentials)
    before = network_endpoint.auth_attempts()
    transport = open_transport(network_endpoint.url, options)
    with network_endpoint.strict_auth(), pytest.raises(AuthError) as caught:
        transport.connect()
    after = network_endpoint.auth_attempts()
    if before is not None and after is not None:
        assert after - before == 1
    assert "wrong-pw" not in caught.value.one_line()
    assert "nope" not in caught.value.one_line()


def test_slow_server_times_out_with_a_clear_error(network_endpoint: Endpoint) -> None:
    hole = servers.Blackhole()
    try:
        url, options = network_endpoint.on_port(hole.port, timeout=0.5, retries=0)
        transport = open_transport(url, options)
        with pytest.raises(TransientError, match=r"timed out after 0\.5 s"):
            transport.connect()
    finally:
        hole.close()


def test_unknown_sftp_host_key_is_refused_with_its_fingerprint(farm: Farm, tmp_path: Path) -> None:
    endpoint = make_endpoint(farm, "sftp")
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    transport = open_transport(endpoint.url, endpoint.opts(known_hosts=str(empty)))
    with pytest.raises(RemoteError, match="unknown SSH host") as caught:
        transport.connect()
    server = farm.server("sftp")[2]
    assert server.host_key.get_fingerprint("sha256") in caught.value.one_line()
    assert "host_key_fingerprint" in (caught.value.hint or "")


def test_pinned_fingerprint_is_accepted_and_a_wrong_one_refused(farm: Farm, tmp_path: Path) -> None:
    endpoint = make_endpoint(farm, "sftp")
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    transport = open_transport(endpoint.url, endpoint.opts(known_hosts=str(empty)))
    with pytest.raises(RemoteError) as caught:
        transport.connect()
    seen = caught.value.message.rsplit(" ", 1)[-1]
    assert seen.startswith("SHA256:")
    with open_transport(endpoint.url, endpoint.opts(host_key_fingerprint=seen)) as pinned:
        pinned.put(local_file(tmp_path, 10)[0], "pinned.csv")
    assert "pinned.csv" in endpoint.files()
    wrong = open_transport(endpoint.url, endpoint.opts(host_key_fingerprint="SHA256:" + "A" * 43))
    with pytest.raises(RemoteError, match="not the pinned"):
        wrong.connect()


def test_changed_sftp_host_key_is_refused(farm: Farm, tmp_path: Path) -> None:
    import asyncssh

    endpoint = make_endpoint(farm, "sftp")
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key("openssh").decode()
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{endpoint.port} {other}")
    with pytest.raises(RemoteError, match="CHANGED"):
        open_transport(endpoint.url, endpoint.opts(known_hosts=str(known))).connect()


@pytest.mark.parametrize("kind", TLS_KINDS)
def test_untrusted_certificate_is_refused(farm: Farm, kind: str) -> None:
    endpoint = make_endpoint(farm, kind)
    options = endpoint.opts()
    options.pop("ca_bundle")
    with pytest.raises(RemoteError, match="TLS certificate") as caught:
        open_transport(endpoint.url, options).connect()
    assert not isinstance(caught.value, TransientError)
    assert "ca_bundle" in (caught.value.hint or "")


@pytest.mark.parametrize("kind", TLS_KINDS)
def test_expired_certificate_is_refused(farm: Farm, kind: str, tmp_path: Path) -> None:
    if kind == "webdavs":
        server, port, _ = servers.start_webdav(tmp_path, farm.certs.expired)
        stop = server.stop
    else:
        mode = "implicit" if kind == "ftps-implicit" else "explicit"
        server, port, _ = servers.start_ftp(tmp_path, mode, farm.certs.expired)
        stop = server.close_all
    endpoint = make_endpoint(farm, kind)
    try:
        transport = open_transport(*endpoint.on_port(port))
        with pytest.raises(RemoteError, match="expired"):
            transport.connect()
    finally:
        stop()


@pytest.mark.parametrize("kind", TLS_KINDS)
def test_insecure_skip_verify_works_and_warns(
    farm: Farm, kind: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    endpoint = make_endpoint(farm, kind)
    options = endpoint.opts(insecure_skip_verify="true")
    options.pop("ca_bundle")
    with (
        caplog.at_level(logging.WARNING, logger="wfm.transports"),
        open_transport(endpoint.url, options) as transport,
    ):
        transport.put(local_file(tmp_path, 100)[0], "x.csv")
    assert "x.csv" in endpoint.files()
    assert any("TLS certificate checking is OFF" in record.message for record in caplog.records)

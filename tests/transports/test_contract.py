"""The contract every transport keeps, run unchanged against every scheme on a real server."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.transports.conftest import Endpoint, payload
from wfmcli.errors import RemoteError, UsageError
from wfmcli.transports import open_transport

pytestmark = pytest.mark.timeout(60)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_put_delivers_exact_bytes_under_final_name_only(endpoint: Endpoint, tmp_path: Path) -> None:
    data = payload(300_000)
    local = write(tmp_path, "queue.csv", data)
    with open_transport(endpoint.url, endpoint.options) as transport:
        result = transport.put(local, "queue.csv")
        assert transport.size("queue.csv") == len(data)
        assert transport.exists("queue.csv")
        assert not transport.exists("other.csv")
    assert (result.sent, result.bytes, result.attempts) == (True, len(data), 1)
    assert result.remote_path.endswith("queue.csv")
    assert endpoint.files() == {"queue.csv": data}


def test_missing_folders_are_created(endpoint: Endpoint, tmp_path: Path) -> None:
    local = write(tmp_path, "agent.csv", b"a,b\n1,2\n")
    with open_transport(endpoint.url, endpoint.options) as transport:
        transport.put(local, "2024/06/agent.csv")
        transport.put(local, "2024/07/agent.csv")
    expected = {"2024/06/agent.csv": b"a,b\n1,2\n", "2024/07/agent.csv": b"a,b\n1,2\n"}
    assert endpoint.files() == expected


def test_overwrite_replaces_by_default(endpoint: Endpoint, tmp_path: Path) -> None:
    with open_transport(endpoint.url, endpoint.options) as transport:
        transport.put(write(tmp_path, "f.txt", b"old contents"), "f.txt")
        transport.put(write(tmp_path, "g.txt", b"new"), "f.txt")
    assert endpoint.files() == {"f.txt": b"new"}


def test_overwrite_false_refuses_and_keeps_the_original(endpoint: Endpoint, tmp_path: Path) -> None:
    options = endpoint.opts(overwrite="false")
    with open_transport(endpoint.url, options) as transport:
        transport.put(write(tmp_path, "f.txt", b"first"), "f.txt")
        with pytest.raises(RemoteError, match="already exists"):
            transport.put(write(tmp_path, "g.txt", b"second"), "f.txt")
    assert endpoint.files() == {"f.txt": b"first"}


def test_many_files_share_one_connection(endpoint: Endpoint, tmp_path: Path) -> None:
    transport = open_transport(endpoint.url, endpoint.options)
    opened = []
    real_open = transport._open
    transport._open = lambda: (opened.append(1), real_open())[1]  # type: ignore[method-assign]
    with transport:
        transport.put(write(tmp_path, "0.csv", payload(5000, 0)), "0.csv")
        # Counted after the first file: wsgidav closes the connection after a 404.
        before = endpoint.proxy.connections if endpoint.proxy else 0
        for number in range(1, 6):
            transport.put(write(tmp_path, f"{number}.csv", payload(5000, number)), f"{number}.csv")
    assert sorted(endpoint.files()) == [f"{number}.csv" for number in range(6)]
    assert len(opened) == 1
    # moto's server speaks HTTP/1.0 and closes every connection itself, so S3 is not counted.
    if endpoint.proxy is not None and endpoint.kind != "s3":
        assert endpoint.proxy.connections == before


def test_delete_removes_the_file(endpoint: Endpoint, tmp_path: Path) -> None:
    with open_transport(endpoint.url, endpoint.options) as transport:
        transport.put(write(tmp_path, "x.csv", b"x"), "x.csv")
        transport.put(write(tmp_path, "y.csv", b"y"), "y.csv")
        transport.delete("x.csv")
    assert endpoint.files() == {"y.csv": b"y"}


def test_empty_file_is_delivered(endpoint: Endpoint, tmp_path: Path) -> None:
    with open_transport(endpoint.url, endpoint.options) as transport:
        result = transport.put(write(tmp_path, "empty.csv", b""), "empty.csv")
    assert result.bytes == 0
    assert endpoint.files() == {"empty.csv": b""}


def test_probe_passes_every_step_and_leaves_nothing(endpoint: Endpoint) -> None:
    transport = open_transport(endpoint.url, endpoint.options)
    try:
        steps = transport.probe()
    finally:
        transport.close()
    names = [step.name for step in steps]
    assert names == ["connect", "create folder", "write probe", "check size", "rename", "delete"]
    assert all(step.ok is not False for step in steps), steps
    assert sum(step.ok is True for step in steps) >= 5
    assert endpoint.files() == {}


@pytest.mark.parametrize("name", ["../escape.csv", "/abs.csv", "a//b.csv", ""])
def test_remote_names_cannot_escape_the_folder(endpoint: Endpoint, name: str) -> None:
    transport = open_transport(endpoint.url, endpoint.options)
    with pytest.raises(UsageError):
        transport.remote_path(name)


def test_unknown_option_is_named_with_the_allowed_ones(endpoint: Endpoint) -> None:
    from wfmcli.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        open_transport(endpoint.url, endpoint.opts(colour="blue"))
    assert "'colour'" in caught.value.message
    assert "timeout" in (caught.value.hint or "")

"""The https:// push transport against a real local HTTPS server that checks headers and body,
as Calabrio ONE's historical-data endpoint would (bearer token, data source key parameter)."""

from __future__ import annotations

import http.server
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.transports.servers import Certs
from wfmcli.errors import AuthError, RemoteError, TransientError
from wfmcli.transports import open_transport

pytestmark = pytest.mark.timeout(60)
TOKEN = "tenant-token-0123456789"
KEY = "ds-key-42"


@dataclass
class Endpoint:
    port: int = 0
    received: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)  # statuses to answer before accepting
    reply: bytes = b""

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}/historical-data"


@pytest.fixture
def endpoint(tmp_path: Path) -> Iterator[tuple[Endpoint, Path]]:
    certs = Certs(tmp_path / "certs")
    state = Endpoint()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:
            self.send_response(200 if self._authorized() else 401)
            self.end_headers()

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
            if state.fail_next:
                self._answer(state.fail_next.pop(0), state.reply)
            elif not self._authorized():
                self._answer(401, b'{"message": "invalid token"}')
            elif query.get("dataSourceKey") != KEY:
                self._answer(400, b'{"field": "dataSourceKey", "message": "unknown source"}')
            elif urlsplit(self.path).path != "/historical-data":
                self._answer(404, b"")
            elif not self.headers["Content-Type"].startswith("text/csv"):
                self._answer(415, b"")
            else:
                state.received.append((self.path, dict(self.headers), body))
                self._answer(200, b'{"accepted": true}')

        def _authorized(self) -> bool:
            return self.headers.get("Authorization") == f"Bearer {TOKEN}"

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(certs.good))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, certs.ca_file
    finally:
        server.shutdown()
        server.server_close()


def _options(ca: Path, **extra: object) -> dict[str, object]:
    return {"token": TOKEN, "data_source_key": KEY, "ca_bundle": str(ca), "backoff": 0.01,
            **extra}  # fmt: skip


def _file(tmp_path: Path) -> Path:
    path = tmp_path / "queue_202610250900.csv"
    path.write_bytes(b"15;20261025;09:00;7;Sales Voice;12;0;1;0;11\n")
    return path


def test_posts_the_file_with_token_and_data_source_key(
    endpoint: tuple[Endpoint, Path], tmp_path: Path
) -> None:
    state, ca = endpoint
    with open_transport(state.url, _options(ca)) as transport:
        result = transport.put(_file(tmp_path), "queue_202610250900.csv")
        assert transport.size("queue_202610250900.csv") == result.bytes
        assert not transport.exists("other.csv")
    [(path, headers, body)] = state.received
    assert path == "/historical-data?dataSourceKey=ds-key-42"
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["Content-Type"] == "text/csv; charset=utf-8"
    assert body == _file(tmp_path).read_bytes() and result.attempts == 1


def test_5xx_is_retried_then_delivered(endpoint: tuple[Endpoint, Path], tmp_path: Path) -> None:
    state, ca = endpoint
    state.fail_next = [503, 502]
    with open_transport(state.url, _options(ca)) as transport:
        result = transport.put(_file(tmp_path), "q.csv")
    assert result.attempts == 3 and len(state.received) == 1
    state.fail_next = [500] * 5
    with (
        open_transport(state.url, _options(ca, retries=1)) as transport,
        pytest.raises(TransientError, match="HTTP 500"),
    ):
        transport.put(_file(tmp_path), "q.csv")


def test_4xx_is_a_clear_error_naming_the_field(
    endpoint: tuple[Endpoint, Path], tmp_path: Path
) -> None:
    state, ca = endpoint
    with (
        open_transport(state.url, _options(ca, token="wrong-token")) as transport,
        pytest.raises(AuthError, match=r"HTTP 401: .*\(field: token\)") as caught,
    ):
        transport.put(_file(tmp_path), "q.csv")
    assert "wrong-token" not in caught.value.one_line()
    with (
        open_transport(state.url, _options(ca, data_source_key="nope")) as transport,
        pytest.raises(RemoteError, match=r"HTTP 400: .*\(field: data_source_key\)"),
    ):
        transport.put(_file(tmp_path), "q.csv")
    wrong_path = state.url.replace("historical-data", "historical")
    with (
        open_transport(wrong_path, _options(ca)) as transport,
        pytest.raises(RemoteError, match=r"HTTP 404: .*\(field: url\)"),
    ):
        transport.put(_file(tmp_path), "q.csv")
    assert state.received == []  # and nothing was retried into the endpoint


def test_tls_is_verified_and_the_probe_posts_nothing(
    endpoint: tuple[Endpoint, Path], tmp_path: Path
) -> None:
    state, ca = endpoint
    with (
        pytest.raises(RemoteError, match="TLS certificate"),
        open_transport(state.url, {"token": TOKEN, "retries": 0}) as transport,
    ):
        transport.put(_file(tmp_path), "q.csv")
    steps = open_transport(state.url, _options(ca)).probe()
    assert steps[0].ok is True and all(s.ok is None for s in steps[1:])
    bad = open_transport(state.url, _options(ca, token="expired")).probe()
    assert bad[0].ok is False and "field: token" in bad[0].detail
    assert state.received == []

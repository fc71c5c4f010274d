"""Real servers on 127.0.0.1 for the transport tests, each with the fault knobs the tests need.

Every network server sits behind a FaultProxy, which counts connections and can cut one
mid-upload. FTP data connections bypass the proxy (PASV points at the server itself), so FTP
servers cut uploads from inside their data handler instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import socket
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trustme

USER = "wfm"
PASSWORD = "s3cret-pass"
CUT_AFTER = 64 * 1024


class FaultProxy:
    """A TCP relay that counts connections and can cut the next one that carries an upload."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.connections = 0
        self._cut_after: int | None = None
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def cut_next_upload(self, after_bytes: int = CUT_AFTER) -> None:
        self._cut_after = after_bytes

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self.connections += 1
                self._sockets += [client, upstream]
            pair = (client, upstream)
            threading.Thread(target=self._pump, args=(*pair, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, upload: bool) -> None:
        total = 0
        try:
            while data := source.recv(65536):
                total += len(data)
                if upload and self._cut_after is not None and total >= self._cut_after:
                    self._cut_after = None
                    break
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                sock.close()


class Blackhole:
    """Accepts connections and never says a word: a server too slow to answer."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self._held.append(conn)

    def close(self) -> None:
        self._listener.close()
        for conn in self._held:
            conn.close()


def closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return int(sock.getsockname()[1])


@dataclass
class Certs:
    folder: Path
    ca: trustme.CA = field(default_factory=trustme.CA)

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.ca_file = self.folder / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        self.good = self._leaf("good.pem")
        past = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
        self.expired = self._leaf("expired.pem", not_before=past, not_after=past.replace(month=2))

    def _leaf(self, name: str, **kwargs: Any) -> Path:
        path = self.folder / name
        cert = self.ca.issue_cert("127.0.0.1", "localhost", **kwargs)
        cert.private_key_and_cert_chain_pem.write_to_path(str(path))
        return path


# ---- FTP, FTPS explicit, FTPS implicit -----------------------------------------------------------


@dataclass
class FTPState:
    auth_attempts: int = 0
    break_after: int | None = None


def start_ftp(root: Path, mode: str, certfile: Path | None) -> tuple[Any, int, FTPState]:
    with warnings.catch_warnings():
        # pyftpdlib still imports asyncore/asynchat on Python 3.11.
        warnings.simplefilter("ignore", DeprecationWarning)
        from pyftpdlib.authorizers import DummyAuthorizer
        from pyftpdlib.handlers import DTPHandler, FTPHandler
        from pyftpdlib.ioloop import IOLoop
        from pyftpdlib.servers import FTPServer

    state = FTPState()

    class Authorizer(DummyAuthorizer):  # type: ignore[misc]
        def validate_authentication(self, username: str, password: str, handler: Any) -> None:
            state.auth_attempts += 1
            super().validate_authentication(username, password, handler)

    authorizer = Authorizer()
    authorizer.add_user(USER, PASSWORD, str(root), perm="elradfmwMT")
    handler_base: type[Any] = FTPHandler
    dtp_base: type[Any] = DTPHandler
    attrs: dict[str, Any] = {"authorizer": authorizer, "auth_failed_timeout": 0}
    if mode != "plain":
        from pyftpdlib.handlers import TLS_DTPHandler, TLS_FTPHandler

        handler_base, dtp_base = TLS_FTPHandler, TLS_DTPHandler
        attrs.update(
            certfile=str(certfile),
            keyfile=str(certfile),
            ssl_context=None,
            tls_control_required=True,
            tls_data_required=True,
        )
        if mode == "implicit":
            attrs["handle"] = _implicit_handle
            attrs["handle_ssl_established"] = _implicit_banner

    def handle_read_event(self: Any) -> None:
        dtp_base.handle_read_event(self)
        if state.break_after is not None and self.tot_bytes_received >= state.break_after:
            state.break_after = None
            self.cmd_channel.close()

    breakable = {"handle_read_event": handle_read_event}
    attrs["dtp_handler"] = type("BreakableDTP", (dtp_base,), breakable)
    handler = type("Handler", (handler_base,), attrs)
    # Each server gets its own loop: pyftpdlib's default loop is one per process.
    server = FTPServer(("127.0.0.1", 0), handler, ioloop=IOLoop())
    port = server.address[1]
    threading.Thread(target=server.serve_forever, kwargs={"timeout": 0.05}, daemon=True).start()
    return server, port, state


def _implicit_handle(self: Any) -> None:
    # TLS from the first byte: handshake before the banner.
    self.on_connect()
    self.secure_connection(self.ssl_context)


def _implicit_banner(self: Any) -> None:
    self.respond(f"220 {self.banner}")


# ---- SFTP ----------------------------------------------------------------------------------------


@dataclass
class SFTPServer:
    root: Path
    host_key: Any = None
    port: int = 0
    auth_attempts: int = 0
    _loop: asyncio.AbstractEventLoop | None = None
    _server: Any = None
    _thread: threading.Thread | None = None

    def start(self) -> None:
        import asyncssh

        self.host_key = asyncssh.generate_private_key("ssh-ed25519")
        outer = self

        class Server(asyncssh.SSHServer):  # type: ignore[misc]
            def begin_auth(self, username: str) -> bool:
                return True

            def password_auth_supported(self) -> bool:
                return True

            def validate_password(self, username: str, password: str) -> bool:
                outer.auth_attempts += 1
                return (username, password) == (USER, PASSWORD)

        def sftp_factory(chan: Any) -> Any:
            return asyncssh.SFTPServer(chan, chroot=str(self.root).encode())

        loop = asyncio.new_event_loop()
        self._loop = loop
        self._server = loop.run_until_complete(
            asyncssh.listen(
                "127.0.0.1",
                0,
                server_factory=Server,
                server_host_keys=[self.host_key],
                sftp_factory=sftp_factory,
            )
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._thread = threading.Thread(target=loop.run_forever, daemon=True)
        self._thread.start()

    def public_key(self) -> str:
        return str(self.host_key.export_public_key("openssh").decode().strip())

    def stop(self) -> None:
        assert self._loop is not None and self._thread is not None
        loop = self._loop

        async def shutdown() -> None:
            self._server.close()
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(5)
        loop.close()


# ---- S3 (moto) -----------------------------------------------------------------------------------


def start_moto() -> tuple[Any, int]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    _, port = server.get_host_and_port()
    return server, int(port)


@contextlib.contextmanager
def moto_checks_credentials() -> Iterator[None]:
    """moto accepts any key unless told otherwise; the setting is read on every request."""
    from moto import settings

    before = settings.INITIAL_NO_AUTH_ACTION_COUNT
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
    try:
        yield
    finally:
        settings.INITIAL_NO_AUTH_ACTION_COUNT = before


# ---- WebDAV (wsgidav + cheroot) ------------------------------------------------------------------


@dataclass
class DAVState:
    auth_attempts: int = 0


def start_webdav(root: Path, certfile: Path | None) -> tuple[Any, int, DAVState]:
    from cheroot import wsgi
    from wsgidav.dc.simple_dc import SimpleDomainController
    from wsgidav.wsgidav_app import WsgiDAVApp

    state = DAVState()

    class CountingDC(SimpleDomainController):  # type: ignore[misc]
        def basic_auth_user(self, realm: str, user_name: str, password: str, environ: Any) -> bool:
            state.auth_attempts += 1
            return bool(super().basic_auth_user(realm, user_name, password, environ))

    config = {
        "host": "127.0.0.1",
        "port": 0,
        "provider_mapping": {"/": str(root)},
        "simple_dc": {"user_mapping": {"*": {USER: {"password": PASSWORD}}}},
        "http_authenticator": {
            "domain_controller": CountingDC,
            "accept_basic": True,
            "accept_digest": False,
            "default_to_digest": False,
        },
        "verbose": 0,
        "logging": {"enable_loggers": []},
        "property_manager": True,
        "lock_storage": True,
    }
    app = WsgiDAVApp(config)
    server = wsgi.Server(("127.0.0.1", 0), app, numthreads=4)
    if certfile is not None:
        from cheroot.ssl.builtin import BuiltinSSLAdapter

        server.ssl_adapter = BuiltinSSLAdapter(str(certfile), str(certfile))
    server.prepare()
    port = server.bind_addr[1]
    threading.Thread(target=server.serve, daemon=True).start()
    return server, port, state


def read_tree(folder: Path) -> dict[str, bytes]:
    if not folder.exists():
        return {}
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }

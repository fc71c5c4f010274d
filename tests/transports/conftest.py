"""Fixtures: one `endpoint` per scheme, each a fresh folder on a real server on 127.0.0.1."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.transports import servers
from tests.transports.servers import PASSWORD, USER, Certs, FaultProxy
from wfmcli.transports import registry

KINDS = ["file", "ftp", "ftps", "ftps-implicit", "sftp", "s3", "webdav", "webdavs"]
NETWORK_KINDS = KINDS[1:]
TLS_KINDS = ["ftps", "ftps-implicit", "webdavs"]
BUCKET = "wfm-contract"
FAST = {"timeout": 5, "retries": 0, "backoff": 0.01, "backoff_max": 0.05}


@dataclass
class Endpoint:
    kind: str
    url: str
    options: dict[str, Any]
    files: Callable[[], dict[str, bytes]]
    port: int = 0
    proxy: FaultProxy | None = None
    break_upload: Callable[[], None] = lambda: None
    auth_attempts: Callable[[], int | None] = lambda: None
    strict_auth: Callable[[], AbstractContextManager[None]] = contextlib.nullcontext
    wrong_credentials: dict[str, Any] = field(default_factory=lambda: {"password": "wrong-pw"})

    def on_port(self, port: int, **overrides: Any) -> tuple[str, dict[str, Any]]:
        """URL and options pointing at another port (S3 names it in endpoint_url)."""
        old, new = f"127.0.0.1:{self.port}", f"127.0.0.1:{port}"
        options = {
            key: value.replace(old, new) if isinstance(value, str) else value
            for key, value in self.opts(**overrides).items()
        }
        return self.url.replace(old, new), options

    def opts(self, **overrides: Any) -> dict[str, Any]:
        return {**self.options, **overrides}


class Farm:
    """Starts each server once per session, on first use."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.certs = Certs(root / "certs")
        self.started: dict[str, Any] = {}
        self._stops: list[Callable[[], None]] = []
        self._folders = itertools.count()

    def folder(self) -> str:
        return f"t{next(self._folders)}"

    def server(self, kind: str) -> Any:
        if kind not in self.started:
            self.started[kind] = getattr(self, "_start_" + kind.replace("-", "_"))()
        return self.started[kind]

    def stop(self) -> None:
        for stop in reversed(self._stops):
            with contextlib.suppress(Exception):
                stop()

    def _disk(self, kind: str) -> Path:
        path = self.root / kind
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _ftp(self, kind: str, mode: str) -> tuple[Path, FaultProxy, servers.FTPState]:
        root = self._disk(kind)
        server, port, state = servers.start_ftp(root, mode, self.certs.good)
        proxy = FaultProxy(port)
        self._stops += [server.close_all, proxy.close]
        return root, proxy, state

    def _start_ftp(self) -> Any:
        return self._ftp("ftp", "plain")

    def _start_ftps(self) -> Any:
        return self._ftp("ftps", "explicit")

    def _start_ftps_implicit(self) -> Any:
        return self._ftp("ftps-implicit", "implicit")

    def _start_sftp(self) -> Any:
        root = self._disk("sftp")
        server = servers.SFTPServer(root)
        server.start()
        proxy = FaultProxy(server.port)
        known = self.root / "known_hosts"
        known.write_text(f"[127.0.0.1]:{proxy.port} {server.public_key()}\n")
        self._stops += [server.stop, proxy.close]
        return root, proxy, server, known

    def _start_s3(self) -> Any:
        import boto3

        server, port = servers.start_moto()
        proxy = FaultProxy(port)
        self._stops += [server.stop, proxy.close]
        client = boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        client.create_bucket(Bucket=BUCKET)
        return client, proxy

    def _webdav(self, kind: str, certfile: Path | None) -> Any:
        root = self._disk(kind)
        server, port, state = servers.start_webdav(root, certfile)
        proxy = FaultProxy(port)
        self._stops += [server.stop, proxy.close]
        return root, proxy, state

    def _start_webdav(self) -> Any:
        return self._webdav("webdav", None)

    def _start_webdavs(self) -> Any:
        return self._webdav("webdavs", self.certs.good)


@pytest.fixture(scope="session")
def farm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Farm]:
    farm = Farm(tmp_path_factory.mktemp("servers"))
    yield farm
    farm.stop()


def make_endpoint(farm: Farm, kind: str) -> Endpoint:
    folder = farm.folder()
    if kind == "file":
        root = farm.root / "file" / folder
        return Endpoint(kind, f"file://{root}", dict(FAST), lambda: servers.read_tree(root))
    if kind in {"ftp", "ftps", "ftps-implicit"}:
        disk, proxy, ftp_state = farm.server(kind)
        scheme = "ftp" if kind == "ftp" else "ftps"
        query = "?tls=implicit" if kind == "ftps-implicit" else ""
        options = dict(FAST, password=PASSWORD)
        if kind != "ftp":
            options["ca_bundle"] = str(farm.certs.ca_file)

        def break_ftp() -> None:
            ftp_state.break_after = servers.CUT_AFTER

        return Endpoint(
            kind,
            f"{scheme}://{USER}@127.0.0.1:{proxy.port}/{folder}{query}",
            options,
            lambda: servers.read_tree(disk / folder),
            proxy.port,
            proxy,
            break_upload=break_ftp,
            auth_attempts=lambda: ftp_state.auth_attempts,
        )
    if kind == "sftp":
        disk, proxy, sftp_server, known = farm.server(kind)
        return Endpoint(
            kind,
            f"sftp://{USER}@127.0.0.1:{proxy.port}/{folder}",
            dict(FAST, password=PASSWORD, known_hosts=str(known)),
            lambda: servers.read_tree(disk / folder),
            proxy.port,
            proxy,
            break_upload=proxy.cut_next_upload,
            auth_attempts=lambda: sftp_server.auth_attempts,
        )
    if kind == "s3":
        client, proxy = farm.server(kind)
        return Endpoint(
            kind,
            f"s3://{BUCKET}/{folder}",
            dict(
                FAST,
                endpoint_url=f"http://127.0.0.1:{proxy.port}",
                region="us-east-1",
                access_key_id="testing",
                secret_access_key="testing",
            ),
            lambda: _s3_objects(client, folder),
            proxy.port,
            proxy,
            break_upload=proxy.cut_next_upload,
            strict_auth=servers.moto_checks_credentials,
            wrong_credentials={"access_key_id": "AKIAWRONGWRONG", "secret_access_key": "nope"},
        )
    disk, proxy, dav_state = farm.server(kind)
    options = dict(FAST, password=PASSWORD)
    if kind == "webdavs":
        options["ca_bundle"] = str(farm.certs.ca_file)
    return Endpoint(
        kind,
        f"{kind}://{USER}@127.0.0.1:{proxy.port}/{folder}",
        options,
        lambda: servers.read_tree(disk / folder),
        proxy.port,
        proxy,
        break_upload=proxy.cut_next_upload,
        auth_attempts=lambda: dav_state.auth_attempts,
    )


def _s3_objects(client: Any, prefix: str) -> dict[str, bytes]:
    listing = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix + "/")
    return {
        item["Key"][len(prefix) + 1 :]: client.get_object(Bucket=BUCKET, Key=item["Key"])[
            "Body"
        ].read()
        for item in listing.get("Contents", [])
    }


@pytest.fixture(params=KINDS)
def endpoint(request: pytest.FixtureRequest, farm: Farm) -> Endpoint:
    return make_endpoint(farm, request.param)


@pytest.fixture(params=NETWORK_KINDS)
def network_endpoint(request: pytest.FixtureRequest, farm: Farm) -> Endpoint:
    return make_endpoint(farm, request.param)


@pytest.fixture(autouse=True)
def _fresh_registry() -> Iterator[None]:
    yield
    registry.reset()


def payload(size: int, seed: int = 7) -> bytes:
    block = bytes((seed * 31 + i) % 251 for i in range(4096))
    return (block * (size // len(block) + 1))[:size]

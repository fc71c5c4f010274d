from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.genesys.fake_server import FakeGenesys


@pytest.fixture(autouse=True)
def _no_proxy_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keeps a developer's HTTPS_PROXY from routing 127.0.0.1 test traffic elsewhere."""
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake() -> Iterator[FakeGenesys]:
    server = FakeGenesys(users=230).start()
    try:
        yield server
    finally:
        server.stop()

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.genesys.fake_server import FakeGenesys


@pytest.fixture
def fake() -> Iterator[FakeGenesys]:
    server = FakeGenesys(users=230).start()
    try:
        yield server
    finally:
        server.stop()

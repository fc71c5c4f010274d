"""Fixtures shared by the RTA tests that run against a live twin."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.rta.harness import NOW_MS
from wfmcli.sim import RunningTwin, start_twin

SPEED = 20.0


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sockets to the twin on 127.0.0.1 must not go through a proxy from the environment."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                 "all_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def one_set_twin() -> Iterator[RunningTwin]:
    """A live 40-agent org (36 licensed) with one credential set."""
    running = start_twin(seed=5, agents=40, queues=4, days=0, live=True, speed=SPEED,
                         now_ms=NOW_MS, credentials=1, control=True)
    try:
        yield running
    finally:
        running.stop()

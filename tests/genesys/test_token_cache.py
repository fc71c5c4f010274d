"""OAuth tokens reused across processes: one login per credential set while the token is valid.

Each `GenesysClient` here stands for one process (`wfm run` from cron): a fresh client with an
empty memory, sharing only the data folder.
"""

from __future__ import annotations

import asyncio
import logging
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from wfmcli.genesys.auth import TOKEN_ENDPOINT, Credential, TokenCache
from wfmcli.genesys.client import GenesysClient
from wfmcli.genesys.retry import RetryPolicy
from wfmcli.sim import RunningTwin, start_twin

pytestmark = pytest.mark.timeout(60)
FAST = RetryPolicy(attempts=4, time_scale=0.001)


@pytest.fixture(scope="module")
def twin() -> Iterator[RunningTwin]:
    running = start_twin(seed=5, agents=30, queues=3, days=1, live=False, credentials=2)
    try:
        yield running
    finally:
        running.stop()


def _creds(twin: RunningTwin) -> list[Credential]:
    return [Credential(c.client_id, c.client_secret) for c in twin.credentials]


def process(twin: RunningTwin, cache: TokenCache | None = None, **options: object) -> int:
    """One 'process': a user listing on every credential set; returns its token requests."""

    async def main() -> int:
        async with GenesysClient(
            twin.base_url, twin.base_url, _creds(twin), retry=FAST, token_cache=cache,
            **options,  # type: ignore[arg-type]
        ) as client:  # fmt: skip
            for session in client.sessions:
                await session.get("/api/v2/users", params={"pageSize": 1})
            return sum(r.count for r in client.counter.rows() if r.endpoint == TOKEN_ENDPOINT)

    return asyncio.run(main())


def test_the_next_process_reuses_the_token(
    twin: RunningTwin, caplog: pytest.LogCaptureFixture, isolated_dirs: Path
) -> None:
    caplog.set_level(logging.DEBUG)
    assert process(twin) == 2  # one login per credential set
    assert process(twin) == 0
    assert process(twin) == 0
    files = list((isolated_dirs).rglob("oauth-tokens/*.json"))
    assert len(files) == 2
    for file in files:
        assert stat.S_IMODE(file.stat().st_mode) == 0o600
        assert stat.S_IMODE(file.parent.stat().st_mode) == 0o700
        text = file.read_text()
        assert all(c.client_secret not in text for c in twin.credentials)
    tokens = [t.value for t in twin.server.tokens._tokens.values()]
    assert not any(token in caplog.text for token in tokens)


def test_a_token_near_expiry_is_renewed(twin: RunningTwin, tmp_path: Path) -> None:
    now = [1_000_000.0]
    cache = TokenCache(tmp_path, clock=lambda: now[0])
    assert process(twin, cache) == 2
    now[0] += twin.faults.token_lifetime_s - 30  # inside the renewal margin
    assert process(twin, cache) == 2
    assert process(twin, cache) == 0


def test_a_revoked_token_is_dropped_and_replaced(twin: RunningTwin, tmp_path: Path) -> None:
    cache = TokenCache(tmp_path)
    assert process(twin, cache) == 2
    assert twin.expire_tokens() >= 2  # Genesys refuses them from now on: 401
    assert process(twin, cache) == 2
    assert process(twin, cache) == 0  # the replacement was stored


def test_a_damaged_file_or_another_secret_means_a_new_login(
    twin: RunningTwin, tmp_path: Path
) -> None:
    cache = TokenCache(tmp_path)
    assert process(twin, cache) == 2
    for file in tmp_path.glob("*.json"):
        file.write_text("{not json")
    assert process(twin, cache) == 2
    other = Credential(twin.client_id, "another secret")
    assert cache.path(twin.base_url, other) != cache.path(twin.base_url, _creds(twin)[0])


def test_persistence_can_be_turned_off(twin: RunningTwin, tmp_path: Path) -> None:
    cache = TokenCache(tmp_path)
    assert process(twin, cache, persist_tokens=False) == 2
    assert process(twin, cache, persist_tokens=False) == 2
    assert not list(tmp_path.iterdir())

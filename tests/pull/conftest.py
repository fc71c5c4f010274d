"""Fixtures for the pull: a frozen twin with a day of history, pulled from directly."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from wfmcli.genesys.auth import Credential
from wfmcli.genesys.retry import RetryPolicy
from wfmcli.pull import PullSource
from wfmcli.sim import RunningTwin, analytics_routes, start_twin
from wfmcli.timegrid import local_midnight

FAST = RetryPolicy(time_scale=0.001)
SCOPED_DIVISIONS = ("Customer Service", "Sales", "Back Office")  # "Home" is left out


@dataclass
class Org:
    twin: RunningTwin
    zone: ZoneInfo
    day: date

    @property
    def start(self) -> datetime:
        return local_midnight(self.day, self.zone).to_pydatetime().astimezone(self.zone)

    @property
    def end(self) -> datetime:
        return local_midnight(self.day + timedelta(days=1), self.zone).to_pydatetime()

    def source(
        self, sets: int | None = None, divisions: tuple[str, ...] = SCOPED_DIVISIONS
    ) -> PullSource:
        creds = self.twin.credentials[: sets or len(self.twin.credentials)]
        return PullSource(
            self.twin.base_url,
            self.twin.base_url,
            [Credential(c.client_id, c.client_secret) for c in creds],
            licensed_role="Contact Center Agent",
            divisions=divisions,
        )


def start_org(
    seed: int, zone: str, day: date, *, agents: int = 40, queues: int = 6, credentials: int = 1
) -> Org:
    tz = ZoneInfo(zone)
    day_end = local_midnight(day + timedelta(days=1), tz).to_pydatetime()
    now = day_end.astimezone(UTC) + timedelta(hours=2)
    twin = start_twin(
        seed=seed,
        agents=agents,
        queues=queues,
        days=2,
        live=False,
        now_ms=int(now.timestamp() * 1000),
        credentials=credentials,
    )
    return Org(twin, tz, day)


@pytest.fixture
def org_factory() -> Iterator[type[Org]]:
    started: list[Org] = []

    def make(*args: object, **kwargs: object) -> Org:
        org = start_org(*args, **kwargs)  # type: ignore[arg-type]
        started.append(org)
        return org

    yield make  # type: ignore[misc]
    for org in started:
        org.twin.stop()


def record_analytics(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """Record every analytics query body the twin answers, as (kind, body), in arrival order."""
    seen: list[tuple[str, dict[str, Any]]] = []
    for kind, name in (
        ("conversations/aggregates", "conversation_aggregates"),
        ("users/aggregates", "user_aggregates"),
        ("users/details", "user_details"),
    ):
        answer = getattr(analytics_routes, name)

        def recording(*args: Any, _kind: str = kind, _answer: Any = answer) -> Any:
            seen.append((_kind, args[2]))
            return _answer(*args)

        monkeypatch.setattr(analytics_routes, name, recording)
    return seen

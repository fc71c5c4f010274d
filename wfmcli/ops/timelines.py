"""Logged-in spans of licensed users, from POST /api/v2/analytics/users/details/query."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from wfmcli.errors import RemoteError
from wfmcli.genesys.client import CredentialSession
from wfmcli.ops.usage import Span
from wfmcli.pull.directory import load_directory

DETAILS = "/api/v2/analytics/users/details/query"
BATCH = 100
MAX_QUERY = timedelta(days=31)  # Genesys' limit for a user-details interval with a user filter
MAX_PAGES = 1000


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def _chunks(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    parts = []
    while start < end:
        parts.append((start, min(end, start + MAX_QUERY)))
        start += MAX_QUERY
    return parts


async def licensed_user_ids(
    session: CredentialSession, divisions: Sequence[str], licensed_role: str
) -> list[str]:
    directory = await load_directory(session, divisions=divisions, licensed_role=licensed_role)
    return [agent.user_id for agent in directory.agents]


async def logged_in_spans(
    session: CredentialSession, user_ids: Sequence[str], start: datetime, end: datetime
) -> dict[str, list[Span]]:
    """Every span in which a user's primary presence was not OFFLINE, clipped to [start, end)."""
    spans: dict[str, list[Span]] = {u: [] for u in user_ids}
    lo, hi = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
    for a, b in _chunks(start, end):
        interval = f"{a.astimezone(UTC).isoformat()}/{b.astimezone(UTC).isoformat()}"
        for first in range(0, len(user_ids), BATCH):
            batch = list(user_ids[first : first + BATCH])
            await _query(session, interval, batch, spans, lo, hi)
    return spans


async def _query(
    session: CredentialSession,
    interval: str,
    batch: list[str],
    spans: dict[str, list[Span]],
    lo: int,
    hi: int,
) -> None:
    predicates = [{"type": "dimension", "dimension": "userId", "value": u} for u in batch]
    seen = 0
    for page in range(1, MAX_PAGES + 1):
        body = {"interval": interval, "order": "asc",
                "userFilters": [{"type": "or", "predicates": predicates}],
                "paging": {"pageSize": BATCH, "pageNumber": page}}  # fmt: skip
        answer = await session.post(DETAILS, json=body) or {}
        details = answer.get("userDetails") or []
        for detail in details:
            user = str(detail.get("userId"))
            for record in detail.get("primaryPresence") or []:
                if record.get("systemPresence") == "OFFLINE" or not record.get("startTime"):
                    continue
                begin = max(_ms(record["startTime"]), lo)
                finish = min(_ms(record["endTime"]) if record.get("endTime") else hi, hi)
                if finish > begin:
                    spans.setdefault(user, []).append((begin, finish))
        seen += len(details)
        total = answer.get("totalHits")
        if not details or (total is not None and seen >= int(total)) or len(details) < BATCH:
            return
    raise RemoteError(f"Genesys Cloud {DETAILS} has more than {MAX_PAGES} pages")

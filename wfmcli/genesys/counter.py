"""Count every request sent to Genesys Cloud, per credential set and endpoint template.

The API budget is billed per request, and rate limits apply per token, so the numbers that matter
are "how many calls did this credential set make to `GET /api/v2/users/{id}`": retries and token
requests included, since Genesys sees each of them.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlsplit

# Genesys object ids are UUIDs; job ids and channel ids are long hex or tagged strings.
_ID_SEGMENT = re.compile(
    r"^(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|\d+|[0-9a-fA-F]{16,}|[A-Za-z]+-\d+-[\w-]+)$"
)


def endpoint_template(method: str, path: str) -> str:
    """`GET /api/v2/users/<uuid>?expand=x` -> `GET /api/v2/users/{id}`; absolute URLs too."""
    bare = urlsplit(path).path
    segments = ["{id}" if _ID_SEGMENT.match(part) else part for part in bare.split("/")]
    return f"{method.upper()} {'/'.join(segments)}"


@dataclass(frozen=True)
class RequestCount:
    credential: str  # the OAuth client id of the credential set
    endpoint: str  # method and path template
    count: int


class RequestCounter:
    """Thread-safe tally shared by every session of a client; callers read it at any time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()

    def add(self, credential: str, endpoint: str) -> None:
        with self._lock:
            self._counts[(credential, endpoint)] += 1

    def count(self, credential: str | None = None, endpoint: str | None = None) -> int:
        with self._lock:
            return sum(
                n
                for (cred, ep), n in self._counts.items()
                if (credential is None or cred == credential)
                and (endpoint is None or ep == endpoint)
            )

    def rows(self) -> list[RequestCount]:
        with self._lock:
            items = sorted(self._counts.items())
        return [RequestCount(cred, ep, n) for (cred, ep), n in items]

    def by_credential(self) -> dict[str, dict[str, int]]:
        result: dict[str, dict[str, int]] = {}
        for row in self.rows():
            result.setdefault(row.credential, {})[row.endpoint] = row.count
        return result

"""Fault knobs: what tests turn to prove the client survives a misbehaving Genesys.

Set from the test's thread, read by the server's event loop; every field is a plain value or a
counter guarded by a lock, so no call needs to cross into the loop.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field


@dataclass
class Faults:
    """Knobs on a running twin. Change them at any time; they apply to the next request."""

    latency_s: float = 0.0  # added before every API answer
    error_rate: float = 0.0  # fraction of API requests answered with `error_status`
    error_status: int = 503
    rate_limit_per_minute: int = 300  # per token, as Genesys' client-credentials default
    token_lifetime_s: int = 86400  # `expires_in` of tokens issued from now on
    clock_skew_s: float = 0.0  # added to the `Date` header of every answer (the twin's clock)
    seed: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _fail_next: list[tuple[int, str]] = field(default_factory=list, repr=False)  # status, prefix
    _throttle_next: list[int] = field(default_factory=list, repr=False)
    _fail_token_next: list[int] = field(default_factory=list, repr=False)
    _rng: random.Random = field(default_factory=random.Random, repr=False)

    def __post_init__(self) -> None:
        self._rng.seed(f"wfm-twin-faults:{self.seed}")

    def fail_next(self, count: int = 1, status: int = 503, prefix: str = "") -> None:
        """Answer the next `count` API requests with `status` (a 5xx, or any status); with a
        `prefix`, only requests whose path starts with it (others pass and keep their turn)."""
        with self._lock:
            self._fail_next.extend([(status, prefix)] * count)

    def pending_failures(self) -> list[tuple[int, str]]:
        """The forced answers still to come, in order: (status, path prefix or "")."""
        with self._lock:
            return list(self._fail_next)

    def fail_token_next(self, count: int = 1, status: int = 503) -> None:
        """Answer the next `count` POST /oauth/token requests with `status`."""
        with self._lock:
            self._fail_token_next.extend([status] * count)

    def take_forced_token_status(self) -> int | None:
        with self._lock:
            return self._fail_token_next.pop(0) if self._fail_token_next else None

    def throttle_next(self, count: int = 1, retry_after_s: int = 1) -> None:
        """Answer the next `count` API requests with 429 and `Retry-After: retry_after_s`."""
        with self._lock:
            self._throttle_next.extend([retry_after_s] * count)

    def take_forced_status(self, path: str = "") -> int | None:
        with self._lock:
            for index, (status, prefix) in enumerate(self._fail_next):
                if path.startswith(prefix):
                    del self._fail_next[index]
                    return status
            if self.error_rate > 0 and self._rng.random() < self.error_rate:
                return self.error_status
        return None

    def take_forced_throttle(self) -> int | None:
        with self._lock:
            return self._throttle_next.pop(0) if self._throttle_next else None

    def reset(self) -> None:
        with self._lock:
            self._fail_next.clear()
            self._throttle_next.clear()
            self._fail_token_next.clear()
        self.latency_s = 0.0
        self.error_rate = 0.0
        self.error_status = 503
        self.rate_limit_per_minute = 300
        self.token_lifetime_s = 86400
        self.clock_skew_s = 0.0

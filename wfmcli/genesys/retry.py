"""Bounded retries and rate-limit pacing for Genesys requests.

Genesys limits each token (300 requests/min by default) and says so in `inin-ratelimit-*` headers
on every answer and in `Retry-After` on a 429. A `RateGate` per credential set holds back every
request of that set once the budget is spent, so parallel workers wait together instead of each
collecting its own 429. `RetryPolicy.time_scale` multiplies every wait: tests set it near zero to
run a 429 storm in milliseconds without changing any other behaviour.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type

from wfmcli.errors import TransientError

Sleep = Callable[[float], Awaitable[None]]
log = logging.getLogger("wfm.genesys")


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    wait = state.next_action.sleep if state.next_action else 0.0
    log.info("retrying in %.1f s (try %d failed: %s)", wait, state.attempt_number, exc)


def _throttled(state: RetryCallState) -> bool:
    exc = state.outcome.exception() if state.outcome else None
    return isinstance(exc, TransientError) and exc.status == 429


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6  # tries per request that fail for other reasons, the first included
    # Tries refused with 429 count apart: parallel requests of one set that wait out the same
    # Retry-After come back together and only some get in, so one request can be refused
    # several times in a row while the set as a whole is making progress at its full rate.
    throttled_attempts: int = 20
    backoff_initial: float = 0.5  # seconds before the first retry of a 5xx or network failure
    backoff_max: float = 30.0
    retry_after_max: float = 120.0  # cap on a server-requested wait
    time_scale: float = 1.0
    sleep: Sleep = field(default=asyncio.sleep, compare=False)

    def wait_seconds(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        retry_after = exc.retry_after if isinstance(exc, TransientError) else None
        if retry_after is not None:
            # Jitter keeps sets throttled together from coming back together.
            base = min(retry_after, self.retry_after_max) * (1 + random.random() * 0.1)  # noqa: S311 - jitter, not cryptography
        else:
            exponent = max(state.attempt_number - 1, 0)
            ceiling = min(self.backoff_initial * 2**exponent, self.backoff_max)
            base = random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not cryptography
        return base * self.time_scale

    def retrying(self) -> AsyncRetrying:
        throttled = 0

        def stop(state: RetryCallState) -> bool:
            nonlocal throttled
            if _throttled(state):
                throttled += 1
                return throttled >= self.throttled_attempts
            return state.attempt_number - throttled >= max(self.attempts, 1)

        return AsyncRetrying(
            retry=retry_if_exception_type(TransientError),
            stop=stop,
            wait=self.wait_seconds,
            sleep=self.sleep,
            before_sleep=_log_retry,
            reraise=True,
        )


class RateGate:
    """Pauses one credential set's requests while Genesys says its budget is spent."""

    def __init__(self, policy: RetryPolicy, clock: Callable[[], float] = time.monotonic) -> None:
        self._policy = policy
        self._clock = clock
        self._blocked_until = 0.0
        self.allowed: int | None = None  # the budget per window Genesys last announced

    @property
    def blocked_for(self) -> float:
        return max(self._blocked_until - self._clock(), 0.0)

    def block(self, seconds: float) -> None:
        seconds = min(seconds, self._policy.retry_after_max) * self._policy.time_scale
        self._blocked_until = max(self._blocked_until, self._clock() + seconds)

    def observe(self, headers: httpx.Headers) -> None:
        """Reads the `inin-ratelimit-*` headers of an answer; blocks when the window is spent."""
        try:
            count = int(headers["inin-ratelimit-count"])
            allowed = int(headers["inin-ratelimit-allowed"])
            reset = float(headers["inin-ratelimit-reset"])
        except (KeyError, ValueError):
            return
        self.allowed = allowed
        if count >= allowed:
            self.block(reset)

    async def wait(self) -> None:
        # Sleep again only if another request extended the block meanwhile.
        while (remaining := self.blocked_for) > 0:
            until = self._blocked_until
            await self._policy.sleep(remaining)
            if self._blocked_until == until:
                return

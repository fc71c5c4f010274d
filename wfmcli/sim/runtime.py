"""The twin's clock and the objects every route reads: the org, the contact center, the channels.

History is simulated up to "now" at start; from then on the simulated clock moves with the wall
clock multiplied by `speed` (or stays put when the twin is not live, which tests use for
deterministic answers).
"""

from __future__ import annotations

import time

from wfmcli.sim.engine import DAY_MS, ContactCenter
from wfmcli.sim.notify import Hub
from wfmcli.sim.org import Org


class Runtime:
    def __init__(
        self, org: Org, *, now_ms: int, days: int, live: bool = True, speed: float = 1.0
    ) -> None:
        self.org = org
        self.live = live
        self.speed = speed
        self.center = ContactCenter(org, now_ms - days * DAY_MS)
        self.center.run_until(now_ms)
        self._anchor_sim = now_ms
        self._anchor_real = time.monotonic()
        self._resume_speed = speed if speed > 0 else 1.0
        self.hub = Hub(org, self.center)

    def now_ms(self) -> int:
        if not self.live:
            return self._anchor_sim
        elapsed = time.monotonic() - self._anchor_real
        return self._anchor_sim + int(elapsed * 1000 * self.speed)

    def set_clock(self, now_ms: int, speed: float) -> None:
        """Re-anchor the live clock: it reads `now_ms` now and moves on `speed`x (0 = frozen).

        Moving it backwards does not undo what already happened; the engine waits until the
        clock passes its last event.
        """
        self._anchor_sim, self._anchor_real, self.speed = now_ms, time.monotonic(), speed

    @property
    def paused(self) -> bool:
        return not self.live or self.speed == 0

    def pause(self) -> None:
        """Freeze the clock where it is (no new events), remembering the speed to resume at."""
        if not self.paused:
            self._resume_speed = self.speed
        self.set_clock(self.now_ms(), 0.0)

    def resume(self, speed: float | None = None) -> None:
        """Let the clock move again, at `speed` or the speed it had before the pause."""
        now = self.now_ms()
        self.live = True
        self.set_clock(now, speed if speed else self._resume_speed)

    def step(self, seconds: float) -> int:
        """Move the clock forward by `seconds` at once and run the contact center there."""
        if seconds < 0:
            raise ValueError("the twin's clock only moves forward")
        self.set_clock(self.now_ms() + int(seconds * 1000), self.speed)
        return self.catch_up()

    def catch_up(self, budget: int | None = None) -> int:
        """Run the contact center to the current simulated time; returns events processed.

        A `budget` caps the work of one call, so an overloaded live twin lags behind its clock
        instead of blocking its event loop (and every socket) for long stretches.
        """
        return self.center.run_until(self.now_ms(), budget)

"""Client-side rate limiting.

ActiveCampaign allows 5 requests per second per *account*, shared by every key and process. The
requestor calls ``limiter.acquire()`` before every request; the default is an in-process limiter,
and workers inject a Redis-backed one shared by every process (see ``workers.ratelimit``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Protocol, runtime_checkable


@runtime_checkable
class RateLimiter(Protocol):
    def acquire(self) -> None:
        """Block until one request may be sent (or raise to refuse it)."""


@runtime_checkable
class AdaptiveRateLimiter(RateLimiter, Protocol):
    def observe(self, status: int, headers: Mapping[str, str]) -> None:
        """Called after every response (429s, ``RateLimit-Remaining``) so the limiter can adapt."""


class NoRateLimit:
    """A limiter that never waits (for tests or when an outer layer already limits)."""

    def acquire(self) -> None:
        return None


class IntervalRateLimiter:
    """Thread-safe in-process limiter spacing requests at least ``1 / rate`` seconds apart.

    A spacing limiter (no burst) matches ActiveCampaign's "5 per second, no burst" rule: the server
    counts requests in a sliding second, so sending 5 at once and then waiting is what gets 429s.
    ``margin`` widens the spacing a little because requests do not arrive exactly as they were sent:
    at exactly ``1 / rate`` apart, the sixth request can land inside the first one's second and be
    refused. The default 5 % leaves 50 ms of jitter per 5 requests at 5 per second.
    """

    def __init__(
        self,
        rate: float = 5.0,
        *,
        margin: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        if not 0 <= margin < 1:
            raise ValueError("margin must be in [0, 1)")
        self.interval = (1.0 + margin) / rate
        self._clock = clock
        self._sleep = sleep
        self._next_slot = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self.interval
        if slot > now:
            self._sleep(slot - now)

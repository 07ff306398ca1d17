"""One rate limit per ActiveCampaign account, shared by every worker process and host (Redis GCRA).

GCRA keeps one number per account, the theoretical arrival time (TAT) of the next request. A caller
reserves the next slot atomically in Lua, using Redis's clock (no skew between hosts), and learns
how long to wait for it. If the wait is longer than ``max_wait`` nothing is reserved and
``Throttled`` is raised, so the task is retried later instead of sleeping while holding a worker.

The spacing is ``(1 + margin) / rate`` with no burst, because ActiveCampaign counts requests in a
sliding second: at exactly 200 ms apart, arrival jitter lets a sixth request land inside the first
one's second (see acclient.ratelimit.IntervalRateLimiter).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import redis

# KEYS[1] = TAT key; ARGV[1] = interval (µs), ARGV[2] = max wait (µs). Returns wait in µs, or -wait
# when refused. TAT is stored in µs since the epoch, from Redis TIME.
_GCRA = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(tat, now)
local wait = slot - now
if wait > tonumber(ARGV[2]) then
  return -wait
end
redis.call('SET', KEYS[1], slot + interval, 'PX', math.floor((slot + interval - now) / 1000) + 1000)
return wait
"""

KEY_PREFIX = "acsync:ratelimit:"


class Throttled(Exception):
    """The account's budget is booked for longer than a worker should sleep: retry in ``retry_in``."""

    def __init__(self, retry_in: float) -> None:
        super().__init__(f"rate limit: next slot in {retry_in:.2f}s")
        self.retry_in = retry_in


class RedisRateLimiter:
    """``acquire()`` for acclient's rate limiter hook, shared through Redis."""

    def __init__(self, client: redis.Redis, account_key: str, rate: float, *, margin: float = 0.05,
                 max_wait: float = 2.0, sleep: Callable[[float], None] = time.sleep,
                 on_wait: Callable[[float], None] | None = None) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.key = KEY_PREFIX + account_key
        self.interval_us = int((1.0 + margin) / rate * 1_000_000)
        self.max_wait_us = int(max_wait * 1_000_000)
        self._script = client.register_script(_GCRA)
        self._sleep = sleep
        self._on_wait = on_wait

    def acquire(self) -> None:
        wait_us = int(self._script(keys=[self.key], args=[self.interval_us, self.max_wait_us]))
        if wait_us < 0:
            raise Throttled(-wait_us / 1_000_000)
        if self._on_wait is not None:
            self._on_wait(wait_us / 1_000_000)
        if wait_us:
            self._sleep(wait_us / 1_000_000)


def booked_ahead(client: redis.Redis, key: str) -> float:
    """Seconds of an account's budget already reserved ahead of now (for ``acsync stats``)."""
    tat = client.get(key)
    if not tat:
        return 0.0
    seconds, micros = client.time()
    return max(0.0, (int(tat) - (seconds * 1_000_000 + micros)) / 1_000_000)

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

import logging
import time
from collections.abc import Callable, Mapping

import redis

from acsync_core.stats import MINUTE_TTL, TOTALS, account_host, minute_key
from workers import metrics

log = logging.getLogger("acsync.ratelimit")

# KEYS[1] = TAT key, KEYS[2] = slowdown factor key; ARGV[1] = interval (µs), ARGV[2] = max wait (µs),
# ARGV[3] (optional) = now (µs since the epoch) from an injected clock, else Redis TIME.
# Returns wait in µs, or -wait when refused. TAT is stored in µs since the epoch.
_GCRA = """
local now
if ARGV[3] then
  now = tonumber(ARGV[3])
else
  local now_parts = redis.call('TIME')
  now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
end
local factor = tonumber(redis.call('GET', KEYS[2]) or '1')
local interval = math.floor(tonumber(ARGV[1]) * factor)
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(tat, now)
local wait = slot - now
if wait > tonumber(ARGV[2]) then
  return -wait
end
redis.call('SET', KEYS[1], slot + interval, 'PX', math.floor((slot + interval - now) / 1000) + 1000)
return wait
"""

# KEYS[1] = slowdown factor key; ARGV[1] = multiplier, ARGV[2] = cap, ARGV[3] = how long it holds (ms).
# The factor grows on every signal and falls back to 1 when no signal came for ARGV[3] ms.
_SLOW_DOWN = """
local factor = tonumber(redis.call('GET', KEYS[1]) or '1')
factor = math.min(tonumber(ARGV[2]), factor * tonumber(ARGV[1]))
redis.call('SET', KEYS[1], tostring(factor), 'PX', tonumber(ARGV[3]))
return tostring(factor)
"""

# Every ActiveCampaign answer, in one round trip: count it (``ac_requests@<host>``, ``ac_429@<host>`` in the
# totals and this minute's bucket of acsync_core.stats) and, when ARGV[1] is not 0, slow down as _SLOW_DOWN does.
# KEYS[1] = slowdown factor key, KEYS[2] = stats totals, KEYS[3] = this minute's bucket;
# ARGV[1] = multiplier (0: no slowdown), ARGV[2] = cap, ARGV[3] = how long it holds (ms),
# ARGV[4] = the bucket's TTL (s), ARGV[5..] = the fields to count.
_OBSERVE = """
for i = 5, #ARGV do
  redis.call('HINCRBY', KEYS[2], ARGV[i], 1)
  redis.call('HINCRBY', KEYS[3], ARGV[i], 1)
end
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[4]))
if tonumber(ARGV[1]) == 0 then
  return false
end
local factor = tonumber(redis.call('GET', KEYS[1]) or '1')
factor = math.min(tonumber(ARGV[2]), factor * tonumber(ARGV[1]))
redis.call('SET', KEYS[1], tostring(factor), 'PX', tonumber(ARGV[3]))
return tostring(factor)
"""

KEY_PREFIX = "acsync:ratelimit:"
SLOWDOWN_SUFFIX = ":slowdown"
MAX_SLOWDOWN = 8.0  # at most 8x slower than configured (0.5 req/s at the default 4 req/s)
SLOWDOWN_AFTER_429_SECONDS = 60.0
SLOWDOWN_AFTER_LOW_REMAINING_SECONDS = 30.0


class Throttled(Exception):
    """The account's budget is booked for longer than a worker should sleep: retry in ``retry_in``."""

    def __init__(self, retry_in: float) -> None:
        super().__init__(f"rate limit: next slot in {retry_in:.2f}s")
        self.retry_in = retry_in


class RedisRateLimiter:
    """``acquire()`` for acclient's rate limiter hook, shared through Redis."""

    def __init__(
        self,
        client: redis.Redis,
        account_key: str,
        rate: float,
        *,
        margin: float = 0.05,
        max_wait: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        on_wait: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """``clock`` (seconds since the epoch) replaces Redis's clock for the slot arithmetic; only for tests:
        processes on several hosts must share Redis's clock, or their skew would overbook the account."""
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.key = KEY_PREFIX + account_key
        self.slowdown_key = self.key + SLOWDOWN_SUFFIX
        self.interval_us = int((1.0 + margin) / rate * 1_000_000)
        self.max_wait_us = int(max_wait * 1_000_000)
        self._script = client.register_script(_GCRA)
        self._slow_down = client.register_script(_SLOW_DOWN)
        self._observe = client.register_script(_OBSERVE)
        host = account_host(account_key)
        self.requests_field = f"ac_requests@{host}"
        self.throttled_field = f"ac_429@{host}"
        # acsync_ac_requests_total's children for the account, made once: every class is served from the
        # start (0 until it happens), so a rate or a 429 share has a series to read
        self._answers = {status: metrics.AC_REQUESTS.labels(host, status) for status in metrics.AC_STATUS_CLASSES}
        self._client = client
        self._sleep = sleep
        self._on_wait = on_wait
        self._clock = clock

    def acquire(self) -> None:
        args = [self.interval_us, self.max_wait_us]
        if self._clock is not None:
            args.append(int(self._clock() * 1_000_000))
        wait_us = int(self._script(keys=[self.key, self.slowdown_key], args=args))
        if wait_us < 0:
            raise Throttled(-wait_us / 1_000_000)
        if self._on_wait is not None:
            self._on_wait(wait_us / 1_000_000)
        if wait_us:
            self._sleep(wait_us / 1_000_000)

    def observe(self, status: int | None, headers: Mapping[str, str]) -> None:
        """Adapt to the account's other users: ActiveCampaign's budget is shared by every integration.

        A 429 means somebody else spends the account's budget too: halve our rate (down to 1/8) for
        ``SLOWDOWN_AFTER_429_SECONDS``. A success whose ``RateLimit-Remaining`` is 0 means the window
        is full although we stay under the limit: slow down by a quarter for a shorter while. With no
        further signal the factor falls back to 1 (the configured rate).

        Every answer is also counted for the account (``ac_requests@<host>``, 429s in ``ac_429@<host>``,
        acsync_core.stats), in the same single round trip as the slowdown; a Redis failure of the count alone
        is logged and does not fail the request whose answer it counts. The Prometheus counter
        acsync_ac_requests_total (account = API host, status = 2xx, 3xx, 4xx, 429, 5xx, or ``error`` for
        no HTTP status) is counted in the process first, whatever Redis does.
        """
        self._answers[metrics.ac_status_class(status)].inc()
        fields = [self.requests_field]
        multiplier, seconds = 0.0, 0.0
        if status == 429:
            fields.append(self.throttled_field)
            multiplier, seconds = 2.0, SLOWDOWN_AFTER_429_SECONDS
        else:
            remaining = headers.get("RateLimit-Remaining") if headers else None
            if status is not None and 200 <= status < 300 and remaining is not None and remaining.strip() == "0":
                multiplier, seconds = 1.25, SLOWDOWN_AFTER_LOW_REMAINING_SECONDS
        args: list[float | int | str] = [multiplier, MAX_SLOWDOWN, int(seconds * 1000), MINUTE_TTL, *fields]
        try:
            self._observe(keys=[self.slowdown_key, TOTALS, minute_key(time.time())], args=args)
        except redis.RedisError as exc:
            if multiplier:
                raise  # a slowdown that could not be recorded is the caller's to see
            log.debug("could not count an ActiveCampaign answer: %s", exc.__class__.__name__)

    def slow_down(self, multiplier: float, seconds: float) -> float:
        return float(self._slow_down(keys=[self.slowdown_key], args=[multiplier, MAX_SLOWDOWN, int(seconds * 1000)]))

    def slowdown(self) -> float:
        """The current slowdown factor (1.0: the configured rate)."""
        return float(self._client.get(self.slowdown_key) or 1.0)


def booked_ahead(client: redis.Redis, key: str) -> float:
    """Seconds of an account's budget already reserved ahead of now (for ``acsync stats``)."""
    tat = client.get(key)
    if not tat:
        return 0.0
    seconds, micros = client.time()
    return max(0.0, (int(tat) - (seconds * 1_000_000 + micros)) / 1_000_000)

"""Cross-process counters in Redis, for ``acsync stats``, the local run's report and benchmarks.

Prometheus metrics (workers.metrics) are per process and scraped; these are the same facts summed
across every worker, readable by one command: events by kind and outcome, retries, dead letters,
ActiveCampaign calls by event kind, and per-minute buckets for "the last few minutes".
"""

from __future__ import annotations

import time

import redis

TOTALS = "acsync:stats:totals"
MINUTE_PREFIX = "acsync:stats:minute:"
MINUTE_TTL = 3600


class Stats:
    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def incr(self, *fields: str, amount: int = 1) -> None:
        minute = MINUTE_PREFIX + str(int(time.time() // 60))
        pipe = self.client.pipeline(transaction=False)
        for name in fields:
            pipe.hincrby(TOTALS, name, amount)
            pipe.hincrby(minute, name, amount)
        pipe.expire(minute, MINUTE_TTL)
        pipe.execute()

    def totals(self) -> dict[str, int]:
        return {k.decode() if isinstance(k, bytes) else k: int(v) for k, v in self.client.hgetall(TOTALS).items()}

    def last_minutes(self, minutes: int = 5) -> dict[str, int]:
        now = int(time.time() // 60)
        out: dict[str, int] = {}
        for minute in range(now - minutes + 1, now + 1):
            for key, value in self.client.hgetall(MINUTE_PREFIX + str(minute)).items():
                name = key.decode() if isinstance(key, bytes) else key
                out[name] = out.get(name, 0) + int(value)
        return out

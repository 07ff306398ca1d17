"""Cross-process counters in Redis, for ``acsync stats``, the local run's report and benchmarks.

Prometheus metrics (workers.metrics) are per process and scraped; these are the same facts summed
across every worker, readable by one command: events by kind and outcome, retries, dead letters,
ActiveCampaign calls by event kind, and per-minute buckets for "the last few minutes".
"""

from __future__ import annotations

import time
from typing import Any

import redis

TOTALS = "acsync:stats:totals"
MINUTE_PREFIX = "acsync:stats:minute:"
MINUTE_TTL = 3600
LATENCY_PREFIX = "acsync:stats:latency:"
LATENCY_SAMPLES = 10_000


class Stats:
    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def incr(self, *fields: str, amount: int = 1) -> None:
        pipe = self.client.pipeline(transaction=False)
        self._count(pipe, fields, amount)
        pipe.execute()

    @staticmethod
    def _count(pipe: Any, fields: tuple[str, ...], amount: int = 1) -> None:
        minute = MINUTE_PREFIX + str(int(time.time() // 60))
        for name in fields:
            pipe.hincrby(TOTALS, name, amount)
            pipe.hincrby(minute, name, amount)
        pipe.expire(minute, MINUTE_TTL)

    def record_event(self, kind: str, outcome: str, latency: float, *, store: str | None = None) -> None:
        """One finished event: counters plus an end-to-end latency sample (last LATENCY_SAMPLES kept),
        also per store when ``store`` is given (``events:<kind>@<store>``, latency ``<kind>@<store>``)."""
        pipe = self.client.pipeline(transaction=False)
        names = [f"events:{kind}", f"outcome:{kind}:{outcome}"]
        series = [kind]
        if store:
            names.append(f"events:{kind}@{store}")
            series.append(f"{kind}@{store}")
        self._count(pipe, tuple(names))
        for name in series:
            pipe.lpush(LATENCY_PREFIX + name, f"{latency:.4f}")
            pipe.ltrim(LATENCY_PREFIX + name, 0, LATENCY_SAMPLES - 1)
        pipe.execute()

    def latency_percentiles(self, kind: str, percentiles: tuple[float, ...] = (50, 99)) -> dict[str, float]:
        """Percentiles of a latency series: a kind (``order``) or a kind at a store (``order@mystore``)."""
        samples = sorted(float(x) for x in self.client.lrange(LATENCY_PREFIX + kind, 0, -1))
        if not samples:
            return {}
        return {f"p{p:g}": samples[min(len(samples) - 1, int(len(samples) * p / 100))] for p in percentiles}

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

"""Cross-process counters in Redis, for ``acsync stats``, the local run's report and benchmarks.

Prometheus metrics (workers.metrics) are per process and scraped; these are the same facts summed
across every worker, readable by one command: events by kind and outcome, retries, dead letters,
ActiveCampaign calls by event kind, and per-minute buckets for "the last few minutes".

Per-minute fields the console reads with ``series`` (besides ``events:<kind>@<store>`` and the others):
``ac_requests@<account host>`` and ``ac_429@<account host>`` (every ActiveCampaign HTTP answer, counted by
``workers.ratelimit.RedisRateLimiter.observe``), ``hooks:<kind>@<store>`` (ingest's enqueue script). The
last time each store's write landed in ActiveCampaign is ``acsync:stats:last_success`` (store -> epoch).
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import redis

TOTALS = "acsync:stats:totals"
MINUTE_PREFIX = "acsync:stats:minute:"
MINUTE_TTL = 3600
LATENCY_PREFIX = "acsync:stats:latency:"
LATENCY_SAMPLES = 10_000
LAST_SUCCESS = "acsync:stats:last_success"


def account_host(account_key: str) -> str:
    """How stats name an ActiveCampaign account: its API host (``acme.api-us1.com``), never the token."""
    netloc = urlsplit(account_key).netloc or account_key
    return netloc.rsplit("@", 1)[-1].lower()  # no user:password@ part, should a URL carry one


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def minute_key(now: float) -> str:
    """The per-minute bucket holding counts made at ``now`` (epoch seconds)."""
    return MINUTE_PREFIX + str(int(now // 60))


def hooks_field(kind: str, store: str) -> str:
    """The bucket field counting hooks ingest accepted (not duplicates), written by its enqueue script."""
    return f"hooks:{kind}@{store}"


class Stats:
    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def incr(self, *fields: str, amount: int = 1, pipe: redis.client.Pipeline | None = None) -> None:
        """Count ``fields`` in the totals and this minute's bucket; with ``pipe`` the commands join that
        pipeline (the caller executes it)."""
        target = self.client.pipeline(transaction=False) if pipe is None else pipe
        self._count(target, fields, amount)
        if pipe is None:
            target.execute()

    @staticmethod
    def _count(pipe: redis.client.Pipeline, fields: tuple[str, ...], amount: int = 1) -> None:
        minute = minute_key(time.time())
        for name in fields:
            pipe.hincrby(TOTALS, name, amount)
            pipe.hincrby(minute, name, amount)
        pipe.expire(minute, MINUTE_TTL)

    def record_event(
        self,
        kind: str,
        outcome: str,
        latency: float,
        *,
        store: str | None = None,
        pipe: redis.client.Pipeline | None = None,
    ) -> None:
        """One finished event: counters plus an end-to-end latency sample (last LATENCY_SAMPLES kept),
        also per store when ``store`` is given (``events:<kind>@<store>``, latency ``<kind>@<store>``).
        With ``pipe`` the commands join that pipeline (the caller executes it)."""
        target = self.client.pipeline(transaction=False) if pipe is None else pipe
        names = [f"events:{kind}", f"outcome:{kind}:{outcome}"]
        series = [kind]
        if store:
            names.append(f"events:{kind}@{store}")
            series.append(f"{kind}@{store}")
        self._count(target, tuple(names))
        for name in series:
            target.lpush(LATENCY_PREFIX + name, f"{latency:.4f}")
            target.ltrim(LATENCY_PREFIX + name, 0, LATENCY_SAMPLES - 1)
        if pipe is None:
            target.execute()

    def mark_success(self, store: str, at: float | None = None, pipe: redis.client.Pipeline | None = None) -> None:
        """A write of ``store`` landed in ActiveCampaign at ``at`` (now by default)."""
        target = self.client if pipe is None else pipe
        target.hset(LAST_SUCCESS, store, repr(time.time() if at is None else float(at)))

    def last_success(self) -> dict[str, float]:
        """Store -> when its last write landed in ActiveCampaign (stores never written are absent)."""
        return {_text(k): float(v) for k, v in self.client.hgetall(LAST_SUCCESS).items()}

    def series(self, field: str, minutes: int = 60) -> list[tuple[int, int]]:
        """``field``'s count per minute for the last ``minutes`` minutes, the minute under way last:
        ``(minute start, epoch seconds; count)``, 0 for a minute without it. Buckets live MINUTE_TTL
        (an hour), so older minutes read 0. One round trip."""
        now = int(time.time() // 60)
        starts = range(now - max(0, minutes) + 1, now + 1)
        pipe = self.client.pipeline(transaction=False)
        for minute in starts:
            pipe.hget(MINUTE_PREFIX + str(minute), field)
        values = pipe.execute() if minutes > 0 else []
        return [(minute * 60, int(value or 0)) for minute, value in zip(starts, values, strict=True)]

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

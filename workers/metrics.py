"""Prometheus metrics of the workers (multiprocess-safe with PROMETHEUS_MULTIPROC_DIR under prefork)."""

from __future__ import annotations

from collections.abc import Iterator

import redis
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

from acsync_core.settings import Settings

TASKS = Counter("acsync_worker_events_total", "Events processed, by kind and outcome", ["kind", "outcome"])
RETRIES = Counter("acsync_worker_retries_total", "Retries scheduled, by kind and reason", ["kind", "reason"])
DEAD = Counter("acsync_worker_dead_letters_total", "Events sent to the dead-letter queue", ["kind", "reason"])
AC_CALLS = Counter(
    "acsync_ac_calls_total", "ActiveCampaign calls by event kind, endpoint and status", ["kind", "endpoint", "status"]
)
# Every ActiveCampaign answer per account (its API host, acsync_core.stats.account_host: never a token) and
# status class, counted by workers.ratelimit.RedisRateLimiter.observe: the account's budget as spent.
AC_REQUESTS = Counter(
    "acsync_ac_requests_total", "ActiveCampaign answers by account (API host) and status class", ["account", "status"]
)
AC_STATUS_CLASSES = ("2xx", "3xx", "4xx", "429", "5xx", "error")
LIMITER_WAIT = Histogram(
    "acsync_ratelimit_wait_seconds",
    "Time spent waiting for a rate-limit slot",
    buckets=(0.0, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0),
)
END_TO_END = Histogram(
    "acsync_event_latency_seconds",
    "From hook received to ActiveCampaign done",
    ["kind"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
)


def ac_status_class(status: int | None) -> str:
    """The ``status`` label of acsync_ac_requests_total: 429 on its own, other answers by class, ``error``
    without an HTTP status (or with one outside 200-599)."""
    if status == 429:
        return "429"
    if status is not None and 200 <= status < 600:
        return f"{status // 100}xx"
    return "error"


class QueueCollector:
    """Scrape-time gauges read from Redis: queue depths, messages in flight, dead letters, outboxes and
    writer heartbeats.

    Redis lists vanish when empty, so every queue is reported explicitly, 0 included. ``account`` is the
    ActiveCampaign account's API host (acsync_core.stats.account_host), as in every metric: one sample per
    host, so account keys that name the same host (a URL spelled differently, an old spelling left in
    Redis) add their outboxes up and report the freshest heartbeat.
    """

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from acsync_core.events import WORKER_QUEUES
        from workers.dlq import INDEX

        depth = GaugeMetricFamily("acsync_queue_depth", "Messages waiting per queue", labels=["queue"])
        in_flight = GaugeMetricFamily("acsync_messages_in_flight", "Delivered, not yet acknowledged")
        dead = GaugeMetricFamily("acsync_dead_letters", "Entries in the dead-letter queue")
        outbox = GaugeMetricFamily(
            "acsync_outbox_depth",
            "ActiveCampaign writes waiting per account (API host) and lane",
            labels=["account", "lane"],
        )
        heartbeat = GaugeMetricFamily(
            "acsync_writer_heartbeat_age_seconds",
            "Seconds since the account's (API host's) writer last made progress",
            labels=["account"],
        )
        try:
            import time

            from acsync_core.stats import account_host
            from workers.outbox import Outbox, known_accounts
            from workers.writers.account import describe_heartbeats

            for queue in WORKER_QUEUES:
                depth.add_metric([queue], self.client.llen(queue))
            in_flight.add_metric([], self.client.hlen("unacked"))
            dead.add_metric([], self.client.zcard(INDEX))
            beats = describe_heartbeats(self.client)
            depths: dict[tuple[str, str], int] = {}
            ages: dict[str, float] = {}
            for account_key in known_accounts(self.client).values():
                host = account_host(account_key)
                for lane, count in Outbox(self.client, account_key).depth().items():
                    depths[host, lane] = depths.get((host, lane), 0) + count
                beat = beats.get(account_key)
                if beat:
                    age = max(0.0, time.time() - float(beat["at"]))
                    ages[host] = min(age, ages.get(host, age))
            for (host, lane), count in depths.items():
                outbox.add_metric([host, lane], count)
            for host, age in ages.items():
                heartbeat.add_metric([host], age)
        except Exception:
            return
        yield depth
        yield in_flight
        yield dead
        yield outbox
        yield heartbeat


def start_worker_metrics_server(settings: Settings, port: int) -> None:
    """Serve /metrics from the worker's main process: every prefork child's counters (multiprocess
    mode, PROMETHEUS_MULTIPROC_DIR must be set before the worker starts) plus the Redis gauges."""
    from prometheus_client import REGISTRY, start_http_server

    from acsync_core import redis_connection
    from acsync_core.observability import multiprocess_registry

    # without a multiprocess directory: this process's registry, children's counters not visible
    # (docs/operations.md)
    registry = multiprocess_registry(settings.metrics_dir) if settings.metrics_dir else REGISTRY
    client = redis_connection.connect(settings.redis_url, socket_timeout=2, socket_connect_timeout=1)
    registry.register(QueueCollector(client))
    start_http_server(port, addr=settings.worker_metrics_addr, registry=registry)


# account: the ActiveCampaign account's API host (acsync_core.stats.account_host), as in every metric
WRITES = Counter(
    "acsync_writer_writes_total", "Outbox writes settled by the account writers", ["account", "lane", "result"]
)
WRITER_BATCH = Histogram(
    "acsync_writer_batch_size",
    "Records per ActiveCampaign write call",
    ["lane"],
    buckets=(1, 2, 5, 10, 20, 30, 50, 100, 250),
)

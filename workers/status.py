"""The pipeline's state in Redis, as ``acsync stats`` prints it and the console's overview shows it.

Queue depths, tasks in flight, dead letters, each account's outbox, writer heartbeat, slowdown and
booked rate-limiter budget, the recent counters and the latencies.
"""

from __future__ import annotations

import time
from typing import Any

import redis

from acsync_core.events import WORKER_QUEUES
from acsync_core.settings import Settings
from acsync_core.stats import Stats
from workers.dlq import DeadLetterQueue
from workers.outbox import Outbox
from workers.ratelimit import KEY_PREFIX as LIMITER_PREFIX
from workers.ratelimit import SLOWDOWN_SUFFIX, booked_ahead
from workers.writers.account import describe_heartbeats
from workers.writers.service import stores_by_account


def collect_stats(config: Settings, client: redis.Redis, minutes: int) -> dict[str, Any]:
    """Everything ``acsync stats --json`` prints; ``minutes`` is the window of the recent counters."""
    booked = {
        key.decode()[len(LIMITER_PREFIX) :]: round(booked_ahead(client, key.decode()), 3)
        for key in client.scan_iter(LIMITER_PREFIX + "*")
        if not key.decode().endswith(SLOWDOWN_SUFFIX)
    }
    stats = Stats(client)
    beats = describe_heartbeats(client)
    writers = {}
    for account, stores in stores_by_account(config).items():
        box = Outbox(client, account)
        beat = beats.get(account)
        writers["+".join(sorted(s.name for s in stores))] = {
            "outbox": box.depth(),
            "in_flight": box.in_flight(),
            "heartbeat_age_seconds": round(time.time() - float(beat["at"]), 1) if beat else None,
            "slowdown": float(client.get(LIMITER_PREFIX + account + SLOWDOWN_SUFFIX) or 1.0),
        }
    return {
        "writers": writers,
        "queues": {queue: client.llen(queue) for queue in WORKER_QUEUES},
        "in_flight": client.hlen("unacked"),  # delivered, not yet acknowledged: running or reserved
        "dead_letters": DeadLetterQueue(client).size(),
        "rate_limiter_booked_seconds": booked,
        f"last_{minutes}_minutes": stats.last_minutes(minutes),
        "latency_seconds": {kind: stats.latency_percentiles(kind) for kind in ("order", "cart", "customer")},
        "totals": stats.totals(),
    }

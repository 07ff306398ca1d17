"""Prometheus metrics of the workers (multiprocess-safe with PROMETHEUS_MULTIPROC_DIR under prefork)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

TASKS = Counter("acsync_worker_events_total", "Events processed, by kind and outcome", ["kind", "outcome"])
RETRIES = Counter("acsync_worker_retries_total", "Retries scheduled, by kind and reason", ["kind", "reason"])
DEAD = Counter("acsync_worker_dead_letters_total", "Events sent to the dead-letter queue", ["kind", "reason"])
AC_CALLS = Counter("acsync_ac_calls_total", "ActiveCampaign calls by event kind, endpoint and status",
                   ["kind", "endpoint", "status"])
LIMITER_WAIT = Histogram("acsync_ratelimit_wait_seconds", "Time spent waiting for a rate-limit slot",
                         buckets=(0.0, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0))
END_TO_END = Histogram("acsync_event_latency_seconds", "From hook received to ActiveCampaign done", ["kind"],
                       buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600))

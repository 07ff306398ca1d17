"""Prometheus metrics of the ingest service (multiprocess-safe under gunicorn).

When ``PROMETHEUS_MULTIPROC_DIR`` is set (ingest/gunicorn_conf.py sets it) every worker writes to
shared files and ``/metrics`` aggregates them; otherwise the default in-process registry is used.
"""

from __future__ import annotations

import functools

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

from acsync_core.observability import multiprocess_registry

REQUESTS = Counter("acsync_ingest_requests_total", "HTTP requests by route and status", ["route", "status"])
ACCEPTED = Counter("acsync_ingest_events_accepted_total", "Events accepted and enqueued", ["kind", "store"])
DUPLICATES = Counter("acsync_ingest_events_duplicate_total", "Events answered as duplicates", ["kind", "store"])
SPOOLED = Counter(
    "acsync_ingest_events_spooled_total", "Events kept in the local spool (Redis down)", ["kind", "store"]
)
REJECTED = Counter("acsync_ingest_events_rejected_total", "Requests rejected, by reason", ["kind", "reason"])
DROPPED = Counter(
    "acsync_ingest_fields_dropped_total",
    "Invalid optional fields left out of accepted Master Data triggers",
    ["kind", "field"],
)
# Set by every ingest process's SpoolFlusher each loop (ingest/spool.py) from the spool's row count: every
# process reads the same SQLite file, so /metrics serves the largest reading of the live processes
# ("livemax": a worker gunicorn replaced takes its last reading with it, see gunicorn_conf.child_exit).
SPOOL_EVENTS = Gauge(
    "acsync_ingest_spool_events", "Events waiting in ingest's local spool for Redis", multiprocess_mode="livemax"
)
ENQUEUE_SECONDS = Histogram(
    "acsync_ingest_enqueue_seconds",
    "Time to dedupe and enqueue one event",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)


# The labelled children of the per-request counters, looked up once: labels() takes a lock and builds a
# key on every call. Bounded: routes x statuses, kinds x configured stores, and the schemas' fields.
request_counter = functools.cache(REQUESTS.labels)
accepted_counter = functools.cache(ACCEPTED.labels)
duplicate_counter = functools.cache(DUPLICATES.labels)
dropped_counter = functools.cache(DROPPED.labels)


def render(multiprocess_dir: str | None) -> tuple[bytes, str]:
    """The metrics page: summed over gunicorn's workers when they write to ``multiprocess_dir``."""
    if multiprocess_dir:
        return generate_latest(multiprocess_registry(multiprocess_dir)), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST

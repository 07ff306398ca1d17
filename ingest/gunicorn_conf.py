"""gunicorn settings for ingest: ``gunicorn -c python:ingest.gunicorn_conf 'ingest:create_app()'``.

Defaults are the ones bench/ingest.py chose (docs/benchmarks.md); every value can
be overridden from the environment (acsync_core.settings.ENVIRONMENT).
"""

from __future__ import annotations

import gc
import os
import shutil
import tempfile
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gunicorn.workers.base import Worker  # what gunicorn passes its hooks (gunicorn has no type information)

from acsync_core.settings import environment_settings

_settings = environment_settings()  # docs/operations.md lists the variables; a bad value stops gunicorn here

bind = _settings.ingest_bind
workers = _settings.ingest_workers or 2 * (os.cpu_count() or 1)
# gunicorn's sync worker, except that requests are read whole in a selector before the app runs them
# (ingest/worker.py): slow clients cost a buffer each, not a worker, and the hot path stays sync's
# (docs/benchmarks.md "Slow clients"). "sync" and "gthread" (ACSYNC_INGEST_THREADS) are accepted too.
worker_class = _settings.ingest_worker_class
threads = _settings.ingest_threads
# Open connections per worker, reading or closing (the buffering worker and gthread/gevent; not sync): past
# it a worker stops accepting and leaves new connections to the others.
worker_connections = _settings.ingest_max_connections
# Seconds from accept to a complete request, headers and body (buffering worker): a client still sending
# then is answered 408 and closed. Hooks are a few KiB and VTEX wants the answer within 5 s.
read_deadline = _settings.ingest_read_deadline
max_body_bytes = _settings.max_body_bytes  # the app's limit (413)
max_header_bytes = 64 * 1024  # a header section past this is answered 431 without waiting for the rest
limit_request_line = 4094  # gunicorn's defaults, stated: 414 past them
limit_request_fields = 100
limit_request_field_size = 8190
backlog = 2048
timeout = 30  # the arbiter restarts a worker silent for this long (a request stuck in the app)
graceful_timeout = 25  # SIGTERM: finish in-flight requests, then exit
keepalive = 5  # gthread/gevent only: the sync and buffering workers close each connection after its answer
accesslog = None  # per-request lines are in the JSON log and the metrics; access logs cost throughput
errorlog = "-"
loglevel = _settings.log_level.lower()


def on_starting(server: object) -> None:
    # prometheus-client multiprocess mode: every worker writes to this directory; /metrics sums them.
    directory = _settings.metrics_dir
    if not directory:
        directory = tempfile.mkdtemp(prefix="acsync-ingest-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory, exist_ok=True)


def post_fork(server: object, worker: Worker) -> None:
    if hasattr(worker, "read_deadline"):  # ingest.worker.BufferingWorker
        worker.read_deadline = read_deadline
        worker.write_timeout = read_deadline
        worker.max_header_bytes = max_header_bytes
        # the app refuses a body over max_body_bytes from its first max_body_bytes + 1 bytes
        worker.max_buffer_bytes = max_header_bytes + max_body_bytes + 1


def post_worker_init(worker: Worker) -> None:
    # The loaded app's objects (Flask, Celery, marshmallow, ...) live as long as the worker. Frozen, they
    # are out of the garbage collector's reach: a full collection walking them pauses the worker, and
    # every hook queued behind it pays the pause (figures: docs/benchmarks.md).
    gc.freeze()


def child_exit(server: object, worker: Worker) -> None:
    from acsync_core.observability import mark_process_dead

    mark_process_dead(worker.pid)

"""gunicorn settings for ingest: ``gunicorn -c python:ingest.gunicorn_conf 'ingest:create_app()'``.

Defaults come from bench/ingest.py runs on the 2-core machine (docs/benchmarks.md); every value can
be overridden from the environment.
"""

from __future__ import annotations

import gc
import os
import shutil
import tempfile

bind = os.environ.get("ACSYNC_INGEST_BIND", "127.0.0.1:8080")
workers = int(os.environ.get("ACSYNC_INGEST_WORKERS", str(2 * (os.cpu_count() or 1))))
worker_class = os.environ.get("ACSYNC_INGEST_WORKER_CLASS", "sync")
threads = int(os.environ.get("ACSYNC_INGEST_THREADS", "1"))
backlog = 2048
timeout = 30
graceful_timeout = 25  # SIGTERM: finish in-flight requests, then exit
keepalive = 5
accesslog = None  # per-request lines are in the JSON log and the metrics; access logs cost throughput
errorlog = "-"
loglevel = os.environ.get("ACSYNC_LOG_LEVEL", "info").lower()


def on_starting(server: object) -> None:
    # prometheus-client multiprocess mode: every worker writes to this directory; /metrics sums them.
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        directory = tempfile.mkdtemp(prefix="acsync-ingest-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory, exist_ok=True)


def post_worker_init(worker: object) -> None:
    # The app's ~60k objects (Flask, Celery, marshmallow, ...) live as long as the worker. Frozen, the
    # rare full collection no longer walks them: it took ~60 ms per worker here, a pause every hook
    # queued behind it pays (docs/benchmarks.md).
    gc.freeze()


def child_exit(server: object, worker: object) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]

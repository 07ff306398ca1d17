"""The commands that run the services: one list used by ``acsync run``, docker-compose.yml and the
README, so the local run and the containers run the same thing (tests/test_compose.py checks it)."""

from __future__ import annotations

INGEST = ["gunicorn", "-c", "python:ingest.gunicorn_conf", "ingest:create_app()"]  # bind from ACSYNC_INGEST_BIND
WORKER = ["celery", "-A", "workers", "worker", "-l", "INFO"]
WRITER = ["acsync", "writer"]  # ActiveCampaign writers, a thread per account; metrics on ACSYNC_WRITER_METRICS_PORT
BEAT = ["celery", "-A", "workers", "beat", "-l", "INFO", "--schedule", "/tmp/acsync-celerybeat-schedule"]  # noqa: S108
FLOWER = ["celery", "-A", "workers", "flower"]  # port from FLOWER_PORT
CONSOLE = ["gunicorn", "-c", "python:console.gunicorn_conf", "console:create_app()"]  # bind from ACSYNC_CONSOLE_BIND
AC_SANDBOX = ["acsync", "sandbox", "ac"]  # --host/--port added per deployment
VTEX_SANDBOX = ["acsync", "sandbox", "vtex"]

SERVICES: dict[str, list[str]] = {
    "ingest": INGEST,
    "worker": WORKER,
    "writer": WRITER,
    "beat": BEAT,
    "flower": FLOWER,
    "console": CONSOLE,
    "ac-sandbox": AC_SANDBOX,
    "vtex-sandbox": VTEX_SANDBOX,
}

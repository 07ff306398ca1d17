# One image for every service (ingest, worker, writer, beat, flower, console, sandboxes); docker-compose.yml picks the command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/acsync-metrics ACSYNC_STORES=/etc/acsync/stores.toml \
    ACSYNC_SPOOL_PATH=/var/lib/acsync/spool.db

WORKDIR /app
COPY pyproject.toml README.md ./
COPY acclient ./acclient
COPY ingest ./ingest
COPY workers ./workers
COPY acsync ./acsync
COPY acsync_core ./acsync_core
COPY console ./console
RUN pip install '.[ops]' && useradd --create-home --uid 10001 acsync \
    && mkdir -p /tmp/acsync-metrics /var/lib/acsync && chown acsync /tmp/acsync-metrics /var/lib/acsync
USER acsync

EXPOSE 8080
CMD ["gunicorn", "-c", "python:ingest.gunicorn_conf", "ingest:create_app()"]

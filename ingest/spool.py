"""A durable local spool for hooks accepted while Redis is unreachable.

Master Data v1 triggers never retry and VTEX drops hook events after its own retries, so a Redis
outage must not turn into lost events. When the enqueue fails, ingest writes the event to SQLite
(WAL mode, synchronous=FULL, safe across gunicorn worker processes) and answers 200 with
``"spooled": true``. A flusher thread in every ingest process, and ``acsync spool flush``, move
spooled events to Celery once Redis is back, through the same dedupe-and-enqueue script (so an
event spooled twice, or flushed by two processes, is enqueued once).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from pathlib import Path

import redis

from acsync_core.events import Event
from acsync_core.publish import TaskPublisher
from ingest import metrics

log = logging.getLogger("acsync.spool")

SCHEMA = """
CREATE TABLE IF NOT EXISTS spooled_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event TEXT NOT NULL,
    spooled_at REAL NOT NULL
)
"""


class SpoolError(Exception):
    """The spool itself could not store the event: only then does ingest answer 503."""


class Spool:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        # one connection per process and thread: SQLite connections must not cross a fork
        conn = getattr(self._local, "conn", None)
        if conn is None or getattr(self._local, "pid", None) != os.getpid():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")  # an acknowledged hook survives a power cut
            conn.execute("PRAGMA busy_timeout=10000")
            conn.execute(SCHEMA)
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def append(self, event: Event) -> None:
        try:
            self._connection().execute(
                "INSERT INTO spooled_events (event, spooled_at) VALUES (?, ?)",
                (json.dumps(event.to_dict()), time.time()),
            )
        except (sqlite3.Error, OSError) as exc:
            raise SpoolError(f"spool write failed: {exc.__class__.__name__}: {exc}") from exc

    def size(self) -> int:
        try:
            return int(self._connection().execute("SELECT COUNT(*) FROM spooled_events").fetchone()[0])
        except (sqlite3.Error, OSError):
            return 0

    def flush(self, publisher: TaskPublisher, *, dedupe_ttl_seconds: int, batch: int = 200) -> int:
        """Move spooled events to Celery; returns how many were enqueued (duplicates are dropped)."""
        moved = 0
        conn = self._connection()
        while True:
            conn.execute("BEGIN IMMEDIATE")  # one flusher at a time across processes
            try:
                rows = conn.execute("SELECT id, event FROM spooled_events ORDER BY id LIMIT ?", (batch,)).fetchall()
                for row_id, raw in rows:
                    result = publisher.enqueue_once(
                        Event.from_dict(json.loads(raw)), dedupe_ttl_seconds=dedupe_ttl_seconds
                    )
                    conn.execute("DELETE FROM spooled_events WHERE id = ?", (row_id,))
                    moved += 0 if result.duplicate else 1
                publisher.confirm_durable()  # rows are forgotten only once replicas hold their events
                conn.execute("COMMIT")
            except BaseException:
                # rows enqueued before the failure stay spooled; the dedupe key drops them next time
                conn.execute("ROLLBACK")
                raise
            if len(rows) < batch:
                return moved


class SpoolFlusher:
    """A daemon thread per ingest process that empties the spool whenever Redis answers."""

    def __init__(
        self, spool: Spool, publisher: TaskPublisher, *, dedupe_ttl_seconds: int, interval: float = 1.0
    ) -> None:
        self.spool = spool
        self.publisher = publisher
        self.dedupe_ttl_seconds = dedupe_ttl_seconds
        self.interval = interval
        self._pid = 0
        self._lock = threading.Lock()

    def ensure_running(self) -> None:
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid != os.getpid():  # started lazily in each (forked) process
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="acsync-spool-flusher", daemon=True).start()

    def _run(self) -> None:
        while True:
            time.sleep(self.interval)
            size = self.spool.size()
            metrics.SPOOL_EVENTS.set(size)  # acsync_ingest_spool_events, 0 included
            if not size:
                continue
            try:
                moved = self.spool.flush(self.publisher, dedupe_ttl_seconds=self.dedupe_ttl_seconds)
                if moved:
                    log.warning("moved %d spooled events to the queue", moved)
            except (redis.RedisError, sqlite3.Error) as exc:
                log.info("spool not flushed yet: %s", exc.__class__.__name__)

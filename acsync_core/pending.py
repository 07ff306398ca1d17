"""The pending ledger: every accepted event stays on record until a worker finished it.

Why: kombu's Redis transport pops a message with BRPOP and only afterwards copies it into its
``unacked`` hash. If the worker dies, or Redis goes down, between the two, the message exists only in
the dead worker's memory: Celery cannot redeliver it (a worker crashing on a Redis restart is such a
case; the chaos test restarts Redis and kills a worker). The ledger closes that window end to end:

* ingest (and every republish) records ``event_id -> queue + message`` with the time the message is
  expected to start (now, or its due time in ``acsync_core.schedule``), in the same round trip as the push;
* a worker marks the event started before running it (from then on kombu's unacked copy and
  ``task_reject_on_worker_lost`` protect it) and removes it when it is finished or dead-lettered;
* a sweeper (a thread in each worker, one at a time through a Redis lock) looks at events expected to
  have started more than ``grace`` seconds ago and not started: if the message is still in its queue
  (LPOS from the oldest end) they are just waiting; if not, the message was lost and is pushed again.
  A spurious re-push only costs an idempotent re-run.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable

import redis

from acsync_core.settings import Settings

SCHEDULE = "acsync:schedule"  # acsync_core.schedule's sorted set (named here to avoid an import cycle)

log = logging.getLogger("acsync.pending")

PENDING = "acsync:pending"  # zset: event_id -> time the latest message is expected to start
MESSAGES = "acsync:pending:messages"  # hash: event_id -> "<queue>\n<message>"
STARTED = "acsync:pending:started"  # hash: event_id -> "<time a worker began it>|<its worker node>"
SWEEP_LOCK = "acsync:pending:sweeper"
HEARTBEATS = "acsync:workers:heartbeats"  # hash: worker node -> last heartbeat (a worker's main process)
HEARTBEAT_EVERY = 10.0
DEAD_AFTER = 45.0  # a node whose heartbeat is older than this is dead: its started events are pushed again


def _text(value: object) -> str:
    """A Redis string reply as text: bytes from a client without decode_responses (as here), or a str."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, str):
        return value
    raise TypeError(f"expected a Redis string reply, got a {type(value).__name__}")


def record(pipe: redis.client.Pipeline, event_id: str, queue: str, message: bytes, expected_start: float) -> None:
    """Add the ledger writes for a pushed message to ``pipe`` (the caller executes it)."""
    pipe.hset(MESSAGES, event_id, queue.encode() + b"\n" + message)
    pipe.zadd(PENDING, {event_id: expected_start})
    pipe.hdel(STARTED, event_id)


def started(client: redis.Redis, event_id: str, node: str = "") -> None:
    """A worker began the event; ``node`` names the worker (its heartbeat tells the sweeper it lives)."""
    client.hset(STARTED, event_id, f"{time.time()}|{node}")


def heartbeat(client: redis.Redis, node: str, *, now: float | None = None) -> None:
    client.hset(HEARTBEATS, node, time.time() if now is None else now)


def forget_node(client: redis.Redis, node: str) -> None:
    client.hdel(HEARTBEATS, node)


def recover_dead_workers(client: redis.Redis, *, dead_after: float = DEAD_AFTER, now: float | None = None) -> int:
    """Push again the events that a worker whose heartbeat stopped had started.

    kombu would restore their messages only after the visibility timeout; the ledger still has each
    message, so a fresh copy goes back on its queue now. The dead worker's unacked copy may still come
    back later: the pipeline is idempotent, so that costs one run with no effect.
    """
    now = time.time() if now is None else now
    beats = {_text(k): float(v) for k, v in client.hgetall(HEARTBEATS).items()}
    # a live worker runs the others (or an in-process run without a node)
    repushed = _push_again_started(client, now, lambda node, _: bool(node) and now - beats.get(node, 0.0) > dead_after)
    for node, beat in beats.items():
        if now - beat > 24 * 3600:
            forget_node(client, node)  # long gone: keep the hash small
    if repushed:
        log.warning("re-pushed %d events started by workers whose heartbeat stopped", repushed)
    return repushed


def recover_node(client: redis.Redis, node: str, *, started_before: float, now: float | None = None) -> int:
    """Push again the events ``node`` started before ``started_before``: it no longer runs them.

    For a worker whose broker connection broke (a Redis failover): Celery cancels the tasks it was
    running (``worker_cancel_long_running_tasks_on_connection_loss``) and their messages stay unacked
    until the visibility timeout, while the node's heartbeat goes on, so the dead-worker rule never
    fires for them. On reconnecting, the worker names itself here.
    """
    now = time.time() if now is None else now
    repushed = _push_again_started(client, now, lambda started_node, at: started_node == node and at < started_before)
    if repushed:
        log.warning("re-pushed %d events this worker was running when its broker connection broke", repushed)
    return repushed


def _push_again_started(client: redis.Redis, now: float, orphaned: Callable[[str, float], bool]) -> int:
    """Push again every started event for which ``orphaned(node, started_at)`` holds."""
    repushed = 0
    for raw_id, raw_value in client.hscan_iter(STARTED, count=500):
        at, _, node = _text(raw_value).partition("|")
        if not orphaned(node, float(at or 0)):
            continue
        event_id = _text(raw_id)
        stored = client.hget(MESSAGES, event_id)
        if stored is None:
            client.hdel(STARTED, event_id)
            continue
        queue, message = _text(stored).split("\n", 1)
        push_again(client, event_id, queue, message, now)
        repushed += 1
    return repushed


def finished(client: redis.Redis, event_id: str) -> None:
    pipe = client.pipeline()
    finish(pipe, event_id)
    pipe.execute()


def finish(pipe: redis.client.Pipeline, event_id: str) -> None:
    """Add the end of the event to ``pipe`` (handed to the outbox, or done): the caller executes it."""
    pipe.zrem(PENDING, event_id)
    pipe.hdel(MESSAGES, event_id)
    pipe.hdel(STARTED, event_id)


def push_again(client: redis.Redis, event_id: str, queue: str, message: str, now: float) -> None:
    """Push a fresh copy of an event's message and record it in the ledger, atomically."""
    copy = fresh_copy(message.encode())
    pipe = client.pipeline()
    pipe.lpush(queue, copy)
    record(pipe, event_id, queue, copy, now)
    pipe.execute()


def fresh_copy(message: bytes) -> bytes:
    """The same task message with a new delivery tag, so it cannot collide with a stale unacked copy."""
    envelope = json.loads(message)
    envelope["properties"]["delivery_tag"] = str(uuid.uuid4())
    return json.dumps(envelope, separators=(",", ":")).encode()


def sweep(
    client: redis.Redis, *, grace: float, now: float | None = None, batch: int = 200, scan_depth: int = 1000
) -> int:
    """Re-push the messages of events that should have started ``grace`` seconds ago and are nowhere."""
    now = time.time() if now is None else now
    repushed = 0
    waiting_queues: set[str] = set()
    for raw_id in client.zrangebyscore(PENDING, "-inf", now - grace, start=0, num=batch):
        event_id = _text(raw_id)
        if client.hexists(STARTED, event_id):
            continue  # running, or held by a worker: recover_dead_workers covers it if that worker dies
        if client.zscore(SCHEDULE, event_id) is not None:
            continue  # deferred: waiting in the schedule (acsync_core.schedule)
        stored = client.hget(MESSAGES, event_id)
        if stored is None:
            client.zrem(PENDING, event_id)
            continue
        queue, message = _text(stored).split("\n", 1)
        if queue in waiting_queues:
            continue  # an older message of this queue is still waiting: so is this one
        # oldest first: a message still queued is near the oldest end of its list
        if client.lpos(queue, message, rank=-1, maxlen=scan_depth) is not None:
            waiting_queues.add(queue)
            continue
        push_again(client, event_id, queue, message, now)
        repushed += 1
    if repushed:
        log.warning("re-pushed %d events whose messages were lost between Redis and a worker", repushed)
    return repushed


_running: Sweeper | None = None


def running_sweeper() -> Sweeper | None:
    """The maintenance thread this process started (a worker's main process), if any."""
    return _running


class Sweeper:
    """A worker's maintenance thread: every second it moves due deferred work from the schedule onto its
    queues; every ``HEARTBEAT_EVERY`` seconds it says this worker node lives; every ``interval`` seconds
    (one sweeper at a time cluster-wide) it recovers dead workers' events and lost messages."""

    def __init__(
        self, client: redis.Redis, *, node: str = "", interval: float | None = None, grace: float | None = None
    ) -> None:
        self.client = client
        self.node = node
        self.interval = interval or Settings.sweep_interval_seconds
        self.grace = grace or Settings.sweep_grace_seconds
        self._recover_own_before: float | None = None  # set on a broker reconnect (request_own_recovery)

    def request_own_recovery(self, started_before: float) -> None:
        """Ask the maintenance thread to push again this node's events started before ``started_before``
        (:func:`recover_node`); it retries until Redis answers."""
        self._recover_own_before = started_before

    def start(self) -> None:
        global _running
        _running = self
        if self.node:
            try:  # before the first task: a node without a heartbeat counts as dead
                heartbeat(self.client, self.node)
            except redis.RedisError as exc:
                log.info("first heartbeat skipped: %s", exc.__class__.__name__)
        threading.Thread(target=self._run, name="acsync-pending-sweeper", daemon=True).start()

    def _run(self) -> None:
        from acsync_core.schedule import move_due

        last_beat = time.monotonic()
        last_sweep = 0.0
        while True:
            time.sleep(1.0)
            now = time.monotonic()
            try:
                wanted = self._recover_own_before
                if wanted is not None and self.node:
                    recover_node(self.client, self.node, started_before=wanted)
                    if self._recover_own_before == wanted:
                        self._recover_own_before = None
                move_due(self.client)
                if self.node and now - last_beat >= HEARTBEAT_EVERY:
                    heartbeat(self.client, self.node)
                    last_beat = now
                if now - last_sweep >= self.interval:
                    last_sweep = now
                    if self.client.set(SWEEP_LOCK, os.getpid(), nx=True, ex=max(1, int(self.interval))):
                        recover_dead_workers(self.client)
                        sweep(self.client, grace=self.grace)
            except redis.RedisError as exc:
                log.info("maintenance skipped: %s", exc.__class__.__name__)

"""Enqueue a Celery task in one Redis round trip, with dedupe, for the ingest hot path.

``apply_async`` costs more CPU per call than the rest of a hook request together (figures in
docs/benchmarks.md). The message itself is cheap to build: Celery's own
``as_task_v2`` makes the protocol-2 headers and body, and this module wraps them in the envelope that
kombu's Redis transport pushes (``prepare_message`` + ``_inplace_augment_message``), then runs one
Lua script that claims the dedupe key and LPUSHes the message atomically: either both happen or
neither, so a failed enqueue never leaves a dedupe key behind that would drop VTEX's retry.

The hot path (``enqueue_once``) is tuned for CPU because ingest answers thousands of hooks a
minute on two cores: the headers ``as_task_v2`` makes are cached per task name and process and only
the per-message fields replaced (``as_task_v2`` costs more than the rest of the message), and the
script runs on a :class:`~acsync_core.direct_redis.DirectConnection` rather than through redis-py's
command layers.

A test checks the envelope against one made by ``send_task`` and that a real worker runs it.
"""

from __future__ import annotations

import base64
import os
import time
import uuid
from dataclasses import dataclass
from typing import Any

import orjson
import redis
from celery import Celery

from acsync_core import pending, stats
from acsync_core.direct_redis import DirectConnection, DirectScript
from acsync_core.events import Event
from acsync_core.redis_connection import Durability

# KEYS[1] dedupe key, KEYS[2] queue list, KEYS[3..5] the pending ledger (acsync_core.pending), KEYS[6] this
# minute's stats bucket (acsync_core.stats); ARGV[1] event id, ARGV[2] dedupe TTL (s), ARGV[3] message,
# ARGV[4] now, ARGV[5] queue name, ARGV[6] the bucket's field for accepted hooks, ARGV[7] its TTL.
# Returns nil when enqueued, or the event id that claimed the key first. A Lua script is atomic but
# not transactional (a failing command does not undo earlier writes), so the LPUSH goes first: if it
# fails, nothing was written and VTEX's retry is not mistaken for a duplicate.
_ENQUEUE_ONCE = """
local first = redis.call('GET', KEYS[1])
if first then return first end
redis.call('LPUSH', KEYS[2], ARGV[3])
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
redis.call('HSET', KEYS[4], ARGV[1], ARGV[5] .. string.char(10) .. ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
redis.call('HDEL', KEYS[5], ARGV[1])
redis.call('HINCRBY', KEYS[6], ARGV[6], 1)
redis.call('EXPIRE', KEYS[6], tonumber(ARGV[7]))
return false
"""

DEDUPE_PREFIX = "acsync:dedupe:"
DURABILITY_PROBE = "acsync:ingest:durability-probe"
# after a WAIT came back short, later hooks wait at most this long for the replicas (a dead replica must
# not add the full timeout to every hook; a returning one acknowledges well within it)
DEGRADED_WAIT_MS = 10
DEGRADED_FOR_SECONDS = 5.0


class NotReplicated(redis.RedisError):
    """The write reached the primary but fewer replicas than required confirmed it in time.

    A ``RedisError``: callers that spool or retry on Redis trouble treat it the same way, which is right:
    the event may be in Redis, and the spool's replay is dropped as a duplicate if it is.
    """


@dataclass(frozen=True)
class EnqueueResult:
    event_id: str
    duplicate: bool


_MESSAGE_APP: Celery | None = None


def message_app() -> Celery:
    """A Celery application that only builds task messages (protocol 2, JSON), the same as the workers'
    application builds them: messages carry no worker configuration (time limits and queues are the
    worker's own, routing is the queue name given here)."""
    global _MESSAGE_APP
    if _MESSAGE_APP is None:
        app = Celery("acsync", set_as_current=False)
        app.conf.update(task_serializer="json", accept_content=["json"], task_protocol=2)
        _MESSAGE_APP = app
    return _MESSAGE_APP


class TaskPublisher:
    """Builds Celery protocol-2 messages and pushes them to Redis, optionally deduplicated."""

    def __init__(
        self, client: redis.Redis, *, celery_app: Celery | None = None, durability: Durability | None = None
    ) -> None:
        """``durability``: how many replicas must confirm an :meth:`enqueue_once` (ingest's promise to VTEX).

        ``celery_app`` builds the messages; by default :func:`message_app`, so a publisher needs neither the
        workers' application nor its tasks (ingest imports nothing of ``workers``).
        """
        self.celery = celery_app or message_app()
        self.client = client
        self.direct = DirectConnection(client)
        self.script = DirectScript(self.direct, _ENQUEUE_ONCE)
        self.durability = durability or Durability()
        self._degraded_until = 0.0
        self._header_templates: dict[tuple[int, str], dict[str, Any]] = {}

    def build_message(
        self,
        task_name: str,
        queue: str,
        args: tuple[Any, ...],
        *,
        task_id: str | None = None,
        countdown: float | None = None,
        retries: int = 0,
        argsrepr: str = "",
    ) -> bytes:
        task_id = task_id or uuid.uuid4().hex
        message = self.celery.amqp.as_task_v2(
            task_id,
            task_name,
            args=args,
            kwargs={},
            countdown=countdown,
            retries=retries,
            # never let payloads (e-mails) leak into Flower or logs through argsrepr
            argsrepr=argsrepr or f"<{task_name} {task_id}>",
            kwargsrepr="{}",
        )
        return self._envelope(message.body, message.headers, message.properties, queue)

    @staticmethod
    def _envelope(body: Any, headers: dict[str, Any], properties: dict[str, Any], queue: str) -> bytes:
        """What kombu's Redis transport pushes: the task body, base64-encoded, inside a JSON envelope."""
        envelope = {
            "body": base64.b64encode(orjson.dumps(body)).decode(),
            "content-encoding": "utf-8",
            "content-type": "application/json",
            "headers": headers,
            "properties": {
                **properties,
                "delivery_mode": 2,
                "delivery_info": {"exchange": "", "routing_key": queue},
                "priority": 0,
                "body_encoding": "base64",
                "delivery_tag": os.urandom(16).hex(),  # kombu's unacked-hash key: unique, opaque
            },
        }
        return orjson.dumps(envelope)

    def _headers_for(self, task_name: str, task_id: str, argsrepr: str) -> dict[str, Any]:
        """``as_task_v2``'s headers for a task run now, from a per-process template (origin names the pid)."""
        key = (os.getpid(), task_name)
        template = self._header_templates.get(key)
        if template is None:
            template = self.celery.amqp.as_task_v2("template", task_name, args=(), kwargs={}, kwargsrepr="{}").headers
            self._header_templates[key] = template
        return {**template, "id": task_id, "root_id": task_id, "argsrepr": argsrepr}

    def event_message(self, event: Event, *, task_id: str | None = None, queue: str | None = None) -> bytes:
        """The message of a task that runs ``event`` now; the same as ``build_message`` makes, built faster."""
        task_id = task_id or event.event_id
        headers = self._headers_for(
            event.task_name, task_id, f"<{event.kind} event {event.event_id} store={event.store}>"
        )
        body: tuple[tuple[Any, ...], dict[str, Any], dict[str, Any]] = (  # Celery's (args, kwargs, embed)
            (event.to_dict(),),
            {},
            {"callbacks": None, "errbacks": None, "chain": None, "chord": None},
        )
        return self._envelope(body, headers, {"correlation_id": task_id, "reply_to": ""}, queue or event.queue)

    def enqueue_once(self, event: Event, *, dedupe_ttl_seconds: int) -> EnqueueResult:
        """Enqueue unless ``event.dedupe_key`` was accepted within the TTL (one round trip)."""
        message = self.event_message(event)
        now = time.time()
        keys = [
            DEDUPE_PREFIX + event.dedupe_key,
            event.queue,
            pending.PENDING,
            pending.MESSAGES,
            pending.STARTED,
            stats.minute_key(now),
        ]
        args = [
            event.event_id,
            dedupe_ttl_seconds,
            message,
            now,
            event.queue,
            stats.hooks_field(event.kind, event.store),
            stats.MINUTE_TTL,
        ]
        if self.durability.min_replicas:
            first, replicas = self.script.call_durably(keys, args, self.durability.min_replicas, self._wait_ms())
        else:
            first, replicas = self.script(keys=keys, args=args), 0
        first_id = first.decode() if isinstance(first, bytes) else first
        # Our own id: the script ran on a connection that broke before its reply, and ran again on resend.
        if first_id is None:
            self._check_replicas(replicas)
            return EnqueueResult(event.event_id, duplicate=False)
        if first_id == event.event_id:
            self.confirm_durable()  # the resend's WAIT covered no write of its own
            return EnqueueResult(event.event_id, duplicate=False)
        return EnqueueResult(str(first_id), duplicate=True)

    def confirm_durable(self) -> None:
        """Raise :class:`NotReplicated` unless the replicas hold everything Redis holds now.

        ``WAIT`` counts this connection's own writes, so a write goes with it: after it, a confirmed
        ``WAIT`` also covers writes made by others before (a spool flush relies on it before it forgets
        rows that turned out to be duplicates of hooks accepted earlier).
        """
        if self.durability.min_replicas:
            _, replicas = self.direct.execute_durably(
                ("SET", DURABILITY_PROBE, str(time.time())), self.durability.min_replicas, self._wait_ms()
            )
            self._check_replicas(replicas)

    def _wait_ms(self) -> int:
        timeout = self.durability.timeout_ms
        return min(timeout, DEGRADED_WAIT_MS) if time.monotonic() < self._degraded_until else timeout

    def _check_replicas(self, replicas: int) -> None:
        wanted = self.durability.min_replicas
        if replicas >= wanted:
            self._degraded_until = 0.0
            return
        self._degraded_until = time.monotonic() + DEGRADED_FOR_SECONDS
        raise NotReplicated(f"{replicas} of {wanted} replica(s) confirmed the write")

    def enqueue(
        self,
        event: Event,
        *,
        task_id: str | None = None,
        queue: str | None = None,
        pipe: redis.client.Pipeline | None = None,
    ) -> str:
        """Enqueue without dedupe (DLQ replays, backfills): a new task id, attempt count 0.

        ``queue`` overrides the kind's queue (backfills use their own, so history never delays live hooks).
        ``pipe``: add the push to the caller's transaction instead (see :meth:`push`).
        """
        task_id = task_id or uuid.uuid4().hex
        queue = queue or event.queue
        self.push(event.event_id, queue, self.event_message(event, task_id=task_id, queue=queue), pipe=pipe)
        return task_id

    def push(
        self,
        event_id: str,
        queue: str,
        message: bytes,
        *,
        expected_start: float | None = None,
        pipe: redis.client.Pipeline | None = None,
    ) -> None:
        """LPUSH a built message and record it in the pending ledger, atomically.

        With ``pipe`` (a MULTI/EXEC pipeline of the caller's, e.g. the DLQ marking an entry replayed) the
        commands join that transaction and the caller executes it: the push and the caller's own writes
        then happen together or not at all.
        """
        own = pipe is None
        pipe = self.client.pipeline() if pipe is None else pipe
        pipe.lpush(queue, message)
        pending.record(pipe, event_id, queue, message, expected_start or time.time())
        if own:
            pipe.execute()

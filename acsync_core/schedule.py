"""Deferred work waits in Redis, not in a worker's memory: a schedule of messages by due time.

Retries with backoff, carts too young to write and any other "run this later" go to the sorted set
``acsync:schedule`` (event id -> due time) with their message in ``acsync:schedule:messages``; a mover
(each worker's maintenance thread, every second) pushes what is due onto its queue. The move is one Lua
script, so two movers never push one message twice. The references are Sidekiq's scheduled and retry
sets and dramatiq's delay queues.

Why: a Celery countdown is delivered at once and held in the worker's memory until its ETA, outside
the prefetch limit, so a long backlog of deferred events would live in worker memory and the visibility
timeout would have to exceed every countdown. With the schedule a worker only ever holds what it runs,
and the visibility timeout only has to exceed the hard time limit (workers/celery_app.py).

Contract: ``defer`` records the message in the schedule and in the pending ledger in one transaction
(the ledger's expected start is the due time, and its sweeper knows a scheduled event is waiting, not
lost). A deferred event that is deferred again replaces its entry (one entry per event id).
"""

from __future__ import annotations

import time

import redis

from acsync_core import pending

SCHEDULE = pending.SCHEDULE  # "acsync:schedule"
MESSAGES = "acsync:schedule:messages"

_MOVE_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local moved = 0
for _, event_id in ipairs(due) do
  local stored = redis.call('HGET', KEYS[2], event_id)
  redis.call('ZREM', KEYS[1], event_id)
  redis.call('HDEL', KEYS[2], event_id)
  if stored then
    local cut = string.find(stored, '\\n', 1, true)
    redis.call('LPUSH', string.sub(stored, 1, cut - 1), string.sub(stored, cut + 1))
    moved = moved + 1
  end
end
return moved
"""


def defer(client: redis.Redis, event_id: str, queue: str, message: bytes, due: float) -> None:
    """Schedule ``message`` for ``queue`` at ``due`` (epoch seconds), with its pending-ledger record."""
    pipe = client.pipeline()
    pipe.hset(MESSAGES, event_id, queue.encode() + b"\n" + message)
    pipe.zadd(SCHEDULE, {event_id: due})
    pending.record(pipe, event_id, queue, message, due)
    pipe.execute()


def move_due(client: redis.Redis, *, now: float | None = None, batch: int = 500) -> int:
    """Push every message due by ``now`` onto its queue; returns how many were moved."""
    script = client.register_script(_MOVE_DUE)
    moved = 0
    while True:
        count = int(script(keys=[SCHEDULE, MESSAGES], args=[time.time() if now is None else now, batch]))
        moved += count
        if count < batch:
            return moved


def is_scheduled(client: redis.Redis, event_id: str) -> bool:
    return client.zscore(SCHEDULE, event_id) is not None


def size(client: redis.Redis) -> int:
    return int(client.zcard(SCHEDULE))

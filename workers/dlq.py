"""Dead-letter queue in Redis: events that failed for good, with every attempt's error.

An entry keeps the original event (so it can be replayed exactly), store, kind, event_id, the
reason, every attempt's error with timestamps, and its replay history. ``replay`` re-enqueues the
event with a fresh attempt count under the same event_id (so logs connect) and marks the entry
replayed, both in one Redis transaction (a failed push leaves the entry dead and listed); if the
event fails again it comes back with the whole history. ``acsync dlq`` and the console wrap this API
and ``workers.dlq_ops`` (filters by age, the replay loop).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import redis

from acsync_core.events import Event
from acsync_core.publish import TaskPublisher
from workers.trail import Trail

ENTRIES = "acsync:dlq:entries"
INDEX = "acsync:dlq:index"  # zset of dead entries by time of death
ATTEMPTS_PREFIX = "acsync:attempts:"
ATTEMPTS_TTL = 14 * 24 * 3600


@dataclass(frozen=True)
class DLQFilter:
    store: str | None = None
    kind: str | None = None
    older_than: float | None = None  # seconds
    newer_than: float | None = None

    def matches(self, entry: dict[str, Any], now: float) -> bool:
        if self.store and entry["store"] != self.store:
            return False
        if self.kind and entry["kind"] != self.kind:
            return False
        age = now - entry["dead_at"]
        if self.older_than is not None and age < self.older_than:
            return False
        return not (self.newer_than is not None and age > self.newer_than)


class DeadLetterQueue:
    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    # ------------------------------------------------------------------ attempts (during retries)
    def record_attempt(self, event_id: str, attempt: int, error: str, retryable: bool) -> None:
        key = ATTEMPTS_PREFIX + event_id
        pipe = self.client.pipeline()
        pipe.rpush(key, json.dumps({"at": time.time(), "attempt": attempt, "error": error, "retryable": retryable}))
        pipe.expire(key, ATTEMPTS_TTL)
        pipe.execute()

    def attempts(self, event_id: str) -> list[dict[str, Any]]:
        return [json.loads(x) for x in self.client.lrange(ATTEMPTS_PREFIX + event_id, 0, -1)]

    # ------------------------------------------------------------------ dead entries
    def add(self, event: Event, *, reason: str, error: str) -> dict[str, Any]:
        now = time.time()
        previous = self.get(event.event_id)
        history = (previous or {}).get("attempts", [])
        entry = {
            "entry_id": event.event_id,
            "event_id": event.event_id,
            "store": event.store,
            "kind": event.kind,
            "event": event.to_dict(),
            "reason": reason,
            "error": error,
            "attempts": history + self.attempts(event.event_id),
            "first_failed_at": (previous or {}).get("first_failed_at", now),
            "dead_at": now,
            "status": "dead",
            "replays": (previous or {}).get("replays", []),
        }
        pipe = self.client.pipeline()
        pipe.hset(ENTRIES, event.event_id, json.dumps(entry))
        pipe.zadd(INDEX, {event.event_id: now})
        pipe.delete(ATTEMPTS_PREFIX + event.event_id)
        Trail(self.client).record(event.event_id, "dead_lettered", at=now, pipe=pipe, reason=reason)
        pipe.execute()
        return entry

    def get(self, entry_id: str) -> dict[str, Any] | None:
        raw = self.client.hget(ENTRIES, entry_id)
        return json.loads(raw) if raw else None

    def list(self, filters: DLQFilter | None = None, limit: int | None = 100) -> list[dict[str, Any]]:
        filters = filters or DLQFilter()
        now = time.time()
        out = []
        for entry_id in self.client.zrevrange(INDEX, 0, -1):
            if isinstance(entry_id, bytes):
                entry_id = entry_id.decode()
            if not isinstance(entry_id, str):  # ZREVRANGE without scores answers members only
                raise TypeError(f"ZREVRANGE of {INDEX} answered a {type(entry_id).__name__}, not a member")
            entry = self.get(entry_id)
            if entry and filters.matches(entry, now):
                out.append(entry)
                if limit is not None and len(out) >= limit:
                    break
        return out

    def size(self) -> int:
        return int(self.client.zcard(INDEX))

    def replay(self, entry_id: str, publisher: TaskPublisher, *, by: str | None = None) -> dict[str, Any]:
        """Re-enqueue a dead entry and mark it replayed, in one MULTI/EXEC transaction.

        The new message (attempt count back to 0, same event_id) and the entry's change to ``replayed``
        commit together: if the push cannot be made (Redis unreachable, the connection lost before
        EXEC, Redis refusing the write as it is queued: out of memory, a read-only replica) nothing is
        written, the entry stays dead and listed, and the error is raised for the caller to report.
        Marking first and pushing after would lose the entry from ``dlq list`` on a failed push;
        pushing first and marking after would let a fast worker dead-letter the event again before
        the mark, which would then hide its new entry.

        ``by`` names who asked (the console's operator, the CLI's user), for the event's trail step
        ``replayed``; an e-mail address in it is masked (workers.trail).
        """
        entry = self.get(entry_id)
        if entry is None or entry["status"] != "dead":
            raise KeyError(f"no dead entry {entry_id!r}")
        event = Event.from_dict(entry["event"])
        replayed = {**entry, "status": "replayed", "replays": [*entry["replays"], {"at": time.time()}]}
        pipe = self.client.pipeline(transaction=True)
        publisher.enqueue(event, pipe=pipe)
        pipe.hset(ENTRIES, entry_id, json.dumps(replayed))
        pipe.zrem(INDEX, entry_id)
        Trail(self.client).record(event.event_id, "replayed", pipe=pipe, by=by, reason=entry["reason"])
        pipe.execute()
        return replayed

    def purge(self, filters: DLQFilter | None = None) -> int:
        entries = self.list(filters, limit=None)
        if not entries:
            return 0
        ids = [e["entry_id"] for e in entries]
        pipe = self.client.pipeline()
        pipe.hdel(ENTRIES, *ids)
        pipe.zrem(INDEX, *ids)
        pipe.execute()
        return len(ids)
